/* SPDX-License-Identifier: MIT */
/* golf_once and golf_waitgroup: golf/sync.h's rules and the intent of Go's src/sync/once_test.go
 * (TestOnce: racing callers wait for the first to finish) and waitgroup_test.go (TestWaitGroup:
 * reuse, TestWaitGroupMisuse: negative counter). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "golf/sync.h"
#include "golf_test.h"

typedef struct once_ctx {
    golf_once once;
    atomic_int calls;
    atomic_int finished; /* set by fn just before it returns */
    atomic_int early;    /* callers that returned before fn finished */
} once_ctx;

static void
slow_init(void *arg)
{
    once_ctx *c = arg;
    atomic_fetch_add(&c->calls, 1);
    golf_test_sleep_us(50000);
    atomic_store(&c->finished, 1);
}

static void *
once_caller(void *arg)
{
    once_ctx *c = arg;
    golf_once_do(&c->once, slow_init, c);
    if (!atomic_load(&c->finished))
        atomic_fetch_add(&c->early, 1);
    return NULL;
}

Test(once, racing_callers_wait_for_the_first, .timeout = 30)
{
    static once_ctx c;
    memset(&c, 0, sizeof c);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, once_caller, &c);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&c.calls), 1, "fn ran %d times", atomic_load(&c.calls));
    cr_assert_eq(atomic_load(&c.early), 0, "a caller returned before fn finished");
    golf_once_do(&c.once, slow_init, &c); /* later calls do nothing */
    cr_assert_eq(atomic_load(&c.calls), 1);
}

static void
count_call(void *arg)
{
    (*(int *)arg)++;
}

Test(once, zero_value_and_other_fn_ignored, .timeout = 10)
{
    golf_once o = {0};
    int a = 0, b = 0;
    golf_once_do(&o, count_call, &a);
    golf_once_do(&o, count_call, &b);
    cr_assert_eq(a, 1);
    cr_assert_eq(b, 0, "a second fn must not run");
}

/* ---- WaitGroup ---- */

Test(waitgroup, wait_on_zero_returns_at_once, .timeout = 10)
{
    golf_waitgroup wg = {0};
    golf_waitgroup_wait(&wg);
    golf_waitgroup_add(&wg, 3);
    golf_waitgroup_add(&wg, -2);
    golf_waitgroup_done(&wg);
    golf_waitgroup_wait(&wg);
}

typedef struct wg_ctx {
    golf_waitgroup wg1, wg2;
    atomic_int arrived;
} wg_ctx;

static void *
wg_worker(void *arg)
{
    wg_ctx *c = arg;
    atomic_fetch_add(&c->arrived, 1);
    golf_waitgroup_done(&c->wg1);
    golf_waitgroup_wait(&c->wg2);
    return NULL;
}

/* TestWaitGroup: n workers done() on wg1 then wait on wg2; the main thread waits wg1, then
 * releases wg2. Done twice with the same wait groups (reuse). */
Test(waitgroup, reuse_across_cycles, .timeout = 60)
{
    static wg_ctx c;
    memset(&c, 0, sizeof c);
    enum { N = 16 };
    for (int cycle = 0; cycle < 8; cycle++) {
        atomic_store(&c.arrived, 0);
        golf_waitgroup_add(&c.wg1, N);
        golf_waitgroup_add(&c.wg2, N);
        pthread_t t[N];
        for (int i = 0; i < N; i++)
            pthread_create(&t[i], NULL, wg_worker, &c);
        golf_waitgroup_wait(&c.wg1);
        cr_assert_eq(atomic_load(&c.arrived), N, "wait returned before every done");
        for (int i = 0; i < N; i++)
            golf_waitgroup_done(&c.wg2);
        for (int i = 0; i < N; i++)
            pthread_join(t[i], NULL);
    }
}

static void
negative(void *arg)
{
    (void)arg;
    golf_waitgroup wg = {0};
    golf_waitgroup_add(&wg, 1);
    golf_waitgroup_done(&wg);
    golf_waitgroup_done(&wg);
}

static void
negative_add(void *arg)
{
    (void)arg;
    golf_waitgroup wg = {0};
    golf_waitgroup_add(&wg, -1);
}

Test(waitgroup, negative_counter_is_fatal, .timeout = 20)
{
    char got[256];
    cr_assert(
        golf_test_dies_with(negative, NULL, "sync: negative WaitGroup counter", got, sizeof got),
        "got: %s", got);
    cr_assert(golf_test_dies_with(negative_add, NULL, "sync: negative WaitGroup counter", got,
                                  sizeof got),
              "got: %s", got);
}

static void
go_task(void *arg)
{
    golf_test_sleep_us(1000);
    atomic_fetch_add((atomic_int *)arg, 1);
}

Test(waitgroup, go_starts_threads_and_wait_joins_them, .timeout = 60)
{
    golf_waitgroup wg = {0};
    static atomic_int ran;
    atomic_store(&ran, 0);
    for (int i = 0; i < 32; i++)
        cr_assert_eq(golf_waitgroup_go(&wg, go_task, &ran), GOLF_OK);
    golf_waitgroup_wait(&wg);
    cr_assert_eq(atomic_load(&ran), 32, "wait returned before every task");
}

Test(waitgroup, go_bad_arguments, .timeout = 10)
{
    golf_waitgroup wg = {0};
    cr_assert_eq(golf_waitgroup_go(NULL, go_task, NULL), GOLF_EINVAL);
    cr_assert_eq(golf_waitgroup_go(&wg, NULL, NULL), GOLF_EINVAL);
    golf_waitgroup_wait(&wg); /* nothing was added */
}

/* Many waiters at once, all released by one done. */
static void *
waiter(void *arg)
{
    golf_waitgroup_wait(arg);
    return NULL;
}

Test(waitgroup, many_waiters_released_together, .timeout = 60)
{
    static golf_waitgroup wg;
    memset(&wg, 0, sizeof wg);
    golf_waitgroup_add(&wg, 1);
    pthread_t t[12];
    for (int i = 0; i < 12; i++)
        pthread_create(&t[i], NULL, waiter, &wg);
    golf_test_sleep_us(20000);
    golf_waitgroup_done(&wg);
    for (int i = 0; i < 12; i++)
        pthread_join(t[i], NULL);
}
