/* SPDX-License-Identifier: MIT */
/* range, len and clear racing online growth, for `seconds` (default 2).
 *
 * A grower stores GROW keys and deletes them again, round after round (the table grows after
 * every clear); a clearer clears every ~2 ms and stores the PERM permanent keys again; a checker
 * ranges and calls len without pause. Checks: no key visited twice in one range, every visited
 * value is one its key had, no key never stored; the permanent keys are visited exactly once by
 * every range that no clear overlapped; len stays within what can exist (a wrapped or runaway
 * count shows up); once all threads are joined, len, range and load agree exactly.
 *
 * Usage: regress_map_race_len_clear [seconds] */
#include "map_regress.h"

enum { PERM = 64, GROW = 3000 };
#define GROW_BASE (UINT64_C(1) << 40)

typedef struct race {
    golf_map *m;
    atomic_int stop;
    _Atomic uint64_t clear_seq; /* odd while a clear and the permanent keys' re-store run */
    _Atomic unsigned long clears, grows;
} race;

static void
store_perm(golf_map *m)
{
    for (uint64_t i = 0; i < PERM; i++)
        REGRESS_CHECK(golf_map_store(m, &i, 8, (void *)(uintptr_t)(i + 1)) == GOLF_OK, "store");
}

static void *
grower(void *arg)
{
    race *r = arg;
    while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        for (uint64_t j = 0; j < GROW; j++) {
            uint64_t k = GROW_BASE + j;
            golf_map_store(r->m, &k, 8, (void *)(uintptr_t)(j + 1));
        }
        for (uint64_t j = 0; j < GROW; j++) {
            uint64_t k = GROW_BASE + j;
            golf_map_delete(r->m, &k, 8);
        }
        atomic_fetch_add_explicit(&r->grows, 1, memory_order_relaxed);
    }
    return NULL;
}

static void *
clearer(void *arg)
{
    race *r = arg;
    while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        regress_sleep_us(2000);
        atomic_fetch_add_explicit(&r->clear_seq, 1, memory_order_seq_cst);
        golf_map_clear(r->m);
        store_perm(r->m);
        atomic_fetch_add_explicit(&r->clear_seq, 1, memory_order_seq_cst);
        atomic_fetch_add_explicit(&r->clears, 1, memory_order_relaxed);
    }
    return NULL;
}

typedef struct tally {
    unsigned perm[PERM];
    unsigned grow[GROW];
    unsigned long twice, wrong_value, bogus, total;
} tally;

static bool
tally_visit(const void *key, size_t klen, void *value, void *arg)
{
    tally *t = arg;
    uint64_t i;
    t->total++;
    if (klen != 8) {
        t->bogus++;
        return true;
    }
    memcpy(&i, key, 8);
    unsigned *c;
    uint64_t j;
    if (i < PERM) {
        c = &t->perm[i];
        j = i;
    } else if (i >= GROW_BASE && i < GROW_BASE + GROW) {
        j = i - GROW_BASE;
        c = &t->grow[j];
    } else {
        t->bogus++;
        return true;
    }
    t->twice += ++*c == 2;
    t->wrong_value += value != (void *)(uintptr_t)(j + 1);
    return true;
}

int
main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    regress_watchdog((unsigned)seconds + 120);
    static race r;
    r.m = golf_map_new();
    REGRESS_CHECK(r.m != NULL, "golf_map_new");
    store_perm(r.m);
    pthread_t g, c;
    pthread_create(&g, NULL, grower, &r);
    pthread_create(&c, NULL, clearer, &r);
    unsigned long ranges = 0, checked = 0, perm_missed = 0, perm_twice = 0, twice = 0, wrong = 0,
                  bogus = 0, len_bad = 0;
    size_t len_max = 0;
    static tally t;
    double end = regress_now_s() + seconds;
    while (regress_now_s() < end) {
        memset(&t, 0, sizeof t);
        uint64_t s0 = atomic_load_explicit(&r.clear_seq, memory_order_seq_cst);
        golf_map_range(r.m, tally_visit, &t);
        uint64_t s1 = atomic_load_explicit(&r.clear_seq, memory_order_seq_cst);
        size_t len = golf_map_len(r.m);
        if (len > len_max)
            len_max = len;
        /* At most PERM + GROW keys exist; len sums per-CPU counts without stopping writers, so
         * it may be off by the operations in flight, not by more than another map's worth. */
        len_bad += len > 2 * (PERM + GROW);
        ranges++;
        twice += t.twice;
        wrong += t.wrong_value;
        bogus += t.bogus;
        if (s0 == s1 && s0 % 2 == 0) {
            checked++;
            for (uint64_t i = 0; i < PERM; i++) {
                perm_missed += t.perm[i] == 0;
                perm_twice += t.perm[i] > 1;
            }
        }
    }
    atomic_store(&r.stop, 1);
    pthread_join(g, NULL);
    pthread_join(c, NULL);
    printf("race: %lu ranges (%lu with no clear overlapping), %lu grow rounds, %lu clears, "
           "len max %zu\n",
           ranges, checked, atomic_load(&r.grows), atomic_load(&r.clears), len_max);
    REGRESS_CHECK(twice + wrong + bogus + perm_missed + perm_twice + len_bad == 0,
                  "keys visited twice %lu, wrong values %lu, never-stored keys %lu; permanent "
                  "keys missed %lu, twice %lu; len out of bounds %lu times",
                  twice, wrong, bogus, perm_missed, perm_twice, len_bad);
    /* Quiescent: len, range and load agree. */
    memset(&t, 0, sizeof t);
    golf_map_range(r.m, tally_visit, &t);
    size_t loadable = 0;
    for (uint64_t i = 0; i < PERM; i++)
        loadable += golf_map_load(r.m, &i, 8, NULL);
    for (uint64_t j = 0; j < GROW; j++) {
        uint64_t k = GROW_BASE + j;
        loadable += golf_map_load(r.m, &k, 8, NULL);
    }
    size_t len = golf_map_len(r.m);
    REGRESS_CHECK(t.twice + t.bogus + t.wrong_value == 0 && t.total == len && loadable == len,
                  "quiescent: len %zu, range visited %lu, load finds %zu", len, t.total, loadable);
    golf_map_free(r.m);
    printf("ok regress_map_race_len_clear\n");
    return 0;
}
