/* SPDX-License-Identifier: MIT */
/* pool internals: the pool, its per-CPU slots and its per-thread caches; shared by pool.c,
 * pool_thread.c and pool_rseq.h. The depot is depot.h's. Never installed.
 *
 * Invariants (see README.md for the argument):
 *   I1  An object cached by the pool sits in exactly one place: a per-CPU slot's objs[0..n), a
 *       per-thread cache's objs[0..n), a depot magazine in `primary` or `victim`, or the local
 *       hands of one thread that is moving it (a slow path, trim, free, a thread exit).
 *   I2  A per-CPU slot is changed only by an rseq critical section running on that CPU with
 *       slot->lock == 0, or by trim/free while slot->lock == 1 and after a golf__rseq_fence().
 *   I3  Every transfer between a per-CPU slot or a per-thread cache and the depot happens with
 *       the depot mutex `mu` held, and trim holds `mu` from start to end: a slow path is
 *       entirely before or entirely after a trim, so an object's generation is exact.
 *   I4  Lock order: golf__pool_registry (global) -> per-thread cache locks -> the depot's mu.
 *       new_object and free_object are never called with a lock held (README.md O6).
 *   I5  A magazine on the spare list is empty (n == 0): golf__depot_give_empty() zeroes n, and
 *       golf_pool_free frees spare magazines' memory only, never objects named in their objs[]. */
#ifndef GOLF_POOL_STRUCT_H
#define GOLF_POOL_STRUCT_H

#include "depot.h"
#include "golf/pool.h"
#include "lockfree/cacheline.h"
#include "lockfree/percpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Magazines the depot keeps per CPU slot before it frees the excess. */
#define GOLF__POOL_DEPOT_MAGS_PER_CPU 4

/* One CPU's cache. The layout is ABI for the asm in pool_rseq.h: lock at 0, n at 8, objs at 16.
 * lock: 0 = open; 1 = trim/free owns the slot (rseq sections see it and fail).
 * n: objects in objs[0..n), 0..GOLF__POOL_SLOT_CAP.
 * All three are written by rseq sections (plain x86 stores in asm) and, with lock == 1 and after
 * a fence, by trim/free; C code reads them with relaxed atomics. */
typedef struct golf__pool_slot {
    GOLF__CACHE_ALIGNED _Atomic uint64_t lock;
    _Atomic uint64_t n;
    void *_Atomic objs[GOLF__POOL_SLOT_CAP];
} golf__pool_slot;

_Static_assert(offsetof(golf__pool_slot, n) == 8, "pool_rseq.h assumes n at offset 8");
_Static_assert(offsetof(golf__pool_slot, objs) == 16, "pool_rseq.h assumes objs at offset 16");

typedef struct golf__pool_tstate golf__pool_tstate;

/* The per-thread fallback cache of one (thread, pool) pair.
 * lock: 0 = open, 1 = held (the owner for an operation; trim, free or the exit destructor).
 *       Taken with an acquire exchange, released with a release store [P2].
 * n, objs: under lock.
 * uid: the pool's uid, immutable; lets the owner match caches without touching a freed pool.
 * pool, pool_next, pool_prev: under golf__pool_registry; pool becomes NULL when the pool is
 *       freed (the cache is then dead and the owner frees it later).
 * thr_next: the owner thread's list; only the owner (or its exit destructor) touches it.
 * owner: the owner thread's state; NULL for an orphan, a cache a forked child inherited from a
 *       thread that does not exist in it (trim and free reclaim orphans, under the registry). */
typedef struct golf__pool_tcache {
    _Atomic uint32_t lock;
    uint32_t n;
    void *objs[GOLF__POOL_SLOT_CAP];
    uint64_t uid;
    golf_pool *pool;
    struct golf__pool_tcache *pool_next, *pool_prev;
    struct golf__pool_tcache *thr_next;
    golf__pool_tstate *owner;
} golf__pool_tcache;

struct golf_pool {
    /* Read-only after golf_pool_new. */
    void *(*new_object)(void *ctx);
    void *ctx;
    uint64_t uid; /* unique for the process lifetime: never reused, unlike addresses */
    bool percpu;  /* the rseq per-CPU front end is on for this pool */
    unsigned nslots;
    golf__pool_slot *slots; /* nslots, cache aligned; NULL unless percpu */

    golf__pool_depot depot; /* under its own mutex (depot.h); holds free_object */

    /* Per-thread caches of this pool, under golf__pool_registry. */
    golf__pool_tcache *tcaches;
    /* Under golf__pool_registry: thread-exit destructors now freeing this pool's excess objects
     * with no lock held; golf_pool_free waits for 0 before it frees the pool (README O5). */
    unsigned exiting;
    /* Every live pool, under golf__pool_registry: the fork handlers walk it. */
    golf_pool *all_next, *all_prev;
};

/* Serialises cache registration, thread exit, trim and free (the cold paths). */
extern pthread_mutex_t golf__pool_registry;

/* ---- per-thread fallback (pool_thread.c) ---- */
/* The thread-exit key and fork handlers: GOLF_OK, or GOLF_ENOMEM (retried at the next call). */
int golf__pool_thread_init(void);
void golf__pool_link(golf_pool *p); /* golf_pool_new: p joins the list of live pools */
void *golf__pool_thread_get(golf_pool *p);
void golf__pool_thread_put(golf_pool *p, void *obj);
/* With golf__pool_registry held: lock every cache of p (trim: call _unlock_all after). */
void golf__pool_thread_lock_all(golf_pool *p);
/* With registry, all cache locks and the depot mutex held: move every cached object into victim. */
void golf__pool_thread_to_victim(golf_pool *p);
/* Unlocks every cache of p; frees orphans (emptied by _to_victim) instead. */
void golf__pool_thread_unlock_all(golf_pool *p);
/* golf_pool_free, no concurrent use of p, no lock held: frees every object in p's caches (with
 * no lock held), marks the caches dead, waits for thread exits still freeing p's objects, and
 * unlinks p from the list of live pools. */
void golf__pool_thread_detach_all(golf_pool *p);

#endif
