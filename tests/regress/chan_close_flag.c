/* SPDX-License-Identifier: MIT */
/* The receivers' closed flag (C5): an open ring channel's receive that finds it empty reads
 * wq.closed, not tail, and close stores that flag after the mark. Go requires a receive that
 * starts after a close returned, or after a send that reported GOLF_ECLOSED, to report
 * GOLF_ECLOSED on the drained channel; and no receive form may hang or lose a value across the
 * window between the mark and the flag (GOLF_CHAOS widens it: the CHAN_CLOSE point sits there).
 *
 * Each round: NRECV receivers, one per receive form (recv, try_recv, recv_timeout, recv_many,
 * try_recv_many, select, select_try, select_timeout); a sender that sends until GOLF_ECLOSED and
 * then try_recv's; an observer that try_recv's once that send reported closed; a closer that
 * try_recv's once its close returned. Checks: every round ends (watchdog), every value is
 * received exactly once, and those try_recv's say GOLF_ECLOSED (EAGAIN is allowed only while a
 * sender that reserved before the close is still copying: at most 1 s of retries).
 * golf-regress: one-cpu (also run under taskset -c 0)
 * Usage: regress_chan_close_flag [rounds] */
#include "regress.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "golf/chan.h"

enum { NRECV = 8 };

static golf_chan *ch;
static atomic_int go, send_saw_closed;
static atomic_long received_sum, received_count, sent_sum, sent_count;
static atomic_long bad_after_send, bad_after_close;

static void
account(long v)
{
    atomic_fetch_add(&received_sum, v);
    atomic_fetch_add(&received_count, 1);
}

static uint64_t
now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* try_recv until GOLF_ECLOSED, taking what is left; counts a failure in *bad if it still says
 * GOLF_EAGAIN after 1 s (a sender mid-copy finishes in microseconds unless descheduled). */
static void
expect_closed(atomic_long *bad)
{
    uint64_t start = now_ns();
    long v;
    for (;;) {
        int r = golf_chan_try_recv(ch, &v);
        if (r == GOLF_OK) {
            account(v);
            continue;
        }
        if (r == GOLF_ECLOSED)
            return;
        REGRESS_CHECK(r == GOLF_EAGAIN, "try_recv after close: %d", r);
        if (now_ns() - start > 1000000000u) {
            atomic_fetch_add(bad, 1);
            return;
        }
        sched_yield();
    }
}

static void
wait_go(void)
{
    while (!atomic_load(&go))
        sched_yield();
}

static void *
receiver(void *arg)
{
    int form = (int)(intptr_t)arg;
    long v, buf[4];
    size_t got;
    wait_go();
    for (;;) {
        int r;
        golf_case c[2] = {{ch, GOLF_RECV, &v, 0}, {NULL, GOLF_RECV, NULL, 0}};
        switch (form) {
        case 0:
            r = golf_chan_recv(ch, &v);
            break;
        case 1:
            while ((r = golf_chan_try_recv(ch, &v)) == GOLF_EAGAIN)
                sched_yield();
            break;
        case 2:
            while ((r = golf_chan_recv_timeout(ch, &v, 1000)) == GOLF_ETIMEDOUT)
                ;
            break;
        case 3:
        case 4:
            while ((r = form == 3 ? golf_chan_recv_many(ch, buf, 4, &got)
                                  : golf_chan_try_recv_many(ch, buf, 4, &got)) == GOLF_EAGAIN)
                sched_yield();
            if (r == GOLF_OK) {
                for (size_t i = 0; i < got; i++)
                    account(buf[i]);
                continue;
            }
            break;
        case 5:
            r = golf_select(c, 1);
            r = r < 0 ? r : c[0].status;
            break;
        case 6:
            while ((r = golf_select_try(c, 2)) == GOLF_EAGAIN)
                sched_yield();
            r = r < 0 ? r : c[r].status;
            break;
        default:
            while ((r = golf_select_timeout(c, 1, 2000)) == GOLF_ETIMEDOUT)
                ;
            r = r < 0 ? r : c[0].status;
            break;
        }
        if (r == GOLF_OK) {
            account(v);
            continue;
        }
        REGRESS_CHECK(r == GOLF_ECLOSED, "receive form %d: %d", form, r);
        return NULL;
    }
}

static void *
sender(void *arg)
{
    (void)arg;
    wait_go();
    for (long i = 1;; i++) {
        int r = golf_chan_send(ch, &i);
        if (r == GOLF_OK) {
            atomic_fetch_add(&sent_sum, i);
            atomic_fetch_add(&sent_count, 1);
            continue;
        }
        REGRESS_CHECK(r == GOLF_ECLOSED, "send: %d", r);
        atomic_store(&send_saw_closed, 1);
        expect_closed(&bad_after_send); /* this thread, after its own GOLF_ECLOSED */
        return NULL;
    }
}

static void *
observer(void *arg)
{
    (void)arg;
    while (!atomic_load(&send_saw_closed))
        sched_yield();
    expect_closed(&bad_after_send); /* another thread, after a send's GOLF_ECLOSED */
    return NULL;
}

static void *
closer(void *arg)
{
    unsigned spins = (unsigned)(uintptr_t)arg;
    wait_go();
    for (volatile unsigned k = 0; k < spins; k++)
        ;
    REGRESS_CHECK(golf_chan_close(ch) == GOLF_OK, "close");
    expect_closed(&bad_after_close);
    return NULL;
}

int
main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 1000;
    regress_watchdog(60);
    srand(1);
    for (int round = 0; round < rounds; round++) {
        ch = golf_chan_new(sizeof(long), 1 + (size_t)(round % 4));
        REGRESS_CHECK(ch, "golf_chan_new");
        atomic_store(&go, 0);
        atomic_store(&send_saw_closed, 0);
        atomic_store(&received_sum, 0);
        atomic_store(&received_count, 0);
        atomic_store(&sent_sum, 0);
        atomic_store(&sent_count, 0);
        pthread_t rt[NRECV], st, ot, ct;
        for (int i = 0; i < NRECV; i++)
            pthread_create(&rt[i], NULL, receiver, (void *)(intptr_t)i);
        pthread_create(&st, NULL, sender, NULL);
        pthread_create(&ot, NULL, observer, NULL);
        pthread_create(&ct, NULL, closer, (void *)(uintptr_t)(rand() % 20000));
        atomic_store(&go, 1);
        for (int i = 0; i < NRECV; i++)
            pthread_join(rt[i], NULL);
        pthread_join(st, NULL);
        pthread_join(ot, NULL);
        pthread_join(ct, NULL);
        REGRESS_CHECK(atomic_load(&received_count) == atomic_load(&sent_count) &&
                          atomic_load(&received_sum) == atomic_load(&sent_sum),
                      "round %d: sent %ld (sum %ld), received %ld (sum %ld)", round,
                      atomic_load(&sent_count), atomic_load(&sent_sum),
                      atomic_load(&received_count), atomic_load(&received_sum));
        golf_chan_free(ch);
    }
    REGRESS_CHECK(atomic_load(&bad_after_send) == 0,
                  "%ld try_recv GOLF_EAGAIN after a send's "
                  "GOLF_ECLOSED",
                  atomic_load(&bad_after_send));
    REGRESS_CHECK(atomic_load(&bad_after_close) == 0,
                  "%ld try_recv GOLF_EAGAIN after close returned", atomic_load(&bad_after_close));
    printf("golf-regress: chan_close_flag ok (%d rounds)\n", rounds);
    return 0;
}
