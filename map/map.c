/* SPDX-License-Identifier: MIT */
/* golf_map: Go's sync.Map on a bucket table under RCU (see map/README.md).
 *
 * Why it is safe, in short:
 *   - A key lives in one slot of one live table at a time. Slots are written only under the
 *     head bucket's lock, with the "not MOVED" check done under that lock, so no write lands in
 *     a bucket a resize or clear has already handed over.
 *   - Readers take no lock and write nothing: they read a line's meta word, the slot whose
 *     field matches, and the meta word again (a seqlock without the wait: writers never leave a
 *     line half-changed, inserts fill an empty slot and then publish its field, removals clear
 *     the field; both bump the line's version). A reader that sees the version unchanged read a
 *     key and a value that were in the slot together at the first load.
 *   - A value updated in place keeps its key: load + release store under the lock (an exchange
 *     as far as other writers can tell), no version bump, no
 *     allocation. A reader sees the old or the new value, both of which were the key's.
 *   - Long keys live in immutable blocks freed only after a grace period; every path runs in
 *     a read section.
 *   - No reader enters a chain whose head it sees MOVED (README invariant 7): a frozen chain is
 *     read only by readers that were in it before its move, so what they read is as of a moment
 *     inside their call, and the key blocks it links, which the next table may unlink and free,
 *     outlive them (the grace period starts after the move).
 *   - A range ends in work bounded by the map's size: it stops at any table made by a clear that
 *     began after it started (nothing there was present for its whole call), so the tables it
 *     walks are those of at most two clears' lineages, which only grow by doubling (README
 *     invariant 8). */
#include "map_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "lockfree/percpu.h"

/* The start of every keyed operation: false on a bad argument; else p is the key's probe and
 * the caller is inside a read section, which it ends with golf__rcu_read_unlock(). */
static inline bool
enter(golf_map *m, const void *key, size_t klen, golf__map_probe *p)
{
    if (GOLF__UNLIKELY(m == NULL || (key == NULL && klen > 0)))
        return false;
    golf__map_probe_init(p, m->seed, key, klen);
    golf__rcu_read_lock();
    return true;
}

/* Finds p's key, lock-free. Inside a read section. True on a hit, with the value in *vout. */
static inline bool
lookup(golf_map *m, const golf__map_probe *p, void **vout)
{
    /* [M1] acquire: pairs with [M1] release in golf__map_grow()/golf_map_clear(). */
    golf__map_table *t = atomic_load_explicit(&m->table, memory_order_acquire);
again:;
    golf__map_bucket *bb = &t->buckets[p->hash & t->mask];
    for (;;) {
        /* [M2][M5] acquire: MOVED (then the copies in t->next are visible) and the fields
         * (then their slots are visible). */
        uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_acquire);
        if (GOLF__UNLIKELY(meta & GOLF__MAP_MOVED)) {
            /* Only head buckets are ever MOVED. [M3] acquire: pairs with the release store
             * of t->next. */
            t = atomic_load_explicit(&t->next, memory_order_acquire);
            goto again;
        }
        for (uint64_t mt = golf__map_match(meta, p->field); mt != 0; mt &= mt - 1) {
            int i = golf__map_lane(mt);
            /* [M4] acquire: a long key's block; [M6] acquire: what the storer wrote before
             * storing the value. */
            uint64_t w = atomic_load_explicit(&bb->slot[i].key, memory_order_acquire);
            void *v = atomic_load_explicit(&bb->slot[i].value, memory_order_acquire);
            /* Check before comparing: if the slot was reused, w may be inline bytes where a
             * key block's address was, and must not be dereferenced. */
            if (GOLF__UNLIKELY(!golf__map_line_stable(bb, meta)))
                goto again_line;
            if (golf__map_key_is(p, w)) {
                *vout = v;
                return true;
            }
        }
        /* [M7] acquire: an overflow bucket is filled before it is linked. */
        bb = atomic_load_explicit(&bb->overflow, memory_order_acquire);
        if (bb == NULL)
            return false;
        continue;
    again_line:
        /* The slot was reused under us: read this line again (from the head, in case it is a
         * head bucket that has been MOVED meanwhile). */
        goto again;
    }
}

/* Locks the head bucket of h's chain in the newest table that has it. Inside a read section. */
static golf__map_bucket *
lock_chain(golf_map *m, uint64_t h, golf__map_table **tp)
{
    /* [M1] acquire: as in lookup(). */
    golf__map_table *t = atomic_load_explicit(&m->table, memory_order_acquire);
    for (;;) {
        golf__map_bucket *b = &t->buckets[h & t->mask];
        /* [M2] acquire: a MOVED bucket is skipped without taking its lock. */
        if (!(atomic_load_explicit(&b->meta, memory_order_acquire) & GOLF__MAP_MOVED)) {
            /* The check that counts is this one, under the lock: a bucket not MOVED now stays
             * so until we unlock, since moving takes the lock. */
            if (!(golf__map_bucket_lock(b) & GOLF__MAP_MOVED)) {
                *tp = t;
                GOLF__POINT(MAP_BUCKET_LOCKED);
                return b;
            }
            golf__map_bucket_unlock(b);
        }
        /* [M3] acquire: t->next was stored before the MOVED mark. */
        t = atomic_load_explicit(&t->next, memory_order_acquire);
    }
}

/* p's key in the locked chain b: its line and slot. */
static bool
find_locked(golf__map_bucket *b, const golf__map_probe *p, golf__map_bucket **where, int *slot)
{
    GOLF__MAP_FOR_EACH_LINE(bb, b)
    {
        /* Relaxed loads: see GOLF__MAP_FOR_EACH_LINE. */
        uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed);
        for (uint64_t mt = golf__map_match(meta, p->field); mt != 0; mt &= mt - 1) {
            int i = golf__map_lane(mt);
            if (golf__map_key_is(p, atomic_load_explicit(&bb->slot[i].key, memory_order_relaxed))) {
                *where = bb;
                *slot = i;
                return true;
            }
        }
    }
    return false;
}

/* Unlinks slot k of line bb in a locked chain; queues its key block, if any, for freeing. */
static void
unlink_locked(golf_map *m, golf__map_bucket *bb, int k)
{
    uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed); /* locked */
    uint64_t f = golf__map_field(meta, k);
    /* [M5] release: the removal's linearization point; the version bump makes readers that
     * are reading the slot retry. */
    atomic_store_explicit(&bb->meta, golf__map_meta_set(meta, k, 0), memory_order_release);
    if ((f >> 8) == GOLF__MAP_CODE_LONG)
        golf__map_garbage(m, (golf__map_key *)(uintptr_t)atomic_load_explicit(
                                 &bb->slot[k].key, memory_order_relaxed));
    golf__map_count_add(m, -1);
}

/* The key word to store for p: the inline bytes, or a new block (NULL block: out of memory). */
static bool
key_word(const golf__map_probe *p, uint64_t *w)
{
    if (p->klen <= 8) {
        *w = p->word;
        return true;
    }
    if (p->klen > SIZE_MAX / 2)
        return false;
    golf__map_key *k = golf__malloc(sizeof *k + p->klen);
    if (k == NULL)
        return false;
    k->hash = p->hash;
    k->klen = p->klen;
    memcpy(k->bytes, p->key, p->klen);
    *w = (uint64_t)(uintptr_t)k; /* published by [M4] */
    return true;
}

static void
key_word_drop(const golf__map_probe *p, uint64_t w)
{
    if (p->klen > 8)
        free((void *)(uintptr_t)w); /* never published */
}

/* After an insert: grow when the chain overflowed (maybe the table is full) or a resize is
 * half done. Outside the bucket lock, inside the read section. */
static void
after_insert(golf_map *m, golf__map_table *t, bool overflowed)
{
    golf__map_count_add(m, 1);
    /* Relaxed: a hint; golf__map_grow() re-reads under its lock. */
    if (overflowed || atomic_load_explicit(&t->next, memory_order_relaxed) != NULL)
        golf__map_grow(m);
}

bool
golf_map_load(golf_map *m, const void *key, size_t klen, void **value)
{
    golf__map_probe p;
    if (!enter(m, key, klen, &p))
        return false;
    void *v;
    bool hit = lookup(m, &p, &v);
    golf__rcu_read_unlock();
    if (hit && value != NULL)
        *value = v;
    return hit;
}

/* What the locked slow path of swap/load_or_store does with a present key. */
enum { ON_PRESENT_REPLACE, ON_PRESENT_KEEP };

/* Stores value under p's key unless (ON_PRESENT_KEEP) it is present. *found: it was; *old:
 * its value before. Inside a read section. */
static int
put(golf_map *m, const golf__map_probe *p, void *value, int on_present, bool *found, void **old)
{
    /* A short key's word is the key itself; a long key needs a block, allocated only once we
     * know the key is absent, so overwriting a present key never allocates. */
    uint64_t w = p->word;
    bool have_word = p->klen <= 8;
    for (;;) {
        golf__map_table *t;
        golf__map_bucket *b = lock_chain(m, p->hash, &t), *bb;
        int k;
        bool overflowed;
        if (find_locked(b, p, &bb, &k)) {
            /* [M6] acquire: Swap and LoadOrStore read the value (Go counts them as loads). */
            *old = atomic_load_explicit(&bb->slot[k].value, memory_order_acquire);
            if (on_present == ON_PRESENT_REPLACE)
                /* [M6] release: publishes what the caller wrote before storing value; pairs
                 * with the readers' [M6] acquire. A plain store, not an exchange: every value
                 * write happens under this lock, so nothing changes it between load and store. */
                atomic_store_explicit(&bb->slot[k].value, value, memory_order_release);
            golf__map_bucket_unlock(b);
            if (have_word)
                key_word_drop(p, w); /* a block allocated in an earlier round: unpublished */
            *found = true;
            return GOLF_OK;
        }
        if (!have_word) {
            /* Allocate outside the lock, then look again: the key may have arrived. */
            golf__map_bucket_unlock(b);
            if (!key_word(p, &w))
                return GOLF_ENOMEM;
            have_word = true;
            continue;
        }
        int rc = golf__map_chain_add(b, p->field, w, value, NULL, &overflowed);
        golf__map_bucket_unlock(b);
        *found = false;
        *old = NULL;
        if (rc != GOLF_OK) {
            key_word_drop(p, w);
            return rc;
        }
        after_insert(m, t, overflowed);
        return GOLF_OK;
    }
}

int
golf_map_swap(golf_map *m, const void *key, size_t klen, void *value, void **previous, bool *loaded)
{
    golf__map_probe p;
    if (!enter(m, key, klen, &p))
        return GOLF_EINVAL;
    void *prev = NULL;
    bool found = false;
    int rc = put(m, &p, value, ON_PRESENT_REPLACE, &found, &prev);
    golf__rcu_read_unlock();
    if (rc == GOLF_OK) {
        if (previous != NULL)
            *previous = prev;
        if (loaded != NULL)
            *loaded = found;
    }
    return rc;
}

int
golf_map_store(golf_map *m, const void *key, size_t klen, void *value)
{
    return golf_map_swap(m, key, klen, value, NULL, NULL);
}

int
golf_map_load_or_store(golf_map *m, const void *key, size_t klen, void *value, void **actual,
                       bool *loaded)
{
    golf__map_probe p;
    if (!enter(m, key, klen, &p))
        return GOLF_EINVAL;
    void *v = NULL;
    bool found;
    int rc = GOLF_OK;
    /* Lock-free first: a present key needs no lock. */
    found = lookup(m, &p, &v);
    if (!found)
        rc = put(m, &p, value, ON_PRESENT_KEEP, &found, &v);
    golf__rcu_read_unlock();
    if (rc == GOLF_OK) {
        if (actual != NULL)
            *actual = found ? v : value;
        if (loaded != NULL)
            *loaded = found;
    }
    return rc;
}

/* Removes key if present and (when check) its value is old. The value removed in *vout. */
static bool
remove_key(golf_map *m, const void *key, size_t klen, bool check, void *old, void **vout)
{
    golf__map_probe p;
    if (!enter(m, key, klen, &p))
        return false;
    void *v = NULL;
    bool done = false;
    /* Lock-free first: an absent key (or, for compare_and_delete, another value) needs no
     * lock; the lookup's moment is the linearization point of that false. */
    if (!lookup(m, &p, &v) || (check && v != old))
        goto out;
    golf__map_table *t;
    golf__map_bucket *b = lock_chain(m, p.hash, &t), *bb;
    int k;
    if (find_locked(b, &p, &bb, &k)) {
        /* [M6] acquire: LoadAndDelete and CompareAndDelete read the value they remove. */
        v = atomic_load_explicit(&bb->slot[k].value, memory_order_acquire);
        if (!check || v == old) {
            unlink_locked(m, bb, k);
            done = true;
        }
    }
    golf__map_bucket_unlock(b);
out:
    golf__rcu_read_unlock();
    if (done && vout != NULL)
        *vout = v;
    return done;
}

bool
golf_map_load_and_delete(golf_map *m, const void *key, size_t klen, void **value)
{
    return remove_key(m, key, klen, false, NULL, value);
}

void
golf_map_delete(golf_map *m, const void *key, size_t klen)
{
    (void)remove_key(m, key, klen, false, NULL, NULL);
}

bool
golf_map_compare_and_delete(golf_map *m, const void *key, size_t klen, void *old)
{
    return remove_key(m, key, klen, true, old, NULL);
}

bool
golf_map_compare_and_swap(golf_map *m, const void *key, size_t klen, void *old, void *new_value)
{
    golf__map_probe p;
    if (!enter(m, key, klen, &p))
        return false;
    void *v;
    bool done = false;
    if (!lookup(m, &p, &v) || v != old)
        goto out; /* absent or another value at the lookup's moment: false */
    golf__map_table *t;
    golf__map_bucket *b = lock_chain(m, p.hash, &t), *bb;
    int k;
    if (find_locked(b, &p, &bb, &k) &&
        atomic_load_explicit(&bb->slot[k].value, memory_order_relaxed) == old) { /* locked */
        /* [M6] release: as in put(). */
        atomic_store_explicit(&bb->slot[k].value, new_value, memory_order_release);
        done = true;
    }
    golf__map_bucket_unlock(b);
out:
    golf__rcu_read_unlock();
    return done;
}

/* ---- range ---- */

/* One key/value read from a line, with its key's bytes (inline keys copied out: the slot may
 * be reused while fn runs; long keys point to their immutable block). */
typedef struct range_item {
    uint64_t word;   /* inline key bytes */
    const void *key; /* NULL: the item is dropped (another part's key, or a duplicate) */
    size_t klen;
    void *value;
} range_item;

enum { GOLF__MAP_RANGE_STACK = 8 * GOLF__MAP_SLOTS };

/* What one range call carries from chain to chain. */
typedef struct range_walk {
    golf_map *m;
    range_item *snap; /* the chain being visited: stack, or a heap array once it outgrew it */
    size_t cap;
    range_item stack[GOLF__MAP_RANGE_STACK];
    bool (*fn)(const void *, size_t, void *, void *);
    void *arg;
    uint64_t clears; /* m->clears at the call's start: a table of a later clear ends a path */
    size_t chains;   /* chains walked, for golf__map_range_chains() */
} range_walk;

/* Chains walked by this thread's golf_map_range calls (the test hook's count). */
static _Thread_local size_t range_chains;

size_t
golf__map_range_chains(void)
{
    return range_chains;
}

enum { RANGE_DONE, RANGE_STOP, RANGE_MOVED };

static bool
range_same_key(const range_item *a, const range_item *b)
{
    return a->klen == b->klen && (a->klen == 0 || memcmp(a->key, b->key, a->klen) == 0);
}

/* Visits the chain headed by b, keeping only keys whose hash h has (h & fmask) == fr (fmask 0:
 * all): a consistent snapshot of each line (retried while writers change it), then fn on every
 * item whose key is not already visited from this chain (a key removed and re-inserted during
 * the walk can show up in two lines). RANGE_MOVED, with nothing visited, when the head is
 * MOVED at the walk's first consistent read: the chain is frozen as of a move that may predate
 * this call, and its long-key blocks may belong to (and be freed from) the next table, so it is
 * never walked; the caller goes to t->next (invariant 7 in README.md). A head found not MOVED
 * here may be moved while we walk on: then the lines we read after the move show the chain as
 * of the move, a moment inside this call, and its blocks stay allocated until a grace period
 * after our read section (they are unlinked from the next table only after the move). */
static int
range_chain(range_walk *w, golf__map_bucket *b, uint64_t fmask, uint64_t fr)
{
    size_t n = 0;
    w->chains++;
    for (golf__map_bucket *bb = b; bb != NULL;
         bb = atomic_load_explicit(&bb->overflow, memory_order_acquire)) { /* [M7] */
        if (n + GOLF__MAP_SLOTS > w->cap) {
            size_t nc = w->cap * 2;
            range_item *ns = golf__malloc(nc * sizeof *ns);
            if (ns == NULL)
                break; /* out of memory: the rest of this chain is skipped; see README */
            memcpy(ns, w->snap, n * sizeof *ns);
            if (w->snap != w->stack)
                free(w->snap);
            w->snap = ns;
            w->cap = nc;
        }
        size_t base = n;
        for (;;) {
            n = base;
            /* [M2][M5] acquire: as in lookup(): MOVED, and the slots behind the fields. */
            uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_acquire);
            if (bb == b && (meta & GOLF__MAP_MOVED))
                return RANGE_MOVED; /* only heads are MOVED, and nothing was visited yet */
            for (int i = 0; i < GOLF__MAP_SLOTS; i++) {
                uint64_t f = golf__map_field(meta, i);
                if (f == 0)
                    continue;
                range_item *it = &w->snap[n++];
                /* [M4] [M6] acquire: as in lookup(). */
                it->word = atomic_load_explicit(&bb->slot[i].key, memory_order_acquire);
                it->value = atomic_load_explicit(&bb->slot[i].value, memory_order_acquire);
                it->klen = f >> 8;
            }
            /* A MOVED set meanwhile changes the word too: the retry then returns above. */
            if (golf__map_line_stable(bb, meta))
                break;
        }
        /* The line was stable: its long-key words are live blocks, safe to dereference. */
        for (size_t j = base; j < n; j++) {
            range_item *it = &w->snap[j];
            uint64_t h;
            if (it->klen == GOLF__MAP_CODE_LONG) {
                const golf__map_key *k = (const golf__map_key *)(uintptr_t)it->word;
                it->key = k->bytes;
                it->klen = k->klen;
                h = k->hash;
            } else {
                h = fmask != 0 ? golf__map_inline_hash(w->m->seed, it->word, it->klen) : 0;
            }
            if ((h & fmask) != fr)
                it->klen = SIZE_MAX; /* another part's key: dropped below */
        }
    }
    range_item *s = w->snap;
    for (size_t j = 0; j < n; j++) {
        range_item *it = &s[j];
        if (it->klen == SIZE_MAX) {
            it->key = NULL;
            continue;
        }
        if (it->klen <= 8)
            it->key = &it->word; /* the inline bytes, in this array */
        bool dup = false;
        for (size_t q = 0; q < j && !dup; q++)
            dup = s[q].key != NULL && range_same_key(&s[q], it);
        if (dup) {
            it->key = NULL;
            continue;
        }
        if (!w->fn(it->key, it->klen, it->value, w->arg))
            return RANGE_STOP;
    }
    return RANGE_DONE;
}

/* Visits the part of the key space whose hashes h have (h & mask) == r, starting at table y,
 * where every table that held the part before y has MOVED it on (mask 0: the whole map). The
 * part's keys live in y's buckets j with (j & mask) == r (y larger than the part), or among the
 * keys of y's one bucket r & y->mask (y not larger: filtered by hash); a MOVED bucket's keys
 * live in y->next. So each key has one path of buckets through the tables, and is looked for in
 * the first bucket of it that is not MOVED, once (invariant 7 in README.md).
 *
 * A table made by a clear that began after the range read m->clears (y->gen > w->clears) ends
 * the path: every key of the part that was in the map when that clear dropped the bucket that
 * led here was dropped then, during this call, so nothing from here on was present for the
 * whole call (invariant 8 in README.md). So a path crosses at most two lineages (the one of the
 * start table and that of a clear in progress at the start), however many clears run meanwhile.
 *
 * Recursion only where y is larger than the part, and the part then narrows to y's bucket: the
 * depth is at most the number of hash bits. Tables reachable from the range's start table stay
 * allocated for its read section: each is retired only after m->table moved past it, which was
 * after the range loaded m->table. */
static int
range_part(range_walk *w, golf__map_table *y, uint64_t mask, uint64_t r)
{
    for (;;) {
        if (y->gen > w->clears)
            return RANGE_DONE;
        if (y->mask > mask) {
            for (uint64_t j = r; j <= y->mask; j += mask + 1) {
                GOLF__POINT(MAP_RANGE_WALK);
                int rc = range_chain(w, &y->buckets[j], 0, 0);
                if (rc == RANGE_MOVED)
                    /* [M3] acquire: pairs with the release store of t->next (stored before the
                     * MOVED mark we saw with [M2] acquire). */
                    rc = range_part(w, atomic_load_explicit(&y->next, memory_order_acquire),
                                    y->mask, j);
                if (rc == RANGE_STOP)
                    return RANGE_STOP;
            }
            return RANGE_DONE;
        }
        GOLF__POINT(MAP_RANGE_WALK);
        int rc = range_chain(w, &y->buckets[r & y->mask], y->mask < mask ? mask : 0,
                             y->mask < mask ? r : 0);
        if (rc != RANGE_MOVED)
            return rc;
        y = atomic_load_explicit(&y->next, memory_order_acquire); /* [M3] acquire: as above */
    }
}

void
golf_map_range(golf_map *m, bool (*fn)(const void *key, size_t klen, void *value, void *arg),
               void *arg)
{
    if (m == NULL || fn == NULL)
        return;
    range_walk w;
    w.m = m;
    w.snap = w.stack;
    w.cap = GOLF__MAP_RANGE_STACK;
    w.fn = fn;
    w.arg = arg;
    w.chains = 0;
    golf__rcu_read_lock();
    /* [M11] acquire: pairs with [M11] release in golf_map_clear(): the table loaded below is
     * at least the one clear w.clears - 1 published, so the walk meets tables of two clear
     * generations at most (w.clears - 1 and w.clears). */
    w.clears = atomic_load_explicit(&m->clears, memory_order_acquire);
    /* [M1] acquire: as in lookup(). Every table before this one is wholly MOVED on. */
    golf__map_table *t = atomic_load_explicit(&m->table, memory_order_acquire);
    GOLF__ASSERT(t->gen + 1 >= w.clears, "8 map: a range started on a table two clears old");
    (void)range_part(&w, t, 0, 0);
    golf__rcu_read_unlock();
    range_chains += w.chains;
    if (w.snap != w.stack)
        free(w.snap);
}

/* ---- the rest ---- */

size_t
golf_map_len(golf_map *m)
{
    return m == NULL ? 0 : golf__map_count(m);
}

void
golf_map_read_lock(void)
{
    golf__rcu_read_lock();
}

void
golf_map_read_unlock(void)
{
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
    golf_map *m = golf__aligned_alloc(_Alignof(golf_map), sizeof *m);
    if (m == NULL)
        goto nomem;
    m->ncpu = golf__ncpu_slots();
    m->percpu = golf__aligned_alloc(GOLF_CACHELINE, m->ncpu * sizeof(golf__map_percpu));
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
    atomic_init(&m->clears, 0);
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
    golf__map_reclaim_drain(m);
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
