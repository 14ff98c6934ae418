/* SPDX-License-Identifier: MIT */
/* golf__rand_below: a per-thread pseudo-random generator (xorshift64*, lockfree/README.md) for
 * choices that need only look uniform, such as select's case order. Not for secrets. Inline:
 * select draws once per pass. */
#ifndef GOLF_LOCKFREE_RAND_H
#define GOLF_LOCKFREE_RAND_H

#include <stdint.h>

#include "cacheline.h"
#include "futex.h"

/* The calling thread's state; 0 until its first draw seeds it (lockfree/rand.c). */
extern _Thread_local uint64_t golf__rand_state;

/* A number in [0, bound), bound >= 1. */
static inline uint32_t
golf__rand_below(uint32_t bound)
{
    uint64_t x = golf__rand_state;
    /* Seeded from the state's address (one per thread) and the clock: threads start apart. */
    if (GOLF__UNLIKELY(x == 0))
        x = (uint64_t)(uintptr_t)&golf__rand_state ^ golf__now_ns() ^ 0x9E3779B97F4A7C15u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    golf__rand_state = x;
    uint32_t r = (uint32_t)((x * 0x2545F4914F6CDD1Du) >> 32);
    /* Multiply-shift instead of a modulo: no division, and as uniform for bounds this small. */
    return (uint32_t)(((uint64_t)r * bound) >> 32);
}

#endif
