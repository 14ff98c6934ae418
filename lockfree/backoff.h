/* SPDX-License-Identifier: MIT */
/* A small named backoff (in the line of crossbeam-utils' Backoff): spin with exponentially more
 * pause instructions, then yield the CPU, then tell the caller to park.
 *
 * On an oversubscribed machine (16 threads on 2 cores is a normal case for golf) spinning long is
 * wasted time: the thread we wait for is probably not running. So the spin phase is short and
 * the yield phase hands the core to it. */
#ifndef GOLF_LOCKFREE_BACKOFF_H
#define GOLF_LOCKFREE_BACKOFF_H

#include <sched.h>
#include "lockfree/cacheline.h"

enum {
    GOLF__BACKOFF_SPIN_LIMIT = 6,   /* up to 2^6 = 64 pauses in one step */
    GOLF__BACKOFF_YIELD_LIMIT = 10, /* after this many steps: park */
};

typedef struct golf__backoff {
    unsigned step;
} golf__backoff;

/* clang-format 14 would spread the braces over four lines */
/* clang-format off */
#define GOLF__BACKOFF_INIT {0}
/* clang-format on */

/* Backs off in a lock-free loop that lost a race (a CAS failed): never yields. */
static inline void
golf__backoff_spin(golf__backoff *b)
{
    unsigned n = b->step < GOLF__BACKOFF_SPIN_LIMIT ? b->step : GOLF__BACKOFF_SPIN_LIMIT;
    for (unsigned i = 0; i < (1u << n); i++)
        golf__cpu_relax();
    if (b->step <= GOLF__BACKOFF_SPIN_LIMIT)
        b->step++;
}

/* Backs off while waiting for another thread to make progress: spins, then yields. */
static inline void
golf__backoff_snooze(golf__backoff *b)
{
    if (b->step <= GOLF__BACKOFF_SPIN_LIMIT) {
        for (unsigned i = 0; i < (1u << b->step); i++)
            golf__cpu_relax();
    } else {
        sched_yield();
    }
    if (b->step <= GOLF__BACKOFF_YIELD_LIMIT)
        b->step++;
}

/* True once spinning and yielding are exhausted: the caller should park (futex) instead. */
static inline int
golf__backoff_is_completed(const golf__backoff *b)
{
    return b->step > GOLF__BACKOFF_YIELD_LIMIT;
}

static inline void
golf__backoff_reset(golf__backoff *b)
{
    b->step = 0;
}

#endif
