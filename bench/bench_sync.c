/* SPDX-License-Identifier: MIT */
/* Sync workloads (docs/BENCHMARKS.md): mutex_inc and waitgroup_adddone, golf beside the pthread
 * reference. */
#include "bench.h"
#include "golf/sync.h"
#include "ref_sync.h"

#include <stdlib.h>
#include <string.h>

/* mutex_inc: lock; counter++; unlock; 10,000,000 ops split over T; final counter == N. */
typedef struct mutex_ctx {
    uint64_t per_thread;
    uint64_t counter; /* protected by the mutex under test */
    golf_mutex golf;
    ref_mutex ref;
} mutex_ctx;

static void
golf_mutex_worker(void *arg, int id)
{
    (void)id;
    mutex_ctx *c = arg;
    /* A local copy: reading c->per_thread each round would share the contended line. */
    const uint64_t per = c->per_thread;
    for (uint64_t i = 0; i < per; i++) {
        golf_mutex_lock(&c->golf);
        c->counter++;
        golf_mutex_unlock(&c->golf);
    }
}

static void
ref_mutex_worker(void *arg, int id)
{
    (void)id;
    mutex_ctx *c = arg;
    /* A local copy: reading c->per_thread each round would share the contended line. */
    const uint64_t per = c->per_thread;
    for (uint64_t i = 0; i < per; i++) {
        ref_mutex_lock(&c->ref);
        c->counter++;
        ref_mutex_unlock(&c->ref);
    }
}

static void
run_mutex(int threads, uint64_t n, gb_result *out, void (*worker)(void *, int))
{
    mutex_ctx *c = calloc(1, sizeof *c);
    c->per_thread = n / (uint64_t)threads;
    c->ref = (ref_mutex)REF_MUTEX_INIT;
    out->seconds = gb_run_workers(threads, worker, c);
    out->ops = c->per_thread * (uint64_t)threads;
    if (c->counter != out->ops)
        gb_fail(out, "counter %llu != %llu", (unsigned long long)c->counter,
                (unsigned long long)out->ops);
    free(c);
}

static void
golf_mutex_inc(int threads, uint64_t n, gb_result *out)
{
    run_mutex(threads, n, out, golf_mutex_worker);
}

static void
ref_mutex_inc(int threads, uint64_t n, gb_result *out)
{
    run_mutex(threads, n, out, ref_mutex_worker);
}

static const gb_workload mutex_inc = {
    .name = "mutex_inc",
    .n = 10000000,
    .threads = {1, 2, 4, 8},
    .impls = {{"golf", golf_mutex_inc}, {"ref", ref_mutex_inc}},
    .go = true,
};
GB_REGISTER(mutex_inc)

/* waitgroup_adddone: add(1); done() on one shared wait group; 10,000,000 ops split over T. */
typedef struct wg_ctx {
    /* Each wait group on a line of its own, as a separately allocated one would be: the
     * workload measures the shared counter, not false sharing with the benchmark's fields. */
    _Alignas(128) golf_waitgroup golf;
    _Alignas(128) ref_waitgroup ref;
    _Alignas(128) uint64_t per_thread;
} wg_ctx;

static void
golf_wg_worker(void *arg, int id)
{
    (void)id;
    wg_ctx *c = arg;
    /* A local copy: reading c->per_thread each round would share the contended line. */
    const uint64_t per = c->per_thread;
    for (uint64_t i = 0; i < per; i++) {
        golf_waitgroup_add(&c->golf, 1);
        golf_waitgroup_done(&c->golf);
    }
}

static void
ref_wg_worker(void *arg, int id)
{
    (void)id;
    wg_ctx *c = arg;
    /* A local copy: reading c->per_thread each round would share the contended line. */
    const uint64_t per = c->per_thread;
    for (uint64_t i = 0; i < per; i++) {
        ref_waitgroup_add(&c->ref, 1);
        ref_waitgroup_done(&c->ref);
    }
}

static void
run_wg(int threads, uint64_t n, gb_result *out, void (*worker)(void *, int), bool golf)
{
    wg_ctx *c = aligned_alloc(128, sizeof *c);
    memset(c, 0, sizeof *c);
    c->per_thread = n / (uint64_t)threads;
    c->ref = (ref_waitgroup)REF_WAITGROUP_INIT;
    out->seconds = gb_run_workers(threads, worker, c);
    out->ops = c->per_thread * (uint64_t)threads;
    /* The counter must be back at zero: wait returns at once. */
    if (golf)
        golf_waitgroup_wait(&c->golf);
    else
        ref_waitgroup_wait(&c->ref);
    free(c);
}

static void
golf_wg_adddone(int threads, uint64_t n, gb_result *out)
{
    run_wg(threads, n, out, golf_wg_worker, true);
}

static void
ref_wg_adddone(int threads, uint64_t n, gb_result *out)
{
    run_wg(threads, n, out, ref_wg_worker, false);
}

static const gb_workload waitgroup_adddone = {
    .name = "waitgroup_adddone",
    .n = 10000000,
    .threads = {1, 2, 4},
    .impls = {{"golf", golf_wg_adddone}, {"ref", ref_wg_adddone}},
    .go = true,
};
GB_REGISTER(waitgroup_adddone)
