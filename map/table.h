/* SPDX-License-Identifier: MIT */
/* The table operations of map/table.c: tables, the bucket lock, chain inserts, the per-CPU
 * count, the online resize and clear. Used by map.c; uses reclaim.h. Never installed. */
#ifndef GOLF_MAP_TABLE_H
#define GOLF_MAP_TABLE_H

#include "layout.h"
#include "lockfree/chaos.h"
#include "lockfree/debug.h"

/* A table of nbuckets (a power of two) empty buckets, or NULL (out of memory). */
golf__map_table *golf__map_table_new(size_t nbuckets);

/* Locks the head bucket b of a chain; returns its meta word as locked (MOVED tells the caller
 * that the chain was handed over: unlock and go to t->next). */
uint64_t golf__map_bucket_lock(golf__map_bucket *b);

static inline void
golf__map_bucket_unlock(golf__map_bucket *b)
{
    /* Relaxed: only the holder (us) writes a locked word. */
    uint64_t meta = atomic_load_explicit(&b->meta, memory_order_relaxed);
    GOLF__ASSERT(meta & GOLF__MAP_LOCKED, "1 map: a bucket unlocked that was not locked");
    /* [M8] release: the holder's slot/tag/value writes happen before the next holder's
     * acquire CAS in golf__map_bucket_lock(). */
    atomic_store_explicit(&b->meta, meta & ~GOLF__MAP_LOCKED, memory_order_release);
}

/* Puts (field, key word w, value v) in the first empty slot of the chain b, which the caller
 * has locked or alone can reach. When every line is full it links a new overflow bucket: the
 * first of *spare if spare is not NULL, else a new one. GOLF_ENOMEM (nothing changed) when that
 * allocation fails. *overflowed: the slot is past the head bucket. */
int golf__map_chain_add(golf__map_bucket *b, uint64_t field, uint64_t w, void *v,
                        golf__map_bucket **spare, bool *overflowed);

/* The per-CPU count: add d on this CPU; the sum (0 when negative: adds in flight). */
void golf__map_count_add(golf_map *m, intptr_t d);
size_t golf__map_count(golf_map *m);

/* One resize step: starts or continues doubling the table if it is due; gives up quietly on
 * contention (another thread is resizing) or allocation failure (the next insert resumes). */
void golf__map_grow(golf_map *m);

#endif
