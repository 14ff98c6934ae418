/* SPDX-License-Identifier: MIT */
/* Stress for golf_cond (and the TSan build): a bounded queue on two conds, plus rounds of
 * one-shot waiters woken by signals made outside the mutex.
 *
 *   stress_cond_queue [threads=8] [capacity=4] [seconds=2]
 *
 * Queue: threads/2 producers and threads/2 consumers; a producer signals not_empty sometimes
 * under the mutex and sometimes after unlocking it, consumers likewise for not_full; now and then
 * a broadcast instead. Checked: every value produced is consumed exactly once (per-producer
 * sequence numbers arrive in order per producer and consumer, sums match), and the plain queue
 * fields are only touched under the mutex (TSan reports otherwise).
 * One-shot rounds: a group of waiters each waits exactly once (no loop) while a signaller, not
 * holding the mutex, makes exactly as many signals as there are waiters; every waiter must
 * return. A signal lost between a waiter's unlock and its enqueue would leave one asleep: the
 * watchdog (no progress for 10 s) fails the run. golf's test hook yields in every other call
 * (golf_cond_wait calls it between unlocking the mutex and enqueueing, a wake after setting the
 * waiter's flag), so signals land in those windows often. Exit 0 on success, 1 on a violation. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golf/sync.h"
#include "golf_test.h"
#include "sync/sync_internal.h"

enum { MAX_THREADS = 64, MAX_CAP = 1024 };

static golf_mutex mu;
static golf_cond not_full, not_empty;
static uint64_t buf[MAX_CAP]; /* (producer << 40) | seq */
static int head, len, cap;    /* under mu */
static bool producers_done;   /* under mu */
static atomic_bool stop;
static atomic_long progress;         /* queue operations */
static atomic_long oneshot_progress; /* one-shot rounds */
static atomic_bool driver_done;
static atomic_long bad;
static long produced[MAX_THREADS], consumed_sum[MAX_THREADS];

static void *
producer(void *arg)
{
    long id = (long)arg;
    uint64_t rng = (uint64_t)id * 7919u + 1;
    uint64_t seq = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        golf_mutex_lock(&mu);
        while (len == cap)
            golf_cond_wait(&not_full, &mu);
        buf[(head + len++) % cap] = ((uint64_t)id << 40) | ++seq;
        uint64_t r = golf_test_rand(&rng) % 8;
        if (r == 0)
            golf_cond_signal(&not_empty);
        golf_mutex_unlock(&mu);
        if (r == 1)
            golf_cond_broadcast(&not_empty);
        else if (r != 0)
            golf_cond_signal(&not_empty);
        atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
    }
    produced[id] = (long)seq;
    return NULL;
}

static void *
consumer(void *arg)
{
    long id = (long)arg;
    uint64_t rng = (uint64_t)id * 104729u + 3;
    uint64_t last[MAX_THREADS] = {0};
    long sum = 0;
    for (;;) {
        golf_mutex_lock(&mu);
        while (len == 0 && !producers_done)
            golf_cond_wait(&not_empty, &mu);
        if (len == 0) {
            golf_mutex_unlock(&mu);
            break;
        }
        uint64_t v = buf[head];
        head = (head + 1) % cap;
        len--;
        uint64_t r = golf_test_rand(&rng) % 8;
        if (r == 0)
            golf_cond_signal(&not_full);
        golf_mutex_unlock(&mu);
        if (r == 1)
            golf_cond_broadcast(&not_full);
        else if (r != 0)
            golf_cond_signal(&not_full);
        uint64_t p = v >> 40, seq = v & ((1ull << 40) - 1);
        if (p >= MAX_THREADS || seq <= last[p])
            atomic_fetch_add(&bad, 1); /* duplicated or out of order for its producer */
        else
            last[p] = seq;
        sum++;
        atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
    }
    consumed_sum[id] = sum;
    return NULL;
}

/* ---- one-shot rounds ---- */

enum { ONESHOT_WAITERS = 6 };

typedef struct oneshot_round {
    golf_mutex m;
    golf_cond c;
    int joined; /* under m */
    int woke;   /* under m */
} oneshot_round;

static void *
oneshot_waiter(void *p)
{
    oneshot_round *o = p;
    golf_mutex_lock(&o->m);
    o->joined++;
    golf_cond_wait(&o->c, &o->m);
    o->woke++;
    golf_mutex_unlock(&o->m);
    return NULL;
}

static void *
oneshot_driver(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        oneshot_round o;
        memset(&o, 0, sizeof o);
        pthread_t t[ONESHOT_WAITERS];
        for (int i = 0; i < ONESHOT_WAITERS; i++)
            if (pthread_create(&t[i], NULL, oneshot_waiter, &o) != 0)
                abort();
        /* Signal as soon as each waiter has its ticket (joined counts it under m, and it took the
         * ticket before unlocking): the signal races with its unlock and enqueue. */
        for (int sent = 0; sent < ONESHOT_WAITERS;) {
            golf_mutex_lock(&o.m);
            int j = o.joined;
            golf_mutex_unlock(&o.m);
            for (; sent < j; sent++)
                golf_cond_signal(&o.c);
            if (sent < ONESHOT_WAITERS)
                sched_yield();
        }
        for (int i = 0; i < ONESHOT_WAITERS; i++)
            pthread_join(t[i], NULL);
        if (o.woke != ONESHOT_WAITERS)
            atomic_fetch_add(&bad, 1);
        atomic_fetch_add_explicit(&oneshot_progress, 1, memory_order_relaxed);
    }
    atomic_store(&driver_done, true);
    return NULL;
}

static void
yield_sometimes(void)
{
    static _Thread_local unsigned calls;
    if (++calls % 2 == 0)
        sched_yield();
}

int
main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 8;
    cap = argc > 2 ? atoi(argv[2]) : 4;
    double seconds = argc > 3 ? atof(argv[3]) : 2.0;
    if (threads < 2 || threads > MAX_THREADS || cap < 1 || cap > MAX_CAP) {
        fprintf(stderr, "usage: stress_cond_queue [threads 2..64] [capacity 1..1024] [seconds]\n");
        return 1;
    }
    golf__sync_test_after_release = yield_sometimes; /* before any thread starts */
    int np = threads / 2, nc = threads - np;
    pthread_t t[MAX_THREADS + 1];
    for (long i = 0; i < np; i++)
        pthread_create(&t[i], NULL, producer, (void *)i);
    for (long i = 0; i < nc; i++)
        pthread_create(&t[np + i], NULL, consumer, (void *)i);
    pthread_t driver;
    pthread_create(&driver, NULL, oneshot_driver, NULL);

    /* The watchdog: each kind of work must move within 10 s. A lost wake-up leaves a queue
     * thread or a one-shot waiter asleep for good (the rest may go on). After the stop, it
     * keeps watching the one-shot driver until it has finished its round. */
    double end = golf_test_now_s() + seconds;
    double changed[2] = {golf_test_now_s(), golf_test_now_s()};
    long last[2] = {-1, -1};
    while (!atomic_load(&driver_done)) {
        golf_test_sleep_us(100000);
        double now = golf_test_now_s();
        long p[2] = {atomic_load_explicit(&progress, memory_order_relaxed),
                     atomic_load_explicit(&oneshot_progress, memory_order_relaxed)};
        for (int k = 0; k < 2; k++) {
            if (p[k] != last[k]) {
                last[k] = p[k];
                changed[k] = now;
            } else if (now - changed[k] > 10.0 && (k == 1 || now < end)) {
                fprintf(stderr, "FAIL: %s made no progress for 10 s: a lost wake-up\n",
                        k == 0 ? "the queue" : "the one-shot rounds");
                return 1;
            }
        }
        if (now >= end)
            atomic_store(&stop, true);
    }
    for (int i = 0; i < np; i++)
        pthread_join(t[i], NULL);
    golf_mutex_lock(&mu);
    producers_done = true;
    golf_cond_broadcast(&not_empty);
    golf_mutex_unlock(&mu);
    for (int i = 0; i < nc; i++)
        pthread_join(t[np + i], NULL);
    pthread_join(driver, NULL);

    long prod = 0, cons = 0;
    for (int i = 0; i < np; i++)
        prod += produced[i];
    for (int i = 0; i < nc; i++)
        cons += consumed_sum[i];
    if (prod != cons || atomic_load(&bad) != 0 || len != 0) {
        fprintf(stderr, "FAIL: produced %ld consumed %ld, violations %ld, left %d\n", prod, cons,
                atomic_load(&bad), len);
        return 1;
    }
    printf("stress_cond_queue: ok: %ld values through %d producers and %d consumers\n", prod, np,
           nc);
    return 0;
}
