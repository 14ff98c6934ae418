/* SPDX-License-Identifier: MIT */
/* golf/pool.h: Go's sync.Pool (see pool/README.md).
 *
 * A pool caches objects for reuse, to relieve the allocator: get returns a cached object, or
 * new_object(ctx) when none is at hand; put caches one. Objects are untyped `void *` the pool
 * never dereferences. As in Go, callers should assume no relation between the objects put and
 * those got: get may create an object while others sit cached on other CPUs.
 *
 * Concurrency: get, put and trim are safe from any number of threads at once; golf_pool_free
 * needs that no other thread still uses the pool. No thread registration is needed; a thread
 * that exits hands its cached objects back.
 *
 * Memory model (Go's words): a put(x) synchronizes before a get returning x; new_object(ctx)
 * returning x synchronizes before the get returning x.
 *
 * Lifetime and bounds: an object put is returned by a later get at most once, or freed with
 * free_object exactly once, by trim, by golf_pool_free, or at once by put (or by a thread's exit,
 * for its cached objects) when the pool is at its cap (62 objects per CPU plus 124 per CPU in the
 * shared depot; see pool/README.md). The pool never frees or hands out an object a caller holds.
 *
 * Progress: get/put are a few loads and one store on the calling CPU's cache, no lock and no
 * atomic read-modify-write (Linux rseq, x86-64; elsewhere a per-thread cache and one uncontended
 * atomic exchange); one operation in about 31 touches a shared depot under a short mutex.
 *
 * Callbacks: new_object and free_object run on the calling thread (free_object also in a thread's
 * exit destructor, for objects over the cap) with no pool lock held, so they may use golf: other
 * pools, mutexes, channels. They must not call golf_pool_free on their own pool.
 *
 * Out of memory for the pool's own bookkeeping: golf_pool_new returns NULL (errno ENOMEM); get,
 * put, trim and free still work and lose nothing (an object that cannot be cached is freed at
 * once by put; one trim cannot move stays cached for a later trim or free).
 *
 * fork: a child may use every pool it inherited, and new ones, even if other threads of the
 * parent were inside pool calls (pthread_atfork handlers); objects those threads held are held
 * forever in the child. See pool/README.md. */
#ifndef GOLF_POOL_H
#define GOLF_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "golf/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct golf_pool_options {
    void *(*new_object)(void *ctx);            /* NULL: get returns NULL when the pool is empty */
    void (*free_object)(void *obj, void *ctx); /* NULL: free() */
    void *ctx;
} golf_pool_options;
typedef struct golf_pool golf_pool;

/* A new, empty pool; opts may be NULL (no new_object, free()). NULL + errno ENOMEM on failure.
 * GOLF_POOL_PERCPU=0 in the environment selects the per-thread front end (testing). */
GOLF_API golf_pool *golf_pool_new(const golf_pool_options *opts); /* opts may be NULL */

/* Frees every cached object with free_object, then the pool. NULL: nothing. No other thread
 * may use the pool during or after the call. */
GOLF_API void golf_pool_free(golf_pool *p); /* frees every cached object with free_object */

/* A cached object (this CPU's first, then the depot's, then the victim generation's), else
 * new_object(ctx), else NULL. */
GOLF_API void *golf_pool_get(golf_pool *p); /* a cached object, else new_object(ctx) */

/* Caches obj for a later get. NULL is ignored. Over the pool's cap, obj is freed at once. */
GOLF_API void golf_pool_put(golf_pool *p, void *obj); /* NULL is ignored */

/* Go's GC cycle with its victim cache: frees the objects that were already cached at the
 * previous trim and not taken since, and keeps everything else cached as the victim generation,
 * which get still serves. Two trims with no put between leave the pool empty. Costs one
 * membarrier round over the CPUs running this process's threads: call it occasionally (on a
 * timer, on memory pressure), not per operation. NULL: nothing. */
GOLF_API void golf_pool_trim(golf_pool *p); /* Go's GC cycle, see below */

#ifdef __cplusplus
}
#endif

#endif /* GOLF_POOL_H */
