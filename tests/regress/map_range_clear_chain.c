/* SPDX-License-Identifier: MIT */
/* Regression: a golf_map_range that overlapped many clears never finished
 * (regress_map_race_len_clear hung in the debug tier, about one run in four with four instances at
 * once).
 *
 * Cause: each clear links its fresh table after the last table of the chain, and every regrowth
 * links a doubled one after that, so a range that began before them reached, from each bucket
 * of its start table, every table made since (its read section keeps them all allocated). The
 * work per bucket grew with the number of clears and resizes during the call, and while the
 * range was slow (a slow callback, preemption, chaos yields) they kept coming.
 *
 * Fix: a range stops at a table made by a clear that began after its start (map/README.md,
 * invariant 8). Each case counts the chains the range walked (golf__map_range_chains(), a
 * measure of work, not of time) and checks the contract:
 *   1. fn, at its first key, has another thread clear the map and grow it again ROUNDS times,
 *      and waits for it: the range walks at most the start table's buckets, twice over; no key
 *      visited twice, every value one its key had.
 *   2. fn clears and regrows the map itself at each key it is given, ROUNDS times at most: the
 *      same bound (the range now stops after the keys of its first chain).
 *   3. no clear, only growth under the range (GROWN keys added, the table doubles 4 times):
 *      every key present before the call is visited exactly once, and the walk is bounded by the
 *      buckets of the tables it went through (less than twice the last one's).
 *
 * Before the fix, cases 1 and 2 walked hundreds of times more chains than the bound.
 *
 * Usage: regress_map_range_clear_chain */
#include "map_regress.h"

enum { ORIG = 3000, ROUNDS = 40, REGROW = 3000, GROWN = 40000 }; /* ORIG: 2048 buckets */
#define NEW_BASE (UINT64_C(1) << 32)                             /* keys stored under the range */

typedef struct chain_case {
    golf_map *m;
    bool helper_thread; /* case 1: the clears run on another thread */
    bool self_clear;    /* case 2: fn clears itself */
    bool grow_only;     /* case 3 */
    unsigned visits, rounds;
    unsigned char seen_orig[ORIG];
    unsigned char *seen_new; /* NEW_BASE + j, j < GROWN */
    unsigned long twice, wrong_value, bogus;
} chain_case;

static void
store_key(golf_map *m, uint64_t k)
{
    REGRESS_CHECK(golf_map_store(m, &k, 8, (void *)(uintptr_t)(k + 1)) == GOLF_OK, "store");
}

/* One clear and regrowth: the map ends with REGROW keys, its 8-bucket table doubled 8 times. */
static void
clear_and_regrow(golf_map *m)
{
    golf_map_clear(m);
    for (uint64_t j = 0; j < REGROW; j++)
        store_key(m, NEW_BASE + j);
}

static void *
helper(void *arg)
{
    chain_case *c = arg;
    if (c->grow_only) {
        for (uint64_t j = 0; j < GROWN; j++)
            store_key(c->m, NEW_BASE + j);
        return NULL;
    }
    for (unsigned r = 0; r < ROUNDS; r++)
        clear_and_regrow(c->m);
    c->rounds = ROUNDS;
    return NULL;
}

static bool
visit(const void *key, size_t klen, void *value, void *arg)
{
    chain_case *c = arg;
    uint64_t k;
    if (klen != 8) {
        c->bogus++;
        return true;
    }
    memcpy(&k, key, 8);
    unsigned char *seen;
    if (k < ORIG)
        seen = &c->seen_orig[k];
    else if (k >= NEW_BASE && k < NEW_BASE + GROWN)
        seen = &c->seen_new[k - NEW_BASE];
    else {
        c->bogus++;
        return true;
    }
    c->twice += ++*seen == 2;
    c->wrong_value += value != (void *)(uintptr_t)(k + 1);
    if (c->visits++ == 0 && (c->helper_thread || c->grow_only)) {
        /* The range is now inside its walk: the helper's clears and resizes all happen while
         * it waits here, inside its read section, as behind a slow callback. */
        pthread_t t;
        REGRESS_CHECK(pthread_create(&t, NULL, helper, c) == 0, "pthread_create");
        pthread_join(t, NULL);
    }
    if (c->self_clear && c->rounds < ROUNDS) {
        clear_and_regrow(c->m);
        c->rounds++;
    }
    return true;
}

static size_t
buckets(golf_map *m)
{
    return atomic_load_explicit(&m->table, memory_order_acquire)->mask + 1;
}

static unsigned
run_case(const char *name, bool helper_thread, bool self_clear, bool grow_only)
{
    static chain_case c;
    memset(&c, 0, sizeof c);
    c.helper_thread = helper_thread;
    c.self_clear = self_clear;
    c.grow_only = grow_only;
    c.seen_new = calloc(GROWN, 1);
    REGRESS_CHECK(c.seen_new != NULL, "calloc");
    c.m = golf_map_new();
    REGRESS_CHECK(c.m != NULL, "golf_map_new");
    for (uint64_t i = 0; i < ORIG; i++)
        store_key(c.m, i);
    size_t start = buckets(c.m);
    size_t before = golf__map_range_chains();
    golf_map_range(c.m, visit, &c);
    size_t chains = golf__map_range_chains() - before;
    size_t end = buckets(c.m);
    /* Clears: the walk stops at the first clear's table, so it walks the start table's chains
     * and nothing else. Growth only: each table of the lineage once, bucket by bucket. */
    size_t bound = grow_only ? 2 * end : 2 * start;
    unsigned bad = 0;
    printf("%s: %u visits, %u clears under the range, %zu chains walked (bound %zu), table "
           "%zu -> %zu buckets\n",
           name, c.visits, c.rounds, chains, bound, start, end);
    if (chains > bound) {
        fprintf(stderr, "FAIL %s: the range walked %zu chains, more than %zu\n", name, chains,
                bound);
        bad++;
    }
    if (c.twice + c.wrong_value + c.bogus != 0) {
        fprintf(stderr, "FAIL %s: keys visited twice %lu, wrong values %lu, never stored %lu\n",
                name, c.twice, c.wrong_value, c.bogus);
        bad++;
    }
    if (grow_only) {
        size_t missed = 0;
        for (uint64_t i = 0; i < ORIG; i++)
            missed += c.seen_orig[i] != 1;
        if (missed != 0) {
            fprintf(stderr, "FAIL %s: %zu keys present for the whole call not visited\n", name,
                    missed);
            bad++;
        }
        if (end < 16 * start) {
            fprintf(stderr, "FAIL %s: the table did not grow under the range (%zu -> %zu)\n", name,
                    start, end);
            bad++;
        }
    } else if (helper_thread ? c.rounds != ROUNDS : c.rounds == 0) {
        fprintf(stderr, "FAIL %s: %u clears under the range\n", name, c.rounds);
        bad++;
    }
    golf_map_free(c.m);
    free(c.seen_new);
    return bad;
}

int
main(void)
{
    regress_watchdog(300);
    unsigned bad = 0;
    bad += run_case("clears on another thread", true, false, false);
    bad += run_case("clears inside fn", false, true, false);
    bad += run_case("growth only", false, false, true);
    REGRESS_CHECK(bad == 0, "%u case(s) failed", bad);
    printf("ok regress_map_range_clear_chain\n");
    return 0;
}
