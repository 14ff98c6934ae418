/* SPDX-License-Identifier: MIT */
/* golf_map_retire and the read section: fn runs exactly once, never while a reader that could
 * see the value is still inside its section, and golf_map_free waits for it. Blocking RCU calls
 * inside a read section are fatal, not deadlocks. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "golf/syncmap.h"
#include "lockfree/rcu.h"
#include "map_test_util.h"

enum { N_RETIRED = 20000 };

static _Atomic int runs[N_RETIRED];

static void
mark_run(void *value)
{
    atomic_fetch_add_explicit(&runs[U(value)], 1, memory_order_relaxed);
}

Test(map_retire, each_fn_runs_exactly_once_by_free, .timeout = 60)
{
    golf_map *m = golf_map_new();
    for (int i = 0; i < N_RETIRED; i++)
        atomic_store(&runs[i], 0);
    for (uintptr_t i = 0; i < N_RETIRED; i++) {
        if (i % 3 == 0) {
            golf_map_read_lock(); /* retire is allowed inside a section: it never blocks */
            golf_map_retire(m, V(i), mark_run);
            golf_map_read_unlock();
        } else {
            golf_map_retire(m, V(i), mark_run);
        }
    }
    golf_map_free(m); /* returns only after every fn retired through m has run */
    for (int i = 0; i < N_RETIRED; i++)
        cr_assert_eq(atomic_load(&runs[i]), 1, "fn for %d ran %d times", i, atomic_load(&runs[i]));
    golf_map_retire(NULL, V(0), mark_run); /* bad input: ignored */
    m = golf_map_new();
    golf_map_retire(m, V(0), NULL);
    golf_map_free(m);
}

/* A reader holds a value inside its read section; the writer deletes and retires it. The free
 * must wait for the reader to leave. */
typedef struct holder {
    golf_map *m;
    _Atomic int phase; /* 0 start, 1 reader inside holding, 2 reader may leave, 3 reader left */
    _Atomic int freed;
    _Atomic int read_after_free;
} holder;

static holder H;

static void
free_payload(void *value)
{
    int *p = value;
    if (atomic_load(&H.phase) < 3)
        atomic_store(&H.read_after_free, 1); /* freed while the reader was still inside */
    *p = -1;
    free(p);
    atomic_fetch_add(&H.freed, 1);
}

static void
spin_until(_Atomic int *x, int want)
{
    while (atomic_load(x) < want) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

static void *
holder_reader(void *arg)
{
    (void)arg;
    void *v;
    golf_map_read_lock();
    cr_assert(golf_map_load(H.m, "p", 1, &v));
    atomic_store(&H.phase, 1);
    spin_until(&H.phase, 2);
    cr_assert_eq(*(int *)v, 1234, "the value is intact while we are inside");
    atomic_store(&H.phase, 3);
    golf_map_read_unlock();
    return NULL;
}

Test(map_retire, fn_runs_only_after_readers_left, .timeout = 30)
{
    H.m = golf_map_new();
    atomic_store(&H.phase, 0);
    atomic_store(&H.freed, 0);
    atomic_store(&H.read_after_free, 0);
    int *payload = malloc(sizeof *payload);
    *payload = 1234;
    golf_map_store(H.m, "p", 1, payload);
    pthread_t th;
    pthread_create(&th, NULL, holder_reader, NULL);
    spin_until(&H.phase, 1);
    void *v;
    cr_assert(golf_map_load_and_delete(H.m, "p", 1, &v));
    golf_map_retire(H.m, v, free_payload);
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
    cr_expect_eq(atomic_load(&H.freed), 0, "fn ran while a reader was still inside");
    atomic_store(&H.phase, 2);
    /* The fn runs on its own once the reader leaves (no free needed). */
    for (int i = 0; i < 5000 && atomic_load(&H.freed) == 0; i++) {
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
    cr_expect_eq(atomic_load(&H.freed), 1);
    pthread_join(th, NULL);
    golf_map_free(H.m);
    cr_expect_eq(atomic_load(&H.freed), 1);
    cr_expect_eq(atomic_load(&H.read_after_free), 0);
}

/* Many readers and many retires: every retired value's fn runs once, after the readers that
 * loaded it are done (a freed value is poisoned; readers check it inside their section). */
typedef struct churn {
    golf_map *m;
    _Atomic bool stop;
    _Atomic uint64_t bad;
} churn;

static _Atomic uint64_t churn_freed;

static void
churn_free(void *value)
{
    uint64_t *p = value;
    p[0] = 0xdeadbeef; /* poison: a reader that still held it would see this */
    free(p);
    atomic_fetch_add(&churn_freed, 1);
}

static void *
churn_reader(void *arg)
{
    churn *c = arg;
    uint64_t s = 11;
    while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        uint64_t k = tu_rand(&s) % 64;
        void *v;
        golf_map_read_lock();
        if (golf_map_load(c->m, &k, 8, &v)) {
            uint64_t *p = v;
            for (int spin = 0; spin < 50; spin++)
                if (p[0] != k)
                    atomic_fetch_add(&c->bad, 1);
        }
        golf_map_read_unlock();
    }
    return NULL;
}

Test(map_retire, churn_with_readers, .timeout = 60)
{
    static churn c;
    c.m = golf_map_new();
    atomic_store(&c.stop, false);
    atomic_store(&c.bad, 0);
    atomic_store(&churn_freed, 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, churn_reader, &c);
    uint64_t s = 5, retired = 0;
    for (int i = 0; i < 40000; i++) {
        uint64_t k = tu_rand(&s) % 64;
        uint64_t *p = malloc(sizeof *p);
        *p = k;
        void *prev;
        bool loaded;
        cr_assert_eq(golf_map_swap(c.m, &k, 8, p, &prev, &loaded), GOLF_OK);
        if (loaded) {
            golf_map_retire(c.m, prev, churn_free);
            retired++;
        }
    }
    atomic_store(&c.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (uint64_t k = 0; k < 64; k++) {
        void *v;
        if (golf_map_load_and_delete(c.m, &k, 8, &v)) {
            golf_map_retire(c.m, v, churn_free);
            retired++;
        }
    }
    golf_map_free(c.m);
    cr_expect_eq(atomic_load(&c.bad), 0, "a reader saw a value freed under it");
    cr_expect_eq(atomic_load(&churn_freed), retired);
}

/* Blocking inside a read section would deadlock: the public free and the internal synchronize
 * refuse, fatally. */
Test(map_retire, free_inside_read_section_is_fatal, .signal = SIGABRT, .timeout = 10)
{
    golf_map *m = golf_map_new();
    golf_map_read_lock();
    golf_map_free(m);
}

Test(map_retire, synchronize_inside_read_section_is_fatal, .signal = SIGABRT, .timeout = 10)
{
    golf_map_read_lock();
    golf__rcu_synchronize();
}

Test(map_retire, unlock_without_lock_is_fatal, .signal = SIGABRT, .timeout = 10)
{
    golf_map_read_unlock();
}

Test(map_retire, read_sections_nest, .timeout = 10)
{
    golf_map *m = golf_map_new();
    golf_map_read_lock();
    golf_map_read_lock();
    golf_map_store(m, "a", 1, V(1));
    golf_map_read_unlock();
    cr_expect(golf__rcu_in_read_section());
    golf_map_read_unlock();
    cr_expect_not(golf__rcu_in_read_section());
    golf_map_free(m);
}
