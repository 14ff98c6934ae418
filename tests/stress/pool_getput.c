/* SPDX-License-Identifier: MIT */
/* Stress for the TSan build (and every build): golf_pool under oversubscription.
 *
 *   stress_pool_getput [threads=8] [capacity=16] [seconds=2]
 *
 * Workers take up to `capacity` objects, claim each with an atomic exchange on its owner word
 * (two holders at once = failure), check the payload the previous holder wrote (plain stores:
 * TSan reports any put->get hand-off without happens-before as a race), write their own, and
 * put them back. A trimmer trims every millisecond; a churner starts short-lived threads that
 * exit with objects in their caches; workers hop CPUs to force migrations. At the end two trims
 * must have freed every object ever created, each exactly once. Exits 1 on a violation. */
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

static golf_pool *pool;
static int capacity = 16;
static _Atomic int stop;
static _Atomic long ops;

static void
use(obj *o, uint64_t id, uint64_t tag)
{
    if (o->magic != POOL_STRESS_MAGIC || atomic_exchange(&o->owner, id) != 0) {
        fprintf(stderr, "object held by two threads\n");
        atomic_fetch_add(&errors, 1);
        return;
    }
    for (int j = 1; j < 5; j++)
        if (o->data[j] != o->data[0]) {
            fprintf(stderr, "torn payload\n");
            atomic_fetch_add(&errors, 1);
        }
    for (int j = 0; j < 5; j++)
        o->data[j] = tag;
}

static void
done(obj *o, uint64_t id)
{
    if (atomic_exchange(&o->owner, 0) != id)
        atomic_fetch_add(&errors, 1);
}

static void *
worker(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    obj *h[256];
    uint64_t s = id * 0x9E3779B97F4A7C15ull;
    long n = 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int k = 1 + (int)((s >> 33) % (uint64_t)capacity);
        for (int i = 0; i < k; i++) {
            h[i] = golf_pool_get(pool);
            use(h[i], id, s + (uint64_t)i);
        }
        if (ncpu > 1 && (s >> 40) % 128 == 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET((int)((s >> 20) % (uint64_t)ncpu), &set);
            if ((s >> 50) & 1)
                for (long c = 0; c < ncpu && c < CPU_SETSIZE; c++)
                    CPU_SET(c, &set);
            sched_setaffinity(0, sizeof set, &set);
        }
        for (int i = 0; i < k; i++) {
            done(h[i], id);
            golf_pool_put(pool, h[i]);
        }
        n += k;
    }
    atomic_fetch_add(&ops, n);
    return NULL;
}

static void *
short_lived(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    obj *h[8];
    for (int i = 0; i < 8; i++) {
        h[i] = golf_pool_get(pool);
        use(h[i], id, id);
    }
    for (int i = 0; i < 8; i++) {
        done(h[i], id);
        golf_pool_put(pool, h[i]);
    }
    return NULL;
}

static void *
churner(void *arg)
{
    (void)arg;
    uint64_t id = 1u << 20;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_t t;
        if (pthread_create(&t, NULL, short_lived, (void *)(uintptr_t)id++) == 0)
            pthread_join(t, NULL);
    }
    return NULL;
}

static void *
trimmer(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        golf_pool_trim(pool);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 8;
    capacity = argc > 2 ? atoi(argv[2]) : 16;
    double seconds = argc > 3 ? atof(argv[3]) : 2.0;
    if (threads < 1 || threads > 64 || capacity < 1 || capacity > 256 || seconds <= 0) {
        fprintf(stderr, "usage: %s [threads 1..64] [capacity 1..256] [seconds]\n", argv[0]);
        return 2;
    }
    golf_pool_options o = {mk, rm, NULL};
    pool = golf_pool_new(&o);
    pthread_t t[64], tt, tc;
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    pthread_create(&tt, NULL, trimmer, NULL);
    pthread_create(&tc, NULL, churner, NULL);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (long)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    pthread_join(tt, NULL);
    pthread_join(tc, NULL);
    long c;
    int bad = pool_stress_finish(pool, &c);
    printf("stress_pool_getput: %d threads, capacity %d, %.1fs: %ld get+put, %ld created, %s\n",
           threads, capacity, seconds, (long)atomic_load(&ops), c, bad ? "FAIL" : "ok");
    return bad;
}
