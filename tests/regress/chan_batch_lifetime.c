/* SPDX-License-Identifier: MIT */
/* Free after the last operation, with batches and the notify fd (chan/README.md C8, C10):
 *   0. a receiver blocked (or polling) in golf_chan_recv_many gets GOLF_ECLOSED and frees the
 *      channel at once while the closer may still be waking waiters and signalling the fd;
 *   1. unbuffered: a sender's golf_chan_send returns and it frees the channel while the
 *      receiver that took the value is still inside golf_chan_recv_many (which must not touch
 *      the channel again after the hand-off);
 *   2. unbuffered: the receiver frees after its golf_chan_recv returned, while the sender is
 *      inside golf_chan_send_many with that value as its last one (with a notify fd: the
 *      sender's registration signals it under the lock).
 * Run under ASan (the asan preset): a late touch is a heap-use-after-free report, a write to a
 * closed fd is checked in every build (the fd would be reused: EBADF is not seen by us, so the
 * check is ASan's). In the other builds it checks the values and that nothing hangs.
 * golf-regress: one-cpu (also run under taskset -c 0)
 * Usage: regress_chan_batch_lifetime [iters] */
#include "regress.h"

#include <pthread.h>
#include <sched.h>

#include "golf/chan.h"

typedef struct {
    golf_chan *ch;
    int scenario;
    unsigned i;
} job;

static void *
worker(void *arg)
{
    job *j = arg;
    long buf[4] = {0, 0, 0, 0};
    size_t k = 99;
    if (j->i & 1)
        sched_yield();
    switch (j->scenario) {
    case 0: {
        int r = golf_chan_recv_many(j->ch, buf, 4, &k);
        if (r != GOLF_ECLOSED || k != 0 || buf[0] != 0)
            REGRESS_FAIL("scenario 0: recv_many %d, %zu values", r, k);
        golf_chan_free(j->ch); /* the closer is done (C8) */
        break;
    }
    case 1: {
        int r = golf_chan_recv_many(j->ch, buf, 4, &k);
        if (r != GOLF_OK || k != 1 || buf[0] != 42)
            REGRESS_FAIL("scenario 1: recv_many %d, %zu values, %ld", r, k, buf[0]);
        break; /* the sender frees */
    }
    default: {
        long v[2] = {41, 42};
        size_t sent = 0;
        int r = golf_chan_send_many(j->ch, v, 2, &sent);
        if (r != GOLF_OK || sent != 2)
            REGRESS_FAIL("scenario 2: send_many %d, %zu sent", r, sent);
        break; /* the receiver frees */
    }
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 2000;
    regress_watchdog(300);
    for (int scenario = 0; scenario < 3; scenario++) {
        for (int i = 0; i < iters; i++) {
            size_t cap = scenario == 0 ? (size_t)(i % 3) * 4 : 0;
            golf_chan *ch = golf_chan_new(sizeof(long), cap);
            REGRESS_CHECK(ch, "golf_chan_new");
            if (i & 2)
                REGRESS_CHECK(golf_chan_notify_fd(ch) >= 0, "notify_fd");
            job j = {ch, scenario, (unsigned)i};
            pthread_t t;
            pthread_create(&t, NULL, worker, &j);
            if (i & 4)
                regress_sleep_us(200); /* let the worker park */
            long v = 42, out = 0;
            switch (scenario) {
            case 0:
                REGRESS_CHECK(golf_chan_close(ch) == GOLF_OK, "close");
                break; /* the worker frees */
            case 1:
                REGRESS_CHECK(golf_chan_send(ch, &v) == GOLF_OK, "send");
                golf_chan_free(ch); /* the receiver is done (C8) */
                break;
            default:
                REGRESS_CHECK(golf_chan_recv(ch, &out) == GOLF_OK && out == 41, "recv 1");
                REGRESS_CHECK(golf_chan_recv(ch, &out) == GOLF_OK && out == 42, "recv 2");
                golf_chan_free(ch); /* the sender is done with its last value (C8) */
                break;
            }
            pthread_join(t, NULL);
        }
    }
    printf("chan_batch_lifetime: %d iterations x 3 scenarios\n", iters);
    return 0;
}
