/* SPDX-License-Identifier: MIT */
/* Regression: allocation failure at every allocation site of the pool.
 *
 * For n = 0, 1, 2, ...: golf's next n allocations succeed and every later one fails
 * (golf__alloc_set_fail), then a cold pool goes through golf_pool_new, a first get and put on a
 * fresh thread (cache registration), puts past a cache and past the depot cap (magazines), gets,
 * trims (victim magazines), a thread exit with a full cache (magazines), and golf_pool_free. The
 * answers must be the documented ones (include/golf/pool.h): golf_pool_new NULL with errno
 * ENOMEM; get never NULL while new_object succeeds (the pool's own bookkeeping failing is not
 * the caller's problem); put, trim and free have none. And nothing lost: every object created
 * is freed exactly once, by the pool or by the test for those it holds, never while held. Until
 * an n at which nothing failed. Both front ends. free_object re-enters golf (a put into another
 * pool) while out of memory. */
#include "regress/regress.h"

#include <errno.h>
#include <golf/pool.h>
#include <pthread.h>

#include "lockfree/alloc.h"

#define MAGIC 0x6f6f6d6f626a6563ull

typedef struct mobj {
    uint64_t magic;
    _Atomic int held;
    _Atomic int freed;
} mobj;

static atomic_long created, freed_pool, errors;
/* free_object also puts a token into this pool (created before the failures start): a callback
 * that re-enters golf, here out of memory too, must not deadlock against the pool's locks. */
static golf_pool *side;

static void *
mk(void *ctx)
{
    (void)ctx;
    mobj *o = calloc(1, sizeof *o); /* plain calloc: objects never fail, only the pool's own */
    REGRESS_CHECK(o, "calloc");
    o->magic = MAGIC;
    atomic_fetch_add(&created, 1);
    return o;
}

static void
rm(void *p, void *ctx)
{
    (void)ctx;
    mobj *o = p;
    if (o->magic != MAGIC || atomic_exchange(&o->freed, 1) || atomic_load(&o->held)) {
        fprintf(stderr, "free_object(%p): magic %d, freed before %d, held %d\n", p,
                o->magic == MAGIC, atomic_load(&o->freed), atomic_load(&o->held));
        atomic_fetch_add(&errors, 1);
        return;
    }
    o->magic = 0;
    atomic_fetch_add(&freed_pool, 1);
    free(o);
    golf_pool_put(side, malloc(16)); /* plain malloc: the token itself never fails */
}

static golf_pool *pool;

static mobj *
get(void)
{
    mobj *o = golf_pool_get(pool);
    REGRESS_CHECK(o != NULL, "get returned NULL under OOM although new_object succeeds");
    REGRESS_CHECK(o->magic == MAGIC && atomic_exchange(&o->held, 1) == 0,
                  "get handed out a freed or held object");
    return o;
}

static void
put(mobj *o)
{
    atomic_store(&o->held, 0);
    golf_pool_put(pool, o);
}

enum { MANY = 2000, KEEP = 5 };
static mobj *kept[KEEP];

/* A fresh thread: the pool is cold for it. Ends with a full cache, handed back at exit. */
static void *
worker(void *arg)
{
    (void)arg;
    mobj **h = malloc(MANY * sizeof *h);
    REGRESS_CHECK(h, "malloc");
    for (int i = 0; i < MANY; i++)
        h[i] = get();
    for (int i = 0; i < MANY; i++)
        put(h[i]);
    for (int i = 0; i < 300; i++) /* refills from primary: magazines go to the spare list */
        h[i] = get();
    for (int i = 0; i < 300; i++)
        put(h[i]);
    golf_pool_trim(pool);
    for (int i = 0; i < 100; i++)
        h[i] = get();
    for (int i = 0; i < 100; i++)
        put(h[i]);
    for (int i = 0; i < KEEP; i++)
        kept[i] = get(); /* still held when the pool is freed */
    free(h);
    return NULL;
}

/* One round with n allocations allowed; true when none failed (n was enough for everything). */
static bool
round_n(long n, const char *mode)
{
    atomic_store(&created, 0);
    atomic_store(&freed_pool, 0);
    unsigned long a0 = golf__alloc_count();
    golf__alloc_set_fail(n);
    golf_pool_options o = {mk, rm, NULL};
    errno = 0;
    pool = golf_pool_new(&o);
    if (!pool) {
        golf__alloc_set_fail(-1);
        REGRESS_CHECK(errno == ENOMEM, "%s n=%ld: golf_pool_new NULL with errno %d", mode, n,
                      errno);
        return false;
    }
    pthread_t t;
    REGRESS_CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);
    put(get()); /* the main thread's first use (cold for it too) */
    golf_pool_trim(pool);
    golf_pool_free(pool);
    unsigned long used = golf__alloc_count() - a0;
    golf__alloc_set_fail(-1);
    long held = 0;
    for (int i = 0; i < KEEP; i++) {
        if (atomic_load(&kept[i]->freed))
            REGRESS_FAIL("%s n=%ld: a held object was freed", mode, n);
        free(kept[i]);
        held++;
    }
    long c = atomic_load(&created), f = atomic_load(&freed_pool);
    REGRESS_CHECK(atomic_load(&errors) == 0, "%s n=%ld: %ld objects freed twice or while held",
                  mode, n, atomic_load(&errors));
    REGRESS_CHECK(c == f + held, "%s n=%ld: created %ld, freed %ld + held %ld: %ld lost", mode, n,
                  c, f, held, c - f - held);
    return used < (unsigned long)n; /* fewer attempts than allowed: no failure happened */
}

static void
run(const char *percpu)
{
    regress_pool_front_end(percpu);
    const char *mode = percpu ? "GOLF_POOL_PERCPU=0" : "default front end";
    long n = 0;
    while (!round_n(n, mode)) {
        n++;
        REGRESS_CHECK(n < 5000, "%s: allocations never stop failing", mode);
    }
    fprintf(stderr, "%s: every allocation site failed in turn (n = 0..%ld): no object lost\n", mode,
            n);
}

int
main(void)
{
    regress_watchdog(300);
    side = golf_pool_new(NULL);
    REGRESS_CHECK(side, "side pool");
    run("0");
    run(NULL);
    golf_pool_free(side);
    printf("PASS pool_oom\n");
    return 0;
}
