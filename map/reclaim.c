/* SPDX-License-Identifier: MIT */
/* What the map frees: tables (now, or after a grace period once a resize or clear unlinked
 * them), long-key blocks (per-CPU garbage batches, one call_rcu per batch), and values retired
 * with golf_map_retire. Everything a reader may still hold waits for a grace period (README
 * invariant 5). Uses only layout.h and lockfree/. */
#include "reclaim.h"

#include <stdlib.h>

#include "lockfree/alloc.h"
#include "lockfree/fatal.h"
#include "lockfree/percpu.h"

/* ---- tables ---- */

/* Frees the long-key blocks linked in one line. */
static void
free_line_keys(golf__map_bucket *bb, uint64_t meta)
{
    for (int i = 0; i < GOLF__MAP_SLOTS; i++)
        if ((golf__map_field(meta, i) >> 8) == GOLF__MAP_CODE_LONG)
            free((void *)(uintptr_t)atomic_load_explicit(&bb->slot[i].key, memory_order_relaxed));
}

void
golf__map_table_destroy(golf__map_table *t)
{
    for (size_t i = 0; i <= t->mask; i++) {
        golf__map_bucket *b = &t->buckets[i];
        /* Relaxed loads: nobody can reach this table any more (a grace period or free's
         * contract), and that wait ordered every writer's stores before us. */
        uint64_t meta = atomic_load_explicit(&b->meta, memory_order_relaxed);
        if (!(meta & GOLF__MAP_MOVED) || (meta & GOLF__MAP_DROPPED)) {
            GOLF__MAP_FOR_EACH_LINE(bb, b)
            free_line_keys(bb, atomic_load_explicit(&bb->meta, memory_order_relaxed));
        }
        /* Not the iterator: it would read each bucket's link after freeing it. */
        golf__map_bucket *next;
        for (golf__map_bucket *bb = atomic_load_explicit(&b->overflow, memory_order_relaxed);
             bb != NULL; bb = next) {
            next = atomic_load_explicit(&bb->overflow, memory_order_relaxed);
            free(bb);
        }
    }
    free(t->buckets);
    free(t);
}

static void
table_retired(golf__rcu_head *head)
{
    golf__map_table *t = (golf__map_table *)(void *)((char *)head - offsetof(golf__map_table, rcu));
    golf__map_table_destroy(t);
}

void
golf__map_table_retire(golf__map_table *t)
{
    golf__rcu_call(&t->rcu, table_retired);
}

/* ---- long-key garbage: per-CPU batches ---- */

enum { GOLF__MAP_GC_BATCH = 64 };

static void
garbage_batch_free(golf__rcu_head *head)
{
    golf__map_key *k = (golf__map_key *)(void *)head; /* rcu is the first member */
    while (k != NULL) {
        golf__map_key *next = k->next;
        free(k);
        k = next;
    }
}

void
golf__map_garbage(golf_map *m, golf__map_key *k)
{
    _Atomic(golf__map_key *) *head = &m->percpu[golf__cpu_id()].garbage;
    /* [M9] acquire (here and on CAS failure): we read old->depth, written by old's pusher
     * before its [M9] release CAS. */
    golf__map_key *old = atomic_load_explicit(head, memory_order_acquire);
    do {
        k->next = old;
        /* old cannot be freed under us: a batch holding it is freed only after a grace
         * period, and we are inside a read section (the caller's). */
        k->depth = old != NULL ? old->depth + 1 : 1;
        /* [M9] release: k's next/depth are visible to whoever takes the list with the [M9]
         * acquire exchange below, and to the next pusher's [M9] acquire. */
    } while (!atomic_compare_exchange_weak_explicit(head, &old, k, memory_order_release,
                                                    memory_order_acquire));
    if (k->depth >= GOLF__MAP_GC_BATCH) {
        /* [M9] acquire: pairs with the pushes' [M9] release. */
        golf__map_key *batch = atomic_exchange_explicit(head, NULL, memory_order_acquire);
        if (batch != NULL)
            golf__rcu_call(&batch->rcu, garbage_batch_free);
    }
}

/* Submits every partial batch of m (map free). True if there was any. */
static bool
garbage_flush(golf_map *m)
{
    bool any = false;
    for (unsigned c = 0; c < m->ncpu; c++) {
        /* [M9] acquire: as in golf__map_garbage(). */
        golf__map_key *batch =
            atomic_exchange_explicit(&m->percpu[c].garbage, NULL, memory_order_acquire);
        if (batch != NULL) {
            golf__rcu_call(&batch->rcu, garbage_batch_free);
            any = true;
        }
    }
    return any;
}

/* ---- retired values ---- */

typedef struct retired {
    golf__rcu_head rcu; /* first: the callback gets its address */
    void (*fn)(void *value);
    void *value;
    golf_map *m;
    struct retired *running_next; /* this thread's running fns, innermost first (below) */
} retired;

/* The retired fns running on this thread, innermost first (a fn may free a map, whose barrier
 * runs more fns here). Thread-local and plain: only this thread touches it. */
static _Thread_local retired *running_here;

/* How many retired fns of m are running on this thread right now (a fn that frees its own map
 * must not wait for itself). */
static size_t
retiring_here(const golf_map *m)
{
    size_t n = 0;
    for (const retired *r = running_here; r != NULL; r = r->running_next)
        n += r->m == m;
    return n;
}

static void
retired_run(golf__rcu_head *head)
{
    retired *r = (retired *)(void *)head;
    golf_map *m = r->m;
    r->running_next = running_here;
    running_here = r;
    r->fn(r->value);
    running_here = r->running_next;
    free(r);
    /* [M10] release: the fn's effects on m happen before golf_map_free's [M10] acquire load
     * that sees the count drop. */
    atomic_fetch_sub_explicit(&m->retiring, 1, memory_order_release);
}

void
golf_map_retire(golf_map *m, void *value, void (*fn)(void *value))
{
    if (m == NULL || fn == NULL)
        return;
    retired *r = golf__malloc(sizeof *r);
    if (r == NULL) {
        /* Out of memory: wait for the grace period here when we may; inside a read section
         * that would deadlock, and fn cannot run yet, so there is nothing safe left to do. */
        if (golf__rcu_in_read_section())
            golf__fatal("golf: out of memory in golf_map_retire inside a read section");
        golf__rcu_synchronize();
        fn(value);
        return;
    }
    r->fn = fn;
    r->value = value;
    r->m = m;
    /* Relaxed: golf_map_free reads it only after a barrier, which orders this retire (and its
     * queueing, [U1]) before it returns. */
    atomic_fetch_add_explicit(&m->retiring, 1, memory_order_relaxed);
    golf__rcu_call(&r->rcu, retired_run);
}

/* ---- map free ---- */

void
golf__map_reclaim_drain(golf_map *m)
{
    /* Retired fns may use m themselves (syncmap.h allows map calls and retire in them): delete
     * long keys (garbage), retire more. So: flush the garbage and wait for everything queued
     * (barrier: the batches just flushed, retired tables, the fns retired through m), until a
     * round starts with no fn of m outstanding (none queued or running, so none can add
     * garbage or retire again) and finds no garbage. A fn that frees its own map is not
     * waited for by itself. The barrier is fatal inside a read section (it would deadlock). */
    size_t self = retiring_here(m);
    for (;;) {
        /* [M10] acquire: pairs with the [M10] release in retired_run(): what the fns that
         * have returned did to m (their garbage pushes, their retires) is visible. */
        size_t outstanding = atomic_load_explicit(&m->retiring, memory_order_acquire);
        bool any = garbage_flush(m);
        golf__rcu_barrier();
        if (outstanding == self && !any)
            break;
    }
}
