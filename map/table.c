/* SPDX-License-Identifier: MIT */
/* The map's tables: allocation, the bucket lock, chain inserts, the per-CPU count, the online
 * resize (move) and clear. Called by map.c; hands what it unlinks to reclaim.c. The design and
 * the invariants are in README.md. */
#include "table.h"

#include <stdlib.h>

#include "lockfree/alloc.h"
#include "lockfree/backoff.h"
#include "lockfree/percpu.h"
#include "reclaim.h"

golf__map_table *
golf__map_table_new(size_t nbuckets)
{
    golf__map_table *t = golf__malloc(sizeof *t);
    if (t == NULL)
        return NULL;
    t->buckets = golf__aligned_alloc(64, nbuckets * sizeof(golf__map_bucket));
    if (t->buckets == NULL) {
        free(t);
        return NULL;
    }
    /* Zero is a valid empty bucket: no tags, unlocked, no slots, no overflow. */
    memset(t->buckets, 0, nbuckets * sizeof(golf__map_bucket));
    t->mask = nbuckets - 1;
    atomic_init(&t->next, NULL);
    t->cursor = 0;
    t->gen = 0;
    return t;
}

/* ---- the bucket lock: a test-and-test-and-set bit in the head bucket's meta word ---- */

uint64_t
golf__map_bucket_lock(golf__map_bucket *b)
{
    golf__backoff bo = GOLF__BACKOFF(GOLF__BUDGET_HOLDER);
    for (;;) {
        /* Relaxed: only a hint for the CAS, which carries the ordering. */
        uint64_t meta = atomic_load_explicit(&b->meta, memory_order_relaxed);
        /* [M8] acquire: pairs with [M8] release in golf__map_bucket_unlock(): the previous
         * holder's slot, tag and value writes are visible to us. */
        if (!(meta & GOLF__MAP_LOCKED) &&
            atomic_compare_exchange_weak_explicit(&b->meta, &meta, meta | GOLF__MAP_LOCKED,
                                                  memory_order_acquire, memory_order_relaxed))
            return meta | GOLF__MAP_LOCKED;
        /* Holders never wait on anything while holding it, so a short spin usually does; on an
         * oversubscribed machine the holder may be preempted: the budget then yields to it. */
        golf__backoff_wait(&bo);
    }
}

/* ---- chains ---- */

int
golf__map_chain_add(golf__map_bucket *b, uint64_t field, uint64_t w, void *v,
                    golf__map_bucket **spare, bool *overflowed)
{
    /* relaxed: the caller holds b's lock or alone reaches b. */
    GOLF__ASSERT(!(atomic_load_explicit(&b->meta, memory_order_relaxed) & GOLF__MAP_MOVED),
                 "4 map: a chain written after it was MOVED");
    golf__map_bucket *last = b;
    GOLF__MAP_FOR_EACH_LINE(bb, b)
    {
        uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed); /* locked */
        for (int i = 0; i < GOLF__MAP_SLOTS; i++) {
            if (golf__map_field(meta, i) != 0)
                continue;
            /* [M4]/[M6] release: the slot is empty (no field), but a reader holding an older
             * meta may still read it; these releases, paired with its acquire loads and fence
             * (golf__map_line_stable), make it see the version bump of the removal that emptied
             * the slot, so it retries. The key block's bytes are published by [M4] too. */
            atomic_store_explicit(&bb->slot[i].key, w, memory_order_release);
            atomic_store_explicit(&bb->slot[i].value, v, memory_order_release);
            /* [M5] release: the slot before its field; pairs with the [M5] acquire of the
             * meta word in lookup(). This store is an insert's linearization point. */
            atomic_store_explicit(&bb->meta, golf__map_meta_set(meta, i, field),
                                  memory_order_release);
            *overflowed = bb != b;
            return GOLF_OK;
        }
        last = bb;
    }
    golf__map_bucket *nb;
    if (spare != NULL && *spare != NULL) {
        nb = *spare;
        *spare = atomic_load_explicit(&nb->overflow, memory_order_relaxed); /* private list */
    } else {
        nb = golf__aligned_alloc(64, sizeof *nb);
        if (nb == NULL)
            return GOLF_ENOMEM;
    }
    memset(nb, 0, sizeof *nb);
    /* Relaxed: published by [M7]. */
    atomic_store_explicit(&nb->slot[0].key, w, memory_order_relaxed);
    atomic_store_explicit(&nb->slot[0].value, v, memory_order_relaxed);
    atomic_store_explicit(&nb->meta, golf__map_meta_set(0, 0, field), memory_order_relaxed);
    /* [M7] release: the filled bucket before its link; pairs with the [M7] acquire loads. */
    atomic_store_explicit(&last->overflow, nb, memory_order_release);
    *overflowed = true;
    return GOLF_OK;
}

/* Keys linked in the chain b (locked). */
static intptr_t
chain_count(golf__map_bucket *b)
{
    intptr_t n = 0;
    GOLF__MAP_FOR_EACH_LINE(bb, b)
    {
        uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed);
        n += __builtin_popcountll(golf__map_occupied(meta));
    }
    return n;
}

/* ---- the per-CPU count ---- */

void
golf__map_count_add(golf_map *m, intptr_t d)
{
    /* Relaxed: the count is a statistic; len() is exact only when quiescent, and then the
     * quiescence (a join, a lock) orders every add before the sum. */
    atomic_fetch_add_explicit(&m->percpu[golf__cpu_id()].count, d, memory_order_relaxed);
}

size_t
golf__map_count(golf_map *m)
{
    intptr_t n = 0;
    for (unsigned c = 0; c < m->ncpu; c++)
        n += atomic_load_explicit(&m->percpu[c].count, memory_order_relaxed); /* statistic */
    return n < 0 ? 0 : (size_t)n;
}

/* ---- resize ---- */

static bool
grow_due(golf_map *m, const golf__map_table *t)
{
    /* Grow at an average of 2 keys per 3-slot bucket: most lookups stay in the head line. */
    return golf__map_count(m) > 2 * (t->mask + 1);
}

/* Whether the key in slot k (field f) of line bb moves to the upper of its two buckets when a
 * table of nb buckets doubles; *w: its key word. Under the chain's lock. */
static bool
goes_high(const golf_map *m, golf__map_bucket *bb, int k, uint64_t f, size_t nb, uint64_t *w)
{
    *w = atomic_load_explicit(&bb->slot[k].key, memory_order_relaxed); /* locked */
    uint64_t code = f >> 8;
    uint64_t h = code == GOLF__MAP_CODE_LONG ? ((const golf__map_key *)(uintptr_t)*w)->hash
                                             : golf__map_inline_hash(m->seed, *w, code);
    return (h & nb) != 0;
}

/* Moves bucket i of t into nt (buckets i and i + |t|). All or nothing: false (nothing moved)
 * when an overflow bucket cannot be allocated. */
static bool
move_bucket(golf_map *m, golf__map_table *t, golf__map_table *nt, size_t i)
{
    golf__map_bucket *b = &t->buckets[i];
    uint64_t head = golf__map_bucket_lock(b);
    size_t n[2] = {0, 0}, nb = t->mask + 1;
    uint64_t w;
    GOLF__MAP_FOR_EACH_LINE(bb, b)
    {
        uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed);
        for (uint64_t o = golf__map_occupied(meta); o != 0; o &= o - 1) {
            int k = golf__map_lane(o);
            n[goes_high(m, bb, k, golf__map_field(meta, k), nb, &w)]++;
        }
    }
    /* Overflow buckets the two destinations need, allocated before anything changes. */
    size_t need = (n[0] > GOLF__MAP_SLOTS ? (n[0] - 1) / GOLF__MAP_SLOTS : 0) +
                  (n[1] > GOLF__MAP_SLOTS ? (n[1] - 1) / GOLF__MAP_SLOTS : 0);
    golf__map_bucket *spare = NULL;
    for (size_t j = 0; j < need; j++) {
        golf__map_bucket *s = golf__aligned_alloc(64, sizeof *s);
        if (s == NULL) {
            while (spare != NULL) {
                golf__map_bucket *next =
                    atomic_load_explicit(&spare->overflow, memory_order_relaxed);
                free(spare);
                spare = next;
            }
            golf__map_bucket_unlock(b);
            return false;
        }
        atomic_store_explicit(&s->overflow, spare, memory_order_relaxed); /* private list */
        spare = s;
    }
    /* nt's buckets are not reachable yet (b is not MOVED), so their chains are ours alone:
     * golf__map_chain_add() needs no lock there, and takes no allocation with spare. */
    golf__map_bucket *dst[2] = {&nt->buckets[i], &nt->buckets[i + nb]};
    bool overflowed;
    GOLF__MAP_FOR_EACH_LINE(bb, b)
    {
        uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed);
        for (uint64_t o = golf__map_occupied(meta); o != 0; o &= o - 1) {
            int k = golf__map_lane(o);
            uint64_t f = golf__map_field(meta, k);
            golf__map_bucket *to = dst[goes_high(m, bb, k, f, nb, &w)];
            void *v = atomic_load_explicit(&bb->slot[k].value, memory_order_relaxed);
            (void)golf__map_chain_add(to, f, w, v, &spare, &overflowed);
        }
    }
    GOLF__ASSERT(!(head & GOLF__MAP_MOVED), "4 map: a chain moved twice");
    GOLF__POINT(MAP_RESIZE_MOVE);
    /* [M2] release: the copies above (and t->next, [M3]) happen before any reader or writer
     * that sees MOVED with the [M2] acquire in lookup()/lock_chain() goes to nt. Also the
     * unlock ([M8]). The old chain stays as it is, frozen, for readers already in it: their
     * values are those of the move, a moment inside their call. */
    atomic_store_explicit(&b->meta, (head & ~GOLF__MAP_LOCKED) | GOLF__MAP_MOVED,
                          memory_order_release);
    return true;
}

void
golf__map_grow(golf_map *m)
{
    if (pthread_mutex_trylock(&m->grow_lock) != 0)
        return; /* someone else is resizing or clearing */
    /* Relaxed: m->table and t->next are written only under grow_lock, which we hold. */
    golf__map_table *t = atomic_load_explicit(&m->table, memory_order_relaxed);
    golf__map_table *nt = atomic_load_explicit(&t->next, memory_order_relaxed);
    if (nt == NULL) {
        if (!grow_due(m, t))
            goto out;
        nt = golf__map_table_new(2 * (t->mask + 1));
        if (nt == NULL)
            goto out; /* retried by a later insert */
        /* The same lineage: a range that walks t walks nt too (invariant 8). */
        nt->gen = t->gen;
        t->cursor = 0;
        /* [M3] release: nt's zeroed buckets are initialized before anyone follows t->next;
         * pairs with the [M3] acquire loads of t->next. */
        atomic_store_explicit(&t->next, nt, memory_order_release);
    }
    for (; t->cursor <= t->mask; t->cursor++)
        if (!move_bucket(m, t, nt, t->cursor))
            goto out; /* out of memory: the next insert resumes at t->cursor */
    /* [M1] release: new lookups start in nt; pairs with the [M1] acquire of m->table. Those
     * that still start in t follow the MOVED marks, so this store is only a shortcut. */
    atomic_store_explicit(&m->table, nt, memory_order_release);
    golf__map_table_retire(t);
out:
    pthread_mutex_unlock(&m->grow_lock);
}

/* ---- clear ---- */

/* Clear without a new table (allocation failed): unlink every key, bucket by bucket. */
static void
clear_in_place(golf_map *m, golf__map_table *t)
{
    for (; t != NULL; t = atomic_load_explicit(&t->next, memory_order_relaxed)) {
        for (size_t i = 0; i <= t->mask; i++) {
            golf__map_bucket *b = &t->buckets[i];
            if (golf__map_bucket_lock(b) & GOLF__MAP_MOVED) {
                golf__map_bucket_unlock(b);
                continue;
            }
            golf__map_count_add(m, -chain_count(b));
            GOLF__MAP_FOR_EACH_LINE(bb, b)
            {
                uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed);
                for (uint64_t o = golf__map_occupied(meta); o != 0; o &= o - 1) {
                    int k = golf__map_lane(o);
                    if ((golf__map_field(meta, k) >> 8) == GOLF__MAP_CODE_LONG)
                        golf__map_garbage(m, (golf__map_key *)(uintptr_t)atomic_load_explicit(
                                                 &bb->slot[k].key, memory_order_relaxed));
                    meta = golf__map_meta_set(meta, k, 0);
                }
                /* [M5] release: the emptied line (readers retry on the version change). */
                atomic_store_explicit(&bb->meta, meta, memory_order_release);
            }
            golf__map_bucket_unlock(b);
        }
    }
}

void
golf_map_clear(golf_map *m)
{
    if (m == NULL)
        return;
    golf__rcu_read_lock(); /* garbage pushes and the chain walk need a read section */
    pthread_mutex_lock(&m->grow_lock);
    golf__map_table *t = atomic_load_explicit(&m->table, memory_order_relaxed); /* grow_lock */
    golf__map_table *nt = golf__map_table_new(8);
    if (nt == NULL) {
        clear_in_place(m, t);
        goto out;
    }
    /* Count this clear before it links or drops anything (invariant 8): a range that reads
     * the count before the increment stops at nt, one that reads it after walks nt. m->clears
     * is written only here, under grow_lock, so load + store is the increment. [M11] release:
     * the previous clear's publication of m->table (ordered before us by grow_lock) happens
     * before a range that reads this value loads m->table; pairs with [M11] acquire in
     * golf_map_range(). */
    nt->gen = atomic_load_explicit(&m->clears, memory_order_relaxed) + 1;
    atomic_store_explicit(&m->clears, nt->gen, memory_order_release);
    /* The chain is t, or t -> its half-done resize target. */
    golf__map_table *last = t;
    golf__map_table *x;
    while ((x = atomic_load_explicit(&last->next, memory_order_relaxed)) != NULL)
        last = x;
    /* [M3] release: as in golf__map_grow(). */
    atomic_store_explicit(&last->next, nt, memory_order_release);
    for (x = t; x != NULL;
         x = x == last ? NULL : atomic_load_explicit(&x->next, memory_order_relaxed)) {
        for (size_t i = 0; i <= x->mask; i++) {
            golf__map_bucket *b = &x->buckets[i];
            uint64_t meta = golf__map_bucket_lock(b);
            if (meta & GOLF__MAP_MOVED) { /* moved by the half-done resize: seen in its target */
                golf__map_bucket_unlock(b);
                continue;
            }
            golf__map_count_add(m, -chain_count(b));
            /* [M2] release + [M8] unlock: as in move_bucket(); DROPPED: this table frees the
             * entries still linked here. */
            atomic_store_explicit(&b->meta,
                                  (meta & ~GOLF__MAP_LOCKED) | GOLF__MAP_MOVED | GOLF__MAP_DROPPED,
                                  memory_order_release);
        }
    }
    /* [M1] release: as in golf__map_grow(). */
    atomic_store_explicit(&m->table, nt, memory_order_release);
    for (x = t; x != nt;) {
        golf__map_table *next = atomic_load_explicit(&x->next, memory_order_relaxed);
        golf__map_table_retire(x);
        x = next;
    }
out:
    pthread_mutex_unlock(&m->grow_lock);
    golf__rcu_read_unlock();
}
