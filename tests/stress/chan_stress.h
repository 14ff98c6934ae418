/* SPDX-License-Identifier: MIT */
/* Shared by the chan_* stress programs: argument parsing, value encoding, and the bitmaps that
 * prove nothing was lost or duplicated. Plain C + pthreads: these run under ThreadSanitizer. */
#ifndef GOLF_STRESS_CHAN_STRESS_H
#define GOLF_STRESS_CHAN_STRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CS_MAX_THREADS 64
#define CS_SEQ_BITS 22 /* at most 4M values per producer per round */
#define CS_SEQ_MAX (1u << CS_SEQ_BITS)
#define CS_VAL(p, s) (((uint64_t)(p) << 32) | (uint32_t)(s))
#define CS_PROD(v) ((uint32_t)((v) >> 32))
#define CS_SEQ(v) ((uint32_t)(v))

typedef struct {
    int threads;
    long capacity; /* -1: the program's default set */
    double seconds;
} cs_args;

static inline cs_args
cs_parse(int argc, char **argv, int def_threads, double def_seconds)
{
    cs_args a = {def_threads, -1, def_seconds};
    if (argc > 1)
        a.threads = atoi(argv[1]);
    if (argc > 2)
        a.capacity = atol(argv[2]);
    if (argc > 3)
        a.seconds = atof(argv[3]);
    if (a.threads < 2)
        a.threads = 2;
    if (a.threads > CS_MAX_THREADS)
        a.threads = CS_MAX_THREADS;
    return a;
}

static inline uint64_t
cs_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
cs_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* One bit per (producer, seq): set exactly once, by whoever owns the event. */
typedef struct {
    int producers;
    _Atomic uint64_t *bits;
} cs_bitmap;

static inline cs_bitmap
cs_bitmap_new(int producers)
{
    cs_bitmap b = {producers, calloc((size_t)producers * (CS_SEQ_MAX / 64), sizeof(uint64_t))};
    if (!b.bits) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return b;
}

/* Returns false if the bit was already set (a duplicate) or the value is out of range. */
static inline bool
cs_bitmap_set(cs_bitmap *b, uint64_t v)
{
    uint32_t p = CS_PROD(v), s = CS_SEQ(v);
    if (p >= (uint32_t)b->producers || s >= CS_SEQ_MAX)
        return false;
    size_t w = (size_t)p * (CS_SEQ_MAX / 64) + s / 64;
    uint64_t bit = 1ull << (s % 64);
    return !(atomic_fetch_or_explicit(&b->bits[w], bit, memory_order_relaxed) & bit);
}

/* A consumer's check of one received value: in range, never seen before (the bitmap), and
 * after the previous value from the same producer (last[p]: that producer's last sequence
 * number seen by this consumer, -1 at first). Prints and returns false on a violation. */
static inline bool
cs_check_received(cs_bitmap *got, int64_t *last, uint64_t v, int nprod, int consumer)
{
    uint32_t pr = CS_PROD(v), s = CS_SEQ(v);
    if (!cs_bitmap_set(got, v) || pr >= (uint32_t)nprod) {
        fprintf(stderr, "consumer %d: duplicate or garbage %#llx\n", consumer,
                (unsigned long long)v);
        return false;
    }
    bool in_order = (int64_t)s > last[pr];
    if (!in_order)
        fprintf(stderr, "consumer %d: producer %u value %u after %lld\n", consumer, pr, s,
                (long long)last[pr]);
    last[pr] = s;
    return in_order;
}

static inline bool
cs_bitmap_get(const cs_bitmap *b, int p, uint32_t s)
{
    size_t w = (size_t)p * (CS_SEQ_MAX / 64) + s / 64;
    return (atomic_load_explicit(&b->bits[w], memory_order_relaxed) >> (s % 64)) & 1;
}

static inline void
cs_bitmap_clear(cs_bitmap *b)
{
    memset((void *)b->bits, 0, (size_t)b->producers * (CS_SEQ_MAX / 64) * sizeof(uint64_t));
}

static inline void
cs_bitmap_free(cs_bitmap *b)
{
    free((void *)b->bits);
}

/* Compares "sent OK" with "received": every value in one must be in the other. Returns the
 * number of mismatches, printing the first few. */
static inline long
cs_bitmap_compare(const cs_bitmap *sent, const cs_bitmap *got, const char *what)
{
    long bad = 0;
    for (int p = 0; p < sent->producers; p++)
        for (uint32_t w = 0; w < CS_SEQ_MAX / 64; w++) {
            size_t i = (size_t)p * (CS_SEQ_MAX / 64) + w;
            uint64_t a = atomic_load_explicit(&sent->bits[i], memory_order_relaxed);
            uint64_t b = atomic_load_explicit(&got->bits[i], memory_order_relaxed);
            if (a == b)
                continue;
            for (int k = 0; k < 64; k++)
                if (((a ^ b) >> k) & 1) {
                    if (bad++ < 5)
                        fprintf(stderr, "%s: producer %d value %u: %s\n", what, p, w * 64 + k,
                                (a >> k) & 1 ? "sent OK but never received"
                                             : "received but not sent OK");
                }
        }
    return bad;
}

static inline void
cs_spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    if (pthread_create(t, NULL, fn, arg) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(1);
    }
}

#endif
