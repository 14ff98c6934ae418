/* SPDX-License-Identifier: MIT */
/* golf_map against the lock-based reference, op for op: the intent of Go's
 * TestMapMatchesRWMutex / TestMapMatchesDeepCopy (sync/map_test.go), which run random call
 * sequences of every operation on sync.Map and RWMutexMap and compare each result and the final
 * Range contents. Here: long random sequences over a small key space of mixed key lengths
 * (empty, inline, long, binary), so keys collide, disappear and come back, and the table grows
 * and is cleared along the way. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "golf/syncmap.h"
#include "map_test_util.h"
#include "ref_map.h"

enum {
    OP_LOAD,
    OP_STORE,
    OP_LOS,
    OP_LAD,
    OP_DELETE,
    OP_SWAP,
    OP_CAS,
    OP_CAD,
    OP_CLEAR,
    OP_LEN,
    OP_N
};

typedef struct snapshot {
    size_t n;
    unsigned char keys[4096][32];
    size_t klen[4096];
    void *val[4096];
} snapshot;

static bool
snap_add(const void *key, size_t klen, void *value, void *arg)
{
    snapshot *s = arg;
    cr_assert_lt(s->n, 4096);
    cr_assert_leq(klen, 32);
    memcpy(s->keys[s->n], key, klen);
    s->klen[s->n] = klen;
    s->val[s->n] = value;
    s->n++;
    return true;
}

static int
item_cmp(const void *a, const void *b, void *ctx)
{
    const snapshot *s = ctx;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (s->klen[i] != s->klen[j])
        return s->klen[i] < s->klen[j] ? -1 : 1;
    return memcmp(s->keys[i], s->keys[j], s->klen[i]);
}

static void
snap_sorted(const snapshot *s, size_t *idx)
{
    for (size_t i = 0; i < s->n; i++)
        idx[i] = i;
    qsort_r(idx, s->n, sizeof *idx, item_cmp, (void *)s);
}

static void
compare_contents(golf_map *g, ref_map *r)
{
    static snapshot sg, sr;
    static size_t ig[4096], ir[4096];
    sg.n = sr.n = 0;
    golf_map_range(g, snap_add, &sg);
    ref_map_range(r, snap_add, &sr);
    cr_assert_eq(sg.n, sr.n, "range saw %zu keys, the reference %zu", sg.n, sr.n);
    snap_sorted(&sg, ig);
    snap_sorted(&sr, ir);
    for (size_t i = 0; i < sg.n; i++) {
        cr_assert_eq(sg.klen[ig[i]], sr.klen[ir[i]]);
        cr_assert_eq(memcmp(sg.keys[ig[i]], sr.keys[ir[i]], sg.klen[ig[i]]), 0);
        cr_assert_eq(sg.val[ig[i]], sr.val[ir[i]]);
    }
    cr_assert_eq(golf_map_len(g), ref_map_len(r));
}

static void
run_sequence(uint64_t seed, int steps, uint64_t keyspace, bool with_clear)
{
    golf_map *g = golf_map_new();
    ref_map *r = ref_map_new();
    uint64_t s = seed;
    for (int step = 0; step < steps; step++) {
        uint64_t x = tu_rand(&s);
        unsigned char key[32];
        size_t klen = tu_key(x % keyspace, key);
        /* Values from a small set too, so CAS/CAD often match; NULL among them. */
        void *v = V((x >> 32) % 5 == 0 ? 0 : (x >> 40) % 7 + 1);
        void *old = V((x >> 48) % 3 == 0 ? 0 : (x >> 50) % 7 + 1);
        int op = (int)((x >> 20) % OP_N);
        if (op == OP_CLEAR && (!with_clear || (x >> 56) % 50 != 0))
            op = OP_LOAD; /* clears are rare, or the map would stay small */
        void *gv = V(0xdead), *rv = V(0xdead);
        bool gl = false, rl = false;
        switch (op) {
        case OP_LOAD:
            cr_assert_eq(golf_map_load(g, key, klen, &gv), ref_map_load(r, key, klen, &rv));
            break;
        case OP_STORE:
            cr_assert_eq(golf_map_store(g, key, klen, v), GOLF_OK);
            ref_map_store(r, key, klen, v);
            break;
        case OP_LOS:
            cr_assert_eq(golf_map_load_or_store(g, key, klen, v, &gv, &gl), GOLF_OK);
            ref_map_load_or_store(r, key, klen, v, &rv, &rl);
            cr_assert_eq(gl, rl);
            break;
        case OP_LAD:
            cr_assert_eq(golf_map_load_and_delete(g, key, klen, &gv),
                         ref_map_load_and_delete(r, key, klen, &rv));
            break;
        case OP_DELETE:
            golf_map_delete(g, key, klen);
            ref_map_delete(r, key, klen);
            break;
        case OP_SWAP:
            cr_assert_eq(golf_map_swap(g, key, klen, v, &gv, &gl), GOLF_OK);
            ref_map_swap(r, key, klen, v, &rv, &rl);
            cr_assert_eq(gl, rl);
            break;
        case OP_CAS:
            cr_assert_eq(golf_map_compare_and_swap(g, key, klen, old, v),
                         ref_map_compare_and_swap(r, key, klen, old, v), "step %d", step);
            break;
        case OP_CAD:
            cr_assert_eq(golf_map_compare_and_delete(g, key, klen, old),
                         ref_map_compare_and_delete(r, key, klen, old));
            break;
        case OP_CLEAR:
            golf_map_clear(g);
            ref_map_clear(r);
            break;
        case OP_LEN:
            cr_assert_eq(golf_map_len(g), ref_map_len(r));
            break;
        }
        cr_assert_eq(gv, rv, "step %d op %d: golf %p, reference %p", step, op, gv, rv);
        if (step % 997 == 0)
            compare_contents(g, r);
    }
    compare_contents(g, r);
    golf_map_free(g);
    ref_map_free(r);
}

Test(map_matches_ref, small_keyspace, .timeout = 60)
{
    for (uint64_t seed = 1; seed <= 20; seed++)
        run_sequence(seed, 5000, 40, true);
}

Test(map_matches_ref, growing_keyspace, .timeout = 60)
{
    for (uint64_t seed = 100; seed < 104; seed++)
        run_sequence(seed, 60000, 3000, false);
}

Test(map_matches_ref, with_clears, .timeout = 60)
{
    for (uint64_t seed = 200; seed < 204; seed++)
        run_sequence(seed, 60000, 2000, true);
}
