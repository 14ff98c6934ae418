/* SPDX-License-Identifier: MIT */
/* Helpers shared by the channel tests (tests/unit/chan, tests/go, tests/stress/chan_*):
 * clocks, threads, "does this call block?" probes, and a chi-square bound. */
#ifndef GOLF_TESTS_CHAN_UTIL_H
#define GOLF_TESTS_CHAN_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MS 1000000ull /* ns */

static inline uint64_t
cu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void
cu_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Starts fn(arg) on a new joinable thread; aborts the test program if it cannot. */
static inline pthread_t
cu_spawn(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, arg) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        abort();
    }
    return t;
}

static inline void
cu_join(pthread_t t)
{
    pthread_join(t, NULL);
}

/* Waits until *flag becomes nonzero, for at most ms milliseconds; returns whether it did. */
static inline bool
cu_wait_flag(atomic_int *flag, unsigned ms)
{
    uint64_t end = cu_now_ns() + (uint64_t)ms * MS;
    while (!atomic_load_explicit(flag, memory_order_acquire)) {
        if (cu_now_ns() > end)
            return false;
        cu_sleep_ms(1);
    }
    return true;
}

/* splitmix64: deterministic per-test PRNG. */
static inline uint64_t
cu_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Pearson's chi-square statistic of counts[k] against a uniform expectation. */
static inline double
cu_chi2_uniform(const long *counts, int k)
{
    long total = 0;
    for (int i = 0; i < k; i++)
        total += counts[i];
    double e = (double)total / k, chi = 0;
    for (int i = 0; i < k; i++)
        chi += ((double)counts[i] - e) * ((double)counts[i] - e) / e;
    return chi;
}

/* Chi-square critical values at p = 1e-9 for df = k - 1 (k = 2..8): a fair select fails one of
 * these about once in a billion runs; a select biased by even a few percent fails always at the
 * trial counts the tests use. */
static inline double
cu_chi2_crit_1e9(int k)
{
    static const double crit[] = {0, 0, 37.32, 41.45, 44.84, 47.85, 50.69, 53.33, 55.87};
    return crit[k];
}

/* Thread CPU time of t, in ns (how much a thread blocked in a call is burning). */
static inline uint64_t
cu_thread_cpu_ns(pthread_t t)
{
    clockid_t cid;
    struct timespec ts;
    if (pthread_getcpuclockid(t, &cid) != 0 || clock_gettime(cid, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
