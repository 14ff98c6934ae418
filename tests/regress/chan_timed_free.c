/* SPDX-License-Identifier: MIT */
/* A timed single operation on an unbuffered channel whose peer frees the channel at once.
 *
 * include/golf/chan.h: when a send returns, its receiver is done with the channel, so the
 * sender may free it. An earlier version of the single-operation hand-off (chan C9) let a
 * timed receive whose deadline passed while a sender was completing it take the channel's lock
 * to abort: after the sender's unlock and DONE, the sender freed the channel and the receiver
 * wrote the freed lock word (ASan: heap-use-after-free in golf__lock_slow; found by review).
 * Timed operations now abort on their own waiter word only.
 *
 * Per iteration: a fresh unbuffered channel, a receiver with a short timeout, a sender with a
 * short timeout that frees the channel as soon as its send succeeds. Timeouts are staggered so
 * that deadlines land inside hand-offs. ASan turns the old bug into a report; a release build
 * sees a hang or a crash at worst, so the watchdog bounds it.
 *
 * Usage: regress_chan_timed_free [iterations]  (exit 0: pass) */
#include "regress.h"

#include <pthread.h>
#include <stdlib.h>

#include "golf/chan.h"

enum { LONG_NS = 1000000000 };

static golf_chan *ch;
static pthread_barrier_t bar;
static int iters;
static long received;

static void *
receiver(void *arg)
{
    (void)arg;
    for (int i = 0; i < iters; i++) {
        pthread_barrier_wait(&bar);
        uint64_t v = 0;
        /* 2 to 24 us: from shorter than the sender's arrival to longer, so that some
         * deadlines fall inside hand-offs. Every 8th iteration both sides wait up to 1 s, so
         * hand-offs happen even where the others rarely meet (one core, TSan). */
        uint64_t t = i % 8 == 0 ? LONG_NS : 2000 + (uint64_t)(i % 23) * 1000;
        int r = golf_chan_recv_timeout(ch, &v, t);
        REGRESS_CHECK(r == GOLF_OK || r == GOLF_ETIMEDOUT, "recv returned %d", r);
        if (r == GOLF_OK) {
            REGRESS_CHECK(v == (uint64_t)i, "received %llu in iteration %d", (unsigned long long)v,
                          i);
            received++;
        }
        pthread_barrier_wait(&bar);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    iters = argc > 1 ? atoi(argv[1]) : 20000;
    regress_watchdog(120);
    pthread_barrier_init(&bar, NULL, 2);
    pthread_t r;
    pthread_create(&r, NULL, receiver, NULL);
    long sent = 0;
    for (int i = 0; i < iters; i++) {
        ch = golf_chan_new(8, 0);
        REGRESS_CHECK(ch != NULL, "golf_chan_new");
        pthread_barrier_wait(&bar);
        uint64_t v = (uint64_t)i;
        /* Let the receiver park first, most of the time. */
        for (volatile int k = 0; k < (i % 13) * 200; k++) {
        }
        golf_chan *c = ch;
        int rc =
            golf_chan_send_timeout(c, &v, i % 8 == 0 ? LONG_NS : 3000 + (uint64_t)(i % 5) * 500);
        REGRESS_CHECK(rc == GOLF_OK || rc == GOLF_ETIMEDOUT, "send returned %d", rc);
        if (rc == GOLF_OK) {
            golf_chan_free(c); /* the receiver is done with it (chan.h) */
            sent++;
        }
        pthread_barrier_wait(&bar);
        if (rc != GOLF_OK)
            golf_chan_free(c);
    }
    pthread_join(r, NULL);
    REGRESS_CHECK(sent == received, "%ld sends succeeded, %ld receives", sent, received);
    REGRESS_CHECK(sent > 0, "no hand-off in %d iterations", iters);
    printf("PASS chan_timed_free (%ld hand-offs of %d)\n", sent, iters);
    return 0;
}
