/* SPDX-License-Identifier: MIT */
/* golf_pool under a failing malloc, from a cold process: new, the first get, puts past the
 * per-CPU slot (magazines), trims, free; both front ends (oom.h).
 *
 * Only golf_pool_new may answer "out of memory" (NULL + ENOMEM). get, put, trim and free must
 * lose nothing: every object new_object made is, at any moment, in the test's hand or cached
 * or freed exactly once by free_object, never handed out twice; after golf_pool_free none is
 * cached. new_object allocates too, so it fails in the sweep like everything else: get then
 * returns NULL. */
#include "oom.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "golf/pool.h"

enum { MAXOBJ = 4096, NHAND = 150 };
enum { HAND = 1, CACHED, FREED };

typedef struct obj {
    int id;
} obj;

static int state[MAXOBJ];
static int nobj;
static bool last_new_failed;

static void *
new_object(void *ctx)
{
    (void)ctx;
    obj *o = malloc(sizeof *o);
    last_new_failed = o == NULL;
    if (o == NULL)
        return NULL;
    OOM_CHECK(nobj < MAXOBJ, "too many objects");
    o->id = nobj++;
    state[o->id] = CACHED; /* get turns it into HAND */
    return o;
}

static void
free_object(void *p, void *ctx)
{
    (void)ctx;
    obj *o = p;
    OOM_CHECK(state[o->id] == CACHED, "free_object of object %d in state %d", o->id, state[o->id]);
    state[o->id] = FREED;
    free(o);
}

static const golf_pool_options opts = {new_object, free_object, NULL};

static obj *
p_get(golf_pool *p)
{
    last_new_failed = false;
    obj *o = golf_pool_get(p);
    if (o == NULL) {
        OOM_CHECK(last_new_failed, "get returned NULL, but new_object did not fail");
        return NULL;
    }
    OOM_CHECK(state[o->id] == CACHED, "get returned object %d in state %d", o->id, state[o->id]);
    state[o->id] = HAND;
    return o;
}

static void
p_put(golf_pool *p, obj *o)
{
    if (o == NULL)
        return;
    state[o->id] = CACHED;
    golf_pool_put(p, o);
}

static bool
pool_works(void)
{
    golf_pool *p = golf_pool_new(&opts);
    if (p == NULL)
        return false;
    obj *o = p_get(p);
    p_put(p, o);
    golf_pool_free(p);
    return o != NULL;
}

static golf_pool *
p_new(void)
{
    golf_pool *p = golf_pool_new(&opts);
    if (!OOM_PTR(p, "golf_pool_new"))
        oom_recovered(pool_works);
    return p;
}

static void
ops(void)
{
    oom_start();
    golf_pool *p = p_new();
    obj *hand[NHAND];
    for (int i = 0; i < NHAND; i++)
        hand[i] = p_get(p);
    for (int i = 0; i < NHAND; i++) /* past the 62-object slot: magazines to the depot */
        p_put(p, hand[i]);
    golf_pool_trim(p);
    for (int i = 0; i < 10; i++)
        hand[i] = p_get(p);
    for (int i = 0; i < 10; i++)
        p_put(p, hand[i]);
    golf_pool_trim(p);
    golf_pool_trim(p);
    for (int i = 0; i < 5; i++)
        hand[i] = p_get(p);
    for (int i = 0; i < 3; i++)
        p_put(p, hand[i]);
    oom_disarm();
    /* Allocation works again: the pool still gives and takes. */
    obj *o = p_get(p);
    OOM_CHECK(o != NULL, "get after recovery");
    p_put(p, o);
    golf_pool_free(p);
    for (int id = 0; id < nobj; id++)
        OOM_CHECK(state[id] != CACHED, "object %d still cached after golf_pool_free", id);
}

/* Threads whose first pool call registers a per-thread cache (its exit hook: a
 * pthread_setspecific that allocates past the application's 40 keys), put and exit. */
static golf_pool *shared;
static pthread_mutex_t model_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
thread_user(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&model_lock); /* the model is the test's, not the pool's concern */
    obj *o = p_get(shared);
    p_put(shared, o);
    pthread_mutex_unlock(&model_lock);
    return NULL;
}

static void
threads(void)
{
    oom_start();
    shared = p_new();
    for (int round = 0; round < 4; round++) {
        pthread_t t;
        if (pthread_create(&t, NULL, thread_user, NULL) == 0)
            pthread_join(t, NULL);
    }
    golf_pool_trim(shared);
    golf_pool_free(shared);
    for (int id = 0; id < nobj; id++)
        OOM_CHECK(state[id] == FREED, "object %d in state %d after golf_pool_free", id, state[id]);
}

/* A process's first pool, when its fork-handler registration has to allocate. */
static void
first_use_atfork(void)
{
    oom_start();
    golf_pool *p = p_new();
    p_put(p, p_get(p));
    golf_pool_free(p);
    oom_disarm();
    OOM_CHECK(pool_works(), "a pool after the run");
}

static void
per_thread_front_end(void)
{
    setenv("GOLF_POOL_PERCPU", "0", 1);
}

static void
per_thread_many_keys(void)
{
    per_thread_front_end();
    oom_fill_keys();
}

const oom_scenario oom_pool_scenarios[] = {
    {"pool_ops", NULL, ops},
    {"pool_ops_per_thread", per_thread_front_end, ops},
    {"pool_threads_many_keys", per_thread_many_keys, threads},
    {"pool_first_use_atfork", oom_fill_atfork, first_use_atfork},
    {NULL, NULL, NULL},
};
