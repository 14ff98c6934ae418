/* SPDX-License-Identifier: MIT */
/* golf_cond: golf/sync.h's rules. Zero value, no lost or extra wake-ups with one-shot waiters,
 * FIFO order of signals, misuse, a bounded queue cross-checked against ref_cond, and many
 * waiters on one CPU. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "golf/sync.h"
#include "golf_test.h"
#include "ref_sync.h"

Test(cond, zero_value_signal_and_broadcast_without_waiters, .timeout = 10)
{
    golf_cond c = {0};
    golf_cond_signal(&c);
    golf_cond_broadcast(&c);
    golf_cond_signal(&c);
    static golf_cond s; /* static storage: zero too */
    golf_cond_broadcast(&s);
    cr_assert_eq(c.wait_, 0u, "a signal without waiters must not be remembered");
    cr_assert_eq(c.notify_, 0u);
}

/* ---- one-shot waiters: N threads wait once each, in a known order ---- */

enum { ONESHOT = 12 };

typedef struct oneshot {
    golf_mutex m;
    golf_cond c;
    int in_wait; /* under m: waiters that have taken their ticket */
    int woke[ONESHOT];
    atomic_int woken; /* waiters that returned */
    atomic_int order[ONESHOT];
} oneshot;

typedef struct os_arg {
    oneshot *o;
    int id;
} os_arg;

static void *
oneshot_waiter(void *p)
{
    os_arg *a = p;
    oneshot *o = a->o;
    golf_mutex_lock(&o->m);
    o->in_wait++;
    golf_cond_wait(&o->c, &o->m); /* exactly once: no loop, so a stray wake-up would show */
    o->woke[a->id]++;
    golf_mutex_unlock(&o->m);
    int k = atomic_fetch_add(&o->woken, 1);
    atomic_store(&o->order[k], a->id);
    return NULL;
}

/* Starts waiter i only once waiter i-1 is inside golf_cond_wait: tickets in id order. */
static void
oneshot_start(oneshot *o, os_arg *args, pthread_t *t)
{
    for (int i = 0; i < ONESHOT; i++) {
        args[i] = (os_arg){o, i};
        cr_assert_eq(pthread_create(&t[i], NULL, oneshot_waiter, &args[i]), 0);
        for (;;) {
            golf_mutex_lock(&o->m);
            int n = o->in_wait;
            golf_mutex_unlock(&o->m);
            if (n == i + 1)
                break;
            sched_yield();
        }
    }
}

static void
wait_woken(oneshot *o, int n)
{
    while (atomic_load(&o->woken) < n)
        sched_yield();
}

Test(cond, one_shot_waiters_signal_wakes_exactly_one_each_in_order, .timeout = 60)
{
    static oneshot o;
    memset(&o, 0, sizeof o);
    os_arg args[ONESHOT];
    pthread_t t[ONESHOT];
    oneshot_start(&o, args, t);
    for (int k = 1; k <= ONESHOT; k++) {
        golf_cond_signal(&o.c); /* outside the mutex: allowed */
        wait_woken(&o, k);
        /* A second wake-up would take time to show: give it some, then count. */
        golf_test_sleep_us(2000);
        cr_assert_eq(atomic_load(&o.woken), k, "after %d signals %d waiters woke", k,
                     atomic_load(&o.woken));
        cr_assert_eq(atomic_load(&o.order[k - 1]), k - 1,
                     "signal %d woke waiter %d, not the longest waiting (%d)", k,
                     atomic_load(&o.order[k - 1]), k - 1);
    }
    golf_cond_signal(&o.c); /* nobody left */
    for (int i = 0; i < ONESHOT; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(o.woke[i], 1, "waiter %d woke %d times", i, o.woke[i]);
    }
}

Test(cond, one_shot_waiters_broadcast_wakes_all_once, .timeout = 60)
{
    static oneshot o;
    memset(&o, 0, sizeof o);
    os_arg args[ONESHOT];
    pthread_t t[ONESHOT];
    oneshot_start(&o, args, t);
    golf_mutex_lock(&o.m);
    golf_cond_broadcast(&o.c);
    golf_mutex_unlock(&o.m);
    for (int i = 0; i < ONESHOT; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&o.woken), ONESHOT);
    for (int i = 0; i < ONESHOT; i++)
        cr_assert_eq(o.woke[i], 1, "waiter %d woke %d times", i, o.woke[i]);
}

/* A signal wakes only a waiter that joined before it: with k waiters parked, k signals, then k
 * new waiters, the new ones stay asleep until later signals. */
Test(cond, signal_is_not_remembered_for_later_waiters, .timeout = 60)
{
    static oneshot o;
    memset(&o, 0, sizeof o);
    os_arg args[ONESHOT];
    pthread_t t[ONESHOT];
    golf_cond_signal(&o.c);
    golf_cond_signal(&o.c); /* before anyone waits: lost, as in Go */
    oneshot_start(&o, args, t);
    golf_test_sleep_us(2000);
    cr_assert_eq(atomic_load(&o.woken), 0, "an early signal woke a later waiter");
    golf_cond_broadcast(&o.c);
    for (int i = 0; i < ONESHOT; i++)
        pthread_join(t[i], NULL);
}

static void
wait_unlocked(void *arg)
{
    (void)arg;
    golf_cond c = {0};
    golf_mutex m = {0};
    golf_cond_wait(&c, &m);
}

Test(cond, wait_without_the_mutex_is_fatal, .timeout = 10)
{
    char got[256];
    cr_assert(
        golf_test_dies_with(wait_unlocked, NULL, "sync: unlock of unlocked mutex", got, sizeof got),
        "got: %s", got);
}

/* ---- a bounded queue on two conds, golf against the pthread reference ---- */

enum { QCAP = 4, PRODUCERS = 3, CONSUMERS = 3, PER_PRODUCER = 20000 };

typedef struct gq {
    golf_mutex m;
    golf_cond not_full, not_empty;
    long buf[QCAP];
    int head, len;
    long sum;
    int taken;
} gq;

typedef struct rq {
    ref_mutex m;
    ref_cond not_full, not_empty;
    long buf[QCAP];
    int head, len;
    long sum;
    int taken;
} rq;

static void *
gq_producer(void *p)
{
    gq *q = p;
    for (long i = 1; i <= PER_PRODUCER; i++) {
        golf_mutex_lock(&q->m);
        while (q->len == QCAP)
            golf_cond_wait(&q->not_full, &q->m);
        q->buf[(q->head + q->len++) % QCAP] = i;
        golf_cond_signal(&q->not_empty);
        golf_mutex_unlock(&q->m);
    }
    return NULL;
}

static void *
gq_consumer(void *p)
{
    gq *q = p;
    for (;;) {
        golf_mutex_lock(&q->m);
        while (q->len == 0 && q->taken < PRODUCERS * PER_PRODUCER)
            golf_cond_wait(&q->not_empty, &q->m);
        if (q->len == 0) {
            golf_mutex_unlock(&q->m);
            return NULL;
        }
        q->sum += q->buf[q->head];
        q->head = (q->head + 1) % QCAP;
        q->len--;
        if (++q->taken == PRODUCERS * PER_PRODUCER)
            golf_cond_broadcast(&q->not_empty); /* the other consumers: done */
        golf_cond_signal(&q->not_full);
        golf_mutex_unlock(&q->m);
    }
}

static void *
rq_producer(void *p)
{
    rq *q = p;
    for (long i = 1; i <= PER_PRODUCER; i++) {
        ref_mutex_lock(&q->m);
        while (q->len == QCAP)
            ref_cond_wait(&q->not_full, &q->m);
        q->buf[(q->head + q->len++) % QCAP] = i;
        ref_cond_signal(&q->not_empty);
        ref_mutex_unlock(&q->m);
    }
    return NULL;
}

static void *
rq_consumer(void *p)
{
    rq *q = p;
    for (;;) {
        ref_mutex_lock(&q->m);
        while (q->len == 0 && q->taken < PRODUCERS * PER_PRODUCER)
            ref_cond_wait(&q->not_empty, &q->m);
        if (q->len == 0) {
            ref_mutex_unlock(&q->m);
            return NULL;
        }
        q->sum += q->buf[q->head];
        q->head = (q->head + 1) % QCAP;
        q->len--;
        if (++q->taken == PRODUCERS * PER_PRODUCER)
            ref_cond_broadcast(&q->not_empty);
        ref_cond_signal(&q->not_full);
        ref_mutex_unlock(&q->m);
    }
}

static void
run_threads(void *(*prod)(void *), void *(*cons)(void *), void *q)
{
    pthread_t t[PRODUCERS + CONSUMERS];
    for (int i = 0; i < PRODUCERS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, prod, q), 0);
    for (int i = 0; i < CONSUMERS; i++)
        cr_assert_eq(pthread_create(&t[PRODUCERS + i], NULL, cons, q), 0);
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        pthread_join(t[i], NULL);
}

Test(cond, bounded_queue_matches_ref, .timeout = 120)
{
    static gq g;
    static rq r = {REF_MUTEX_INIT, REF_COND_INIT, REF_COND_INIT, {0}, 0, 0, 0, 0};
    run_threads(gq_producer, gq_consumer, &g);
    run_threads(rq_producer, rq_consumer, &r);
    long want = (long)PRODUCERS * PER_PRODUCER * (PER_PRODUCER + 1) / 2;
    cr_assert_eq(r.sum, want, "reference lost values");
    cr_assert_eq(g.sum, r.sum, "golf sum %ld, reference %ld", g.sum, r.sum);
    cr_assert_eq(g.taken, r.taken);
    cr_assert_eq(g.len, 0);
}

Test(cond, bounded_queue_many_threads_one_cpu, .timeout = 120)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &set);
    cr_assert_eq(sched_setaffinity(0, sizeof set, &set), 0);
    static gq g;
    run_threads(gq_producer, gq_consumer, &g);
    cr_assert_eq(g.sum, (long)PRODUCERS * PER_PRODUCER * (PER_PRODUCER + 1) / 2);
}
