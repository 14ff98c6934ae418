/* SPDX-License-Identifier: MIT */
/* golf_map: each operation's results in Go's sync.Map semantics (sync/map.go doc comments and
 * sync/map_test.go's TestCompareAndSwap_NonExistingKey, TestMapClear... ported in intent), key
 * shapes (empty, binary, long), bad input, and out-of-memory behaviour. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "golf/syncmap.h"
#include "map/map_internal.h"
#include "map_test_util.h"

#define K(s) (s), (sizeof(s) - 1)

Test(map_ops, load_store_basic, .timeout = 10)
{
    golf_map *m = golf_map_new();
    cr_assert_not_null(m);
    void *v = V(7);
    cr_expect_not(golf_map_load(m, K("a"), &v));
    cr_expect_eq(U(v), 7, "a miss leaves *value alone");
    cr_expect_eq(golf_map_store(m, K("a"), V(1)), GOLF_OK);
    cr_expect(golf_map_load(m, K("a"), &v));
    cr_expect_eq(U(v), 1);
    cr_expect_eq(golf_map_store(m, K("a"), V(2)), GOLF_OK);
    cr_expect(golf_map_load(m, K("a"), &v));
    cr_expect_eq(U(v), 2);
    cr_expect(golf_map_load(m, K("a"), NULL), "value may be NULL");
    cr_expect_eq(golf_map_len(m), 1);
    golf_map_free(m);
}

Test(map_ops, null_value_is_present, .timeout = 10)
{
    golf_map *m = golf_map_new();
    void *v = V(9);
    cr_expect_eq(golf_map_store(m, K("n"), NULL), GOLF_OK);
    cr_expect(golf_map_load(m, K("n"), &v));
    cr_expect_null(v);
    bool loaded = false;
    void *actual = V(9);
    cr_expect_eq(golf_map_load_or_store(m, K("n"), V(5), &actual, &loaded), GOLF_OK);
    cr_expect(loaded);
    cr_expect_null(actual);
    cr_expect(golf_map_compare_and_swap(m, K("n"), NULL, V(3)));
    cr_expect(golf_map_compare_and_delete(m, K("n"), V(3)));
    cr_expect_not(golf_map_load(m, K("n"), NULL));
    golf_map_free(m);
}

Test(map_ops, load_or_store, .timeout = 10)
{
    golf_map *m = golf_map_new();
    void *actual = NULL;
    bool loaded = true;
    cr_expect_eq(golf_map_load_or_store(m, K("k"), V(1), &actual, &loaded), GOLF_OK);
    cr_expect_not(loaded);
    cr_expect_eq(U(actual), 1, "actual is the stored value when not loaded");
    cr_expect_eq(golf_map_load_or_store(m, K("k"), V(2), &actual, &loaded), GOLF_OK);
    cr_expect(loaded);
    cr_expect_eq(U(actual), 1, "actual is the loaded value when loaded");
    cr_expect_eq(golf_map_load_or_store(m, K("k"), V(3), NULL, NULL), GOLF_OK);
    void *v;
    cr_expect(golf_map_load(m, K("k"), &v));
    cr_expect_eq(U(v), 1);
    golf_map_free(m);
}

Test(map_ops, load_and_delete_and_delete, .timeout = 10)
{
    golf_map *m = golf_map_new();
    void *v = V(9);
    cr_expect_not(golf_map_load_and_delete(m, K("x"), &v));
    cr_expect_eq(U(v), 9);
    golf_map_store(m, K("x"), V(4));
    cr_expect(golf_map_load_and_delete(m, K("x"), &v));
    cr_expect_eq(U(v), 4);
    cr_expect_not(golf_map_load(m, K("x"), NULL));
    cr_expect_not(golf_map_load_and_delete(m, K("x"), NULL));
    golf_map_store(m, K("y"), V(5));
    golf_map_delete(m, K("y"));
    golf_map_delete(m, K("y")); /* absent: nothing happens */
    cr_expect_not(golf_map_load(m, K("y"), NULL));
    cr_expect_eq(golf_map_len(m), 0);
    golf_map_free(m);
}

Test(map_ops, swap, .timeout = 10)
{
    golf_map *m = golf_map_new();
    void *prev = V(9);
    bool loaded = true;
    cr_expect_eq(golf_map_swap(m, K("s"), V(1), &prev, &loaded), GOLF_OK);
    cr_expect_not(loaded);
    cr_expect_null(prev, "previous is NULL when nothing was loaded");
    cr_expect_eq(golf_map_swap(m, K("s"), V(2), &prev, &loaded), GOLF_OK);
    cr_expect(loaded);
    cr_expect_eq(U(prev), 1);
    cr_expect_eq(golf_map_swap(m, K("s"), V(3), NULL, NULL), GOLF_OK);
    void *v;
    cr_expect(golf_map_load(m, K("s"), &v));
    cr_expect_eq(U(v), 3);
    golf_map_free(m);
}

Test(map_ops, compare_and_swap, .timeout = 10)
{
    golf_map *m = golf_map_new();
    /* Go's TestCompareAndSwap_NonExistingKey: false, and nothing is stored. */
    cr_expect_not(golf_map_compare_and_swap(m, K("c"), NULL, V(1)));
    cr_expect_not(golf_map_load(m, K("c"), NULL));
    golf_map_store(m, K("c"), V(1));
    cr_expect_not(golf_map_compare_and_swap(m, K("c"), V(2), V(3)), "old mismatch");
    cr_expect(golf_map_compare_and_swap(m, K("c"), V(1), V(3)));
    void *v;
    cr_expect(golf_map_load(m, K("c"), &v));
    cr_expect_eq(U(v), 3);
    cr_expect(golf_map_compare_and_swap(m, K("c"), V(3), V(3)), "same value: true");
    golf_map_free(m);
}

Test(map_ops, compare_and_delete, .timeout = 10)
{
    golf_map *m = golf_map_new();
    cr_expect_not(golf_map_compare_and_delete(m, K("d"), NULL));
    golf_map_store(m, K("d"), V(1));
    cr_expect_not(golf_map_compare_and_delete(m, K("d"), V(2)));
    cr_expect(golf_map_load(m, K("d"), NULL));
    cr_expect(golf_map_compare_and_delete(m, K("d"), V(1)));
    cr_expect_not(golf_map_load(m, K("d"), NULL));
    cr_expect_not(golf_map_compare_and_delete(m, K("d"), V(1)));
    golf_map_free(m);
}

static bool
collect(const void *key, size_t klen, void *value, void *arg)
{
    uint64_t *sum = arg;
    cr_assert_eq(klen, 8);
    uint64_t k;
    memcpy(&k, key, 8);
    cr_assert_eq(U(value), k * 10, "key %lu has value %lu", (unsigned long)k,
                 (unsigned long)U(value));
    sum[0] += k;
    sum[1]++;
    return true;
}

static bool
stop_after_three(const void *key, size_t klen, void *value, void *arg)
{
    (void)key, (void)klen, (void)value;
    int *n = arg;
    return ++*n < 3;
}

Test(map_ops, range_visits_each_once_and_stops, .timeout = 20)
{
    golf_map *m = golf_map_new();
    for (uint64_t k = 1; k <= 5000; k++)
        golf_map_store(m, &k, 8, V(k * 10));
    uint64_t sum[2] = {0, 0};
    golf_map_range(m, collect, sum);
    cr_expect_eq(sum[1], 5000);
    cr_expect_eq(sum[0], 5000u * 5001u / 2);
    int n = 0;
    golf_map_range(m, stop_after_three, &n);
    cr_expect_eq(n, 3, "fn returning false stops the range");
    golf_map_range(m, NULL, NULL); /* ignored */
    golf_map_free(m);
}

Test(map_ops, clear, .timeout = 20)
{
    golf_map *m = golf_map_new();
    for (uint64_t k = 0; k < 3000; k++)
        golf_map_store(m, &k, 8, V(k));
    cr_expect_eq(golf_map_len(m), 3000);
    golf_map_clear(m);
    cr_expect_eq(golf_map_len(m), 0);
    for (uint64_t k = 0; k < 3000; k++)
        cr_assert_not(golf_map_load(m, &k, 8, NULL));
    int n = 0;
    golf_map_range(m, stop_after_three, &n);
    cr_expect_eq(n, 0, "a cleared map ranges over nothing");
    /* Usable after a clear (Go's TestMapClear... stores after Clear). */
    uint64_t k = 42;
    golf_map_store(m, &k, 8, V(1));
    cr_expect(golf_map_load(m, &k, 8, NULL));
    cr_expect_eq(golf_map_len(m), 1);
    golf_map_clear(m);
    golf_map_clear(m);
    cr_expect_eq(golf_map_len(m), 0);
    golf_map_free(m);
}

Test(map_ops, key_shapes, .timeout = 20)
{
    golf_map *m = golf_map_new();
    unsigned char buf[32];
    /* Empty key, and NULL with klen 0, are the same key. */
    cr_expect_eq(golf_map_store(m, "", 0, V(100)), GOLF_OK);
    void *v;
    cr_expect(golf_map_load(m, NULL, 0, &v));
    cr_expect_eq(U(v), 100);
    /* Prefixes and NULs are distinct keys. */
    const char ab0[] = {'a', 'b', 0};
    golf_map_store(m, "ab", 2, V(1));
    golf_map_store(m, ab0, 3, V(2));
    golf_map_store(m, "a", 1, V(3));
    cr_expect(golf_map_load(m, "ab", 2, &v) && U(v) == 1);
    cr_expect(golf_map_load(m, ab0, 3, &v) && U(v) == 2);
    cr_expect(golf_map_load(m, "a", 1, &v) && U(v) == 3);
    /* Long keys, across the inline/block boundary and beyond. */
    char big[5000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 31);
    for (size_t len = 1; len <= sizeof big; len += len < 40 ? 1 : 97) {
        cr_assert_eq(golf_map_store(m, big, len, V(len)), GOLF_OK);
    }
    for (size_t len = 1; len <= sizeof big; len += len < 40 ? 1 : 97) {
        cr_assert(golf_map_load(m, big, len, &v), "len %zu", len);
        cr_assert_eq(U(v), len);
    }
    /* The key is copied: changing the caller's buffer changes nothing. */
    size_t l = tu_key(77, buf);
    golf_map_store(m, buf, l, V(77));
    buf[0] ^= 0xff;
    cr_expect_not(golf_map_load(m, buf, l, NULL));
    buf[0] ^= 0xff;
    cr_expect(golf_map_load(m, buf, l, NULL));
    golf_map_free(m);
}

Test(map_ops, bad_input, .timeout = 10)
{
    golf_map *m = golf_map_new();
    void *v = V(1);
    bool loaded = true;
    cr_expect_not(golf_map_load(NULL, "a", 1, &v));
    cr_expect_not(golf_map_load(m, NULL, 1, &v));
    cr_expect_eq(golf_map_store(NULL, "a", 1, v), GOLF_EINVAL);
    cr_expect_eq(golf_map_store(m, NULL, 3, v), GOLF_EINVAL);
    cr_expect_eq(golf_map_load_or_store(m, NULL, 3, v, &v, &loaded), GOLF_EINVAL);
    cr_expect_eq(golf_map_swap(m, NULL, 3, v, &v, &loaded), GOLF_EINVAL);
    cr_expect_eq(golf_map_load_or_store(NULL, "a", 1, v, &v, &loaded), GOLF_EINVAL);
    cr_expect_eq(golf_map_swap(NULL, "a", 1, v, &v, &loaded), GOLF_EINVAL);
    cr_expect_eq(U(v), 1, "outputs untouched on error");
    cr_expect(loaded);
    cr_expect_not(golf_map_load_and_delete(m, NULL, 2, &v));
    cr_expect_not(golf_map_load_and_delete(NULL, "a", 1, &v));
    cr_expect_not(golf_map_compare_and_swap(NULL, "a", 1, NULL, NULL));
    cr_expect_not(golf_map_compare_and_swap(m, NULL, 1, NULL, NULL));
    cr_expect_not(golf_map_compare_and_delete(NULL, "a", 1, NULL));
    cr_expect_not(golf_map_compare_and_delete(m, NULL, 1, NULL));
    golf_map_delete(NULL, "a", 1);
    golf_map_delete(m, NULL, 1);
    golf_map_range(NULL, NULL, NULL);
    golf_map_clear(NULL);
    cr_expect_eq(golf_map_len(NULL), 0);
    golf_map_retire(NULL, v, free); /* ignored */
    golf_map_free(NULL);
    cr_expect_eq(golf_map_len(m), 0, "nothing was stored");
    golf_map_free(m);
}

/* ---- out of memory: the hook makes the n-th next allocation fail ---- */

static bool
counter(const void *k, size_t kl, void *v, void *a)
{
    (void)k, (void)kl, (void)v;
    ++*(size_t *)a;
    return true;
}

static size_t
count_all(golf_map *m)
{
    size_t n = 0;
    golf_map_range(m, counter, &n);
    return n;
}

Test(map_ops, enomem_long_key_leaves_map_unchanged, .timeout = 10)
{
    golf_map *m = golf_map_new();
    char key[40] = "a key longer than eight bytes";
    golf_map_store(m, K("short"), V(1));
    golf__map_set_alloc_fail(0);
    cr_expect_eq(golf_map_store(m, key, sizeof key, V(2)), GOLF_ENOMEM);
    void *a = V(9);
    bool loaded = true;
    cr_expect_eq(golf_map_load_or_store(m, key, sizeof key, V(2), &a, &loaded), GOLF_ENOMEM);
    cr_expect_eq(U(a), 9);
    cr_expect(loaded);
    cr_expect_eq(golf_map_swap(m, key, sizeof key, V(2), &a, &loaded), GOLF_ENOMEM);
    /* Present keys need no allocation: updates still work. */
    cr_expect_eq(golf_map_store(m, K("short"), V(3)), GOLF_OK);
    golf__map_set_alloc_fail(-1);
    cr_expect_not(golf_map_load(m, key, sizeof key, NULL));
    cr_expect_eq(golf_map_len(m), 1);
    cr_expect_eq(count_all(m), 1);
    cr_expect_eq(golf_map_store(m, key, sizeof key, V(2)), GOLF_OK);
    cr_expect_eq(golf_map_len(m), 2);
    /* Overwriting a present key never allocates, long keys included. */
    golf__map_set_alloc_fail(0);
    cr_expect_eq(golf_map_store(m, key, sizeof key, V(5)), GOLF_OK);
    cr_expect_eq(golf_map_swap(m, key, sizeof key, V(6), &a, &loaded), GOLF_OK);
    cr_expect(loaded && U(a) == 5);
    cr_expect_eq(golf_map_load_or_store(m, key, sizeof key, V(7), &a, &loaded), GOLF_OK);
    cr_expect(loaded && U(a) == 6);
    cr_expect(golf_map_compare_and_swap(m, key, sizeof key, V(6), V(8)));
    golf__map_set_alloc_fail(-1);
    void *v;
    cr_expect(golf_map_load(m, key, sizeof key, &v) && U(v) == 8);
    golf_map_free(m);
}

Test(map_ops, enomem_overflow_bucket_and_resize, .timeout = 30)
{
    golf_map *m = golf_map_new();
    /* With every allocation failing, inserts go on until a chain needs an overflow bucket;
     * that insert fails and changes nothing; the resize it would start cannot happen either. */
    golf__map_set_alloc_fail(0);
    uint64_t k, stored = 0;
    int rc = GOLF_OK;
    for (k = 1; k < 1000; k++) {
        rc = golf_map_store(m, &k, 8, V(k));
        if (rc != GOLF_OK)
            break;
        stored++;
    }
    cr_expect_eq(rc, GOLF_ENOMEM);
    cr_expect_not(golf_map_load(m, &k, 8, NULL));
    cr_expect_eq(golf_map_len(m), stored);
    cr_expect_eq(count_all(m), stored);
    for (uint64_t j = 1; j <= stored; j++)
        cr_assert(golf_map_load(m, &j, 8, NULL));
    /* A clear that cannot allocate its new table clears in place. */
    golf_map_clear(m);
    cr_expect_eq(golf_map_len(m), 0);
    cr_expect_eq(count_all(m), 0);
    /* Allocation failures in the middle of resizes: some inserts fail, the map stays right. */
    golf__map_set_alloc_fail(-1);
    uint64_t s = 1;
    for (k = 1; k <= 20000; k++) {
        if (tu_rand(&s) % 8 == 0)
            golf__map_set_alloc_fail((long)(tu_rand(&s) % 3));
        rc = golf_map_store(m, &k, 8, V(k));
        golf__map_set_alloc_fail(-1);
        if (rc != GOLF_OK) {
            cr_assert_eq(rc, GOLF_ENOMEM);
            cr_assert_not(golf_map_load(m, &k, 8, NULL));
            cr_assert_eq(golf_map_store(m, &k, 8, V(k)), GOLF_OK);
        }
    }
    cr_expect_eq(golf_map_len(m), 20000);
    cr_expect_eq(count_all(m), 20000);
    for (k = 1; k <= 20000; k++) {
        void *v;
        cr_assert(golf_map_load(m, &k, 8, &v));
        cr_assert_eq(U(v), k);
    }
    golf_map_free(m);
}

Test(map_ops, new_fails_cleanly, .timeout = 10)
{
    for (long n = 0; n < 4; n++) {
        golf__map_set_alloc_fail(n);
        golf_map *m = golf_map_new();
        golf__map_set_alloc_fail(-1);
        cr_expect_null(m, "allocation %ld failing", n);
    }
}

Test(map_ops, grows_and_len_is_exact, .timeout = 30)
{
    golf_map *m = golf_map_new();
    for (uint64_t k = 0; k < 100000; k++)
        cr_assert_eq(golf_map_store(m, &k, 8, V(k + 1)), GOLF_OK);
    cr_expect_eq(golf_map_len(m), 100000);
    for (uint64_t k = 0; k < 100000; k += 2)
        golf_map_delete(m, &k, 8);
    cr_expect_eq(golf_map_len(m), 50000);
    for (uint64_t k = 0; k < 100000; k++) {
        void *v;
        bool hit = golf_map_load(m, &k, 8, &v);
        cr_assert_eq(hit, k % 2 == 1, "key %lu", (unsigned long)k);
        if (hit)
            cr_assert_eq(U(v), k + 1);
    }
    golf_map_free(m);
}
