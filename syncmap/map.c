/* golf_map: Go's sync.Map on a bucket table under RCU (see syncmap/README.md).
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
 *     a read section. */
#include "syncmap/map_internal.h"

#include <stdlib.h>

#include "lockfree/fatal.h"

static inline bool
bad_key(const golf_map *m, const void *key, size_t klen)
{
    return m == NULL || (key == NULL && klen > 0);
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
            int i = __builtin_ctzll(mt) / GOLF__MAP_FIELD_BITS;
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
    for (golf__map_bucket *bb = b; bb != NULL;
         bb = atomic_load_explicit(&bb->overflow, memory_order_relaxed)) {
        /* Relaxed loads here and below: we hold the lock, whose [M8] acquire ordered every
         * previous holder's writes before us, and only holders write these words. */
        uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_relaxed);
        for (uint64_t mt = golf__map_match(meta, p->field); mt != 0; mt &= mt - 1) {
            int i = __builtin_ctzll(mt) / GOLF__MAP_FIELD_BITS;
            if (golf__map_key_is(p, atomic_load_explicit(&bb->slot[i].key, memory_order_relaxed))) {
                *where = bb;
                *slot = i;
                return true;
            }
        }
    }
    return false;
}

/* Links (key word w, value v) into the locked chain b. GOLF_ENOMEM (nothing changed) when an
 * overflow bucket is needed and cannot be allocated. *overflowed: it went past the head. */
static int
insert_locked(golf__map_bucket *b, uint64_t field, uint64_t w, void *v, bool *overflowed)
{
    golf__map_bucket *bb = b, *last = b;
    *overflowed = false;
    for (; bb != NULL; bb = atomic_load_explicit(&bb->overflow, memory_order_relaxed)) {
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
             * meta word in lookup(). This store is the insert's linearization point. */
            atomic_store_explicit(&bb->meta, golf__map_meta_set(meta, i, field),
                                  memory_order_release);
            *overflowed = bb != b;
            return GOLF_OK;
        }
        last = bb;
    }
    golf__map_bucket *nb = golf__map_alloc_aligned(64, sizeof *nb);
    if (nb == NULL)
        return GOLF_ENOMEM;
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
    golf__map_key *k = golf__map_alloc(sizeof *k + p->klen);
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
    if (GOLF__UNLIKELY(bad_key(m, key, klen)))
        return false;
    golf__map_probe p;
    golf__map_probe_init(&p, m->seed, key, klen);
    void *v;
    golf__rcu_read_lock();
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
        int rc = insert_locked(b, p->field, w, value, &overflowed);
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
    if (GOLF__UNLIKELY(bad_key(m, key, klen)))
        return GOLF_EINVAL;
    golf__map_probe p;
    golf__map_probe_init(&p, m->seed, key, klen);
    void *prev = NULL;
    bool found = false;
    golf__rcu_read_lock();
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
    if (GOLF__UNLIKELY(bad_key(m, key, klen)))
        return GOLF_EINVAL;
    golf__map_probe p;
    golf__map_probe_init(&p, m->seed, key, klen);
    void *v = NULL;
    bool found;
    int rc = GOLF_OK;
    golf__rcu_read_lock();
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
    if (GOLF__UNLIKELY(bad_key(m, key, klen)))
        return false;
    golf__map_probe p;
    golf__map_probe_init(&p, m->seed, key, klen);
    void *v = NULL;
    bool done = false;
    golf__rcu_read_lock();
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
    if (GOLF__UNLIKELY(bad_key(m, key, klen)))
        return false;
    golf__map_probe p;
    golf__map_probe_init(&p, m->seed, key, klen);
    void *v;
    bool done = false;
    golf__rcu_read_lock();
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
    const void *key; /* NULL: the item was dropped (a duplicate) */
    size_t klen;
    void *value;
} range_item;

enum { GOLF__MAP_RANGE_STACK = 8 * GOLF__MAP_SLOTS };

static bool
range_same_key(const range_item *a, const range_item *b)
{
    return a->klen == b->klen && (a->klen == 0 || memcmp(a->key, b->key, a->klen) == 0);
}

/* Visits one chain: a consistent snapshot of each line (retried while writers change it),
 * then fn on every item whose key is not already visited from this chain (a key removed and
 * re-inserted during the walk can show up in two lines). Returns false when fn said stop. */
static bool
range_chain(golf__map_bucket *b, range_item **snap, size_t *cap, range_item *stack,
            bool (*fn)(const void *, size_t, void *, void *), void *arg)
{
    size_t n = 0;
    for (golf__map_bucket *bb = b; bb != NULL;
         bb = atomic_load_explicit(&bb->overflow, memory_order_acquire)) { /* [M7] */
        if (n + GOLF__MAP_SLOTS > *cap) {
            size_t nc = *cap * 2;
            range_item *ns = golf__map_alloc(nc * sizeof *ns);
            if (ns == NULL)
                break; /* out of memory: the rest of this chain is skipped; see README */
            memcpy(ns, *snap, n * sizeof *ns);
            if (*snap != stack)
                free(*snap);
            *snap = ns;
            *cap = nc;
        }
        size_t base = n;
        for (;;) {
            n = base;
            /* [M5] acquire: as in lookup(). MOVED is ignored on purpose, see golf_map_range. */
            uint64_t meta = atomic_load_explicit(&bb->meta, memory_order_acquire);
            for (int i = 0; i < GOLF__MAP_SLOTS; i++) {
                uint64_t f = golf__map_field(meta, i);
                if (f == 0)
                    continue;
                range_item *it = &(*snap)[n++];
                /* [M4] [M6] acquire: as in lookup(). */
                it->word = atomic_load_explicit(&bb->slot[i].key, memory_order_acquire);
                it->value = atomic_load_explicit(&bb->slot[i].value, memory_order_acquire);
                it->klen = f >> 8;
                it->key = NULL;
                if (it->klen == GOLF__MAP_CODE_LONG) {
                    /* The block is immutable; only its address is read before the check. */
                    it->key = (const golf__map_key *)(uintptr_t)it->word;
                }
            }
            if (golf__map_line_stable(bb, meta))
                break;
        }
        for (size_t j = base; j < n; j++) {
            range_item *it = &(*snap)[j];
            if (it->key != NULL) {
                const golf__map_key *k = it->key;
                it->key = k->bytes;
                it->klen = k->klen;
            }
        }
    }
    range_item *s = *snap;
    for (size_t j = 0; j < n; j++) {
        range_item *it = &s[j];
        if (it->klen <= 8)
            it->key = &it->word; /* the inline bytes, in this array */
        bool dup = false;
        for (size_t q = 0; q < j && !dup; q++)
            dup = s[q].key != NULL && range_same_key(&s[q], it);
        if (dup) {
            it->key = NULL;
            continue;
        }
        if (!fn(it->key, it->klen, it->value, arg))
            return false;
    }
    return true;
}

void
golf_map_range(golf_map *m, bool (*fn)(const void *key, size_t klen, void *value, void *arg),
               void *arg)
{
    if (m == NULL || fn == NULL)
        return;
    range_item stack[GOLF__MAP_RANGE_STACK];
    range_item *snap = stack;
    size_t cap = GOLF__MAP_RANGE_STACK;
    golf__rcu_read_lock();
    /* [M1] acquire: as in lookup(). We walk this table only, even where a resize or clear has
     * MOVED buckets on: a moved chain stays as it was at the move, so every key present for
     * the whole call is still linked in it (with the value it had at the move, a moment of the
     * call), and a key maps to one bucket of one table, so none is seen twice. */
    golf__map_table *t = atomic_load_explicit(&m->table, memory_order_acquire);
    for (size_t i = 0; i <= t->mask; i++)
        if (!range_chain(&t->buckets[i], &snap, &cap, stack, fn, arg))
            break;
    golf__rcu_read_unlock();
    if (snap != stack)
        free(snap);
}

/* ---- the rest ---- */

size_t
golf_map_len(golf_map *m)
{
    if (m == NULL)
        return 0;
    intptr_t n = 0;
    for (unsigned c = 0; c < m->ncpu; c++)
        n += atomic_load_explicit(&m->percpu[c].count, memory_order_relaxed); /* statistic */
    return n < 0 ? 0 : (size_t)n;
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

typedef struct retired {
    golf__rcu_head rcu; /* first: the callback gets its address */
    void (*fn)(void *value);
    void *value;
} retired;

static void
retired_run(golf__rcu_head *head)
{
    retired *r = (retired *)(void *)head;
    r->fn(r->value);
    free(r);
}

void
golf_map_retire(golf_map *m, void *value, void (*fn)(void *value))
{
    if (m == NULL || fn == NULL)
        return;
    retired *r = golf__map_alloc(sizeof *r);
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
    golf__rcu_call(&r->rcu, retired_run);
}
