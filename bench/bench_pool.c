/* SPDX-License-Identifier: MIT */
/* Pool workload (docs/BENCHMARKS.md): pool_getput64, golf beside malloc/free and the mutex
 * reference. 20,000,000 get+put pairs split over T; each pair: get, write one byte, put; 64-byte
 * objects. One op is one pair. A fresh pool per run; its objects come from new_object =
 * malloc(64). */
#include "bench.h"
#include "golf/pool.h"
#include "ref_pool.h"

#include <stdatomic.h>
#include <stdlib.h>

enum { OBJ_SIZE = 64 };

typedef struct pool_ctx {
    uint64_t per_thread;
    golf_pool *golf;
    ref_pool *ref;
    _Atomic uint64_t nulls; /* gets that returned NULL (must stay 0) */
} pool_ctx;

static void *
obj_new(void *ctx)
{
    (void)ctx;
    return malloc(OBJ_SIZE);
}

static void
golf_worker(void *arg, int id)
{
    pool_ctx *c = arg;
    golf_pool *p = c->golf;
    const uint64_t per = c->per_thread; /* a local copy keeps the loop off the shared line */
    uint64_t nulls = 0;
    for (uint64_t i = 0; i < per; i++) {
        unsigned char *o = golf_pool_get(p);
        if (!o) {
            nulls++;
            continue;
        }
        o[0] = (unsigned char)(i + (uint64_t)id);
        golf_pool_put(p, o);
    }
    /* Relaxed: read after gb_run_workers joined every worker (join orders it). */
    atomic_fetch_add_explicit(&c->nulls, nulls, memory_order_relaxed);
}

static void
ref_worker(void *arg, int id)
{
    pool_ctx *c = arg;
    ref_pool *p = c->ref;
    const uint64_t per = c->per_thread;
    uint64_t nulls = 0;
    for (uint64_t i = 0; i < per; i++) {
        unsigned char *o = ref_pool_get(p);
        if (!o) {
            nulls++;
            continue;
        }
        o[0] = (unsigned char)(i + (uint64_t)id);
        ref_pool_put(p, o);
    }
    atomic_fetch_add_explicit(&c->nulls, nulls, memory_order_relaxed);
}

static void
malloc_worker(void *arg, int id)
{
    pool_ctx *c = arg;
    const uint64_t per = c->per_thread;
    uint64_t nulls = 0;
    for (uint64_t i = 0; i < per; i++) {
        unsigned char *o = malloc(OBJ_SIZE);
        if (!o) {
            nulls++;
            continue;
        }
        /* volatile: the compiler must not elide the malloc/free pair as dead. */
        *(volatile unsigned char *)o = (unsigned char)(i + (uint64_t)id);
        free(o);
    }
    atomic_fetch_add_explicit(&c->nulls, nulls, memory_order_relaxed);
}

static void
run_pool(int threads, uint64_t n, gb_result *out, void (*worker)(void *, int), int which)
{
    pool_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        gb_fail(out, "out of memory");
        return;
    }
    c->per_thread = n / (uint64_t)threads;
    golf_pool_options o = {obj_new, NULL, NULL};
    if (which == 1)
        c->golf = golf_pool_new(&o);
    else if (which == 2)
        c->ref = ref_pool_new(&o);
    out->seconds = gb_run_workers(threads, worker, c);
    out->ops = c->per_thread * (uint64_t)threads;
    out->ok = true;
    uint64_t nulls = atomic_load_explicit(&c->nulls, memory_order_relaxed);
    if (nulls)
        gb_fail(out, "%llu gets returned NULL", (unsigned long long)nulls);
    golf_pool_free(c->golf);
    ref_pool_free(c->ref);
    free(c);
}

static void
golf_getput64(int threads, uint64_t n, gb_result *out)
{
    run_pool(threads, n, out, golf_worker, 1);
}

static void
ref_getput64(int threads, uint64_t n, gb_result *out)
{
    run_pool(threads, n, out, ref_worker, 2);
}

static void
malloc_getput64(int threads, uint64_t n, gb_result *out)
{
    run_pool(threads, n, out, malloc_worker, 0);
}

static const gb_workload pool_getput64 = {
    .name = "pool_getput64",
    .n = 20000000,
    .threads = {1, 2, 4},
    .impls = {{"golf", golf_getput64}, {"malloc", malloc_getput64}, {"ref", ref_getput64}},
    .go = true,
};
GB_REGISTER(pool_getput64)
