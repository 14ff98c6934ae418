/* SPDX-License-Identifier: MIT */
/* A worker loop driven by a ticker, with a deadline timer to stop it, in one select (Go's
 * time.NewTicker and time.NewTimer):
 *
 *     tick := time.NewTicker(10 * time.Millisecond)
 *     deadline := time.NewTimer(105 * time.Millisecond)
 *     for {
 *         select {
 *         case t := <-tick.C:    work(t)
 *         case <-deadline.C:     tick.Stop(); return
 *         }
 *     }
 *
 * Timers cost no thread each: one timer thread serves them all, and their channels are ordinary
 * golf channels (capacity 1, uint64_t fire times from golf_now_ns). */
#include <stdio.h>

#include "golf/golf.h"

#define MS 1000000ull

int
main(void)
{
    uint64_t start = golf_now_ns();
    golf_timer *tick = golf_timer_new(10 * MS, 10 * MS);
    golf_timer *deadline = golf_timer_new(105 * MS, 0);
    if (tick == NULL || deadline == NULL) {
        perror("golf_timer_new");
        return 1;
    }
    uint64_t fired = 0, last = 0;
    int ticks = 0, bad = 0;
    for (bool done = false; !done;) {
        golf_case cases[2] = {
            {.ch = golf_timer_chan(tick), .op = GOLF_RECV, .elem = &fired},
            {.ch = golf_timer_chan(deadline), .op = GOLF_RECV, .elem = &fired},
        };
        switch (golf_select(cases, 2)) {
        case 0:
            ticks++;
            bad += fired <= last || fired < start + 10 * MS; /* in order, none early */
            last = fired;
            printf("tick %d at %6.1f ms\n", ticks, (double)(fired - start) / 1e6);
            break;
        case 1:
            printf("deadline at %6.1f ms: stop\n", (double)(fired - start) / 1e6);
            bad += fired < start + 105 * MS;
            done = true;
            break;
        default:
            return 1;
        }
    }
    golf_timer_stop(tick);
    golf_timer_free(tick);
    golf_timer_free(deadline);
    /* Up to 10 ticks fit before the deadline; a loaded machine may deliver fewer (a tick is
     * dropped while the previous one is unread, never queued). */
    printf("%d ticks\n", ticks);
    return bad == 0 && ticks <= 10 ? 0 : 1;
}
