/* SPDX-License-Identifier: MIT */
/* Stress for the TSan build: golf_map with every operation at once.
 *
 *   stress_map_ops [threads=4] [keys=2048] [seconds=1]
 *
 * Thread i owns the keys k with k % threads == i and is their only writer; it keeps a log (its
 * model) of what each of its keys holds. Values are heap payloads {key, seq} written before the
 * store and read by every thread inside a read section, so a missing happens-before between a
 * store and a load ([M6]) shows up as a TSan race on the payload; replaced and removed payloads
 * are freed through golf_map_retire, so a use after free shows up too (ASan build). Thread 0
 * also ranges over the map. At the end the map must equal the union of the logs. Exit 1 on a
 * violation.
 *
 * Under TSan a run takes many times its seconds (every access is instrumented, and
 * golf_map_free waits for every retired payload's free on golf's deferred-work worker, whose
 * grace periods lockfree/rcu.c describes to TSan). Hence the 1 s default. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "golf/syncmap.h"

typedef struct payload {
    uint64_t key;
    uint64_t seq;
} payload;

static golf_map *m;
static int nthreads = 4;
static uint64_t nkeys = 2048;
static atomic_bool stop;
static atomic_long bad;
static payload **model; /* model[k]: what k's owner last left there (NULL: absent) */

static uint64_t
rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* 8-byte keys for even k, 24-byte (out-of-line) keys for odd k. */
static size_t
key_of(uint64_t k, unsigned char buf[24])
{
    memset(buf, 0x5a, 24);
    memcpy(buf, &k, 8);
    return k % 2 ? 24 : 8;
}

static void
fail(const char *what, uint64_t k)
{
    fprintf(stderr, "stress_map_ops: %s (key %llu)\n", what, (unsigned long long)k);
    atomic_fetch_add(&bad, 1);
}

static bool
range_fn(const void *key, size_t klen, void *value, void *arg)
{
    (void)arg;
    uint64_t k;
    memcpy(&k, key, 8);
    payload *p = value;
    if (klen != (k % 2 ? 24u : 8u) || p->key != k) /* inside range's read section */
        fail("range saw a value of another key", k);
    return true;
}

static void *
worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t s = 0xabc + (uint64_t)id, seq = 0;
    unsigned char key[24];
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t x = rnd(&s);
        uint64_t k = x % nkeys;
        size_t kl = key_of(k, key);
        if (k % (uint64_t)nthreads != (uint64_t)id || (x >> 61) < 4) {
            void *v;
            golf_map_read_lock();
            if (golf_map_load(m, key, kl, &v) && ((payload *)v)->key != k)
                fail("load returned a value of another key", k);
            golf_map_read_unlock();
            if (id == 0 && (x >> 32) % 5000 == 0)
                golf_map_range(m, range_fn, NULL);
            continue;
        }
        payload *np = malloc(sizeof *np);
        np->key = k;
        np->seq = ++seq;
        payload *cur = model[k];
        void *v = NULL;
        bool l;
        switch ((x >> 32) % 6) {
        case 0: /* swap */
            if (golf_map_swap(m, key, kl, np, &v, &l) != GOLF_OK)
                fail("swap failed", k);
            if (l != (cur != NULL) || v != (void *)cur)
                fail("swap returned another previous value", k);
            if (v != NULL)
                golf_map_retire(m, v, free);
            model[k] = np;
            break;
        case 1: /* load_or_store */
            golf_map_load_or_store(m, key, kl, np, &v, &l);
            if (l != (cur != NULL) || (l && v != (void *)cur))
                fail("load_or_store disagrees with the log", k);
            if (l)
                free(np); /* not stored: still ours alone */
            else
                model[k] = np;
            break;
        case 2: /* load_and_delete */
            free(np);
            l = golf_map_load_and_delete(m, key, kl, &v);
            if (l != (cur != NULL) || (l && v != (void *)cur))
                fail("load_and_delete disagrees with the log", k);
            if (l)
                golf_map_retire(m, v, free);
            model[k] = NULL;
            break;
        case 3: /* compare_and_swap */
            l = golf_map_compare_and_swap(m, key, kl, cur, np);
            if (l != (cur != NULL))
                fail("compare_and_swap disagrees with the log", k);
            if (l) {
                golf_map_retire(m, cur, free);
                model[k] = np;
            } else {
                free(np);
            }
            break;
        case 4: /* compare_and_delete with a wrong old, then the right one */
            free(np);
            if (golf_map_compare_and_delete(m, key, kl, (void *)&seq))
                fail("compare_and_delete removed with a wrong old value", k);
            l = golf_map_compare_and_delete(m, key, kl, cur);
            if (l != (cur != NULL))
                fail("compare_and_delete disagrees with the log", k);
            if (l)
                golf_map_retire(m, cur, free);
            model[k] = NULL;
            break;
        default:                  /* store over whatever is there */
            golf_map_read_lock(); /* so cur cannot be freed between our load and retire */
            if (golf_map_store(m, key, kl, np) != GOLF_OK)
                fail("store failed", k);
            golf_map_read_unlock();
            if (cur != NULL)
                golf_map_retire(m, cur, free);
            model[k] = np;
            break;
        }
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    double seconds = 1;
    if (argc > 1)
        nthreads = atoi(argv[1]);
    if (argc > 2)
        nkeys = (uint64_t)atoll(argv[2]);
    if (argc > 3)
        seconds = atof(argv[3]);
    if (nthreads < 1 || nthreads > 256 || nkeys < 1) {
        fprintf(stderr, "usage: stress_map_ops [threads 1..256] [keys >= 1] [seconds]\n");
        return 2;
    }
    m = golf_map_new();
    model = calloc(nkeys, sizeof *model);
    pthread_t th[256];
    for (int i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    size_t expect = 0;
    unsigned char key[24];
    for (uint64_t k = 0; k < nkeys; k++) {
        void *v = NULL;
        size_t kl = key_of(k, key);
        bool l = golf_map_load(m, key, kl, &v);
        if (l != (model[k] != NULL) || (l && v != (void *)model[k]))
            fail("final map differs from the logs", k);
        expect += model[k] != NULL;
    }
    if (golf_map_len(m) != expect)
        fail("len differs from the logs", golf_map_len(m));
    golf_map_range(m, range_fn, NULL);
    golf_map_free(m); /* runs every retired free */
    for (uint64_t k = 0; k < nkeys; k++)
        free(model[k]);
    free(model);
    long b = atomic_load(&bad);
    printf("stress_map_ops: %d threads, %llu keys, %.1f s: %s\n", nthreads,
           (unsigned long long)nkeys, seconds, b ? "FAILED" : "ok");
    return b ? 1 : 0;
}
