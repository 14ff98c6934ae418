/* SPDX-License-Identifier: MIT */
/* Shared by the pool tests: counted objects with an owner word, and the per-CPU/per-thread
 * mode switch (GOLF_POOL_PERCPU=0 before golf_pool_new selects the per-thread fallback). */
#ifndef GOLF_TEST_POOL_H
#define GOLF_TEST_POOL_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "golf/pool.h"

#define TOBJ_MAGIC 0x6f626a5f676f6c66ull

/* 64 bytes, like the benchmark's objects. owner: 0 = nobody (in the pool), else the holder's
 * id, set and cleared by atomic exchange so two simultaneous holders are caught. */
typedef struct tobj {
    uint64_t magic;
    _Atomic uint64_t owner;
    _Atomic int freed;
    uint64_t id;
    uint64_t payload[4];
} tobj;

typedef struct tcount {
    _Atomic long created;
    _Atomic long freed;
    _Atomic long bad; /* a free of an object freed before, or with a bad magic, or held */
} tcount;

static void *
tobj_new(void *ctx)
{
    tcount *c = ctx;
    tobj *o = calloc(1, sizeof *o);
    if (!o)
        abort();
    o->magic = TOBJ_MAGIC;
    o->id = (uint64_t)atomic_fetch_add_explicit(&c->created, 1, memory_order_relaxed) + 1;
    return o;
}

/* Objects are not released to malloc here: a double free must be seen, not crash. They are
 * released by tobj_reap() from a list, or simply leaked in the crash-test builds. To keep ASan's
 * leak check meaningful the objects are freed for real, after marking: a second free_object of
 * the same object would read freed memory and ASan reports it. */
static void
tobj_free(void *obj, void *ctx)
{
    tcount *c = ctx;
    tobj *o = obj;
    if (o->magic != TOBJ_MAGIC || atomic_exchange(&o->freed, 1) != 0 || atomic_load(&o->owner) != 0)
        atomic_fetch_add(&c->bad, 1);
    o->magic = 0;
    atomic_fetch_add_explicit(&c->freed, 1, memory_order_relaxed);
    free(o);
}

static inline golf_pool_options
tobj_options(tcount *c)
{
    golf_pool_options o = {tobj_new, tobj_free, c};
    return o;
}

/* Claims o for holder id (nonzero): false if someone else holds it. */
static inline int
tobj_claim(tobj *o, uint64_t id)
{
    return o->magic == TOBJ_MAGIC && atomic_exchange(&o->owner, id) == 0;
}

static inline int
tobj_release(tobj *o, uint64_t id)
{
    return atomic_exchange(&o->owner, 0) == id;
}

static inline void
pool_mode(int percpu)
{
    if (percpu)
        unsetenv("GOLF_POOL_PERCPU");
    else
        setenv("GOLF_POOL_PERCPU", "0", 1);
}

#endif
