/* SPDX-License-Identifier: MIT */
/* golf_pool under concurrency: every object accounted for (created == freed + held), none held
 * by two threads at once (an owner word set by atomic exchange), payload written by the last
 * holder visible to the next (put synchronizes before get), trims racing with get/put, threads
 * hopping CPUs to force migrations inside the rseq sections, and threads that exit while their
 * cache holds objects (nothing leaks). Both front ends. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "pool_test.h"

typedef struct shared {
    golf_pool *p;
    tcount c;
    _Atomic int stop;
    _Atomic long held; /* objects held by workers right now */
    _Atomic long errors;
    _Atomic long ops;
    int hop; /* workers change their CPU affinity now and then */
} shared;

typedef struct warg {
    shared *sh;
    uint64_t id;
} warg;

static void
hop_cpu(uint64_t r)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (r & 1) {
        for (long i = 0; i < n && i < CPU_SETSIZE; i++)
            CPU_SET(i, &set);
    } else {
        CPU_SET((int)((r >> 1) % (uint64_t)n), &set);
    }
    sched_setaffinity(0, sizeof set, &set);
}

static void *
worker(void *arg)
{
    warg *w = arg;
    shared *sh = w->sh;
    tobj *h[16];
    uint64_t s = w->id * 0x9E3779B97F4A7C15ull + 1;
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int k = 1 + (int)((s >> 40) % 16);
        for (int i = 0; i < k; i++) {
            h[i] = golf_pool_get(sh->p);
            atomic_fetch_add(&sh->held, 1);
            if (!tobj_claim(h[i], w->id)) {
                atomic_fetch_add(&sh->errors, 1);
                continue;
            }
            /* The previous holder left a uniform payload: check it, write ours. */
            uint64_t v = h[i]->payload[0];
            for (int j = 1; j < 4; j++)
                if (h[i]->payload[j] != v)
                    atomic_fetch_add(&sh->errors, 1);
            for (int j = 0; j < 4; j++)
                h[i]->payload[j] = w->id << 32 | (uint64_t)i;
        }
        if (sh->hop && (s >> 20) % 64 == 0)
            hop_cpu(s >> 24);
        for (int i = 0; i < k; i++) {
            if (!tobj_release(h[i], w->id))
                atomic_fetch_add(&sh->errors, 1);
            atomic_fetch_sub(&sh->held, 1);
            golf_pool_put(sh->p, h[i]);
        }
        atomic_fetch_add_explicit(&sh->ops, k, memory_order_relaxed);
    }
    return NULL;
}

static void *
trimmer(void *arg)
{
    shared *sh = arg;
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        golf_pool_trim(sh->p);
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void
run(int percpu, int nthreads, int hop, int trim, double seconds)
{
    pool_mode(percpu);
    static shared sh;
    sh = (shared){0};
    sh.hop = hop;
    golf_pool_options o = tobj_options(&sh.c);
    sh.p = golf_pool_new(&o);
    pthread_t t[16], tt;
    warg a[16];
    for (int i = 0; i < nthreads; i++) {
        a[i] = (warg){&sh, (uint64_t)i + 1};
        pthread_create(&t[i], NULL, worker, &a[i]);
    }
    if (trim)
        pthread_create(&tt, NULL, trimmer, &sh);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (long)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    /* Mid-run accounting: created == freed + held + cached, so created - freed >= held. */
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    if (trim)
        pthread_join(tt, NULL);
    cr_assert_eq(sh.errors, 0, "an object was held by two threads, or its payload was torn");
    cr_assert_eq(sh.held, 0);
    cr_assert(sh.ops > 0);
    /* Quiescent now: two trims free everything, then free finds nothing. */
    golf_pool_trim(sh.p);
    golf_pool_trim(sh.p);
    cr_assert_eq(sh.c.created, sh.c.freed, "after two trims: created %ld, freed %ld",
                 (long)sh.c.created, (long)sh.c.freed);
    golf_pool_free(sh.p);
    cr_assert_eq(sh.c.created, sh.c.freed);
    cr_assert_eq(sh.c.bad, 0, "an object was freed twice or while held");
}

Test(pool_concurrent, getput_percpu, .timeout = 60)
{
    run(1, 4, 0, 0, 1.0);
}
Test(pool_concurrent, getput_thread_cache, .timeout = 60)
{
    run(0, 4, 0, 0, 1.0);
}
Test(pool_concurrent, migrations_and_trims_percpu, .timeout = 60)
{
    run(1, 6, 1, 1, 1.5);
}
Test(pool_concurrent, migrations_and_trims_thread_cache, .timeout = 60)
{
    run(0, 6, 1, 1, 1.5);
}

/* Threads that exit while their caches hold objects: the exit destructor hands them back, and
 * trim/free reach them. */
static void *
short_lived(void *arg)
{
    shared *sh = arg;
    tobj *h[40];
    for (int i = 0; i < 40; i++)
        h[i] = golf_pool_get(sh->p);
    for (int i = 0; i < 40; i++)
        golf_pool_put(sh->p, h[i]);
    return NULL;
}

static void
exiting_threads(int percpu)
{
    pool_mode(percpu);
    static shared sh;
    sh = (shared){0};
    golf_pool_options o = tobj_options(&sh.c);
    sh.p = golf_pool_new(&o);
    for (int round = 0; round < 50; round++) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, short_lived, &sh);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    }
    long kept = sh.c.created - sh.c.freed;
    cr_assert(kept > 0 && kept <= 4 * 40 * 50);
    golf_pool_trim(sh.p);
    golf_pool_trim(sh.p);
    cr_assert_eq(sh.c.created, sh.c.freed, "objects of exited threads not reachable by trim");
    golf_pool_free(sh.p);
    cr_assert_eq(sh.c.bad, 0);
}

Test(pool_concurrent, exiting_threads_percpu, .timeout = 60)
{
    exiting_threads(1);
}
Test(pool_concurrent, exiting_threads_thread_cache, .timeout = 60)
{
    exiting_threads(0);
}

/* A pool freed while live threads still have caches of it, and a new pool made after (it may
 * reuse the address; the dead caches must never be used for it). */
static void *
user_then_wait(void *arg)
{
    shared *sh = arg;
    short_lived(sh);
    atomic_fetch_add(&sh->ops, 1); /* done with the first pool */
    while (!atomic_load(&sh->stop))
        sched_yield();
    /* Use the pool that replaced the freed one. */
    short_lived(sh);
    return NULL;
}

Test(pool_concurrent, free_with_live_thread_caches, .timeout = 60)
{
    pool_mode(0);
    static shared sh;
    sh = (shared){0};
    golf_pool_options o = tobj_options(&sh.c);
    sh.p = golf_pool_new(&o);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, user_then_wait, &sh);
    while (atomic_load(&sh.ops) < 3) /* until all three are done with it */
        sched_yield();
    golf_pool_free(sh.p);
    cr_assert_eq(sh.c.created, sh.c.freed, "free must reach live threads' caches");
    sh.p = golf_pool_new(&o);
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    golf_pool_free(sh.p);
    cr_assert_eq(sh.c.created, sh.c.freed);
    cr_assert_eq(sh.c.bad, 0);
}
