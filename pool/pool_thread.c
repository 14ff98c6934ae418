/* The per-thread fallback front end: one cache per (thread, pool) pair.
 *
 * Used where the per-CPU rseq front end is not: other architectures, no rseq from glibc (or
 * GLIBC_TUNABLES=glibc.pthread.rseq=0), membarrier without the rseq commands, the
 * ThreadSanitizer build, GOLF_POOL_PERCPU=0, and any thread glibc did not register.
 *
 * A cache is the owner's alone in the common case, but trim, free and the owner's exit
 * destructor must reach it, so it carries a one-word lock: the owner takes it with one
 * uncontended exchange per operation and never waits for it (when trim holds it, the owner goes
 * to the depot under pool->mu instead, which trim also holds: the owner waits there, on a
 * mutex, not spinning). Trim/free/exit take it only with golf__pool_registry held, which
 * serialises them.
 *
 * Lifetime: the cache memory belongs to the owner thread, which frees it at exit (pthread key
 * destructor) or, once the pool was freed (cache->pool == NULL), the next time it registers a
 * cache. The owner matches caches by the pool's uid, never by address, so a pool allocated at
 * a freed pool's address never finds a dead cache. */
#include "lockfree/alloc.h"
#include "pool/pool_internal.h"

#include "lockfree/fatal.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

pthread_mutex_t golf__pool_registry = PTHREAD_MUTEX_INITIALIZER;

struct golf__pool_tstate {
    golf__pool_tcache *caches; /* this thread's caches, live and dead */
    golf__pool_tcache *last;   /* the one used last: the lookup hint */
    bool keyed;                /* the exit destructor is armed */
};

static __thread golf__pool_tstate tls;
static pthread_key_t exit_key;

static inline bool
tcache_trylock(golf__pool_tcache *c)
{
    /* [P2] acquire: takes the cache and everything the previous holder did to it; pairs with
     * [P2] release in tcache_unlock(). */
    return atomic_exchange_explicit(&c->lock, 1, memory_order_acquire) == 0;
}

static inline void
tcache_unlock(golf__pool_tcache *c)
{
    /* [P2] release: publishes n, objs and the objects' contents to the next holder. */
    atomic_store_explicit(&c->lock, 0, memory_order_release);
}

/* Cold-path lock (registry held): the owner holds it for a few instructions or while it waits
 * for pool->mu, which the caller does not hold yet, so this ends. */
static void
tcache_lock_wait(golf__pool_tcache *c)
{
    while (!tcache_trylock(c))
        sched_yield();
}

static void
mu_lock(golf_pool *p)
{
    if (pthread_mutex_lock(&p->mu) != 0)
        golf__fatal("golf: pool mutex lock failed");
}

/* At thread exit: hand every live cache's objects back to its pool's depot (what does not fit
 * under the depot cap is freed, under the registry lock), and free the cache memory. */
static void
thread_exit(void *arg)
{
    golf__pool_tstate *t = arg;
    pthread_mutex_lock(&golf__pool_registry);
    golf__pool_tcache *c = t->caches;
    while (c) {
        golf__pool_tcache *next = c->thr_next;
        golf_pool *p = c->pool;
        if (p) {
            tcache_lock_wait(c);
            mu_lock(p);
            size_t left = golf__pool_primary_add(p, c->objs, c->n);
            pthread_mutex_unlock(&p->mu);
            golf__pool_free_objs(p, c->objs, left);
            c->n = 0;
            if (c->pool_prev)
                c->pool_prev->pool_next = c->pool_next;
            else
                p->tcaches = c->pool_next;
            if (c->pool_next)
                c->pool_next->pool_prev = c->pool_prev;
        }
        free(c);
        c = next;
    }
    t->caches = NULL;
    t->last = NULL;
    t->keyed = false;
    pthread_mutex_unlock(&golf__pool_registry);
}

void
golf__pool_thread_init(void)
{
    if (pthread_key_create(&exit_key, thread_exit) != 0)
        golf__fatal("golf: pool: pthread_key_create failed");
}

__attribute__((noinline, cold)) static golf__pool_tcache *
tcache_register(golf_pool *p)
{
    pthread_mutex_lock(&golf__pool_registry);
    /* Free this thread's dead caches (their pools were freed) while we are here. */
    golf__pool_tcache **pp = &tls.caches;
    while (*pp) {
        golf__pool_tcache *d = *pp;
        if (!d->pool) {
            *pp = d->thr_next;
            if (tls.last == d)
                tls.last = NULL;
            free(d);
        } else {
            pp = &d->thr_next;
        }
    }
    golf__pool_tcache *c = golf__calloc(1, sizeof *c);
    if (c) {
        atomic_init(&c->lock, 0);
        c->uid = p->uid;
        c->pool = p;
        c->owner = &tls;
        c->pool_next = p->tcaches;
        if (p->tcaches)
            p->tcaches->pool_prev = c;
        p->tcaches = c;
        c->thr_next = tls.caches;
        tls.caches = c;
        tls.last = c;
    }
    pthread_mutex_unlock(&golf__pool_registry);
    if (c && !tls.keyed) {
        tls.keyed = pthread_setspecific(exit_key, &tls) == 0;
    }
    return c;
}

static inline golf__pool_tcache *
tcache_of(golf_pool *p)
{
    golf__pool_tcache *c = tls.last;
    if (GOLF__LIKELY(c && c->uid == p->uid))
        return c;
    for (c = tls.caches; c; c = c->thr_next) {
        if (c->uid == p->uid) {
            tls.last = c;
            return c;
        }
    }
    return tcache_register(p);
}

void *
golf__pool_thread_get(golf_pool *p)
{
    void *obj = NULL;
    golf__pool_tcache *c = tcache_of(p);
    if (GOLF__LIKELY(c && tcache_trylock(c))) {
        if (GOLF__LIKELY(c->n > 0)) {
            obj = c->objs[--c->n];
            tcache_unlock(c);
            return obj;
        }
        /* Empty: a whole magazine from primary refills the cache (holding the cache lock,
         * then mu: lock order I4). Victim objects go one at a time to the caller only. */
        mu_lock(p);
        golf__pool_mag *m = p->primary.head;
        if (m) {
            p->primary.head = m->next;
            p->primary.objs -= m->n;
            obj = m->objs[--m->n];
            memcpy(c->objs, m->objs, m->n * sizeof *m->objs);
            c->n = (uint32_t)m->n;
            m->n = 0; /* moved, not copied: the magazine no longer holds them (I5) */
            golf__pool_mag_recycle(p, m);
        } else {
            obj = golf__pool_depot_take_one(p);
        }
        pthread_mutex_unlock(&p->mu);
        tcache_unlock(c);
    } else {
        /* No cache (OOM), or trim/free/exit holds it: the depot directly. */
        mu_lock(p);
        obj = golf__pool_depot_take_one(p);
        pthread_mutex_unlock(&p->mu);
    }
    if (!obj && p->new_object)
        obj = p->new_object(p->ctx);
    return obj;
}

void
golf__pool_thread_put(golf_pool *p, void *obj)
{
    void *spill[GOLF__POOL_MAG_CAP];
    size_t left;
    golf__pool_tcache *c = tcache_of(p);
    if (GOLF__LIKELY(c && tcache_trylock(c))) {
        if (GOLF__LIKELY(c->n < GOLF__POOL_SLOT_CAP)) {
            c->objs[c->n++] = obj;
            tcache_unlock(c);
            return;
        }
        /* Full: the top half goes to primary as one magazine. */
        c->n -= GOLF__POOL_MAG_CAP;
        memcpy(spill, c->objs + c->n, sizeof spill);
        c->objs[c->n++] = obj;
        mu_lock(p);
        left = golf__pool_primary_add(p, spill, GOLF__POOL_MAG_CAP);
        pthread_mutex_unlock(&p->mu);
        tcache_unlock(c);
    } else {
        spill[0] = obj;
        mu_lock(p);
        left = golf__pool_primary_add(p, spill, 1);
        pthread_mutex_unlock(&p->mu);
    }
    golf__pool_free_objs(p, spill, left); /* over the depot cap: excess freed */
}

void
golf__pool_thread_lock_all(golf_pool *p)
{
    for (golf__pool_tcache *c = p->tcaches; c; c = c->pool_next)
        tcache_lock_wait(c);
}

void
golf__pool_thread_to_victim(golf_pool *p)
{
    for (golf__pool_tcache *c = p->tcaches; c; c = c->pool_next) {
        size_t left = golf__pool_victim_add(p, c->objs, c->n);
        golf__pool_free_objs(p, c->objs, left); /* OOM only, with mu held: documented */
        c->n = 0;
    }
}

void
golf__pool_thread_unlock_all(golf_pool *p)
{
    for (golf__pool_tcache *c = p->tcaches; c; c = c->pool_next)
        tcache_unlock(c);
}

void
golf__pool_thread_detach_all(golf_pool *p)
{
    golf__pool_tcache *c = p->tcaches;
    while (c) {
        golf__pool_tcache *next = c->pool_next;
        tcache_lock_wait(c);
        mu_lock(p);
        size_t left = golf__pool_victim_add(p, c->objs, c->n);
        pthread_mutex_unlock(&p->mu);
        golf__pool_free_objs(p, c->objs, left); /* OOM only */
        c->n = 0;
        c->pool = NULL; /* dead: the owner frees it at its next registration or at exit */
        c->pool_next = c->pool_prev = NULL;
        tcache_unlock(c);
        c = next;
    }
    p->tcaches = NULL;
}
