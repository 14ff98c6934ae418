/* SPDX-License-Identifier: MIT */
/* A range callback that calls back into the same map. syncmap.h: "each key is visited at most once;
 * a key present for the whole call is visited"; fn may call golf_map_retire (syncmap.h says so),
 * and nothing in syncmap.h forbids the other operations (Go's Range allows them), so fn may load,
 * store, delete, swap, range and clear the map it ranges over. Only golf_map_free is forbidden
 * inside (it must not run inside a read section).
 *
 * Cases (short and long keys, ORIG keys stored first):
 *   1. fn loads the visited key, updates a later key, stores new keys (several resizes happen
 *      under the range), deletes new keys it stored earlier, retires, and runs a nested range:
 *      every original key is visited exactly once, by the outer and by each nested range; new
 *      keys at most once; each value is one the key had during the call.
 *   2. the same, starting from a resize stopped half-way (allocation failure): the first store
 *      inside fn resumes and finishes it, under the range.
 *   3. fn clears the map part-way, then keeps storing: no key twice, none never stored.
 *
 * Usage: regress_map_range_reentrant */
#include "map_regress.h"

enum { ORIG = 300, NEW_BASE = 1000, KEYS = MODEL_MAX };

typedef struct reent {
    golf_map *m;
    bool is_long;
    unsigned seen[KEYS];
    void *old_value[KEYS]; /* value before the call */
    void *new_value[KEYS]; /* value fn stored during the call, or NULL */
    uint64_t next_new;
    unsigned visits, nested, retired;
    bool clear_at_visit; /* case 3 */
    bool cleared;
    unsigned bad;
} reent;

static atomic_int retire_runs;

static void
retired_fn(void *v)
{
    (void)v;
    atomic_fetch_add(&retire_runs, 1);
}

static bool
nested_visit(const void *key, size_t klen, void *value, void *arg)
{
    (void)value;
    unsigned *seen = arg;
    uint64_t i = mkey_index(key, klen);
    if (i < KEYS)
        seen[i]++;
    return true;
}

static bool
outer_visit(const void *key, size_t klen, void *value, void *arg)
{
    reent *r = arg;
    uint64_t i = mkey_index(key, klen);
    if (i >= KEYS || klen != (r->is_long ? 20u : 8u)) {
        fprintf(stderr, "FAIL: range gave a key never stored (klen %zu)\n", klen);
        r->bad++;
        return true;
    }
    if (++r->seen[i] > 1) {
        fprintf(stderr, "FAIL: key %llu visited %u times\n", (unsigned long long)i, r->seen[i]);
        r->bad++;
    }
    if (value != r->old_value[i] && value != r->new_value[i]) {
        fprintf(stderr, "FAIL: key %llu given %p, a value it never had\n", (unsigned long long)i,
                value);
        r->bad++;
    }
    mkey k = mkey_of(i, r->is_long);
    void *v = NULL;
    /* Nothing deletes an original key but clear. (A new key fn deleted may still be visited:
     * range read its chain before fn ran.) */
    if (i < ORIG && !r->cleared && !golf_map_load(r->m, k.b, k.len, &v)) {
        fprintf(stderr, "FAIL: load inside fn missed key %llu\n", (unsigned long long)i);
        r->bad++;
    }
    r->visits++;
    if (r->clear_at_visit && r->visits == ORIG / 2) {
        golf_map_clear(r->m);
        r->cleared = true;
    }
    if (i < ORIG && i + 1 < ORIG && !r->cleared) { /* update a later original key */
        mkey k2 = mkey_of(i + 1, r->is_long);
        void *nv = (void *)(uintptr_t)(0x100000 + i + 1);
        REGRESS_CHECK(golf_map_store(r->m, k2.b, k2.len, nv) == GOLF_OK, "store in fn");
        r->new_value[i + 1] = nv;
    }
    for (int j = 0; j < 4 && r->next_new < KEYS; j++) { /* grows the table under us */
        uint64_t n = r->next_new++;
        mkey kn = mkey_of(n, r->is_long);
        r->old_value[n] = (void *)(uintptr_t)(n + 1);
        REGRESS_CHECK(golf_map_store(r->m, kn.b, kn.len, r->old_value[n]) == GOLF_OK,
                      "store in fn");
    }
    if (r->next_new - NEW_BASE > 40) { /* delete a new key stored earlier */
        mkey kd = mkey_of(r->next_new - 40, r->is_long);
        golf_map_delete(r->m, kd.b, kd.len);
    }
    if (r->visits % 64 == 0) {
        golf_map_retire(r->m, NULL, retired_fn);
        r->retired++;
        if (!r->cleared) { /* originals are present for the whole nested call */
            static unsigned nseen[KEYS];
            memset(nseen, 0, sizeof nseen);
            golf_map_range(r->m, nested_visit, nseen);
            for (uint64_t o = 0; o < ORIG; o++)
                if (nseen[o] != 1) {
                    fprintf(stderr, "FAIL: nested range visited original key %llu %u times\n",
                            (unsigned long long)o, nseen[o]);
                    r->bad++;
                }
            r->nested++;
        }
    }
    return true;
}

static unsigned
run_case(const char *name, bool is_long, bool stopped_resize, bool clear)
{
    static reent r;
    static model md;
    memset(&r, 0, sizeof r);
    memset(&md, 0, sizeof md);
    r.m = golf_map_new();
    REGRESS_CHECK(r.m != NULL, "golf_map_new");
    r.is_long = is_long;
    r.clear_at_visit = clear;
    r.next_new = NEW_BASE;
    md.is_long = is_long;
    if (stopped_resize) {
        REGRESS_CHECK(stop_resize_half_way(r.m, &md), "could not stop a resize half-way");
        pthread_mutex_lock(&r.m->grow_lock); /* keeps it stopped while the originals go in */
    }
    for (uint64_t i = 0; i < ORIG; i++) {
        mkey k = mkey_of(i, is_long);
        if (!md.present[i])
            REGRESS_CHECK(golf_map_store(r.m, k.b, k.len, (void *)(uintptr_t)(i + 1)) == GOLF_OK,
                          "store");
        r.old_value[i] = (void *)(uintptr_t)(i + 1);
    }
    golf__map_table *t = atomic_load_explicit(&r.m->table, memory_order_acquire);
    bool half = atomic_load_explicit(&t->next, memory_order_acquire) != NULL;
    if (stopped_resize)
        pthread_mutex_unlock(&r.m->grow_lock); /* the first store in fn resumes it */
    atomic_store(&retire_runs, 0);
    golf_map_range(r.m, outer_visit, &r);
    if (!clear)
        for (uint64_t i = 0; i < ORIG; i++)
            if (r.seen[i] != 1) {
                fprintf(stderr, "FAIL %s: original key %llu visited %u times\n", name,
                        (unsigned long long)i, r.seen[i]);
                r.bad++;
            }
    golf_map_free(r.m);
    if (atomic_load(&retire_runs) != (int)r.retired) {
        fprintf(stderr, "FAIL %s: %d of %u retired fns ran\n", name, atomic_load(&retire_runs),
                r.retired);
        r.bad++;
    }
    printf("%s: %u visits, %u nested ranges, %llu keys stored inside fn%s%s\n", name, r.visits,
           r.nested, (unsigned long long)(r.next_new - NEW_BASE),
           half ? ", started on a half-done resize" : "", r.bad ? ": FAILED" : "");
    return r.bad;
}

int
main(void)
{
    regress_watchdog(120);
    unsigned bad = 0;
    for (int is_long = 0; is_long < 2; is_long++) {
        bad += run_case(is_long ? "long keys, growth in fn" : "short keys, growth in fn", is_long,
                        false, false);
        bad += run_case(is_long ? "long keys, stopped resize" : "short keys, stopped resize",
                        is_long, true, false);
        bad += run_case(is_long ? "long keys, clear in fn" : "short keys, clear in fn", is_long,
                        false, true);
    }
    if (bad) {
        fprintf(stderr, "FAIL regress_map_range_reentrant: %u failures\n", bad);
        return 1;
    }
    printf("ok regress_map_range_reentrant\n");
    return 0;
}
