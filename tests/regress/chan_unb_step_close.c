/* SPDX-License-Identifier: MIT */
/* Bug: an unbounded channel's producer that took a block's last slot linked the next block
 * before it moved tail off the block step. The consumer of that last slot could then move head
 * into the next block while tail still sat on the step (head past tail, against U1); a receiver
 * took the position at head, which no producer had reserved, and once the channel was closed
 * waited for its value for ever. Fixed by crossbeam's order: tail first, then `next`.
 *
 * Chaos (seed 1 unless GOLF_CHAOS chose one) widens the producer's block step
 * (UNB_BLOCK_STEP). Each round: 1-3 producers, 1-4 consumers (recv, try_recv, recv_timeout),
 * values of 8 to 3000 bytes (blocks of 63 down to 1 slot), a close while the producers run or
 * after them. Checks: every round ends (watchdog), and every value sent is received once.
 * golf-regress: one-cpu (also run under taskset -c 0)
 * Usage: regress_chan_unb_step_close [rounds] */
#include "regress.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "golf/chan.h"
#include "lockfree/chaos.h"

enum { MAX_ELEM = 3000, PER_PRODUCER = 2000 };

static golf_chan *ch;
static size_t elem;
static atomic_long sent_count, sent_sum, got_count, got_sum;

static void *
producer(void *arg)
{
    long id = (long)(intptr_t)arg;
    unsigned char buf[MAX_ELEM] = {0};
    for (long i = 0; i < PER_PRODUCER; i++) {
        long v = id * 1000000 + i + 1;
        memcpy(buf, &v, sizeof v);
        int r = golf_chan_send(ch, buf);
        if (r == GOLF_ECLOSED)
            break;
        REGRESS_CHECK(r == GOLF_OK, "send: %d", r);
        atomic_fetch_add(&sent_count, 1);
        atomic_fetch_add(&sent_sum, v);
    }
    return NULL;
}

static void *
consumer(void *arg)
{
    int form = (int)(intptr_t)arg % 3;
    unsigned char buf[MAX_ELEM];
    for (;;) {
        int r;
        if (form == 0) {
            r = golf_chan_recv(ch, buf);
        } else if (form == 1) {
            while ((r = golf_chan_try_recv(ch, buf)) == GOLF_EAGAIN)
                sched_yield();
        } else {
            while ((r = golf_chan_recv_timeout(ch, buf, 1000000)) == GOLF_ETIMEDOUT)
                ;
        }
        if (r == GOLF_ECLOSED)
            return NULL;
        REGRESS_CHECK(r == GOLF_OK, "receive form %d: %d", form, r);
        long v;
        memcpy(&v, buf, sizeof v);
        atomic_fetch_add(&got_count, 1);
        atomic_fetch_add(&got_sum, v);
    }
}

int
main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 300;
    regress_watchdog(120);
    regress_chaos_default_on();
    static const size_t sizes[] = {8, 700, 1500, 3000, 300};
    for (int round = 0; round < rounds; round++) {
        elem = sizes[round % 5];
        int np = 1 + round % 3, nc = 1 + (round / 3) % 4;
        bool early = round % 2; /* close while the producers still run */
        ch = golf_chan_new(elem, GOLF_UNBOUNDED);
        REGRESS_CHECK(ch, "golf_chan_new");
        atomic_store(&sent_count, 0);
        atomic_store(&sent_sum, 0);
        atomic_store(&got_count, 0);
        atomic_store(&got_sum, 0);
        pthread_t pt[3], ct[4];
        for (int i = 0; i < nc; i++)
            pthread_create(&ct[i], NULL, consumer, (void *)(intptr_t)i);
        for (int i = 0; i < np; i++)
            pthread_create(&pt[i], NULL, producer, (void *)(intptr_t)i);
        if (early) {
            struct timespec ts = {0, (round % 7) * 100000L};
            nanosleep(&ts, NULL);
            REGRESS_CHECK(golf_chan_close(ch) == GOLF_OK, "close");
        }
        for (int i = 0; i < np; i++)
            pthread_join(pt[i], NULL);
        if (!early)
            REGRESS_CHECK(golf_chan_close(ch) == GOLF_OK, "close");
        for (int i = 0; i < nc; i++)
            pthread_join(ct[i], NULL);
        REGRESS_CHECK(atomic_load(&got_count) == atomic_load(&sent_count) &&
                          atomic_load(&got_sum) == atomic_load(&sent_sum),
                      "round %d: sent %ld (sum %ld), received %ld (sum %ld)", round,
                      atomic_load(&sent_count), atomic_load(&sent_sum), atomic_load(&got_count),
                      atomic_load(&got_sum));
        golf_chan_free(ch);
    }
    printf("golf-regress: chan_unb_step_close ok (%d rounds, %llu block-step chaos hits)\n", rounds,
           (unsigned long long)golf__chaos_hits(GOLF__SITE_UNB_BLOCK_STEP));
    return 0;
}
