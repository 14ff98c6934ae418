/* SPDX-License-Identifier: MIT */
/* Shared by the pool stress programs: the tracked object, its constructor and destructor, and
 * the end-of-run accounting (after two trims every object ever created was freed exactly once,
 * and no violation was seen). */
#ifndef GOLF_POOL_STRESS_H
#define GOLF_POOL_STRESS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "golf/pool.h"

#define POOL_STRESS_MAGIC 0x706f6f6c6f626a21ull

typedef struct obj {
    uint64_t magic;
    _Atomic int freed;
    _Atomic uint64_t owner; /* 0 while cached; the holder's id from get until put */
    uint64_t data[5];       /* plain: written by one holder, read by the next */
} obj;

static _Atomic long created, freed, errors;

static void *
mk(void *ctx)
{
    (void)ctx;
    obj *o = calloc(1, sizeof *o);
    if (!o)
        abort();
    o->magic = POOL_STRESS_MAGIC;
    atomic_fetch_add_explicit(&created, 1, memory_order_relaxed);
    return o;
}

static void
rm(void *p, void *ctx)
{
    (void)ctx;
    obj *o = p;
    /* Freed twice, or freed while a holder still had it: a violation. */
    if (o->magic != POOL_STRESS_MAGIC || atomic_exchange(&o->freed, 1) != 0 ||
        atomic_load(&o->owner) != 0)
        atomic_fetch_add(&errors, 1);
    o->magic = 0;
    atomic_fetch_add_explicit(&freed, 1, memory_order_relaxed);
    free(o);
}

/* Two trims must free everything; then golf_pool_free. Returns 1 on a violation. `*made` gets
 * the number of objects created. */
static int
pool_stress_finish(golf_pool *pool, long *made)
{
    golf_pool_trim(pool);
    golf_pool_trim(pool);
    long c = atomic_load(&created), f = atomic_load(&freed);
    int bad = 0;
    if (c != f) {
        fprintf(stderr, "after two trims: created %ld != freed %ld\n", c, f);
        bad = 1;
    }
    golf_pool_free(pool);
    if (atomic_load(&created) != atomic_load(&freed))
        bad = 1;
    if (atomic_load(&errors) != 0) {
        fprintf(stderr, "%ld violations\n", (long)atomic_load(&errors));
        bad = 1;
    }
    *made = c;
    return bad;
}

#endif
