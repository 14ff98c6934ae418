/* SPDX-License-Identifier: MIT */
/* Regression: pool callbacks that re-enter golf.
 *
 * new_object takes a buffer from another pool (inner) and locks a golf mutex; free_object puts
 * into a third pool (graveyard) that the calling thread may never have touched, locks the golf
 * mutex and sends on a buffered golf channel. They run from get (new_object), put over the cap,
 * trim, golf_pool_free, and a thread's exit destructor with the depot full: the destructor used
 * to call free_object with the global pool registry held, so a free_object whose thread had no
 * cache of the graveyard pool yet deadlocked registering one. Under a watchdog; both front ends.
 * Every object must be freed exactly once, never while held. */
#include "regress/regress.h"

#include <golf/chan.h>
#include <golf/pool.h>
#include <golf/sync.h>
#include <pthread.h>

#define MAGIC 0x7265656e7472616eull

typedef struct robj {
    uint64_t magic;
    _Atomic int held;
    _Atomic int freed;
    void *buf; /* from the inner pool */
} robj;

static golf_pool *outer, *inner, *graveyard;
static golf_mutex mu;
static golf_chan *freed_ch;
static atomic_long created, freed, errors, sent;

static void *
inner_new(void *ctx)
{
    (void)ctx;
    return malloc(64);
}

static void *
outer_new(void *ctx)
{
    (void)ctx;
    robj *o = calloc(1, sizeof *o);
    REGRESS_CHECK(o, "calloc");
    o->magic = MAGIC;
    o->buf = golf_pool_get(inner); /* re-enters golf: another pool */
    REGRESS_CHECK(o->buf, "inner get");
    golf_mutex_lock(&mu);
    atomic_fetch_add(&created, 1);
    golf_mutex_unlock(&mu);
    return o;
}

static void
outer_free(void *p, void *ctx)
{
    (void)ctx;
    robj *o = p;
    if (o->magic != MAGIC || atomic_exchange(&o->freed, 1) || atomic_load(&o->held)) {
        fprintf(stderr, "free_object of a held or freed object\n");
        atomic_fetch_add(&errors, 1);
        return;
    }
    golf_pool_put(inner, o->buf);
    golf_mutex_lock(&mu);
    atomic_fetch_add(&freed, 1);
    golf_mutex_unlock(&mu);
    long one = 1;
    if (golf_chan_try_send(freed_ch, &one) == GOLF_OK)
        atomic_fetch_add(&sent, 1);
    o->magic = 0;
    golf_pool_put(graveyard, o); /* first touch of this pool on this thread, perhaps */
}

static robj *
get(void)
{
    robj *o = golf_pool_get(outer);
    REGRESS_CHECK(o && o->magic == MAGIC, "get");
    REGRESS_CHECK(atomic_exchange(&o->held, 1) == 0, "object handed to two holders");
    return o;
}

static void
put(robj *o)
{
    atomic_store(&o->held, 0);
    golf_pool_put(outer, o);
}

/* A fresh thread (no cache of any pool yet) that fills its cache of `outer` and exits: its
 * destructor hands the objects to a full depot, so free_object runs in the destructor. */
static void *
exiter(void *arg)
{
    robj **objs = arg;
    for (int i = 0; i < 62; i++)
        put(objs[i]);
    return NULL;
}

static void
run(const char *percpu)
{
    regress_pool_front_end(percpu);
    atomic_store(&created, 0);
    atomic_store(&freed, 0);
    atomic_store(&sent, 0);
    golf_pool_options io = {inner_new, NULL, NULL};
    golf_pool_options oo = {outer_new, outer_free, NULL};
    golf_pool_options go = {NULL, NULL, NULL}; /* graveyard: free() */
    inner = golf_pool_new(&io);
    outer = golf_pool_new(&oo);
    graveyard = golf_pool_new(&go);
    freed_ch = golf_chan_new(sizeof(long), 1 << 16);
    REGRESS_CHECK(inner && outer && graveyard && freed_ch, "new");

    /* Enough to fill this thread's cache and the depot, and then some freed at once by put. */
    enum { N = 20000 };
    robj **h = malloc(N * sizeof *h);
    robj *hand[62];
    for (int i = 0; i < 62; i++)
        hand[i] = get();
    for (int i = 0; i < N; i++)
        h[i] = get();
    for (int i = 0; i < N; i++)
        put(h[i]);
    long before = atomic_load(&freed);
    REGRESS_CHECK(before > 0, "no put over the cap freed anything");
    pthread_t t;
    pthread_create(&t, NULL, exiter, hand);
    pthread_join(t, NULL);
    golf_pool_trim(outer);
    for (int i = 0; i < 100; i++)
        h[i] = get();
    for (int i = 0; i < 100; i++)
        put(h[i]);
    golf_pool_trim(outer);
    golf_pool_trim(outer);
    golf_pool_free(outer);
    REGRESS_CHECK(atomic_load(&created) == atomic_load(&freed), "created %ld, freed %ld",
                  atomic_load(&created), atomic_load(&freed));
    REGRESS_CHECK(atomic_load(&errors) == 0, "%ld ownership errors", atomic_load(&errors));
    REGRESS_CHECK((size_t)atomic_load(&sent) == golf_chan_len(freed_ch), "channel count");
    fprintf(stderr, "%s: %ld objects created and freed through re-entrant callbacks\n",
            percpu ? "GOLF_POOL_PERCPU=0" : "default front end", atomic_load(&created));
    golf_pool_free(graveyard);
    golf_pool_free(inner);
    golf_chan_free(freed_ch);
    free(h);
}

int
main(void)
{
    regress_watchdog(60);
    run("0");
    run(NULL);
    printf("PASS pool_reentrant\n");
    return 0;
}
