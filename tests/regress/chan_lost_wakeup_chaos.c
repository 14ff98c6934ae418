/* SPDX-License-Identifier: MIT */
/* The scenario of chan_lost_wakeup.c, reached by chaos schedules instead of a PROT_NONE stall.
 *
 * Two one-shot receivers wait on an empty buffered channel while two producers send one value
 * each at the same time. The lost wake-up needed a producer to hold its slot (position won, slot
 * not yet stamped) while the other producer's wake-up went out: with chaos on, the producers
 * yield, spin or sleep at RING_PUSH_RESERVED, between their CAS and their stamp store, so a
 * waker regularly finds the head slot mid-copy. golf__buf_wake then leaves that wake-up to the
 * holder (site BUF_WAKE_IN_FLIGHT, which counts how often), and a receiver registering meanwhile
 * polls (SELECT_IN_FLIGHT). The mirror runs for senders on a full channel. Every round must end
 * with every waiter served, and the program prints in how many rounds the window was reached.
 *
 * Chaos is turned on with seed 1 unless GOLF_CHAOS chose a seed (or "off": then the program
 * only checks that nothing is lost, and reports the window as not measured).
 *
 * golf-regress: one-cpu (also run under taskset -c 0)
 * Usage: regress_chan_lost_wakeup_chaos [rounds]  (exit 0: pass) */
#include "regress.h"

#include <pthread.h>

#include "golf/chan.h"
#include "lockfree/chaos.h"

static golf_chan *ch;
static atomic_int done_count;
static int use_select;

static int
do_recv(uint64_t *out)
{
    if (!use_select)
        return golf_chan_recv(ch, out);
    golf_case c[2] = {{NULL, GOLF_RECV, NULL, 0}, {ch, GOLF_RECV, out, 0}};
    int k = golf_select(c, 2);
    return k == 1 ? c[1].status : -1000;
}

static int
do_send(const uint64_t *v)
{
    if (!use_select)
        return golf_chan_send(ch, v);
    golf_case c[2] = {{ch, GOLF_SEND, (void *)v, 0}, {NULL, GOLF_RECV, NULL, 0}};
    int k = golf_select(c, 2);
    return k == 0 ? c[0].status : -1000;
}

static atomic_uint_fast64_t got_sum;

static void *
receiver(void *arg)
{
    (void)arg;
    uint64_t v = 0;
    if (do_recv(&v) != GOLF_OK)
        REGRESS_FAIL("receiver failed");
    atomic_fetch_add(&got_sum, v);
    atomic_fetch_add(&done_count, 1);
    return NULL;
}

static void *
producer(void *arg)
{
    uint64_t v = (uint64_t)(uintptr_t)arg;
    if (golf_chan_send(ch, &v) != GOLF_OK)
        REGRESS_FAIL("producer failed");
    return NULL;
}

static void *
sender(void *arg)
{
    uint64_t v = (uint64_t)(uintptr_t)arg;
    if (do_send(&v) != GOLF_OK)
        REGRESS_FAIL("sender failed");
    atomic_fetch_add(&done_count, 1);
    return NULL;
}

static void *
consumer(void *arg)
{
    (void)arg;
    uint64_t v;
    if (golf_chan_recv(ch, &v) != GOLF_OK)
        REGRESS_FAIL("consumer failed");
    atomic_fetch_add(&got_sum, v);
    return NULL;
}

static void
wait_done(int want, const char *what)
{
    double end = regress_now_s() + 20;
    while (atomic_load(&done_count) < want) {
        if (regress_now_s() > end)
            REGRESS_FAIL("%s: %d of %d one-shot waiters finished, len=%zu (a waiter is stranded)",
                         what, atomic_load(&done_count), want, golf_chan_len(ch));
        regress_sleep_us(200);
    }
}

/* Two receivers wait (or are about to), two producers send 1 and 2 at once. */
static void
receivers_round(void)
{
    ch = golf_chan_new(sizeof(uint64_t), 4);
    REGRESS_CHECK(ch, "golf_chan_new");
    atomic_store(&done_count, 0);
    atomic_store(&got_sum, 0);
    pthread_t t[4];
    pthread_create(&t[0], NULL, receiver, NULL);
    pthread_create(&t[1], NULL, receiver, NULL);
    regress_sleep_us(300);
    pthread_create(&t[2], NULL, producer, (void *)1);
    pthread_create(&t[3], NULL, producer, (void *)2);
    wait_done(2, use_select ? "receivers (select)" : "receivers");
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    REGRESS_CHECK(atomic_load(&got_sum) == 3, "receivers got %llu, not 1 + 2",
                  (unsigned long long)atomic_load(&got_sum));
    golf_chan_free(ch);
}

/* A full channel (cap 2, holding 10 and 20), two senders wait to add 1 and 2, two consumers
 * take one value each at once. */
static void
senders_round(void)
{
    ch = golf_chan_new(sizeof(uint64_t), 2);
    REGRESS_CHECK(ch, "golf_chan_new");
    uint64_t a = 10, b = 20;
    REGRESS_CHECK(golf_chan_send(ch, &a) == GOLF_OK && golf_chan_send(ch, &b) == GOLF_OK, "fill");
    atomic_store(&done_count, 0);
    atomic_store(&got_sum, 0);
    pthread_t t[4];
    pthread_create(&t[0], NULL, sender, (void *)1);
    pthread_create(&t[1], NULL, sender, (void *)2);
    regress_sleep_us(300);
    pthread_create(&t[2], NULL, consumer, NULL);
    pthread_create(&t[3], NULL, consumer, NULL);
    wait_done(2, use_select ? "senders (select)" : "senders");
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    uint64_t rest = 0, v;
    while (golf_chan_try_recv(ch, &v) == GOLF_OK)
        rest += v;
    REGRESS_CHECK(atomic_load(&got_sum) + rest == 33, "values lost or duplicated: %llu + %llu",
                  (unsigned long long)atomic_load(&got_sum), (unsigned long long)rest);
    golf_chan_free(ch);
}

static uint64_t
window_hits(void)
{
    return golf__chaos_hits(GOLF__SITE_BUF_WAKE_IN_FLIGHT) +
           golf__chaos_hits(GOLF__SITE_SELECT_IN_FLIGHT);
}

int
main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 1000;
    regress_watchdog(300);
    bool on = regress_chaos_default_on();
    int reached = 0;
    for (int i = 0; i < rounds; i++) {
        use_select = i & 1;
        uint64_t before = window_hits();
        receivers_round();
        senders_round();
        reached += window_hits() != before;
    }
    if (on) {
        /* The chaos path ran at all (deterministic: every send passes RING_PUSH_RESERVED). */
        REGRESS_CHECK(golf__chaos_hits(GOLF__SITE_RING_PUSH_RESERVED) > 0, "no chaos site hit");
        printf("chan_lost_wakeup_chaos: %d rounds, nothing lost or stranded; a slot held "
               "mid-copy met a waker or a waiter in %d rounds (BUF_WAKE_IN_FLIGHT %llu, "
               "SELECT_IN_FLIGHT %llu)\n",
               rounds, reached, (unsigned long long)golf__chaos_hits(GOLF__SITE_BUF_WAKE_IN_FLIGHT),
               (unsigned long long)golf__chaos_hits(GOLF__SITE_SELECT_IN_FLIGHT));
    } else {
        printf("chan_lost_wakeup_chaos: %d rounds, nothing lost or stranded (chaos off: window "
               "not measured)\n",
               rounds);
    }
    return 0;
}
