/* SPDX-License-Identifier: MIT */
/* map structure: table allocation, the bucket lock, the per-CPU garbage batches, the online
 * resize and clear. The lookup and the operations are in map.c; the design in README.md. */
#include "map/map_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "lockfree/alloc.h"
#include "lockfree/backoff.h"
#include "lockfree/percpu.h"

/* ---- allocation: lockfree/alloc.h (one failure-injection hook for all of golf) ---- */

void
golf__map_set_alloc_fail(long n)
{
    golf__alloc_set_fail(n);
}

void *
golf__map_alloc(size_t size)
{
    return golf__malloc(size);
}

void *
golf__map_alloc_aligned(size_t align, size_t size)
{
    return golf__aligned_alloc(align, size);
}

/* ---- tables ---- */

golf__map_table *
golf__map_table_new(size_t nbuckets)
{
    golf__map_table *t = golf__map_alloc(sizeof *t);
    if (t == NULL)
        return NULL;
    t->buckets = golf__map_alloc_aligned(64, nbuckets * sizeof(golf__map_bucket));
    if (t->buckets == NULL) {
        free(t);
        return NULL;
    }
    /* Zero is a valid empty bucket: no tags, unlocked, no slots, no overflow. */
    memset(t->buckets, 0, nbuckets * sizeof(golf__map_bucket));
    t->mask = nbuckets - 1;
    atomic_init(&t->next, NULL);
    t->cursor = 0;
    return t;
}

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
        bool owns = !(meta & GOLF__MAP_MOVED) || (meta & GOLF__MAP_DROPPED);
        golf__map_bucket *next;
        for (golf__map_bucket *bb = b; bb != NULL; bb = next) {
            next = atomic_load_explicit(&bb->overflow, memory_order_relaxed);
            if (owns)
                free_line_keys(bb, atomic_load_explicit(&bb->meta, memory_order_relaxed));
            if (bb != b)
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

/* ---- the bucket lock: a test-and-test-and-set bit in the head bucket's meta word ---- */

uint64_t
golf__map_bucket_lock(golf__map_bucket *b)
{
    golf__backoff bo = GOLF__BACKOFF_INIT;
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
         * oversubscribed machine the holder may be preempted: yield to it. */
        if (golf__backoff_is_completed(&bo))
            sched_yield();
        else
            golf__backoff_snooze(&bo);
    }
}

/* ---- per-CPU counters and garbage batches ---- */

void
golf__map_count_add(golf_map *m, intptr_t d)
{
    /* Relaxed: the count is a statistic; len() is exact only when quiescent, and then the
     * quiescence (a join, a lock) orders every add before the sum. */
    atomic_fetch_add_explicit(&m->percpu[golf__cpu_id()].count, d, memory_order_relaxed);
}

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

/* ---- resize ---- */

static size_t
map_count(golf_map *m)
{
    intptr_t n = 0;
    for (unsigned c = 0; c < m->ncpu; c++)
        n += atomic_load_explicit(&m->percpu[c].count, memory_order_relaxed); /* statistic */
    return n < 0 ? 0 : (size_t)n;
}

bool
golf__map_grow_due(golf_map *m, const golf__map_table *t)
{
    /* Grow at an average of 2 keys per 3-slot bucket: most lookups stay in the head line. */
    return map_count(m) > 2 * (t->mask + 1);
}

/* The hash of the key in a slot with field f and key word w. */
static uint64_t
slot_hash(const golf_map *m, uint64_t f, uint64_t w)
{
    uint64_t code = f >> 8;
    if (code == GOLF__MAP_CODE_LONG)
        return ((const golf__map_key *)(uintptr_t)w)->hash;
    return golf__map_inline_hash(m->seed, w, code);
}

/* Places a slot in the first free slot of dst's chain, taking overflow buckets from *spare.
 * dst is not reachable yet (its source is not MOVED), so relaxed stores would do; they are
 * releases anyway so the argument stays the one of insert_locked() in map.c. */
static void
place(golf__map_bucket *dst, uint64_t f, uint64_t w, void *v, golf__map_bucket **spare)
{
    golf__map_bucket *bb = dst;
    for (;;) {
        uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed); /* ours alone */
        for (int i = 0; i < GOLF__MAP_SLOTS; i++) {
            if (golf__map_field(meta, i) == 0) {
                atomic_store_explicit(&bb->slot[i].key, w, memory_order_release);   /* [M4] */
                atomic_store_explicit(&bb->slot[i].value, v, memory_order_release); /* [M6] */
                atomic_store_explicit(&bb->meta, golf__map_meta_set(meta, i, f),
                                      memory_order_release); /* [M5] */
                return;
            }
        }
        golf__map_bucket *next = atomic_load_explicit(&bb->overflow, memory_order_relaxed);
        if (next == NULL) {
            next = *spare;
            *spare = atomic_load_explicit(&next->overflow, memory_order_relaxed);
            atomic_store_explicit(&next->overflow, NULL, memory_order_relaxed);
            atomic_store_explicit(&bb->overflow, next, memory_order_release); /* [M7] */
        }
        bb = next;
    }
}

/* Moves bucket i of t into nt (buckets i and i + |t|). All or nothing: false (nothing moved)
 * when an overflow bucket cannot be allocated. */
static bool
move_bucket(golf_map *m, golf__map_table *t, golf__map_table *nt, size_t i)
{
    golf__map_bucket *b = &t->buckets[i];
    uint64_t head = golf__map_bucket_lock(b);
    size_t n_lo = 0, n_hi = 0, nb = t->mask + 1;
    /* Relaxed loads of the chain: we hold its lock ([M8]). */
    for (golf__map_bucket *bb = b; bb != NULL;
         bb = atomic_load_explicit(&bb->overflow, memory_order_relaxed)) {
        uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed);
        for (int k = 0; k < GOLF__MAP_SLOTS; k++) {
            uint64_t f = golf__map_field(meta, k);
            if (f == 0)
                continue;
            uint64_t w = atomic_load_explicit(&bb->slot[k].key, memory_order_relaxed);
            if (slot_hash(m, f, w) & nb)
                n_hi++;
            else
                n_lo++;
        }
    }
    /* Overflow buckets the two destinations need, allocated before anything changes. */
    size_t need = (n_lo > GOLF__MAP_SLOTS ? (n_lo - 1) / GOLF__MAP_SLOTS : 0) +
                  (n_hi > GOLF__MAP_SLOTS ? (n_hi - 1) / GOLF__MAP_SLOTS : 0);
    golf__map_bucket *spare = NULL;
    for (size_t j = 0; j < need; j++) {
        golf__map_bucket *s = golf__map_alloc_aligned(64, sizeof *s);
        if (s == NULL) {
            while (spare != NULL) {
                golf__map_bucket *n = atomic_load_explicit(&spare->overflow, memory_order_relaxed);
                free(spare);
                spare = n;
            }
            golf__map_bucket_unlock(b);
            return false;
        }
        memset(s, 0, sizeof *s);
        atomic_store_explicit(&s->overflow, spare, memory_order_relaxed); /* private list */
        spare = s;
    }
    golf__map_bucket *lo = &nt->buckets[i], *hi = &nt->buckets[i + nb];
    for (golf__map_bucket *bb = b; bb != NULL;
         bb = atomic_load_explicit(&bb->overflow, memory_order_relaxed)) {
        uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed);
        for (int k = 0; k < GOLF__MAP_SLOTS; k++) {
            uint64_t f = golf__map_field(meta, k);
            if (f == 0)
                continue;
            uint64_t w = atomic_load_explicit(&bb->slot[k].key, memory_order_relaxed);
            void *v = atomic_load_explicit(&bb->slot[k].value, memory_order_relaxed);
            place(slot_hash(m, f, w) & nb ? hi : lo, f, w, v, &spare);
        }
    }
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
        if (!golf__map_grow_due(m, t))
            goto out;
        nt = golf__map_table_new(2 * (t->mask + 1));
        if (nt == NULL)
            goto out; /* retried by a later insert */
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
    golf__rcu_call(&t->rcu, table_retired);
out:
    pthread_mutex_unlock(&m->grow_lock);
}

/* ---- clear ---- */

/* Keys linked in one head bucket's chain. Under the bucket lock. */
static intptr_t
chain_count(golf__map_bucket *b)
{
    intptr_t n = 0;
    for (golf__map_bucket *bb = b; bb != NULL;
         bb = atomic_load_explicit(&bb->overflow, memory_order_relaxed)) { /* under the lock */
        uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed);
        for (int k = 0; k < GOLF__MAP_SLOTS; k++)
            n += golf__map_field(meta, k) != 0;
    }
    return n;
}

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
            for (golf__map_bucket *bb = b; bb != NULL;
                 bb = atomic_load_explicit(&bb->overflow, memory_order_relaxed)) {
                uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed);
                for (int k = 0; k < GOLF__MAP_SLOTS; k++) {
                    uint64_t f = golf__map_field(meta, k);
                    if (f == 0)
                        continue;
                    if ((f >> 8) == GOLF__MAP_CODE_LONG)
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
        golf__rcu_call(&x->rcu, table_retired);
        x = next;
    }
out:
    pthread_mutex_unlock(&m->grow_lock);
    golf__rcu_read_unlock();
}

/* ---- map lifetime ---- */

/* The per-map hash key: splitmix64 over the map's address, a clock and a process counter. */
static uint64_t
map_seed(const void *m)
{
    static _Atomic uint64_t counter; /* relaxed: only needs distinct values */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t z = (uint64_t)(uintptr_t)m ^ ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
                 (atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed) * GOLF__MAP_K1);
    z += UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

golf_map *
golf_map_new(void)
{
    /* The deferred-work worker that will free this map's retired tables, key blocks and
     * retired values: started here, where its failure can be reported. */
    if (golf__rcu_start() != GOLF_OK)
        goto nomem;
    golf_map *m = golf__map_alloc_aligned(_Alignof(golf_map), sizeof *m);
    if (m == NULL)
        goto nomem;
    m->ncpu = golf__ncpu_slots();
    m->percpu = golf__map_alloc_aligned(GOLF_CACHELINE, m->ncpu * sizeof(golf__map_percpu));
    if (m->percpu == NULL)
        goto nomem_m;
    for (unsigned c = 0; c < m->ncpu; c++) {
        atomic_init(&m->percpu[c].count, 0);
        atomic_init(&m->percpu[c].garbage, NULL);
    }
    golf__map_table *t = golf__map_table_new(8);
    if (t == NULL)
        goto nomem_pc;
    atomic_init(&m->table, t);
    atomic_init(&m->retiring, 0);
    m->seed = map_seed(m);
    pthread_mutex_init(&m->grow_lock, NULL);
    return m;
nomem_pc:
    free(m->percpu);
nomem_m:
    free(m);
nomem:
    errno = ENOMEM;
    return NULL;
}

void
golf_map_free(golf_map *m)
{
    if (m == NULL)
        return;
    /* Retired fns may use m themselves (syncmap.h allows map calls and retire in them): delete long
     * keys (garbage), retire more. So: flush the garbage and wait for everything queued
     * (barrier: the batches just flushed, retired tables, the fns retired through m), until a
     * round starts with no fn of m outstanding (none queued or running, so none can add
     * garbage or retire again) and finds no garbage. A fn that frees its own map is not
     * waited for by itself. The barrier is fatal inside a read section (it would deadlock). */
    size_t self = golf__map_retiring_here(m);
    for (;;) {
        /* [M10] acquire: pairs with the [M10] release in retired_run(): what the fns that
         * have returned did to m (their garbage pushes, their retires) is visible. */
        size_t outstanding = atomic_load_explicit(&m->retiring, memory_order_acquire);
        bool any = garbage_flush(m);
        golf__rcu_barrier();
        if (outstanding == self && !any)
            break;
    }
    golf__map_table *t = atomic_load_explicit(&m->table, memory_order_relaxed); /* sole user */
    while (t != NULL) {
        golf__map_table *next = atomic_load_explicit(&t->next, memory_order_relaxed);
        golf__map_table_destroy(t);
        t = next;
    }
    pthread_mutex_destroy(&m->grow_lock);
    free(m->percpu);
    free(m);
}
