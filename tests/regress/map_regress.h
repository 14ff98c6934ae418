/* SPDX-License-Identifier: MIT */
/* Helpers for the map regression programs: keys, an exact single-threaded model to compare
 * golf_map_range against, and a resize stopped half-way.
 *
 * White-box on purpose: the programs include map/map_internal.h to see whether a resize is
 * half done (m->table->next, ->cursor) and to hold m->grow_lock, which stands for a resizer
 * that is preempted in the middle of its work (every other thread's golf__map_grow() then
 * backs off, exactly as it does while a real resize is running). */
#ifndef GOLF_MAP_REGRESS_H
#define GOLF_MAP_REGRESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "golf/syncmap.h"
#include "lockfree/alloc.h"
#include "map/map_internal.h"
#include "regress.h"

/* Key i: 8 bytes (inline in the slot) or 20 bytes (a separately allocated key block). */
typedef struct mkey {
    unsigned char b[24];
    size_t len;
} mkey;

static inline mkey
mkey_of(uint64_t i, bool is_long)
{
    mkey k;
    memset(&k, 0, sizeof k);
    if (is_long) {
        snprintf((char *)k.b, sizeof k.b, "long-key-%011llu", (unsigned long long)i);
        k.len = 20;
    } else {
        memcpy(k.b, &i, 8);
        k.len = 8;
    }
    return k;
}

/* Key i back from its bytes; UINT64_MAX for bytes no mkey_of() makes. */
static inline uint64_t
mkey_index(const void *key, size_t klen)
{
    if (klen == 8) {
        uint64_t i;
        memcpy(&i, key, 8);
        return i;
    }
    if (klen == 20 && memcmp(key, "long-key-", 9) == 0) {
        char buf[12];
        memcpy(buf, (const char *)key + 9, 11);
        buf[11] = 0;
        return strtoull(buf, NULL, 10);
    }
    return UINT64_MAX;
}

/* ---- an exact model: which keys 0..n-1 are present, with which value ---- */

enum { MODEL_MAX = 4096 };

typedef struct model {
    bool present[MODEL_MAX];
    void *value[MODEL_MAX];
    unsigned seen[MODEL_MAX]; /* visits by the last range */
    unsigned bogus;           /* keys range gave that no mkey_of() makes */
    unsigned stale;           /* present keys range gave with another value */
    long first_stale;
    bool is_long;
} model;

static inline bool
model_visit(const void *key, size_t klen, void *value, void *arg)
{
    model *md = arg;
    uint64_t i = mkey_index(key, klen);
    if (i >= MODEL_MAX || klen != (md->is_long ? 20u : 8u)) {
        md->bogus++;
        return true;
    }
    md->seen[i]++;
    if (md->present[i] && md->value[i] != value && md->stale++ == 0)
        md->first_stale = (long)i;
    return true;
}

/* Ranges m and checks it against md exactly (single-threaded): every present key once, with its
 * value; no absent key. Also len. `what` names the step in the message. False (with a FAIL line
 * on stderr) on a mismatch, so a program can report every symptom before it exits 1. */
static inline bool
model_check(golf_map *m, model *md, const char *what)
{
    memset(md->seen, 0, sizeof md->seen);
    md->bogus = 0;
    md->stale = 0;
    md->first_stale = -1;
    golf_map_range(m, model_visit, md);
    size_t n = 0, missed = 0, invented = 0, twice = 0;
    long first_missed = -1, first_invented = -1;
    for (size_t i = 0; i < MODEL_MAX; i++) {
        n += md->present[i];
        if (md->present[i] && md->seen[i] == 0 && missed++ == 0)
            first_missed = (long)i;
        if (!md->present[i] && md->seen[i] > 0 && invented++ == 0)
            first_invented = (long)i;
        twice += md->seen[i] > 1;
    }
    size_t len = golf_map_len(m);
    if (missed == 0 && invented == 0 && twice == 0 && md->stale == 0 && md->bogus == 0 && len == n)
        return true;
    fprintf(stderr,
            "FAIL %s: %zu keys present; range missed %zu (first %ld), visited %zu deleted keys "
            "(first %ld), %zu twice, %u with a stale value (first %ld), %u never stored; len %zu\n",
            what, n, missed, first_missed, invented, first_invented, twice, md->stale,
            md->first_stale, md->bogus, len);
    return false;
}

static inline void
model_store(golf_map *m, model *md, uint64_t i, void *v)
{
    mkey k = mkey_of(i, md->is_long);
    int rc = golf_map_store(m, k.b, k.len, v);
    REGRESS_CHECK(rc == GOLF_OK, "store key %llu: %d", (unsigned long long)i, rc);
    md->present[i] = true;
    md->value[i] = v;
}

static inline void
model_delete(golf_map *m, model *md, uint64_t i)
{
    mkey k = mkey_of(i, md->is_long);
    golf_map_delete(m, k.b, k.len);
    md->present[i] = false;
}

/* Is key i in a bucket of the current table that the half-done resize has already moved? */
static inline bool
key_in_moved_bucket(golf_map *m, uint64_t i, bool is_long)
{
    mkey k = mkey_of(i, is_long);
    golf__map_table *t = atomic_load_explicit(&m->table, memory_order_acquire);
    uint64_t meta = atomic_load_explicit(
        &t->buckets[golf__map_hash(m->seed, k.b, k.len) & t->mask].meta, memory_order_acquire);
    return (meta & GOLF__MAP_MOVED) != 0;
}

/* Stores keys 0, 1, 2, ... into md (value = index + 1) letting each store make only 2
 * allocations (a resize's new table, then no overflow bucket for its moves) until a resize has
 * stopped half-way on allocation failure: some keys in MOVED buckets of the current table (at
 * least 2), some in buckets not moved yet.
 * Returns false if that did not happen within MODEL_MAX / 2 keys. */
static inline bool
stop_resize_half_way(golf_map *m, model *md)
{
    for (uint64_t i = 0; i < MODEL_MAX / 2; i++) {
        mkey k = mkey_of(i, md->is_long);
        golf__alloc_set_fail(md->is_long ? 3 : 2); /* a long key also needs its block */
        int rc = golf_map_store(m, k.b, k.len, (void *)(uintptr_t)(i + 1));
        golf__alloc_set_fail(-1);
        if (rc != GOLF_OK)
            continue; /* the store itself ran out: the key is absent, the model says so */
        md->present[i] = true;
        md->value[i] = (void *)(uintptr_t)(i + 1);
        golf__map_table *t = atomic_load_explicit(&m->table, memory_order_acquire);
        if (atomic_load_explicit(&t->next, memory_order_acquire) == NULL || t->cursor == 0 ||
            t->cursor > t->mask)
            continue;
        size_t in_moved = 0, in_unmoved = 0;
        for (uint64_t j = 0; j <= i; j++)
            if (md->present[j]) {
                if (key_in_moved_bucket(m, j, md->is_long))
                    in_moved++;
                else
                    in_unmoved++;
            }
        if (in_moved >= 2 && in_unmoved >= 1)
            return true;
    }
    return false;
}

/* Runs the calling thread on one CPU only, so the per-CPU garbage list it fills is one list. */
static inline void
pin_to_one_cpu(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu(), &set);
    (void)sched_setaffinity(0, sizeof set, &set);
}

#endif
