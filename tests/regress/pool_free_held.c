/* SPDX-License-Identifier: MIT */
/* Regression (issue bug 9): golf_pool_free must free only objects the pool holds.
 *
 * Thread A gets 200 objects and puts them all back; thread B then gets 200 and exits still
 * holding them; golf_pool_free must not call free_object on any of B's objects, and every object
 * must end up freed exactly once (by the pool, or by the test for those it holds). Run for both
 * front ends: the per-thread one (GOLF_POOL_PERCPU=0) and the default (per-CPU where rseq is
 * usable). Variants: A exits before B starts, and A stays alive (idle) until after the free. */
#include "regress/regress.h"

#include <golf/pool.h>
#include <pthread.h>

#define NOBJ 200
#define MAXOBJ 100000

enum { ST_NONE, ST_USER, ST_POOL, ST_FREED };

typedef struct obj {
    int id;
} obj;

static atomic_int state[MAXOBJ];
static atomic_int nobj;
static atomic_int nfreed;
static int bad;

static void *
new_obj(void *ctx)
{
    (void)ctx;
    int id = atomic_fetch_add(&nobj, 1);
    REGRESS_CHECK(id < MAXOBJ, "too many objects");
    obj *o = malloc(sizeof *o);
    REGRESS_CHECK(o, "malloc");
    o->id = id;
    atomic_store(&state[id], ST_POOL); /* get turns it into ST_USER */
    return o;
}

static void
free_obj(void *p, void *ctx)
{
    (void)ctx;
    obj *o = p;
    int was = atomic_exchange(&state[o->id], ST_FREED);
    if (was != ST_POOL) {
        fprintf(stderr, "free_object(#%d) while it is %s\n", o->id,
                was == ST_USER ? "held by a thread" : "already freed");
        bad++;
        return; /* do not free memory a thread still holds */
    }
    atomic_fetch_add(&nfreed, 1);
    free(o);
}

static obj *
get(golf_pool *p)
{
    obj *o = golf_pool_get(p);
    REGRESS_CHECK(o, "get returned NULL with a new_object");
    int was = atomic_exchange(&state[o->id], ST_USER);
    REGRESS_CHECK(was == ST_POOL, "get handed out #%d, which is %s", o->id,
                  was == ST_USER ? "held by a thread" : "freed");
    return o;
}

static void
put(golf_pool *p, obj *o)
{
    int was = atomic_exchange(&state[o->id], ST_POOL);
    REGRESS_CHECK(was == ST_USER, "put of #%d not held", o->id);
    golf_pool_put(p, o);
}

static golf_pool *pool;
static obj *held[NOBJ];
static atomic_int a_done, a_release;

static void *
thread_a(void *arg)
{
    bool linger = arg != NULL;
    obj *mine[NOBJ];
    for (int i = 0; i < NOBJ; i++)
        mine[i] = get(pool);
    for (int i = 0; i < NOBJ; i++)
        put(pool, mine[i]);
    atomic_store(&a_done, 1);
    if (linger)
        regress_wait_flag(&a_release, 60);
    return NULL;
}

static void *
thread_b(void *arg)
{
    (void)arg;
    for (int i = 0; i < NOBJ; i++)
        held[i] = get(pool);
    return NULL;
}

static int
run(const char *percpu, bool a_lingers)
{
    regress_pool_front_end(percpu);
    for (int i = 0; i < MAXOBJ; i++)
        atomic_store(&state[i], ST_NONE);
    atomic_store(&nobj, 0);
    atomic_store(&nfreed, 0);
    atomic_store(&a_done, 0);
    atomic_store(&a_release, 0);
    bad = 0;
    golf_pool_options o = {new_obj, free_obj, NULL};
    pool = golf_pool_new(&o);
    REGRESS_CHECK(pool, "golf_pool_new");

    pthread_t a, b;
    pthread_create(&a, NULL, thread_a, a_lingers ? (void *)1 : NULL);
    if (a_lingers)
        REGRESS_CHECK(regress_wait_flag(&a_done, 60), "A stuck");
    else
        pthread_join(a, NULL);
    pthread_create(&b, NULL, thread_b, NULL);
    pthread_join(b, NULL);

    golf_pool_free(pool); /* A, if alive, no longer uses the pool: allowed */
    if (a_lingers) {
        atomic_store(&a_release, 1);
        pthread_join(a, NULL);
    }

    int n = atomic_load(&nobj), held_n = 0;
    for (int i = 0; i < NOBJ; i++) {
        if (atomic_load(&state[held[i]->id]) == ST_USER) {
            held_n++;
            atomic_store(&state[held[i]->id], ST_FREED);
            free(held[i]);
        }
    }
    for (int i = 0; i < n; i++)
        if (atomic_load(&state[i]) != ST_FREED) {
            fprintf(stderr, "object #%d lost (state %d)\n", i, atomic_load(&state[i]));
            bad++;
        }
    fprintf(stderr, "%s, A %s: %d objects created, %d freed by the pool, %d held by B, %d errors\n",
            percpu ? "GOLF_POOL_PERCPU=0" : "default front end", a_lingers ? "alive" : "exited", n,
            atomic_load(&nfreed), held_n, bad);
    return bad;
}

int
main(void)
{
    regress_watchdog(120);
    int bad_runs = 0;
    for (int linger = 0; linger < 2; linger++) {
        bad_runs += run("0", linger) != 0;
        bad_runs += run(NULL, linger) != 0;
    }
    REGRESS_CHECK(bad_runs == 0, "ownership violated in %d of 4 runs", bad_runs);
    printf("PASS pool_free_held\n");
    return 0;
}
