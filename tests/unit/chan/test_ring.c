/* SPDX-License-Identifier: MIT */
/* golf/ring.h, rule by rule (its header comments), plus a multi-threaded conservation check. */
#include <criterion/criterion.h>
#include <errno.h>

#include "golf/ring.h"
#include "unit/chan/chan_util.h"

Test(ring, new_rejects_zero_elem_size_or_capacity, .timeout = 10)
{
    errno = 0;
    cr_expect_null(golf_ring_new(0, 8));
    cr_expect_eq(errno, EINVAL);
    errno = 0;
    cr_expect_null(golf_ring_new(8, 0));
    cr_expect_eq(errno, EINVAL);
    errno = 0;
    cr_expect_null(golf_ring_new(0, 0));
    cr_expect_eq(errno, EINVAL);
}

Test(ring, new_impossible_size_fails_with_errno, .timeout = 10)
{
    errno = 0;
    cr_expect_null(golf_ring_new(16, SIZE_MAX / 4));
    cr_expect(errno == EINVAL || errno == ENOMEM, "errno %d", errno);
    errno = 0;
    cr_expect_null(golf_ring_new(SIZE_MAX / 2, 4));
    cr_expect(errno == EINVAL || errno == ENOMEM, "errno %d", errno);
}

Test(ring, free_null_does_nothing, .timeout = 10)
{
    golf_ring_free(NULL);
}

/* "exactly `capacity` elements fit", for capacities that are and are not powers of two. */
Test(ring, exactly_capacity_elements_fit, .timeout = 20)
{
    static const size_t caps[] = {1, 2, 3, 5, 7, 8, 100, 1000, 1024, 1025};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        golf_ring *r = golf_ring_new(sizeof(uint64_t), caps[c]);
        cr_assert_not_null(r);
        cr_expect_eq(golf_ring_cap(r), caps[c]);
        cr_expect_eq(golf_ring_len(r), 0);
        for (uint64_t i = 0; i < caps[c]; i++)
            cr_assert_eq(golf_ring_try_push(r, &i), GOLF_OK, "cap %zu push %lu", caps[c],
                         (unsigned long)i);
        cr_expect_eq(golf_ring_len(r), caps[c]);
        uint64_t x = 99;
        cr_expect_eq(golf_ring_try_push(r, &x), GOLF_EAGAIN, "cap %zu: one more than capacity fit",
                     caps[c]);
        for (uint64_t i = 0; i < caps[c]; i++) {
            uint64_t v = 12345;
            cr_assert_eq(golf_ring_try_pop(r, &v), GOLF_OK);
            cr_assert_eq(v, i, "cap %zu: FIFO broken at %lu: got %lu", caps[c], (unsigned long)i,
                         (unsigned long)v);
        }
        cr_expect_eq(golf_ring_try_pop(r, &x), GOLF_EAGAIN);
        cr_expect_eq(golf_ring_len(r), 0);
        golf_ring_free(r);
    }
}

Test(ring, pop_on_empty_is_eagain, .timeout = 10)
{
    golf_ring *r = golf_ring_new(4, 3);
    cr_assert_not_null(r);
    uint32_t v = 7;
    cr_expect_eq(golf_ring_try_pop(r, &v), GOLF_EAGAIN);
    cr_expect_eq(golf_ring_len(r), 0);
    golf_ring_free(r);
}

/* Many laps around a small ring: wrap-around keeps FIFO order and the element bytes intact. */
Test(ring, wraps_around_many_times_in_order, .timeout = 20)
{
    for (size_t cap = 1; cap <= 9; cap++) {
        golf_ring *r = golf_ring_new(sizeof(uint64_t), cap);
        cr_assert_not_null(r);
        uint64_t next_in = 0, next_out = 0, s = cap;
        for (int step = 0; step < 200000; step++) {
            if (cu_rand(&s) & 1) {
                int rc = golf_ring_try_push(r, &next_in);
                cr_assert(rc == GOLF_OK || rc == GOLF_EAGAIN);
                cr_assert_eq(rc == GOLF_EAGAIN, next_in - next_out == cap, "cap %zu", cap);
                if (rc == GOLF_OK)
                    next_in++;
            } else {
                uint64_t v;
                int rc = golf_ring_try_pop(r, &v);
                cr_assert_eq(rc == GOLF_EAGAIN, next_in == next_out, "cap %zu", cap);
                if (rc == GOLF_OK) {
                    cr_assert_eq(v, next_out, "cap %zu", cap);
                    next_out++;
                }
            }
            cr_assert_eq(golf_ring_len(r), next_in - next_out);
        }
        golf_ring_free(r);
    }
}

/* Elements of odd and large sizes are copied whole. */
Test(ring, odd_and_large_elements_are_copied_whole, .timeout = 10)
{
    static const size_t sizes[] = {1, 3, 7, 13, 64, 100, 4096, 65536 + 3};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t es = sizes[k];
        golf_ring *r = golf_ring_new(es, 3);
        cr_assert_not_null(r);
        unsigned char *in = malloc(es), *out = malloc(es);
        for (int round = 0; round < 7; round++) {
            for (size_t i = 0; i < es; i++)
                in[i] = (unsigned char)(i * 31 + round + es);
            cr_assert_eq(golf_ring_try_push(r, in), GOLF_OK);
            memset(out, 0, es);
            cr_assert_eq(golf_ring_try_pop(r, out), GOLF_OK);
            cr_assert_eq(memcmp(in, out, es), 0, "elem size %zu corrupted", es);
        }
        free(in);
        free(out);
        golf_ring_free(r);
    }
}

/* MPMC: P producers, P consumers, small ring; nothing lost, nothing duplicated, and each
 * consumer sees each producer's values in increasing order. */
enum { RP = 4, RPER = 200000 };
typedef struct {
    golf_ring *r;
    int id;
    atomic_int *producers_left;
    uint8_t *seen;       /* RP*RPER, shared; each set once */
    atomic_long *popped; /* total */
    bool fifo_ok;
} ring_mt;

static void *
ring_producer(void *p)
{
    ring_mt *a = p;
    for (uint64_t i = 0; i < RPER; i++) {
        uint64_t v = ((uint64_t)a->id << 32) | i;
        while (golf_ring_try_push(a->r, &v) != GOLF_OK)
            sched_yield();
    }
    atomic_fetch_sub(a->producers_left, 1);
    return NULL;
}

static void *
ring_consumer(void *p)
{
    ring_mt *a = p;
    int64_t last[RP];
    for (int i = 0; i < RP; i++)
        last[i] = -1;
    a->fifo_ok = true;
    for (;;) {
        uint64_t v;
        /* Producers done is read before the pop, so an empty pop after it means empty for good. */
        bool done = atomic_load(a->producers_left) == 0;
        if (golf_ring_try_pop(a->r, &v) != GOLF_OK) {
            if (done)
                break;
            sched_yield();
            continue;
        }
        uint32_t prod = (uint32_t)(v >> 32), seq = (uint32_t)v;
        if (prod >= RP || seq >= RPER || (int64_t)seq <= last[prod]) {
            a->fifo_ok = false;
            continue;
        }
        last[prod] = seq;
        a->seen[(size_t)prod * RPER + seq]++;
        atomic_fetch_add(a->popped, 1);
    }
    return NULL;
}

Test(ring, mpmc_nothing_lost_or_duplicated_per_producer_fifo, .timeout = 60)
{
    static const size_t caps[] = {1, 2, 1024};
    for (size_t c = 0; c < 3; c++) {
        golf_ring *r = golf_ring_new(sizeof(uint64_t), caps[c]);
        cr_assert_not_null(r);
        atomic_int left = RP;
        atomic_long popped = 0;
        uint8_t *seen = calloc((size_t)RP * RPER, 1);
        ring_mt args[2 * RP];
        pthread_t t[2 * RP];
        for (int i = 0; i < 2 * RP; i++) {
            args[i] = (ring_mt){
                .r = r, .id = i % RP, .producers_left = &left, .seen = seen, .popped = &popped};
            t[i] = cu_spawn(i < RP ? ring_producer : ring_consumer, &args[i]);
        }
        for (int i = 0; i < 2 * RP; i++)
            cu_join(t[i]);
        for (int i = RP; i < 2 * RP; i++)
            cr_expect(args[i].fifo_ok, "cap %zu: consumer %d saw a producer's values out of order",
                      caps[c], i);
        cr_expect_eq(atomic_load(&popped), (long)RP * RPER, "cap %zu: popped %ld", caps[c],
                     atomic_load(&popped));
        for (size_t i = 0; i < (size_t)RP * RPER; i++)
            cr_assert_eq(seen[i], 1, "cap %zu: value %zu seen %d times", caps[c], i, seen[i]);
        free(seen);
        golf_ring_free(r);
    }
}
