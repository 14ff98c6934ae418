/* SPDX-License-Identifier: MIT */
/* golf_rwmutex: include/golf/sync.h's rules and the intent of Go's src/sync/rwmutex_test.go
 * (TestParallelReaders, TestRWMutex/HammerRWMutex, TestRLocker's writer preference, misuse). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "golf/sync.h"
#include "golf_test.h"

Test(rwmutex, zero_value_and_try_forms, .timeout = 10)
{
    golf_rwmutex m = {0};
    cr_assert(golf_rwmutex_tryrlock(&m));
    cr_assert(golf_rwmutex_tryrlock(&m), "readers share");
    cr_assert_not(golf_rwmutex_trylock(&m), "a writer must not enter with readers inside");
    golf_rwmutex_runlock(&m);
    golf_rwmutex_runlock(&m);
    cr_assert(golf_rwmutex_trylock(&m));
    cr_assert_not(golf_rwmutex_tryrlock(&m), "a reader must not enter with a writer inside");
    cr_assert_not(golf_rwmutex_trylock(&m));
    golf_rwmutex_unlock(&m);
    golf_rwmutex_rlock(&m);
    golf_rwmutex_runlock(&m);
    golf_rwmutex_lock(&m);
    golf_rwmutex_unlock(&m);
}

/* TestParallelReaders: n readers all hold the read lock at the same time. */
typedef struct par {
    golf_rwmutex m;
    atomic_int holding;
    int n;
} par;

static void *
par_reader(void *arg)
{
    par *p = arg;
    golf_rwmutex_rlock(&p->m);
    atomic_fetch_add(&p->holding, 1);
    double t0 = golf_test_now_s();
    while (atomic_load(&p->holding) < p->n && golf_test_now_s() - t0 < 20)
        golf_test_sleep_us(100);
    golf_rwmutex_runlock(&p->m);
    return NULL;
}

Test(rwmutex, parallel_readers, .timeout = 60)
{
    static par p;
    memset(&p, 0, sizeof p);
    p.n = 8;
    pthread_t t[8];
    for (int i = 0; i < p.n; i++)
        pthread_create(&t[i], NULL, par_reader, &p);
    for (int i = 0; i < p.n; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&p.holding), 8, "readers did not hold the lock together");
}

/* HammerRWMutex: writers see nobody else; readers see no writer. */
typedef struct hammer {
    golf_rwmutex m;
    atomic_int activity; /* readers add 1, writers add 10000 */
    atomic_int bad;
} hammer;

static void *
hammer_reader(void *arg)
{
    hammer *h = arg;
    for (int i = 0; i < 20000; i++) {
        golf_rwmutex_rlock(&h->m);
        int n = atomic_fetch_add(&h->activity, 1) + 1;
        if (n < 1 || n >= 10000)
            atomic_fetch_add(&h->bad, 1);
        atomic_fetch_sub(&h->activity, 1);
        golf_rwmutex_runlock(&h->m);
    }
    return NULL;
}

static void *
hammer_writer(void *arg)
{
    hammer *h = arg;
    for (int i = 0; i < 5000; i++) {
        golf_rwmutex_lock(&h->m);
        int n = atomic_fetch_add(&h->activity, 10000) + 10000;
        if (n != 10000)
            atomic_fetch_add(&h->bad, 1);
        atomic_fetch_sub(&h->activity, 10000);
        golf_rwmutex_unlock(&h->m);
    }
    return NULL;
}

Test(rwmutex, writer_exclusion_hammer, .timeout = 120)
{
    static hammer h;
    memset(&h, 0, sizeof h);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, i % 4 == 0 ? hammer_writer : hammer_reader, &h);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&h.bad), 0, "exclusion violated %d times", atomic_load(&h.bad));
}

/* A waiting writer keeps new readers out. */
typedef struct pref {
    golf_rwmutex m;
    atomic_int stage;
} pref;

static void *
pref_writer(void *arg)
{
    pref *p = arg;
    atomic_store(&p->stage, 1);
    golf_rwmutex_lock(&p->m); /* blocks: a reader is inside */
    atomic_store(&p->stage, 2);
    golf_rwmutex_unlock(&p->m);
    return NULL;
}

static void *
pref_late_reader(void *arg)
{
    pref *p = arg;
    golf_rwmutex_rlock(&p->m);
    /* The writer was pending when we arrived, so it must have gone first. */
    int s = atomic_load(&p->stage);
    golf_rwmutex_runlock(&p->m);
    return (void *)(intptr_t)s;
}

Test(rwmutex, waiting_writer_keeps_new_readers_out, .timeout = 60)
{
    static pref p;
    memset(&p, 0, sizeof p);
    golf_rwmutex_rlock(&p.m);
    pthread_t w, r;
    pthread_create(&w, NULL, pref_writer, &p);
    while (atomic_load(&p.stage) != 1)
        golf_test_sleep_us(100);
    golf_test_sleep_us(20000); /* the writer is now parked in lock */
    cr_assert_not(golf_rwmutex_tryrlock(&p.m), "a new reader got in past a waiting writer");
    pthread_create(&r, NULL, pref_late_reader, &p);
    golf_test_sleep_us(20000);
    golf_rwmutex_runlock(&p.m);
    void *rs;
    pthread_join(w, NULL);
    pthread_join(r, &rs);
    cr_assert_eq((int)(intptr_t)rs, 2, "the late reader entered before the waiting writer");
}

static void
runlock_unlocked(void *arg)
{
    (void)arg;
    golf_rwmutex m = {0};
    golf_rwmutex_runlock(&m);
}

static void
unlock_unlocked(void *arg)
{
    (void)arg;
    golf_rwmutex m = {0};
    golf_rwmutex_unlock(&m);
}

static void
unlock_read_locked(void *arg)
{
    (void)arg;
    golf_rwmutex m = {0};
    golf_rwmutex_rlock(&m);
    golf_rwmutex_unlock(&m);
}

static void
runlock_write_locked(void *arg)
{
    (void)arg;
    golf_rwmutex m = {0};
    golf_rwmutex_lock(&m);
    golf_rwmutex_runlock(&m);
}

Test(rwmutex, misuse_is_fatal, .timeout = 20)
{
    char got[256];
    cr_assert(golf_test_dies_with(runlock_unlocked, NULL, "sync: RUnlock of unlocked RWMutex", got,
                                  sizeof got),
              "got: %s", got);
    cr_assert(golf_test_dies_with(runlock_write_locked, NULL, "sync: RUnlock of unlocked RWMutex",
                                  got, sizeof got),
              "got: %s", got);
    cr_assert(golf_test_dies_with(unlock_unlocked, NULL, "sync: Unlock of unlocked RWMutex", got,
                                  sizeof got),
              "got: %s", got);
    cr_assert(golf_test_dies_with(unlock_read_locked, NULL, "sync: Unlock of unlocked RWMutex", got,
                                  sizeof got),
              "got: %s", got);
}
