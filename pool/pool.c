/* SPDX-License-Identifier: MIT */
/* golf_pool: Go's sync.Pool for C, in three layers (Bonwick's magazines; tcmalloc's front end).
 *
 *   front end  one slot per CPU, driven by rseq critical sections (pool_rseq.h): a get or put
 *              is a handful of loads and one committing store, no atomic RMW, no lock. Where
 *              rseq is not available (other arches, glibc without rseq or with it disabled,
 *              the ThreadSanitizer build, a thread glibc did not register): one cache per
 *              (thread, pool) pair instead (pool_thread.c).
 *   depot      depot.c, under its short mutex `mu`: `primary`, magazines of up to
 *              GOLF__POOL_MAG_CAP objects moved in and out of the front end half a slot at a
 *              time, so a producer CPU feeds a consumer CPU in batches; capped, excess freed.
 *   victim     Go's victim cache: trim frees the old victim generation and turns everything
 *              cached (slots, thread caches, primary) into the new one. get still serves it.
 *
 * Why it is safe: README.md ("Why a migration cannot corrupt a slot", "trim against get/put"),
 * and the invariants in pool_struct.h. In short: a slot is written only by a committed rseq
 * section of its own CPU (one thread at a time on a CPU, and any interruption aborts before the
 * single committing store), or by trim/free after it set slot->lock and a membarrier-rseq fence
 * guaranteed no section that missed the lock is still in flight. Transfers to and from the
 * depot hold `mu` for their whole length and so does trim, so an object's generation is exact.
 *
 * Memory-model contract (Go's): a put(x) synchronizes before the get that returns x. */
#include "lockfree/alloc.h"
#include "pool_rseq.h"
#include "pool_struct.h"

#include "lockfree/fatal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static inline void
free_one(golf_pool *p, void *obj)
{
    golf__depot_free_objs(&p->depot, &obj, 1);
}

static inline void *
new_one(golf_pool *p)
{
    return p->new_object ? p->new_object(p->ctx) : NULL;
}

/* ---- the per-CPU front end ---- */

#if GOLF__HAVE_RSEQ

/* This thread's slot, or NULL when its CPU id has none (not seen on Linux: ids are below the
 * configured CPU count). */
static inline golf__pool_slot *
slot_for(golf_pool *p, struct rseq *rs, uint32_t *cpu)
{
    *cpu = ((volatile struct rseq *)rs)->cpu_id_start;
    return GOLF__LIKELY(*cpu < p->nslots) ? &p->slots[*cpu] : NULL;
}

/* The slot is empty (or trim held it, now over since we hold mu: trim holds mu while any slot is
 * locked). Under mu: retry the slot, else take a magazine from primary, return one object and
 * hand the rest to the slot in one section; else one object from victim; else new_object. */
__attribute__((noinline, cold)) static void *
percpu_get_slow(golf_pool *p, struct rseq *rs)
{
    void *obj = NULL;
    golf__depot_lock(&p->depot);
    for (;;) {
        uint32_t cpu;
        golf__pool_slot *s = slot_for(p, rs, &cpu);
        if (!s)
            break;
        int st = golf__rseq_pop(rs, s, cpu, &obj);
        if (st == GOLF__RSEQ_OK)
            goto out;
        if (st == GOLF__RSEQ_FAIL)
            break;
    }
    obj = NULL;
    golf__pool_mag *m = golf__depot_take_full(&p->depot);
    if (m) {
        obj = m->objs[--m->n];
        while (m->n > 0) {
            uint32_t cpu;
            golf__pool_slot *s = slot_for(p, rs, &cpu);
            int st = s ? golf__rseq_give(rs, s, cpu, m->objs, m->n) : GOLF__RSEQ_FAIL;
            if (st == GOLF__RSEQ_OK)
                m->n = 0;
            else if (st == GOLF__RSEQ_FAIL)
                break; /* another thread of this CPU filled it meanwhile: keep the magazine */
        }
        if (m->n > 0)
            golf__depot_give_full(&p->depot, m);
        else
            golf__depot_give_empty(&p->depot, m);
    } else {
        /* Primary is empty: victim objects go one at a time, straight to the caller. Moving
         * them into a slot would make them primary again and let them outlive the next trim. */
        obj = golf__depot_take_one(&p->depot);
    }
out:
    golf__depot_unlock(&p->depot);
    return obj ? obj : new_one(p);
}

/* The slot is full. Under mu: move the top half into a magazine for primary, then push. */
__attribute__((noinline, cold)) static void
percpu_put_slow(golf_pool *p, struct rseq *rs, void *obj)
{
    void *excess = NULL;
    golf__depot_lock(&p->depot);
    for (;;) {
        uint32_t cpu;
        golf__pool_slot *s = slot_for(p, rs, &cpu);
        if (!s) {
            excess = obj; /* no slot for this CPU id (not seen on Linux): treat as excess */
            break;
        }
        int st = golf__rseq_push(rs, s, cpu, obj);
        if (st == GOLF__RSEQ_OK)
            break;
        if (st == GOLF__RSEQ_ABORT)
            continue;
        if (!golf__depot_has_room(&p->depot)) {
            /* The slot and the depot are both at their caps: obj is excess (memory bound). */
            excess = obj;
            break;
        }
        golf__pool_mag *m = golf__depot_take_empty(&p->depot);
        if (!m) {
            excess = obj; /* out of memory for a magazine: obj is excess too */
            break;
        }
        st = golf__rseq_take(rs, s, cpu, m->objs, GOLF__POOL_MAG_CAP);
        if (st == GOLF__RSEQ_OK) {
            m->n = GOLF__POOL_MAG_CAP;
            golf__depot_give_full(&p->depot, m);
        } else {
            golf__depot_give_empty(&p->depot, m);
        }
        /* Loop: the push now finds room (or a thread of this CPU refilled it: go again). */
    }
    golf__depot_unlock(&p->depot);
    if (excess)
        free_one(p, excess);
}

#endif /* GOLF__HAVE_RSEQ */

/* ---- public API ---- */

static _Atomic uint64_t next_uid = 1; /* relaxed: only uniqueness matters, no data published */
GOLF_API golf_pool *
golf_pool_new(const golf_pool_options *opts)
{
    if (golf__pool_thread_init() != GOLF_OK) {
        errno = ENOMEM;
        return NULL;
    }
    golf_pool *p = golf__aligned_alloc(GOLF_CACHELINE, (sizeof(golf_pool) + GOLF_CACHELINE - 1) /
                                                           GOLF_CACHELINE * GOLF_CACHELINE);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    memset(p, 0, sizeof *p);
    if (opts) {
        p->new_object = opts->new_object;
        p->ctx = opts->ctx;
    }
    p->uid = atomic_fetch_add_explicit(&next_uid, 1, memory_order_relaxed);
    p->nslots = golf__ncpu_slots();
    size_t cap = (size_t)p->nslots * GOLF__POOL_DEPOT_MAGS_PER_CPU * GOLF__POOL_MAG_CAP;
    if (golf__depot_init(&p->depot, cap, opts ? opts->free_object : NULL, p->ctx) != GOLF_OK) {
        free(p);
        errno = ENOMEM;
        return NULL;
    }
    const char *env = getenv("GOLF_POOL_PERCPU");
    bool want = !(env && env[0] == '0');
    if (want && golf__rseq_usable()) {
        size_t sz = (size_t)p->nslots * sizeof(golf__pool_slot);
        p->slots = golf__aligned_alloc(GOLF_CACHELINE, sz);
        if (p->slots) {
            memset(p->slots, 0, sz);
            p->percpu = true;
        }
    }
    golf__pool_link(p);
    return p;
}

#if GOLF__HAVE_RSEQ
/* One section on this thread's slot, retried after each abort: GOLF__RSEQ_OK, GOLF__RSEQ_FAIL
 * (the slot is empty, full or locked: the slow path), or GOLF__RSEQ_ABORT when this thread
 * cannot use a slot (no slot for its CPU id; not registered, so that cpu_id < 0 never matches
 * and every section would abort): the per-thread front end. Inlined into get and put, with
 * push a constant there. */
static inline __attribute__((always_inline)) int
percpu_op(golf_pool *p, struct rseq *rs, bool push, void **obj)
{
    for (;;) {
        uint32_t cpu;
        golf__pool_slot *s = slot_for(p, rs, &cpu);
        if (GOLF__UNLIKELY(!s))
            return GOLF__RSEQ_ABORT;
        int st = push ? golf__rseq_push(rs, s, cpu, *obj) : golf__rseq_pop(rs, s, cpu, obj);
        if (GOLF__LIKELY(st != GOLF__RSEQ_ABORT))
            return st;
        /* Aborted: retry on whatever CPU we are now. */
        if (GOLF__UNLIKELY(!golf__rseq_registered()))
            return GOLF__RSEQ_ABORT;
    }
}
#endif

GOLF_API void *
golf_pool_get(golf_pool *p)
{
#if GOLF__HAVE_RSEQ
    if (GOLF__LIKELY(p->percpu)) {
        struct rseq *rs = golf__rseq_area();
        void *obj;
        int st = percpu_op(p, rs, false, &obj);
        if (GOLF__LIKELY(st == GOLF__RSEQ_OK))
            return obj;
        if (st == GOLF__RSEQ_FAIL)
            return percpu_get_slow(p, rs);
    }
#endif
    return golf__pool_thread_get(p);
}

GOLF_API void
golf_pool_put(golf_pool *p, void *obj)
{
    if (GOLF__UNLIKELY(!obj))
        return;
#if GOLF__HAVE_RSEQ
    if (GOLF__LIKELY(p->percpu)) {
        struct rseq *rs = golf__rseq_area();
        int st = percpu_op(p, rs, true, &obj);
        if (GOLF__LIKELY(st == GOLF__RSEQ_OK))
            return;
        if (st == GOLF__RSEQ_FAIL) {
            percpu_put_slow(p, rs, obj);
            return;
        }
    }
#endif
    golf__pool_thread_put(p, obj);
}

/* Trim, with mu held: close every slot, fence, and move the slots' objects into victim. Out of
 * memory for a magazine, the objects that did not fit stay in their slot (still cached, in the
 * current generation: a later trim or free takes them), so trim never calls free_object with a
 * lock held. */
static void
slots_drain(golf_pool *p)
{
#if GOLF__HAVE_RSEQ
    if (!p->percpu)
        return;
    for (unsigned c = 0; c < p->nslots; c++) {
        /* Relaxed: the fence below is a full barrier on this CPU and on every CPU running a
         * thread of ours, which is what orders this store before any later section's load. */
        atomic_store_explicit(&p->slots[c].lock, 1, memory_order_relaxed);
    }
    /* Fence: orders the lock stores above before every rseq section that starts after it, on
     * every CPU, and restarts (aborts) every section in flight. After it, no section that read
     * lock == 0 can still commit, and the slot stores those sections made are visible here. */
    golf__rseq_fence();
    for (unsigned c = 0; c < p->nslots; c++) {
        golf__pool_slot *s = &p->slots[c];
        /* Relaxed: the fence above ordered the sections' stores before these loads. */
        uint64_t n = atomic_load_explicit(&s->n, memory_order_relaxed);
        void *objs[GOLF__POOL_SLOT_CAP];
        for (uint64_t i = 0; i < n; i++)
            objs[i] = atomic_load_explicit(&s->objs[i], memory_order_relaxed);
        size_t left = golf__depot_add_victim(&p->depot, objs, n);
        /* OOM only: the leftovers (moved to the front of objs) stay in the slot. Relaxed: the
         * slot is ours (lock == 1 after the fence); ordered before the release store below. */
        for (size_t i = 0; i < left; i++)
            atomic_store_explicit(&s->objs[i], objs[i], memory_order_relaxed);
        atomic_store_explicit(&s->n, left, memory_order_relaxed);
        /* [P1] release: publishes n and objs[0..n) before reopening the slot; pairs with [P1]
         * the TSO load of lock (and then n) in every later rseq section (pool_rseq.h). */
        atomic_store_explicit(&s->lock, 0, memory_order_release);
    }
#else
    (void)p;
#endif
}

/* golf_pool_free: frees every slot's objects, no lock held, no allocation. No other thread
 * uses p now (the contract), so the slots need no lock or fence: whatever synchronisation made
 * that true also made their last stores visible (relaxed loads suffice). */
static void
slots_free(golf_pool *p)
{
#if GOLF__HAVE_RSEQ
    if (!p->percpu)
        return;
    for (unsigned c = 0; c < p->nslots; c++) {
        golf__pool_slot *s = &p->slots[c];
        uint64_t n = atomic_load_explicit(&s->n, memory_order_relaxed);
        for (uint64_t i = 0; i < n; i++)
            free_one(p, atomic_load_explicit(&s->objs[i], memory_order_relaxed));
        atomic_store_explicit(&s->n, 0, memory_order_relaxed);
    }
#else
    (void)p;
#endif
}

GOLF_API void
golf_pool_trim(golf_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&golf__pool_registry);
    golf__pool_thread_lock_all(p);
    golf__depot_lock(&p->depot);
    /* The new victim: everything primary (the depot's magazines as they are), then the slots
     * and the thread caches. */
    golf__pool_mag *old = golf__depot_age(&p->depot);
    slots_drain(p);
    golf__pool_thread_to_victim(p);
    golf__depot_unlock(&p->depot);
    golf__pool_thread_unlock_all(p);
    pthread_mutex_unlock(&golf__pool_registry);
    golf__depot_free_mags(&p->depot, old);
}

GOLF_API void
golf_pool_free(golf_pool *p)
{
    if (!p)
        return;
    golf__pool_thread_detach_all(p);
    slots_free(p);
    golf__depot_destroy(&p->depot);
    free(p->slots);
    free(p);
}
