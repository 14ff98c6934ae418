/* SPDX-License-Identifier: MIT */
/* The error model and the lockfree/ substrate: futex parking, backoff, RCU glue, per-CPU ids. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "golf/error.h"
#include "golf_test.h"
#include "lockfree/backoff.h"
#include "lockfree/futex.h"
#include "lockfree/percpu.h"
#include "lockfree/rcu.h"
#include "lockfree/ring_internal.h"

Test(error, codes_and_messages, .timeout = 10)
{
    cr_assert_eq(GOLF_OK, 0);
    int codes[] = {GOLF_ECLOSED, GOLF_EAGAIN, GOLF_ETIMEDOUT, GOLF_EINVAL, GOLF_ENOMEM};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        cr_assert_lt(codes[i], 0);
        for (size_t j = 0; j < i; j++)
            cr_assert_neq(codes[i], codes[j]);
        cr_assert_str_neq(golf_strerror(codes[i]), "unknown error");
    }
    cr_assert_str_eq(golf_strerror(GOLF_OK), "success");
    cr_assert_str_eq(golf_strerror(GOLF_ECLOSED), "channel closed");
    cr_assert_str_eq(golf_strerror(12345), "unknown error");
    cr_assert_str_eq(golf_errname(GOLF_ETIMEDOUT), "ETIMEDOUT");
    cr_assert_str_eq(golf_errname(-99), "UNKNOWN");
}

Test(futex, wait_with_other_value_returns_at_once, .timeout = 10)
{
    _Atomic uint32_t w = 1;
    cr_assert_eq(golf__futex_wait(&w, 0, GOLF__FOREVER), 0);
}

Test(futex, wait_times_out, .timeout = 10)
{
    _Atomic uint32_t w = 0;
    uint64_t t0 = golf__now_ns();
    cr_assert_eq(golf__futex_wait(&w, 0, 20000000), GOLF_ETIMEDOUT);
    cr_assert_geq(golf__now_ns() - t0, 19000000u, "woke before the timeout");
    cr_assert_eq(golf__futex_wait_until(&w, 0, golf__now_ns()), GOLF_ETIMEDOUT);
    cr_assert_eq(golf__deadline(GOLF__FOREVER), GOLF__FOREVER);
    cr_assert_eq(golf__deadline(GOLF__FOREVER - 1), GOLF__FOREVER, "deadline must saturate");
}

static void *
futex_waker(void *arg)
{
    _Atomic uint32_t *w = arg;
    golf_test_sleep_us(20000);
    atomic_store_explicit(w, 1, memory_order_release);
    golf__futex_wake(w, 1);
    return NULL;
}

Test(futex, wake_releases_a_parked_waiter, .timeout = 10)
{
    static _Atomic uint32_t w;
    atomic_store(&w, 0);
    pthread_t t;
    pthread_create(&t, NULL, futex_waker, (void *)&w);
    while (atomic_load_explicit(&w, memory_order_acquire) == 0)
        golf__futex_wait(&w, 0, GOLF__FOREVER);
    pthread_join(t, NULL);
    cr_assert_eq(golf__futex_wake(&w, 1), 0, "nobody waits any more");
}

/* Steps until golf__backoff_wait says "block now", or -1 if it has not after `cap` steps. */
static int
backoff_steps(golf__budget id, int cap)
{
    golf__backoff b = GOLF__BACKOFF(id);
    for (int steps = 0; steps < cap; steps++)
        if (!golf__backoff_wait(&b))
            return steps;
    return -1;
}

/* golf__ring_send_room, the hint a blocked buffered send spins on (chan/select.c): the slot k
 * positions past the tail, exactly, across the ring's wrap, for a capacity that is not a power
 * of two; and the slack, two lines of slots within a quarter of the ring. */
Test(ring_hint, send_room_looks_k_slots_past_the_tail, .timeout = 10)
{
    enum { CAP = 13 };
    size_t ss = 0;
    size_t bytes = golf__ring_slots_bytes(sizeof(long), CAP, &ss);
    cr_assert_gt(bytes, 0);
    golf__ring_core *r = aligned_alloc(64, sizeof *r);
    unsigned char *slots = aligned_alloc(64, (bytes + 63) / 64 * 64);
    cr_assert(r && slots);
    golf__ring_init(r, sizeof(long), CAP, ss, slots);
    cr_assert_eq(golf__ring_send_slack(r), 3); /* 2 * 64 / 16 = 8, but at most 13 / 4 */
    long v = 0;
    /* Three laps' worth of full-then-drained, so the wrap and the lap arithmetic are crossed. */
    for (int lap = 0; lap < 3; lap++) {
        for (long i = 0; i < CAP; i++)
            cr_assert_eq(golf__ring_try_push(r, &i), GOLF_OK);
        cr_assert_eq(golf__ring_try_push(r, &v), GOLF_EAGAIN);
        cr_assert(golf__ring_send_room(r, 0) == false, "full: the tail's own slot is taken");
        for (size_t freed = 1; freed <= CAP; freed++) {
            cr_assert_eq(golf__ring_try_pop(r, &v, NULL), GOLF_OK);
            for (size_t k = 0; k < CAP; k++)
                cr_assert_eq(golf__ring_send_room(r, k), k < freed,
                             "lap %d, %zu freed: room %zu past the tail", lap, freed, k);
        }
    }
    free(slots);
    free(r);
    /* One-slot rings and tiny ones wait for nothing; large slots for at least one slot. */
    golf__ring_core small;
    uint64_t s3[3 * 2]; /* three 16-byte slots, 8-aligned for their stamps */
    golf__ring_init(&small, sizeof(long), 3, 16, (unsigned char *)s3);
    cr_assert_eq(golf__ring_send_slack(&small), 0);
    golf__ring_core big;
    size_t bss = 0;
    size_t bbytes = golf__ring_slots_bytes(200, 64, &bss);
    unsigned char *bslots = malloc(bbytes);
    cr_assert_not_null(bslots);
    golf__ring_init(&big, 200, 64, bss, bslots);
    cr_assert_eq(golf__ring_send_slack(&big), 1);
    free(bslots);
}

Test(backoff, budgets_end_as_named, .timeout = 10)
{
    uint32_t lock = golf__backoff_pauses(GOLF__BUDGET_LOCK_NS);
    cr_assert_geq(lock, 1);
    cr_assert_geq(golf__backoff_pauses(GOLF__BUDGET_PARK_NS), lock, "a longer budget, more pauses");
    /* Linear budgets stop after their pauses, one a step. */
    cr_assert_eq(backoff_steps(GOLF__BUDGET_LOCK, 1 << 30), (int)lock);
    /* Exponential ones after a few doubling steps; RETRY yields once before it stops. */
    int retry = backoff_steps(GOLF__BUDGET_RETRY, 1 << 20);
    cr_assert_gt(retry, 1);
    golf__backoff r = GOLF__BACKOFF(GOLF__BUDGET_RETRY);
    for (int i = 0; i < retry - 1; i++)
        golf__backoff_wait(&r);
    cr_assert(golf__backoff_done(&r), "the last step before the stop is the yield");
    /* SLOT: the same spin steps as RETRY here or fewer, then four yields, then the stop. */
    int slot = backoff_steps(GOLF__BUDGET_SLOT, 1 << 20);
    golf__backoff sl = GOLF__BACKOFF(GOLF__BUDGET_SLOT);
    for (int i = 0; i < slot - 4; i++)
        golf__backoff_wait(&sl);
    cr_assert(golf__backoff_done(&sl), "four yields before the stop");
    /* Budgets whose caller cannot block never stop. */
    cr_assert_eq(backoff_steps(GOLF__BUDGET_HOLDER, 200), -1);
    cr_assert_eq(backoff_steps(GOLF__BUDGET_CAS, 200), -1);
    cr_assert_eq(backoff_steps(GOLF__BUDGET_COLD, 20), -1);
    /* The mutex spins only where another CPU can run the holder. */
    int mutex = backoff_steps(GOLF__BUDGET_MUTEX, 1 << 20);
    if (golf__backoff_ncpu() < 2)
        cr_assert_eq(mutex, 0);
    else
        cr_assert_gt(mutex, 0);
    /* reset starts the budget over. */
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_LOCK);
    while (golf__backoff_wait(&b))
        ;
    golf__backoff_reset(&b);
    cr_assert_not(golf__backoff_done(&b));
}

typedef struct rcu_obj {
    golf__rcu_head head;
    atomic_int *freed;
} rcu_obj;

static void
rcu_free_obj(golf__rcu_head *h)
{
    rcu_obj *o = (rcu_obj *)((char *)h - offsetof(rcu_obj, head));
    atomic_fetch_add(o->freed, 1);
    free(o);
}

static void *
rcu_thread(void *arg)
{
    /* A thread that never registers itself: golf does it, and unregisters it at exit. */
    for (int i = 0; i < 100; i++) {
        golf__rcu_read_lock();
        golf__rcu_read_unlock();
        rcu_obj *o = malloc(sizeof *o);
        o->freed = arg;
        golf__rcu_call(&o->head, rcu_free_obj);
    }
    return NULL;
}

Test(rcu, lazy_registration_call_and_barrier, .timeout = 60)
{
    static atomic_int freed;
    atomic_store(&freed, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, rcu_thread, (void *)&freed);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    golf__rcu_barrier();
    cr_assert_eq(atomic_load(&freed), 400, "call_rcu callbacks lost: %d", atomic_load(&freed));
    golf__rcu_read_lock();
    golf__rcu_read_lock();
    cr_assert(golf__rcu_in_read_section());
    golf__rcu_read_unlock();
    cr_assert(golf__rcu_in_read_section(), "read sections nest");
    golf__rcu_read_unlock();
    cr_assert_not(golf__rcu_in_read_section());
    golf__rcu_synchronize();
}

static void
sync_in_section(void *arg)
{
    (void)arg;
    golf__rcu_read_lock();
    golf__rcu_synchronize();
}

Test(rcu, synchronize_inside_read_section_is_fatal, .timeout = 20)
{
    char got[256];
    cr_assert(golf_test_dies_with(sync_in_section, NULL, "inside a read section", got, sizeof got),
              "got: %s", got);
}

Test(percpu, cpu_id_in_range, .timeout = 10)
{
    unsigned n = golf__ncpu_slots();
    cr_assert_geq(n, 1u);
    for (int i = 0; i < 1000; i++)
        cr_assert_lt(golf__cpu_id(), n);
}
