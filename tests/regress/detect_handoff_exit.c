/* SPDX-License-Identifier: MIT */
/* Bug: the deadlock detector reported a thread whose wait had just been completed. The main
 * thread parks in an unbuffered send and is the candidate (the only registered thread). A
 * worker that never parks (it sleeps in nanosleep, then finds the sender waiting and pairs with
 * it on the try path) stores DONE in the sender's word and exits while the sender is between its
 * confirmation time-out and its confirmation: /proc then shows one live thread, parked, and the
 * sender reported "all threads are asleep" with its own word already DONE. The confirmation
 * must look at the caller's own word again (without that re-check this program reported
 * within a few hundred hand-offs). The confirmation delay is cut to 20 us
 * (golf__watch_test_confirm_ns) to make the window frequent.
 *
 * golf-regress: one-cpu (also run under taskset -c 0)
 * Usage: regress_detect_handoff_exit [iters]  (exit 0: pass) */
#include "regress.h"

#include "golf/golf.h"
#include "lockfree/watch.h"

static void *
worker(void *p)
{
    golf_chan *ch = p;
    regress_sleep_us(20 + (unsigned)(rand() % 200)); /* outside golf: awake for the detector */
    long v = 0;
    if (golf_chan_recv(ch, &v) != GOLF_OK || v != 7)
        REGRESS_FAIL("recv: %ld", v);
    return NULL;
}

int
main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 3000;
    regress_watchdog(300);
    golf__watch_test_confirm_ns = 20000;
    for (int i = 0; i < iters; i++) {
        golf_chan *ch = golf_chan_new(sizeof(long), 0);
        REGRESS_CHECK(ch, "golf_chan_new");
        pthread_t t;
        pthread_create(&t, NULL, worker, ch);
        long v = 7;
        REGRESS_CHECK(golf_chan_send(ch, &v) == GOLF_OK, "send");
        pthread_join(t, NULL);
        golf_chan_free(ch);
    }
    printf("detect_handoff_exit: %d hand-offs to a thread that exits at once, no report\n", iters);
    return 0;
}
