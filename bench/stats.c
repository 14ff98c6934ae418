/* SPDX-License-Identifier: MIT */
/* golf-bench's statistics (stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n), sorting v in place. */
static double
median_sort(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double
gb_median(const double *v, int n)
{
    double small[128];
    double *w = n <= 128 ? small : malloc((size_t)n * sizeof *w);
    if (w == NULL)
        return NAN;
    memcpy(w, v, (size_t)n * sizeof *w);
    double m = median_sort(w, n);
    if (w != small)
        free(w);
    return m;
}

uint64_t
gb_rand(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

int
gb_rand_below(uint64_t *state, int n)
{
    /* Lemire's multiply-shift on the top 32 bits: the bias is below n / 2^32, nothing here. */
    return (int)(((gb_rand(state) >> 32) * (uint64_t)n) >> 32);
}

void
gb_shuffle(int *idx, int n, uint64_t *state)
{
    for (int i = n - 1; i > 0; i--) {
        int j = gb_rand_below(state, i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

double
gb_quantile(const double *sorted, int n, double q)
{
    double h = q * (n - 1);
    int i = (int)floor(h);
    if (i >= n - 1)
        return sorted[n - 1];
    if (i < 0)
        return sorted[0];
    return sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]);
}

/* The median of n values drawn from v[0..n) with replacement; scratch holds n. */
static double
resample_median(const double *v, int n, double *scratch, uint64_t *state)
{
    for (int i = 0; i < n; i++)
        scratch[i] = v[gb_rand_below(state, n)];
    return median_sort(scratch, n);
}

bool
gb_ratio_ci(const double *a, int na, const double *b, int nb, int resamples, double level,
            uint64_t seed, gb_interval *out)
{
    if (na < 2 || nb < 2 || resamples < 1 || !(level > 0 && level < 1))
        return false; /* one value says nothing of the noise */
    for (int i = 0; i < na; i++)
        if (!(a[i] > 0))
            return false;
    for (int i = 0; i < nb; i++)
        if (!(b[i] > 0))
            return false;
    double *ratios = malloc((size_t)resamples * sizeof *ratios);
    double *scratch = malloc((size_t)(na > nb ? na : nb) * sizeof *scratch);
    if (ratios == NULL || scratch == NULL) {
        free(ratios);
        free(scratch);
        return false;
    }
    uint64_t state = seed;
    for (int r = 0; r < resamples; r++) {
        double ma = resample_median(a, na, scratch, &state);
        ratios[r] = ma / resample_median(b, nb, scratch, &state);
    }
    qsort(ratios, (size_t)resamples, sizeof *ratios, cmp_double);
    out->lo = gb_quantile(ratios, resamples, (1 - level) / 2);
    out->hi = gb_quantile(ratios, resamples, (1 + level) / 2);
    free(ratios);
    free(scratch);
    return true;
}

gb_verdict
gb_verdict_of(gb_interval ci, double target)
{
    if (!(ci.lo <= ci.hi)) /* NaN or an interval not filled in */
        return GB_VERDICT_NONE;
    if (ci.lo >= target)
        return GB_MET;
    if (ci.hi < target)
        return GB_MISSED;
    return GB_WITHIN_NOISE;
}

const char *
gb_verdict_name(gb_verdict v)
{
    switch (v) {
    case GB_MET:
        return "met";
    case GB_MISSED:
        return "missed";
    case GB_WITHIN_NOISE:
        return "within noise";
    default:
        return "";
    }
}
