/* SPDX-License-Identifier: MIT */
/* Stress for golf_timer (and the TSan build): threads create, reset, stop, receive from and free
 * timers and tickers with short random delays, while the timer thread fires them.
 *
 *   stress_timer_churn [threads=8] [unused] [seconds=2]
 *
 * Checked: a fire is never earlier than the deadline armed last (the value received is at or
 * after it, for a one-shot timer whose channel was drained before its reset); a timer stopped
 * with true and drained stays silent until it is reset; a timer freed right after its fire (the
 * timer thread may still be inside the send) is no use-after-free (ASan/TSan report it);
 * golf_now_ns never goes back in a thread. Exit 0 on success, 1 on a violation. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "golf/chan.h"
#include "golf/time.h"
#include "golf_test.h"

static atomic_bool stop;
static atomic_long bad, fires;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "FAIL: " __VA_ARGS__);                                                     \
        fputc('\n', stderr);                                                                       \
        atomic_fetch_add(&bad, 1);                                                                 \
    } while (0)

static void *
worker(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15u + 1;
    uint64_t last_now = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t now = golf_now_ns();
        if (now < last_now)
            FAIL("golf_now_ns went back");
        last_now = now;
        uint64_t r = golf_test_rand(&rng);
        uint64_t delay = (r >> 8) % 200000; /* up to 200 us */
        uint64_t period = (r & 3) == 0 ? 50000 + (r >> 40) % 100000 : 0;
        uint64_t armed_at = golf_now_ns();
        golf_timer *t = golf_timer_new(delay, period);
        if (t == NULL) {
            FAIL("golf_timer_new: NULL");
            continue;
        }
        golf_chan *ch = golf_timer_chan(t);
        uint64_t v = 0;
        switch ((r >> 4) % 4) {
        case 0: /* receive, then free at once (the fire may still be returning) */
            if (golf_chan_recv(ch, &v) != GOLF_OK || v < armed_at + delay)
                FAIL("fire at %llu before its deadline %llu", (unsigned long long)v,
                     (unsigned long long)(armed_at + delay));
            atomic_fetch_add_explicit(&fires, 1, memory_order_relaxed);
            break;
        case 1: /* stop at once: if it was pending and we drain, nothing comes */
            if (golf_timer_stop(t)) {
                /* A one-shot timer that was pending never fired; a ticker may have delivered
                 * a tick before the stop: drain it. */
                if (golf_chan_try_recv(ch, &v) == GOLF_OK && period == 0)
                    FAIL("a timer stopped while pending had fired");
                if (golf_chan_recv_timeout(ch, &v, 300000) != GOLF_ETIMEDOUT)
                    FAIL("a stopped timer fired");
            }
            break;
        case 2: /* reset a few times, then receive: at or after the last deadline */
            for (int i = 0; i < 3; i++) {
                golf_timer_stop(t);
                golf_chan_try_recv(ch, NULL);
                armed_at = golf_now_ns();
                if (golf_timer_reset(t, delay, 0) != GOLF_OK)
                    FAIL("golf_timer_reset");
            }
            if (golf_chan_recv(ch, &v) != GOLF_OK || v < armed_at + delay)
                FAIL("fire before the reset deadline");
            atomic_fetch_add_explicit(&fires, 1, memory_order_relaxed);
            break;
        default: /* free while it may be firing: never received */
            break;
        }
        golf_timer_free(t);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 8;
    double seconds = argc > 3 ? atof(argv[3]) : 2.0;
    if (threads < 1 || threads > 256) {
        fprintf(stderr, "usage: stress_timer_churn [threads 1..256] [unused] [seconds]\n");
        return 1;
    }
    pthread_t t[256];
    for (long i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    golf_test_sleep_us((long)(seconds * 1e6));
    atomic_store(&stop, true);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    if (atomic_load(&bad) != 0)
        return 1;
    printf("stress_timer_churn: ok: %ld fires received by %d threads\n", atomic_load(&fires),
           threads);
    return 0;
}
