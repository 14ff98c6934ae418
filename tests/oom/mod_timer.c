/* SPDX-License-Identifier: MIT */
/* Timers under a failing malloc, from a cold process (oom.h): the first golf_timer_new starts the
 * timer thread (its stack and TLS may not be had), makes a channel and grows the heap; later ones
 * grow the heap past its first 16 slots. golf_timer_new may answer NULL + ENOMEM, and then
 * nothing may be left half made (the next one works once memory is back); every other call
 * (receive, reset, stop, free) must behave exactly as with memory. */
#include "oom.h"

#include <stdint.h>

#include "golf/chan.h"
#include "golf/time.h"

enum { NTIMERS = 20 };

static bool
timer_works(void)
{
    golf_timer *t = golf_timer_new(1000, 0);
    if (t == NULL)
        return false;
    uint64_t v = 0;
    bool ok = golf_chan_recv(golf_timer_chan(t), &v) == GOLF_OK && v > 0;
    golf_timer_free(t);
    return ok;
}

static void
timers_cold(void)
{
    oom_start();
    golf_timer *t[NTIMERS];
    int made = 0;
    for (; made < NTIMERS; made++) {
        t[made] = golf_timer_new((uint64_t)(made + 1) * 100000, made % 4 == 0 ? 200000 : 0);
        if (!OOM_PTR(t[made], "golf_timer_new"))
            break;
    }
    for (int i = 0; i < made; i++) {
        uint64_t v = 0;
        OOM_CHECK(golf_chan_recv(golf_timer_chan(t[i]), &v) == GOLF_OK, "timer %d: no fire", i);
        /* Go's rule for a reset: stop, drain a tick already sent, then reset. Draining after the
         * reset could take the reset's own fire when this thread is slow. */
        golf_timer_stop(t[i]);
        golf_chan_try_recv(golf_timer_chan(t[i]), NULL);
        OOM_CHECK(golf_timer_reset(t[i], 100000, 0) == GOLF_OK, "reset of timer %d", i);
        OOM_CHECK(golf_chan_recv(golf_timer_chan(t[i]), &v) == GOLF_OK,
                  "timer %d: no fire after reset", i);
        OOM_CHECK(!golf_timer_stop(t[i]), "timer %d: pending after its fire", i);
        golf_timer_free(t[i]);
    }
    if (made < NTIMERS)
        oom_recovered(timer_works);
}

const oom_scenario oom_timer_scenarios[] = {
    {"timer_new_cold", NULL, timers_cold},
    {NULL, NULL, NULL},
};
