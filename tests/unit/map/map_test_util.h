/* SPDX-License-Identifier: MIT */
/* Shared helpers of the map tests. */
#ifndef GOLF_TEST_MAP_UTIL_H
#define GOLF_TEST_MAP_UTIL_H

#include <stdint.h>
#include <string.h>

#define V(x) ((void *)(uintptr_t)(x))
#define U(p) ((uintptr_t)(p))

/* splitmix64, as golf-bench's (docs/BENCHMARKS.md) */
static inline uint64_t
tu_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Key i as a byte string of a length chosen by i: 0..24 bytes, binary (NULs inside). */
static inline size_t
tu_key(uint64_t i, unsigned char buf[32])
{
    size_t len = (size_t)(i % 25);
    memset(buf, 0, 32);
    for (size_t b = 0; b < len; b++)
        buf[b] = (unsigned char)((i >> (8 * (b % 8))) + b * 7);
    /* Distinct keys for distinct i: the index itself in the first bytes when they fit. */
    if (len >= 8)
        memcpy(buf, &i, 8);
    else if (len > 0)
        memcpy(buf, &i, len); /* i < 256^len for the small i the tests use: see tu_key_ok */
    return len;
}

#endif
