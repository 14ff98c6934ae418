/* SPDX-License-Identifier: MIT */
/* Stress for the TSan build: golf_map's online resize and clear under readers.
 *
 *   stress_map_resize [threads=4] [keys=20000] [seconds=2]
 *
 * Phase 1 (first half of the time): keys 0..999 stay, each mapping to a payload that readers
 * check inside a read section; writers insert and delete `keys` other keys (8- and 24-byte)
 * over and over, so the table doubles and redoubles under the readers; thread 0 also ranges and
 * checks that every stable key is visited exactly once with its value. Phase 2: writers store
 * word values key*3 while one thread clears the map over and over; readers and ranges must only
 * ever see key*3. Exit 1 on a violation. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "golf/syncmap.h"

enum { STABLE = 1000 };

static golf_map *m;
static int nthreads = 4;
static uint64_t nkeys = 20000;
static atomic_bool stop;
static atomic_int phase;
static atomic_long bad;
static uint64_t *stable_payload[STABLE];

static uint64_t
rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static void
fail(const char *what, uint64_t k)
{
    fprintf(stderr, "stress_map_resize: %s (key %llu)\n", what, (unsigned long long)k);
    atomic_fetch_add(&bad, 1);
}

typedef struct seen {
    unsigned char hit[STABLE];
} seen;

static bool
range_stable(const void *key, size_t klen, void *value, void *arg)
{
    seen *s = arg;
    uint64_t k;
    memcpy(&k, key, 8);
    if (klen == 8 && k < STABLE) {
        if (s->hit[k]++)
            fail("range visited a key twice", k);
        if (*(uint64_t *)value != k)
            fail("range saw a wrong value", k);
    }
    return true;
}

static bool
range_words(const void *key, size_t klen, void *value, void *arg)
{
    (void)arg;
    (void)klen;
    uint64_t k;
    memcpy(&k, key, 8);
    if ((uint64_t)(uintptr_t)value != k * 3)
        fail("range saw a wrong word", k);
    return true;
}

static void *
worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t s = 77 + (uint64_t)id;
    unsigned char key[24];
    memset(key, 0x33, sizeof key);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t x = rnd(&s);
        if (atomic_load_explicit(&phase, memory_order_relaxed) == 1) {
            if (id % 2 == 0) { /* reader */
                uint64_t k = x % STABLE;
                void *v;
                golf_map_read_lock();
                if (!golf_map_load(m, &k, 8, &v) || *(uint64_t *)v != k)
                    fail("a stable key was missed or wrong during a resize", k);
                golf_map_read_unlock();
                if (id == 0 && x % 20000 == 0) {
                    static seen sn;
                    memset(&sn, 0, sizeof sn);
                    golf_map_range(m, range_stable, &sn);
                    for (uint64_t j = 0; j < STABLE; j++)
                        if (!sn.hit[j])
                            fail("range missed a stable key", j);
                }
            } else { /* writer: grow by inserting, shrink by deleting */
                uint64_t k = STABLE + x % nkeys;
                memcpy(key, &k, 8);
                size_t kl = k % 2 ? 24 : 8;
                if ((x >> 32) % 2)
                    golf_map_store(m, key, kl, (void *)(uintptr_t)k);
                else
                    golf_map_delete(m, key, kl);
            }
        } else {
            uint64_t k = x % nkeys;
            if (id == 0) {
                if (x % 64 == 0)
                    golf_map_clear(m);
                else if (x % 64 == 1)
                    golf_map_range(m, range_words, NULL);
            } else if (id % 2) {
                golf_map_store(m, &k, 8, (void *)(uintptr_t)(k * 3));
            } else {
                void *v;
                if (golf_map_load(m, &k, 8, &v) && (uint64_t)(uintptr_t)v != k * 3)
                    fail("load saw a wrong word around a clear", k);
            }
        }
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    double seconds = 2;
    if (argc > 1)
        nthreads = atoi(argv[1]);
    if (argc > 2)
        nkeys = (uint64_t)atoll(argv[2]);
    if (argc > 3)
        seconds = atof(argv[3]);
    if (nthreads < 2 || nthreads > 256 || nkeys < 1) {
        fprintf(stderr, "usage: stress_map_resize [threads 2..256] [keys >= 1] [seconds]\n");
        return 2;
    }
    m = golf_map_new();
    for (uint64_t k = 0; k < STABLE; k++) {
        stable_payload[k] = malloc(sizeof(uint64_t));
        *stable_payload[k] = k;
        golf_map_store(m, &k, 8, stable_payload[k]);
    }
    atomic_store(&phase, 1);
    pthread_t th[256];
    for (int i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    double half = seconds / 2;
    struct timespec ts = {(time_t)half, (long)((half - (double)(time_t)half) * 1e9)};
    nanosleep(&ts, NULL);
    /* Switch phases with the workers stopped, so no phase-1 writer races the word values. */
    atomic_store(&stop, true);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    golf_map_clear(m);
    atomic_store(&stop, false);
    atomic_store(&phase, 2);
    for (int i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    golf_map_range(m, range_words, NULL);
    golf_map_free(m);
    for (uint64_t k = 0; k < STABLE; k++)
        free(stable_payload[k]);
    long b = atomic_load(&bad);
    printf("stress_map_resize: %d threads, %llu keys, %.1f s: %s\n", nthreads,
           (unsigned long long)nkeys, seconds, b ? "FAILED" : "ok");
    return b ? 1 : 0;
}
