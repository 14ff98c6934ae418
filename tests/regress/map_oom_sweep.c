/* SPDX-License-Identifier: MIT */
/* Allocation failure at every allocation site of the map: for n = 0, 1, 2, ... the first n
 * allocations succeed and every later one fails, while one fixed sequence of public calls runs
 * (new, the first store, short and long keys, several resizes, load_or_store, swap, deletes, range,
 * clear, growth again, retire, range). Each call's answer updates an exact model: a store that
 * returns GOLF_ENOMEM leaves the map unchanged (syncmap.h), one that returns GOLF_OK stored its key
 * even if the resize it started could not allocate, clear always clears. Then allocation works
 * again and the map must match the model exactly: range (each key once, its value, no other key),
 * len, load of every key; more stores (a stopped resize resumes) and the same checks; free
 * (ASan/LSan: nothing leaked, nothing used after free), and every retired fn ran exactly once. The
 * sweep ends at the first n at which no allocation failed.
 *
 * Usage: regress_map_oom_sweep */
#include "map_regress.h"

enum { NKEYS = 512 };

static bool present[NKEYS];
static void *value_of[NKEYS];
static unsigned seen[NKEYS];
static unsigned bogus;
static atomic_int retired_runs;

static mkey
key(uint64_t i)
{
    return mkey_of(i, i % 2 == 1); /* odd keys long (a key block), even keys inline */
}

static bool
count_visit(const void *k, size_t klen, void *v, void *arg)
{
    (void)v;
    (void)arg;
    uint64_t i = mkey_index(k, klen);
    if (i >= NKEYS || klen != key(i).len) {
        bogus++;
        return true;
    }
    seen[i]++;
    if (!present[i] || value_of[i] != v)
        bogus++;
    return true;
}

static void
retired_fn(void *v)
{
    (void)v;
    atomic_fetch_add(&retired_runs, 1);
}

static void
m_store(golf_map *m, uint64_t i, void *v)
{
    mkey k = key(i);
    int rc = golf_map_store(m, k.b, k.len, v);
    if (rc == GOLF_OK) {
        present[i] = true;
        value_of[i] = v;
    } else {
        REGRESS_CHECK(rc == GOLF_ENOMEM, "store: %d", rc);
    }
}

static void
m_delete(golf_map *m, uint64_t i)
{
    mkey k = key(i);
    golf_map_delete(m, k.b, k.len);
    present[i] = false;
}

/* The sequence under test. Returns retire calls made. */
static int
sequence(golf_map *m)
{
    int retires = 0;
    m_store(m, 0, (void *)1);          /* the first store */
    m_store(m, 1, (void *)2);          /* the first long key */
    for (uint64_t i = 2; i < 300; i++) /* 8 -> 256 buckets: several resizes */
        m_store(m, i, (void *)(uintptr_t)(i + 1));
    for (uint64_t i = 300; i < 302; i++) {
        mkey k = key(i);
        void *actual = NULL;
        bool loaded = true;
        int rc =
            golf_map_load_or_store(m, k.b, k.len, (void *)(uintptr_t)(i + 1), &actual, &loaded);
        if (rc == GOLF_OK) {
            REGRESS_CHECK(!loaded && actual == (void *)(uintptr_t)(i + 1), "load_or_store");
            present[i] = true;
            value_of[i] = actual;
        } else {
            REGRESS_CHECK(rc == GOLF_ENOMEM, "load_or_store: %d", rc);
        }
    }
    {
        mkey k = key(7);
        void *prev = NULL;
        bool loaded = false;
        int rc = golf_map_swap(m, k.b, k.len, (void *)77, &prev, &loaded);
        if (rc == GOLF_OK) {
            REGRESS_CHECK(loaded == present[7] && (!loaded || prev == value_of[7]), "swap");
            present[7] = true;
            value_of[7] = (void *)77;
        }
    }
    for (uint64_t i = 10; i < 60; i++)
        m_delete(m, i);
    golf_map_range(m, count_visit, NULL); /* not checked: a range may run out of memory */
    golf_map_clear(m);
    memset(present, 0, sizeof present);
    for (uint64_t i = 400; i < 480; i++)
        m_store(m, i, (void *)(uintptr_t)(i + 1));
    golf_map_retire(m, (void *)3, retired_fn);
    retires++;
    golf_map_range(m, count_visit, NULL);
    return retires;
}

static void
verify(golf_map *m, long n, const char *what)
{
    memset(seen, 0, sizeof seen);
    bogus = 0;
    golf_map_range(m, count_visit, NULL);
    size_t count = 0;
    for (uint64_t i = 0; i < NKEYS; i++) {
        count += present[i];
        REGRESS_CHECK(seen[i] == (present[i] ? 1u : 0u),
                      "n=%ld %s: key %llu (present %d) visited %u times", n, what,
                      (unsigned long long)i, present[i], seen[i]);
        mkey k = key(i);
        void *v = NULL;
        bool hit = golf_map_load(m, k.b, k.len, &v);
        REGRESS_CHECK(hit == present[i] && (!hit || v == value_of[i]),
                      "n=%ld %s: load key %llu: hit %d value %p; model %d %p", n, what,
                      (unsigned long long)i, hit, v, present[i], value_of[i]);
    }
    REGRESS_CHECK(bogus == 0, "n=%ld %s: range gave %u wrong keys or values", n, what, bogus);
    size_t len = golf_map_len(m);
    REGRESS_CHECK(len == count, "n=%ld %s: len %zu, %zu keys present", n, what, len, count);
}

int
main(void)
{
    regress_watchdog(600);
    long n;
    for (n = 0;; n++) {
        memset(present, 0, sizeof present);
        atomic_store(&retired_runs, 0);
        unsigned long before = golf__alloc_count();
        golf__alloc_set_fail(n);
        golf_map *m = golf_map_new();
        int retires = 0;
        if (m != NULL)
            retires = sequence(m);
        golf__alloc_set_fail(-1);
        unsigned long made = golf__alloc_count() - before;
        if (m != NULL) {
            verify(m, n, "after the sequence");
            for (uint64_t i = 480; i < NKEYS; i++) /* resumes a stopped resize */
                m_store(m, i, (void *)(uintptr_t)(i + 1));
            for (uint64_t i = 400; i < 440; i++)
                m_delete(m, i);
            verify(m, n, "after more stores");
            golf_map_free(m);
            REGRESS_CHECK(atomic_load(&retired_runs) == retires, "n=%ld: %d of %d retired fns ran",
                          n, atomic_load(&retired_runs), retires);
        }
        if (made <= (unsigned long)n)
            break; /* nothing failed: every site has been failed once */
    }
    printf("ok regress_map_oom_sweep: %ld allocation points\n", n);
    return 0;
}
