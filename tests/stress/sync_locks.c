/* SPDX-License-Identifier: MIT */
/* Stress for the TSan build: golf's Mutex, RWMutex, Once and WaitGroup under oversubscription.
 *
 *   stress_sync_locks [threads=16] [unused] [seconds=2]
 *
 * Threads mix lock/trylock on a mutex guarding a plain counter (TSan sees any missing
 * happens-before as a race on it), readers and writers on an RWMutex guarding a plain array
 * that writers keep uniform, and rounds of a Once + WaitGroup barrier. Exits 1 on a violation. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "golf/sync.h"

static golf_mutex mu;
static long counter; /* protected by mu */
static golf_rwmutex rw;
static long table[16]; /* protected by rw; writers keep every entry equal */
static atomic_bool stop;
static atomic_long bad;
static long per_thread_incs[256];

static void *
worker(void *arg)
{
    long id = (long)arg;
    unsigned seed = (unsigned)id * 2654435761u;
    long incs = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 16) % 10;
        if (r < 4) {
            if (r == 0) {
                if (!golf_mutex_trylock(&mu))
                    continue;
            } else {
                golf_mutex_lock(&mu);
            }
            counter++;
            incs++;
            golf_mutex_unlock(&mu);
        } else if (r < 9) {
            golf_rwmutex_rlock(&rw);
            for (int i = 1; i < 16; i++)
                if (table[i] != table[0])
                    atomic_fetch_add(&bad, 1);
            golf_rwmutex_runlock(&rw);
        } else {
            golf_rwmutex_lock(&rw);
            for (int i = 0; i < 16; i++)
                table[i]++;
            golf_rwmutex_unlock(&rw);
        }
    }
    per_thread_incs[id] = incs;
    return NULL;
}

static atomic_int once_runs;
static int once_value; /* written by the once fn, read by everyone after golf_once_do */

static void
once_fn(void *arg)
{
    once_value = *(int *)arg;
    atomic_fetch_add(&once_runs, 1);
}

typedef struct round_ctx {
    golf_once once;
    golf_waitgroup wg;
    int value;
    long sum; /* written by tasks under mu */
} round_ctx;

static void
round_task(void *arg)
{
    round_ctx *c = arg;
    golf_once_do(&c->once, once_fn, &c->value);
    if (once_value != c->value)
        atomic_fetch_add(&bad, 1);
    golf_mutex_lock(&mu);
    c->sum += 1;
    golf_mutex_unlock(&mu);
}

int
main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 16;
    double seconds = argc > 3 ? atof(argv[3]) : 2.0;
    if (threads < 1 || threads > 256)
        threads = 16;
    pthread_t t[256];
    for (long i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += per_thread_incs[i];
    }
    if (total != counter) {
        fprintf(stderr, "mutex lost updates: %ld != %ld\n", counter, total);
        return 1;
    }
    /* Once + WaitGroup rounds: a fresh Once each round, tasks started with golf_waitgroup_go. */
    for (int round = 0; round < 50; round++) {
        round_ctx c = {.value = round + 1};
        atomic_store(&once_runs, 0);
        for (int i = 0; i < 8; i++)
            if (golf_waitgroup_go(&c.wg, round_task, &c) != GOLF_OK) {
                fprintf(stderr, "golf_waitgroup_go failed\n");
                return 1;
            }
        golf_waitgroup_wait(&c.wg);
        if (c.sum != 8 || atomic_load(&once_runs) != 1) {
            fprintf(stderr, "round %d: sum %ld once_runs %d\n", round, c.sum,
                    atomic_load(&once_runs));
            return 1;
        }
    }
    if (atomic_load(&bad) != 0) {
        fprintf(stderr, "%ld violations\n", atomic_load(&bad));
        return 1;
    }
    printf("stress_sync_locks: ok (%d threads, %ld mutex increments)\n", threads, counter);
    return 0;
}
