/* SPDX-License-Identifier: MIT */
/* Regression (issue bug 7, first half): a retired function that calls map operations.
 *
 * syncmap.h allows map calls and golf_map_retire inside callbacks. Before the fix, retired
 * functions ran on liburcu's call_rcu thread, which liburcu had registered itself; golf's lazy
 * registration registered it a second time and liburcu's assertion aborted the process
 * ("urcu_memb_register_thread: Assertion `!URCU_TLS(urcu_memb_reader).registered' failed").
 *
 * Retired functions here load, store, delete, swap and retire again (a chain of retires), on the
 * map that retired them and on another one, and one frees a third map (a barrier from inside a
 * callback: must not deadlock). golf_map_free of the first map must return after every fn,
 * including those retired by fns, has run exactly once. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "golf/syncmap.h"
#include "regress/regress.h"

enum { N = 2000, CHAIN = 3 };

static golf_map *m1, *m2, *m3;
static atomic_int ran[N];
static atomic_int chained;
static atomic_int m3_freed;
static atomic_int m3_fns;

static void
m3_fn(void *v)
{
    (void)v;
    atomic_fetch_add(&m3_fns, 1);
}

static void chain_fn(void *v);

static void
reentrant_fn(void *v)
{
    uintptr_t i = (uintptr_t)v;
    atomic_fetch_add(&ran[i], 1);
    char key[32];
    memset(key, 'r', sizeof key);
    snprintf(key, sizeof key, "reentrant-long-key-%lu", (unsigned long)i);
    void *got;
    REGRESS_CHECK(golf_map_store(m1, key, sizeof key, v) == GOLF_OK, "store in fn");
    REGRESS_CHECK(golf_map_load(m1, key, sizeof key, &got) && got == v, "load in fn");
    void *prev;
    bool loaded;
    REGRESS_CHECK(golf_map_swap(m2, &i, sizeof i, v, &prev, &loaded) == GOLF_OK, "swap in fn");
    golf_map_delete(m1, key, sizeof key); /* a long key: garbage, freed through the worker */
    golf_map_read_lock();
    golf_map_retire(m1, (void *)(uintptr_t)1, chain_fn); /* retire inside a section, in a fn */
    golf_map_read_unlock();
    if (i == N / 2) {
        golf_map_free(m3); /* a barrier from inside a callback */
        atomic_store(&m3_freed, 1);
    }
}

static void
chain_fn(void *v)
{
    uintptr_t depth = (uintptr_t)v;
    atomic_fetch_add(&chained, 1);
    uint64_t k = 10 * N + depth;
    golf_map_store(m2, &k, 8, v);
    if (depth < CHAIN)
        golf_map_retire(m1, (void *)(depth + 1), chain_fn);
}

int
main(void)
{
    regress_watchdog(120);
    m1 = golf_map_new();
    m2 = golf_map_new();
    m3 = golf_map_new();
    REGRESS_CHECK(m1 && m2 && m3, "golf_map_new");
    for (int i = 0; i < 50; i++)
        golf_map_retire(m3, NULL, m3_fn);
    for (uintptr_t i = 0; i < N; i++)
        golf_map_retire(m1, (void *)i, reentrant_fn);
    golf_map_free(m1); /* every fn retired through m1, also by fns, has run */
    for (int i = 0; i < N; i++)
        REGRESS_CHECK(atomic_load(&ran[i]) == 1, "fn %d ran %d times", i, atomic_load(&ran[i]));
    REGRESS_CHECK(atomic_load(&chained) == N * CHAIN, "chained fns: %d of %d",
                  atomic_load(&chained), N * CHAIN);
    REGRESS_CHECK(atomic_load(&m3_freed) == 1, "m3 freed from a callback");
    REGRESS_CHECK(atomic_load(&m3_fns) == 50, "m3's fns ran before its free returned: %d",
                  atomic_load(&m3_fns));
    REGRESS_CHECK(golf_map_len(m2) == N + CHAIN, "m2 len %zu", golf_map_len(m2));
    golf_map_free(m2);
    printf("ok: %d retired fns called map operations, %d retires from fns\n", N, N * CHAIN);
    return 0;
}
