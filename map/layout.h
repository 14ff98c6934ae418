/* SPDX-License-Identifier: MIT */
/* The map's data layout and the reader's line protocol, shared by every file of map/: the
 * bucket line and its meta word, key blocks, tables, the map itself, the hash, the slot match,
 * the version check and the locked-chain iterator. Includes nothing of map/. Never installed.
 * The design, the invariants and the ordering tags [M1]..[M10] are in map/README.md; every
 * tagged access names its tag at both ends. */
#ifndef GOLF_MAP_LAYOUT_H
#define GOLF_MAP_LAYOUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "golf/syncmap.h"
#include "lockfree/cacheline.h"
#include "lockfree/rcu.h"

/* Slots per bucket: the meta word (8 bytes) + 3 slots of {key word, value} + the overflow link
 * fill one 64-byte line, so a lookup that hits the head bucket reads one line and nothing else
 * (keys of up to 8 bytes sit in the slot itself; longer keys sit in an immutable key block). */
enum { GOLF__MAP_SLOTS = 3 };

/* The bucket meta word, 64 bits:
 *
 *   bits 12i..12i+11 (i < 3)  slot i's field: bits 0..7 the tag 0x80 | (hash >> 57), bits 8..11
 *                             the key code (0..8: the key is inline, that many bytes; 9: the
 *                             slot's key word points to a golf__map_key). 0 = slot empty.
 *   bits 36..60  VERSION      +1 (mod 2^25) on every insert into or removal from this line
 *   bit  61      LOCKED       writers' bucket lock (head bucket of a chain only)
 *   bit  62      MOVED        the bucket's keys now live in table->next; never cleared
 *   bit  63      DROPPED      set with MOVED by clear: the key blocks still linked here are this
 *                             table's to free (a resize hands them to the next table)
 *
 * Readers load the meta word (acquire), read a slot, and load it again after an acquire fence:
 * if anything but LOCKED changed, the slot may have been reused under them and they retry the
 * line. A value updated in place keeps the key, so it does not change the word. Only the lock
 * holder changes a locked chain's words, with release stores; lockers CAS from an unlocked
 * value, which fails while the word is locked. */
#define GOLF__MAP_FIELD_BITS 12
#define GOLF__MAP_FIELD_MASK UINT64_C(0xfff)
#define GOLF__MAP_FIELDS_MASK UINT64_C(0xfffffffff)
#define GOLF__MAP_CODE_LONG 9u
#define GOLF__MAP_VERSION_SHIFT 36
#define GOLF__MAP_VERSION_MASK ((UINT64_C(1) << 25) - 1)
#define GOLF__MAP_LOCKED (UINT64_C(1) << 61)
#define GOLF__MAP_MOVED (UINT64_C(1) << 62)
#define GOLF__MAP_DROPPED (UINT64_C(1) << 63)

/* A key longer than 8 bytes: immutable once published ([M4]); freed after a grace period once
 * no table a reader can reach links it. The gc node first: a removed block is its own garbage. */
typedef struct golf__map_key {
    golf__rcu_head rcu;         /* the batch's first block carries the call_rcu head */
    struct golf__map_key *next; /* garbage list link, written before the push ([M9]) */
    size_t depth;               /* blocks in the batch up to and including this one */
    uint64_t hash;
    size_t klen;
    unsigned char bytes[];
} golf__map_key;

typedef struct golf__map_slot {
    _Atomic uint64_t key;  /* [M4] inline key bytes (zero-padded), or a golf__map_key * */
    _Atomic(void *) value; /* [M6] */
} golf__map_slot;

typedef struct golf__map_bucket {
    _Atomic uint64_t meta; /* [M5] [M8] [M2], layout above */
    golf__map_slot slot[GOLF__MAP_SLOTS];
    _Atomic(struct golf__map_bucket *) overflow; /* [M7] */
} golf__map_bucket;

_Static_assert(sizeof(golf__map_bucket) == 64, "a bucket is one 64-byte line");

typedef struct golf__map_table {
    size_t mask;                            /* buckets - 1 (a power of two minus one) */
    golf__map_bucket *buckets;              /* 64-byte aligned array */
    _Atomic(struct golf__map_table *) next; /* [M3] where MOVED buckets' keys went */
    size_t cursor;                          /* resize: next bucket to move (under grow_lock) */
    uint64_t gen;       /* the clear that began this table's lineage (0: golf_map_new); a resize's
                         * target inherits it. Immutable, published with the table ([M3], [M1]) */
    golf__rcu_head rcu; /* retirement after a resize or clear */
} golf__map_table;

/* Per-CPU state of one map: what has no key affinity. One 128-byte line each. */
typedef struct golf__map_percpu {
    GOLF__CACHE_ALIGNED _Atomic intptr_t count; /* inserts - removes done on this CPU (relaxed) */
    _Atomic(golf__map_key *) garbage;           /* [M9] key blocks awaiting a batch call_rcu */
} golf__map_percpu;

struct golf_map {
    _Atomic(golf__map_table *) table; /* [M1] the current table */
    uint64_t seed;                    /* per-map hash key; immutable */
    unsigned ncpu;                    /* slots in percpu; immutable */
    golf__map_percpu *percpu;         /* immutable pointer */
    pthread_mutex_t grow_lock;        /* serializes resize (trylock) and clear; never readers */
    _Atomic uint64_t clears;          /* [M11] clears begun (with a new table); under grow_lock */
    /* [M10] fns retired through the map, not yet returned. Its own line: retire and the worker
     * change it, and the fields above are read by every operation. */
    GOLF__CACHE_ALIGNED _Atomic size_t retiring;
};

/* ---- the hash: a keyed multiply-fold hash over 8-byte words (per-map seed against flooding) */

static inline uint64_t
golf__map_fold(uint64_t a, uint64_t b)
{
    __extension__ unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t
golf__map_rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t
golf__map_rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#define GOLF__MAP_K0 UINT64_C(0xa0761d6478bd642f)
#define GOLF__MAP_K1 UINT64_C(0xe7037ed1a0b428db)
#define GOLF__MAP_K2 UINT64_C(0x8ebc6af09c88c6e3)

static inline uint64_t
golf__map_hash(uint64_t seed, const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = seed ^ ((uint64_t)len * GOLF__MAP_K0);
    uint64_t a, b;
    size_t n = len;
    while (n > 16) {
        h = golf__map_fold(golf__map_rd64(p) ^ GOLF__MAP_K1, golf__map_rd64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    if (n > 8) {
        a = golf__map_rd64(p);
        b = golf__map_rd64(p + n - 8); /* overlaps a when n < 16: still every byte counts */
    } else if (n >= 4) {
        a = golf__map_rd32(p);
        b = golf__map_rd32(p + n - 4);
    } else if (n > 0) {
        a = ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
        b = 0;
    } else {
        a = b = 0;
    }
    h = golf__map_fold(a ^ GOLF__MAP_K1, b ^ h ^ GOLF__MAP_K2);
    return golf__map_fold(h ^ GOLF__MAP_K0, seed ^ GOLF__MAP_K2);
}

/* The hash of an inline key (klen <= 8) from the slot's key word, which holds its bytes in
 * memory order, zero-padded. A 16-byte buffer keeps the compiler sure the hash never reads past
 * it. */
static inline uint64_t
golf__map_inline_hash(uint64_t seed, uint64_t w, size_t klen)
{
    unsigned char buf[16] = {0};
    memcpy(buf, &w, 8);
    return golf__map_hash(seed, buf, klen);
}

/* What a lookup compares: the slot field (tag + key code) and the key word. */
typedef struct golf__map_probe {
    uint64_t hash;
    uint64_t field; /* tag | code << 8 */
    uint64_t word;  /* inline keys: the key bytes, zero-padded */
    const void *key;
    size_t klen;
} golf__map_probe;

static inline void
golf__map_probe_init(golf__map_probe *p, uint64_t seed, const void *key, size_t klen)
{
    p->hash = golf__map_hash(seed, key, klen);
    p->key = key;
    p->klen = klen;
    p->word = 0;
    uint64_t code = GOLF__MAP_CODE_LONG;
    if (klen <= 8) {
        if (klen == 8)
            memcpy(&p->word, key, 8); /* the common integer key: one load, no memcpy call */
        else if (klen > 0)
            memcpy(&p->word, key, klen);
        code = klen;
    }
    p->field = (0x80u | (p->hash >> 57)) | (code << 8);
}

/* Does the key word w of a slot whose field equals p->field hold p's key? */
static inline bool
golf__map_key_is(const golf__map_probe *p, uint64_t w)
{
    if (p->klen <= 8)
        return w == p->word;
    const golf__map_key *k = (const golf__map_key *)(uintptr_t)w;
    return k->hash == p->hash && k->klen == p->klen && memcmp(k->bytes, p->key, p->klen) == 0;
}

/* Slots of meta whose field equals field: bit 12i+11 set for slot i. A SWAR zero-lane test on
 * meta ^ (field in every lane), so a lookup picks its slot without a branch per slot (random
 * keys would mispredict it). The lowest reported lane is exact; a lane just above a true match
 * may be reported falsely (the borrow), but only when its field is ours with the lowest tag bit
 * flipped: an occupied slot whose key has our key code, so its key word is of the same kind
 * (inline bytes, or a live block) and the caller's key comparison rejects it safely. */
#define GOLF__MAP_LANE_LOW UINT64_C(0x001001001)
#define GOLF__MAP_LANE_HIGH UINT64_C(0x800800800)

static inline uint64_t
golf__map_match(uint64_t meta, uint64_t field)
{
    uint64_t x = (meta & GOLF__MAP_FIELDS_MASK) ^ (field * GOLF__MAP_LANE_LOW);
    return (x - GOLF__MAP_LANE_LOW) & ~x & GOLF__MAP_LANE_HIGH;
}

/* Slots of meta that hold a key: bit 12i+7 set for slot i (a field's tag always has 0x80). */
#define GOLF__MAP_LANE_TAG UINT64_C(0x080080080)

static inline uint64_t
golf__map_occupied(uint64_t meta)
{
    return meta & GOLF__MAP_LANE_TAG;
}

/* The slot of the lowest lane set in a golf__map_match() or golf__map_occupied() mask. */
static inline int
golf__map_lane(uint64_t lanes)
{
    return __builtin_ctzll(lanes) / GOLF__MAP_FIELD_BITS;
}

static inline uint64_t
golf__map_field(uint64_t meta, int i)
{
    return (meta >> (GOLF__MAP_FIELD_BITS * i)) & GOLF__MAP_FIELD_MASK;
}

/* meta with slot i set to field (0 = empty) and the version bumped. */
static inline uint64_t
golf__map_meta_set(uint64_t meta, int i, uint64_t field)
{
    uint64_t v = ((meta >> GOLF__MAP_VERSION_SHIFT) + 1) & GOLF__MAP_VERSION_MASK;
    meta &= ~((GOLF__MAP_VERSION_MASK << GOLF__MAP_VERSION_SHIFT) |
              (GOLF__MAP_FIELD_MASK << (GOLF__MAP_FIELD_BITS * i)));
    return meta | (v << GOLF__MAP_VERSION_SHIFT) | (field << (GOLF__MAP_FIELD_BITS * i));
}

/* The seqlock-style check of a reader: still the line it read (LOCKED aside)? */
static inline bool
golf__map_line_stable(golf__map_bucket *bb, uint64_t meta)
{
    /* [M5] acquire fence: the slot loads before it are ordered before the meta re-load; pairs
     * with the release stores of slot words ([M4]/[M6]) that a reuse makes after its version
     * bump, so a reader that saw a reused slot's new key or value sees the bumped version. */
    atomic_thread_fence(memory_order_acquire);
    uint64_t again = atomic_load_explicit(&bb->meta, memory_order_relaxed);
    return ((again ^ meta) & ~GOLF__MAP_LOCKED) == 0;
}

/* The lines of the chain headed by b, for a walker that holds b's lock or that no other thread
 * can reach (a table not yet published). Relaxed: the lock's [M8] acquire (or the exclusivity)
 * ordered every earlier writer's stores before us, and only lock holders write a chain. */
#define GOLF__MAP_FOR_EACH_LINE(bb, b)                                                             \
    for (golf__map_bucket *bb = (b); bb != NULL;                                                   \
         bb = atomic_load_explicit(&bb->overflow, memory_order_relaxed))

#endif
