/* SPDX-License-Identifier: MIT */
/* Stress for the TSan build (and every build): objects flowing between CPUs through golf_pool.
 *
 *   stress_pool_handoff [pairs=2] [capacity=256] [seconds=2]
 *
 * Each pair is a producer and a consumer joined by an SPSC ring of `capacity` pointers. The
 * producer gets objects (on its CPU), stamps them and sends them; the consumer checks the
 * stamp and puts them back (on its CPU), so every object moves CPU -> CPU and the pool must
 * carry them back in batches through the depot. Producers are pinned to even CPUs, consumers
 * to odd ones, when there are two. A trimmer trims every 2 ms. At the end: created == freed
 * after two trims, each object freed once. Exits 1 on a violation. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "golf/pool.h"
#include "pool_stress.h"

typedef struct ring {
    _Atomic uint64_t head; /* consumer's next index */
    char pad1[120];
    _Atomic uint64_t tail; /* producer's next index */
    char pad2[120];
    obj **buf;
    uint64_t cap;
} ring;

static golf_pool *pool;
static _Atomic int stop;
static _Atomic long moved;

static void
pin(int cpu)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % (int)n, &set);
    sched_setaffinity(0, sizeof set, &set);
}

typedef struct pair {
    ring r;
    int id;
    _Atomic int producer_done; /* the producer has published its last object */
} pair;

static void *
producer(void *arg)
{
    pair *pr = arg;
    ring *r = &pr->r;
    pin(2 * pr->id);
    uint64_t seq = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
        /* acquire: the consumer's reads of the slot are done before we overwrite it */
        if (t - atomic_load_explicit(&r->head, memory_order_acquire) == r->cap) {
            sched_yield();
            continue;
        }
        obj *o = golf_pool_get(pool);
        if (o->magic != POOL_STRESS_MAGIC ||
            atomic_exchange(&o->owner, (uint64_t)pr->id + 1) != 0 || atomic_load(&o->freed) != 0)
            atomic_fetch_add(&errors, 1); /* handed to two holders, or freed */
        seq++;
        for (int j = 0; j < 5; j++)
            o->data[j] = seq;
        r->buf[t % r->cap] = o;
        /* release: publishes the slot and the stamps to the consumer */
        atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    }
    /* release: orders our last tail store before the consumer's final emptiness check */
    atomic_store_explicit(&pr->producer_done, 1, memory_order_release);
    return NULL;
}

static void *
consumer(void *arg)
{
    pair *pr = arg;
    ring *r = &pr->r;
    pin(2 * pr->id + 1);
    long n = 0;
    for (;;) {
        uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
        /* acquire: pairs with the producer's release of tail */
        if (h == atomic_load_explicit(&r->tail, memory_order_acquire)) {
            /* acquire: pairs with producer_done's release, so the tail load after it is final */
            if (atomic_load_explicit(&pr->producer_done, memory_order_acquire) &&
                h == atomic_load_explicit(&r->tail, memory_order_acquire))
                break;
            sched_yield();
            continue;
        }
        obj *o = r->buf[h % r->cap];
        atomic_store_explicit(&r->head, h + 1, memory_order_release);
        for (int j = 1; j < 5; j++)
            if (o->data[j] != o->data[0])
                atomic_fetch_add(&errors, 1);
        if (atomic_exchange(&o->owner, 0) != (uint64_t)pr->id + 1)
            atomic_fetch_add(&errors, 1); /* another holder took it meanwhile */
        golf_pool_put(pool, o);
        n++;
    }
    atomic_fetch_add(&moved, n);
    return NULL;
}

static void *
trimmer(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        golf_pool_trim(pool);
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    int pairs = argc > 1 ? atoi(argv[1]) : 2;
    int cap = argc > 2 ? atoi(argv[2]) : 256;
    double seconds = argc > 3 ? atof(argv[3]) : 2.0;
    if (pairs < 1 || pairs > 32 || cap < 1 || cap > 1 << 20 || seconds <= 0) {
        fprintf(stderr, "usage: %s [pairs 1..32] [capacity] [seconds]\n", argv[0]);
        return 2;
    }
    golf_pool_options o = {mk, rm, NULL};
    pool = golf_pool_new(&o);
    pair *ps = calloc((size_t)pairs, sizeof *ps);
    pthread_t t[64], tt;
    for (int i = 0; i < pairs; i++) {
        ps[i].id = i;
        ps[i].r.cap = (uint64_t)cap;
        ps[i].r.buf = calloc((size_t)cap, sizeof(obj *));
        pthread_create(&t[2 * i], NULL, producer, &ps[i]);
        pthread_create(&t[2 * i + 1], NULL, consumer, &ps[i]);
    }
    pthread_create(&tt, NULL, trimmer, NULL);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (long)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2 * pairs; i++)
        pthread_join(t[i], NULL);
    pthread_join(tt, NULL);
    long c;
    int bad = pool_stress_finish(pool, &c);
    for (int i = 0; i < pairs; i++)
        free(ps[i].r.buf);
    free(ps);
    printf("stress_pool_handoff: %d pairs, capacity %d, %.1fs: %ld objects moved, %ld created, "
           "%s\n",
           pairs, cap, seconds, (long)atomic_load(&moved), c, bad ? "FAIL" : "ok");
    return bad;
}
