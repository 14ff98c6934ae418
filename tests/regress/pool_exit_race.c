/* SPDX-License-Identifier: MIT */
/* Regression: thread exits racing golf_pool_free, and a new pool at a freed pool's address.
 *
 * Threads fill their caches of a pool whose depot is full, then exit at the moment the main
 * thread calls golf_pool_free: their exit destructors free the excess (slowly: free_object
 * sleeps) while free runs. golf_pool_free must not return before the last of those frees
 * (free_object after it returned would use a dead pool or ctx), and every object must be freed
 * exactly once. Then a thread that still has a dead cache of the freed pool uses a new pool,
 * often allocated at the same address: it must get the new pool's objects only (caches are
 * matched by uid, never by address). Both front ends, several rounds. */
#include "regress/regress.h"

#include <golf/pool.h>
#include <pthread.h>
#include <sys/wait.h>

#include "lockfree/percpu.h"

#define MAGIC 0x6578697472616365ull
#define NT 4

typedef struct eobj {
    uint64_t magic;
    int pool_no; /* which pool made it */
    _Atomic int held;
    _Atomic int freed;
} eobj;

typedef struct ectx {
    int pool_no;
    atomic_int done; /* golf_pool_free returned */
    atomic_long created, freed;
} ectx;

static atomic_long errors;
static atomic_int ready, go, put_done;
static atomic_int exit_freeing; /* a filler's exit destructor is in free_object */
static __thread bool in_exit;   /* this thread returned from its start routine */

static void *
mk(void *c)
{
    ectx *x = c;
    eobj *o = calloc(1, sizeof *o);
    REGRESS_CHECK(o, "calloc");
    o->magic = MAGIC;
    o->pool_no = x->pool_no;
    atomic_fetch_add(&x->created, 1);
    return o;
}

static void
rm(void *p, void *c)
{
    ectx *x = c;
    eobj *o = p;
    if (in_exit) {
        /* In a filler's exit destructor: let the main thread call golf_pool_free now, and
         * take a while, so that free runs while this exit still frees objects of the pool. */
        atomic_store(&exit_freeing, 1);
        regress_sleep_us(500);
    }
    if (atomic_load(&x->done)) {
        fprintf(stderr, "free_object after golf_pool_free returned\n");
        atomic_fetch_add(&errors, 1);
    }
    if (o->magic != MAGIC || o->pool_no != x->pool_no || atomic_exchange(&o->freed, 1) ||
        atomic_load(&o->held)) {
        fprintf(stderr, "bad free_object\n");
        atomic_fetch_add(&errors, 1);
        return;
    }
    o->magic = 0;
    atomic_fetch_add(&x->freed, 1);
    free(o);
}

static golf_pool *pool;

static void *
filler(void *arg)
{
    (void)arg;
    eobj *h[62];
    for (int i = 0; i < 62; i++) {
        h[i] = golf_pool_get(pool);
        atomic_store(&h[i]->held, 1);
    }
    atomic_fetch_add(&ready, 1);
    regress_wait_flag(&go, 30);
    for (int i = 0; i < 62; i++) {
        atomic_store(&h[i]->held, 0);
        golf_pool_put(pool, h[i]);
    }
    atomic_fetch_add(&put_done, 1);
    in_exit = true;
    return NULL; /* exit destructor: the depot is full, so these 62 are freed now */
}

/* Keeps a (dead) cache of the old pool, then uses the new one. */
static golf_pool *old_pool, *new_pool;
static atomic_int survivor_stage;
static int new_no;

static void *
survivor(void *arg)
{
    (void)arg;
    golf_pool_put(old_pool, golf_pool_get(old_pool));
    atomic_store(&survivor_stage, 1);
    while (atomic_load(&survivor_stage) != 2)
        regress_sleep_us(100);
    for (int round = 0; round < 3; round++) {
        eobj *h[100];
        for (int i = 0; i < 100; i++) {
            h[i] = golf_pool_get(new_pool);
            if (!h[i] || h[i]->magic != MAGIC || h[i]->pool_no != new_no) {
                fprintf(stderr, "the new pool handed out an object of another pool\n");
                atomic_fetch_add(&errors, 1);
                return NULL;
            }
        }
        for (int i = 0; i < 100; i++)
            golf_pool_put(new_pool, h[i]);
    }
    return NULL;
}

static void
run(const char *percpu)
{
    regress_pool_front_end(percpu);
    bool per_thread = percpu || !golf__rseq_usable();
    for (int round = 0; round < 10; round++) {
        ectx x = {.pool_no = 2 * round};
        golf_pool_options o = {mk, rm, &x};
        pool = golf_pool_new(&o);
        REGRESS_CHECK(pool, "new");
        atomic_store(&ready, 0);
        atomic_store(&go, 0);
        atomic_store(&put_done, 0);
        pthread_t t[NT];
        for (int i = 0; i < NT; i++)
            pthread_create(&t[i], NULL, filler, NULL);
        while (atomic_load(&ready) < NT)
            regress_sleep_us(100);
        /* Fill this thread's cache and the depot: whatever the fillers hand back is excess. */
        enum { FILL = 20000 };
        eobj **h = malloc(FILL * sizeof *h);
        for (int i = 0; i < FILL; i++)
            h[i] = golf_pool_get(pool);
        for (int i = 0; i < FILL; i++)
            golf_pool_put(pool, h[i]);
        free(h);
        /* A survivor with a cache of this pool, alive across its free. */
        old_pool = pool;
        atomic_store(&survivor_stage, 0);
        pthread_t s;
        pthread_create(&s, NULL, survivor, NULL);
        while (atomic_load(&survivor_stage) != 1)
            regress_sleep_us(100);

        atomic_store(&exit_freeing, 0);
        atomic_store(&go, 1);
        /* Only the per-thread front end has thread caches to hand back at exit. */
        if (per_thread)
            REGRESS_CHECK(regress_wait_flag(&exit_freeing, 30), "no exit freed anything");
        while (atomic_load(&put_done) < NT)
            regress_sleep_us(50);
        if (per_thread && round == 0) {
            /* fork while an exit destructor is between taking objects out of its cache and
             * freeing them: that exit does not exist in the child, whose golf_pool_free must
             * not wait for it. */
            pid_t pid = fork();
            REGRESS_CHECK(pid >= 0, "fork");
            if (pid == 0) {
                regress_watchdog(10);
                golf_pool_free(pool);
                _exit(0);
            }
            int st = 0;
            REGRESS_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
            REGRESS_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                          "child of a fork during a thread exit: status %#x", st);
        }
        golf_pool_free(pool); /* while exits free the excess of their caches */
        atomic_store(&x.done, 1);
        for (int i = 0; i < NT; i++)
            pthread_join(t[i], NULL);
        REGRESS_CHECK(atomic_load(&errors) == 0, "%s round %d: %ld errors",
                      percpu ? "GOLF_POOL_PERCPU=0" : "default", round, atomic_load(&errors));
        REGRESS_CHECK(x.created == x.freed, "round %d: created %ld freed %ld", round,
                      atomic_load(&x.created), atomic_load(&x.freed));

        ectx y = {.pool_no = 2 * round + 1};
        golf_pool_options o2 = {mk, rm, &y};
        new_pool = golf_pool_new(&o2);
        new_no = y.pool_no;
        REGRESS_CHECK(new_pool, "new");
        atomic_store(&survivor_stage, 2);
        pthread_join(s, NULL);
        golf_pool_free(new_pool);
        REGRESS_CHECK(atomic_load(&errors) == 0, "errors in the new pool");
        REGRESS_CHECK(y.created == y.freed, "new pool: created %ld freed %ld",
                      atomic_load(&y.created), atomic_load(&y.freed));
    }
    fprintf(stderr, "%s: 10 rounds of exits racing golf_pool_free, then a new pool: ok\n",
            percpu ? "GOLF_POOL_PERCPU=0" : "default front end");
}

int
main(void)
{
    regress_watchdog(120);
    run("0");
    run(NULL);
    printf("PASS pool_exit_race\n");
    return 0;
}
