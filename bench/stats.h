/* SPDX-License-Identifier: MIT */
/* golf-bench's statistics: medians, a seeded random stream, the bootstrap interval of a ratio of
 * medians and the verdict on a target. No I/O and no state, so that tests/bench/test_bench.c
 * checks them on known data. */
#ifndef GOLF_BENCH_STATS_H
#define GOLF_BENCH_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* The median of v[0..n), n >= 1: the middle value, or the mean of the two middle values when n
 * is even. v is left as it is. */
double gb_median(const double *v, int n);

/* One step of splitmix64: a seeded stream, the same numbers for the same seed everywhere. */
uint64_t gb_rand(uint64_t *state);

/* A uniform integer in [0, n), n >= 1. */
int gb_rand_below(uint64_t *state, int n);

/* Puts idx[0..n) in a uniformly random order (Fisher-Yates). */
void gb_shuffle(int *idx, int n, uint64_t *state);

/* The bootstrap golf-bench uses: resamples, confidence level and a fixed seed, so that the same
 * rounds always give the same interval. */
#define GB_BOOT_RESAMPLES 2000
#define GB_BOOT_LEVEL 0.95
#define GB_BOOT_SEED UINT64_C(0x601f0b007)

typedef struct gb_interval {
    double lo, hi;
} gb_interval;

/* The percentile bootstrap interval at `level` (0.95: 95 %) of median(a) / median(b): each of
 * `resamples` times it draws na values from a and nb from b with replacement and takes the
 * ratio of the two medians; lo and hi are the (1-level)/2 and (1+level)/2 quantiles of those
 * ratios (linear interpolation between order statistics). The stream starts from `seed`.
 * False, *out untouched, when na or nb is below 2 (a single value says nothing of the noise),
 * a value is not > 0, or memory runs out. */
bool gb_ratio_ci(const double *a, int na, const double *b, int nb, int resamples, double level,
                 uint64_t seed, gb_interval *out);

/* The q-quantile (0 <= q <= 1) of sorted[0..n), n >= 1, interpolated linearly. */
double gb_quantile(const double *sorted, int n, double q);

typedef enum gb_verdict {
    GB_VERDICT_NONE, /* no target, or nothing measured to judge */
    GB_MET,          /* the whole interval is at or above the target */
    GB_MISSED,       /* the whole interval is below it */
    GB_WITHIN_NOISE, /* the interval straddles it: these rounds cannot tell */
} gb_verdict;

/* The verdict on "ratio >= target" from the ratio's interval. */
gb_verdict gb_verdict_of(gb_interval ci, double target);

/* "met", "missed", "within noise" ("" for GB_VERDICT_NONE). */
const char *gb_verdict_name(gb_verdict v);

#endif
