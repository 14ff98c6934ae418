/* SPDX-License-Identifier: MIT */
/* golf_mutex: golf/sync.h's rules, and the intent of Go's src/sync/mutex_test.go
 * (TestMutex, TestMutexFairness, TestMutexMisuse). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "golf/sync.h"
#include "golf_test.h"

Test(mutex, zero_value_is_unlocked, .timeout = 10)
{
    golf_mutex m = {0};
    cr_assert(golf_mutex_trylock(&m));
    cr_assert_not(golf_mutex_trylock(&m), "trylock of a locked mutex must fail");
    golf_mutex_unlock(&m);
    golf_mutex_lock(&m);
    cr_assert_not(golf_mutex_trylock(&m));
    golf_mutex_unlock(&m);
    cr_assert(golf_mutex_trylock(&m));
    golf_mutex_unlock(&m);
}

static golf_mutex static_mutex; /* zero-initialised storage is a valid mutex */

Test(mutex, static_storage_ready, .timeout = 10)
{
    golf_mutex_lock(&static_mutex);
    golf_mutex_unlock(&static_mutex);
}

static void
unlock_unlocked(void *arg)
{
    (void)arg;
    golf_mutex m = {0};
    golf_mutex_unlock(&m);
}

static void
unlock_twice(void *arg)
{
    (void)arg;
    golf_mutex m = {0};
    golf_mutex_lock(&m);
    golf_mutex_unlock(&m);
    golf_mutex_unlock(&m);
}

Test(mutex, unlock_of_unlocked_is_fatal, .timeout = 10)
{
    char got[256];
    cr_assert(golf_test_dies_with(unlock_unlocked, NULL, "sync: unlock of unlocked mutex", got,
                                  sizeof got),
              "got: %s", got);
    cr_assert(
        golf_test_dies_with(unlock_twice, NULL, "sync: unlock of unlocked mutex", got, sizeof got),
        "got: %s", got);
}

/* Another thread may unlock (Go: "A locked Mutex is not associated with a particular
 * goroutine"). */
static void *
unlock_from_other(void *arg)
{
    golf_mutex_unlock(arg);
    return NULL;
}

Test(mutex, unlock_from_another_thread, .timeout = 10)
{
    golf_mutex m = {0};
    golf_mutex_lock(&m);
    pthread_t t;
    pthread_create(&t, NULL, unlock_from_other, &m);
    pthread_join(t, NULL);
    cr_assert(golf_mutex_trylock(&m));
    golf_mutex_unlock(&m);
}

/* TestMutex: 8 threads hammer the mutex; inside, a flag proves nobody else is inside, and the
 * plain counter must add up exactly. */
typedef struct excl {
    golf_mutex m;
    atomic_int inside;
    long counter;
    atomic_int violations;
} excl;

static void *
hammer(void *arg)
{
    excl *e = arg;
    for (int i = 0; i < 100000; i++) {
        if (i % 3 == 0) {
            while (!golf_mutex_trylock(&e->m)) {
            }
        } else {
            golf_mutex_lock(&e->m);
        }
        if (atomic_fetch_add_explicit(&e->inside, 1, memory_order_relaxed) != 0)
            atomic_fetch_add_explicit(&e->violations, 1, memory_order_relaxed);
        e->counter++;
        atomic_fetch_sub_explicit(&e->inside, 1, memory_order_relaxed);
        golf_mutex_unlock(&e->m);
    }
    return NULL;
}

Test(mutex, exclusion_under_8_threads, .timeout = 120)
{
    static excl e;
    memset(&e, 0, sizeof e);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, hammer, &e);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&e.violations), 0, "two threads inside the critical section");
    cr_assert_eq(e.counter, 800000L, "lost updates: %ld", e.counter);
    cr_assert(golf_mutex_trylock(&e.m), "mutex left locked");
}

/* TestMutexFairness: one thread re-locks in a tight loop holding the mutex for 100us each time;
 * another must still get it 10 times. Starvation mode is what guarantees it; Go allows 10 s. */
typedef struct fair {
    golf_mutex m;
    atomic_bool stop;
    atomic_bool done;
} fair;

static void *
greedy(void *arg)
{
    fair *f = arg;
    while (!atomic_load(&f->stop)) {
        golf_mutex_lock(&f->m);
        golf_test_sleep_us(100);
        golf_mutex_unlock(&f->m);
    }
    return NULL;
}

static void *
polite(void *arg)
{
    fair *f = arg;
    for (int i = 0; i < 10; i++) {
        golf_test_sleep_us(100);
        golf_mutex_lock(&f->m);
        golf_mutex_unlock(&f->m);
    }
    atomic_store(&f->done, true);
    return NULL;
}

Test(mutex, fairness_no_starvation, .timeout = 60)
{
    static fair f;
    memset(&f, 0, sizeof f);
    pthread_t g, p;
    pthread_create(&g, NULL, greedy, &f);
    pthread_create(&p, NULL, polite, &f);
    double t0 = golf_test_now_s();
    while (!atomic_load(&f.done) && golf_test_now_s() - t0 < 10)
        golf_test_sleep_us(1000);
    bool done = atomic_load(&f.done);
    atomic_store(&f.stop, true);
    pthread_join(g, NULL);
    if (done)
        pthread_join(p, NULL);
    cr_assert(done, "a thread could not lock the mutex for 10 s: starvation");
}

/* Many waiters parked at once, then released one by one: every one gets through (no lost
 * wake-up), and the waiter count returns to zero (trylock succeeds at the end). */
typedef struct parked {
    golf_mutex m;
    atomic_int through;
} parked;

static void *
park_and_go(void *arg)
{
    parked *p = arg;
    golf_mutex_lock(&p->m);
    atomic_fetch_add(&p->through, 1);
    golf_mutex_unlock(&p->m);
    return NULL;
}

Test(mutex, parked_waiters_all_wake, .timeout = 60)
{
    static parked p;
    memset(&p, 0, sizeof p);
    golf_mutex_lock(&p.m);
    pthread_t t[16];
    for (int i = 0; i < 16; i++)
        pthread_create(&t[i], NULL, park_and_go, &p);
    golf_test_sleep_us(50000); /* let them park (long enough to also enter starvation mode) */
    cr_assert_eq(atomic_load(&p.through), 0);
    golf_mutex_unlock(&p.m);
    for (int i = 0; i < 16; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&p.through), 16);
    cr_assert(golf_mutex_trylock(&p.m));
    golf_mutex_unlock(&p.m);
}
