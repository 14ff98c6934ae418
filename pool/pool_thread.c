/* SPDX-License-Identifier: MIT */
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
 * cache; an orphan (a forked child's copy of another thread's cache) is freed by trim or free.
 * The owner matches caches by the pool's uid, never by address, so a pool allocated at a freed
 * pool's address never finds a dead cache. Ownership and liveness rules: README.md (O1-O7,
 * L1-L4); fork: the handlers below. */
#include "lockfree/alloc.h"
#include "lockfree/backoff.h"
#include "lockfree/chaos.h"
#include "lockfree/debug.h"
#include "pool_struct.h"

#include "lockfree/fatal.h"
#include "lockfree/setup.h"

#include <stdlib.h>
#include <string.h>

pthread_mutex_t golf__pool_registry = PTHREAD_MUTEX_INITIALIZER;
/* Signalled (with the registry held) when a pool's `exiting` count drops to 0. */
static pthread_cond_t exit_cv = PTHREAD_COND_INITIALIZER;
/* Every live pool, under the registry (the fork handlers lock and repair them all). */
static golf_pool *all_pools;

struct golf__pool_tstate {
    golf__pool_tcache *caches; /* this thread's caches, live and dead */
    golf__pool_tcache *last;   /* the one used last: the lookup hint */
    bool keyed;                /* the exit destructor is armed */
};

static __thread golf__pool_tstate tls;
/* The pool whose excess this thread's exit destructor is freeing right now (its `exiting`
 * count includes us), or NULL. Read by fork_child: a free_object that forks makes a child in
 * which this very thread goes on to decrement that count. */
static __thread golf_pool *tls_exiting_in;
/* The exit destructor's key and the fork handlers: made at load time (pool_load), retried by
 * golf_pool_new if that failed (lockfree/setup.h). */
static golf__setup pool_setup = GOLF__SETUP_INIT;

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
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_COLD);
    while (!tcache_trylock(c))
        golf__backoff_wait(&b);
}

static void
reg_lock(void)
{
    if (pthread_mutex_lock(&golf__pool_registry) != 0)
        golf__fatal("golf: pool registry lock failed");
}

static void
reg_unlock(void)
{
    pthread_mutex_unlock(&golf__pool_registry);
}

/* Unlinks c from its pool's cache list (registry held). */
static void
tcache_unlink(golf_pool *p, golf__pool_tcache *c)
{
    if (c->pool_prev)
        c->pool_prev->pool_next = c->pool_next;
    else
        p->tcaches = c->pool_next;
    if (c->pool_next)
        c->pool_next->pool_prev = c->pool_prev;
    c->pool_next = c->pool_prev = NULL;
}

/* At thread exit: hand every live cache's objects back to its pool's primary and free the cache
 * memory. What does not fit under the depot cap is freed, with no lock held (free_object may use
 * golf, even register a cache of another pool on this thread: the loop takes that one too). The
 * pool stays alive meanwhile: its `exiting` count makes golf_pool_free wait (README O5). */
static void
thread_exit(void *arg)
{
    golf__pool_tstate *t = arg;
    void *left[GOLF__POOL_SLOT_CAP];
    reg_lock();
    golf__pool_tcache *c;
    while ((c = t->caches) != NULL) {
        t->caches = c->thr_next;
        if (t->last == c)
            t->last = NULL;
        golf_pool *p = c->pool;
        size_t nleft = 0;
        if (p) {
            /* Uncontended (trim and free hold the registry, the owner is this thread); taken
             * for [P2]: trim's last changes to the cache happen before this read. */
            tcache_lock_wait(c);
            golf__depot_lock(&p->depot);
            nleft = golf__depot_add(&p->depot, c->objs, c->n);
            golf__depot_unlock(&p->depot);
            memcpy(left, c->objs, nleft * sizeof *left);
            c->n = 0;
            tcache_unlink(p, c);
            if (nleft)
                p->exiting++;
        }
        free(c);
        if (nleft) {
            reg_unlock();
            tls_exiting_in = p;
            golf__depot_free_objs(&p->depot, left, nleft);
            tls_exiting_in = NULL;
            reg_lock();
            if (--p->exiting == 0)
                pthread_cond_broadcast(&exit_cv);
        }
    }
    t->last = NULL;
    t->keyed = false;
    reg_unlock();
}

/* ---- fork ----
 * prepare: take the registry and every pool's mu, so that no trim, free, registration, thread
 * exit or depot transfer is half-done in the child. parent: release them. child: the caches of
 * threads that do not exist in the child become orphans (owner NULL) with their lock word reset:
 * their owner may have held it mid-operation, but every operation under the cache lock alone is
 * a pop or push whose single store of n leaves the cache consistent (an object in the dead
 * thread's hands is simply held forever), and transfers under mu cannot be in progress. Trim and
 * free reclaim orphans. The slots need no repair (rseq commits are single stores; see README). */
static void
fork_prepare(void)
{
    reg_lock();
    for (golf_pool *p = all_pools; p; p = p->all_next)
        golf__depot_lock(&p->depot);
}

static void
fork_parent(void)
{
    for (golf_pool *p = all_pools; p; p = p->all_next)
        golf__depot_unlock(&p->depot);
    reg_unlock();
}

static void
fork_child(void)
{
    /* A parent thread may have been waiting in golf_pool_free on exit_cv: its waiter record
     * would confuse the condition variable in the child, which has no such thread. */
    pthread_cond_init(&exit_cv, NULL);
    for (golf_pool *p = all_pools; p; p = p->all_next) {
        /* Exits that were freeing p's excess do not exist in the child: their objects are held
         * forever, and golf_pool_free must not wait for them. Except ours: if a free_object of
         * our own exit destructor forked, the child's copy of us finishes that exit and
         * decrements the count (resetting it to 0 made that wrap, and golf_pool_free wait
         * forever). */
        p->exiting = tls_exiting_in == p ? 1u : 0u;
        for (golf__pool_tcache *c = p->tcaches; c; c = c->pool_next) {
            if (c->owner != &tls) {
                c->owner = NULL;
                /* Relaxed: the child has one thread. */
                atomic_store_explicit(&c->lock, 0, memory_order_relaxed);
            }
        }
        golf__depot_unlock(&p->depot);
    }
    reg_unlock();
}

int
golf__pool_thread_init(void)
{
    return golf__setup_run(&pool_setup, thread_exit, fork_prepare, fork_parent, fork_child);
}

__attribute__((constructor)) static void
pool_load(void)
{
    (void)golf__pool_thread_init();
}

void
golf__pool_link(golf_pool *p)
{
    reg_lock();
    p->all_prev = NULL;
    p->all_next = all_pools;
    if (all_pools)
        all_pools->all_prev = p;
    all_pools = p;
    reg_unlock();
}

__attribute__((noinline, cold)) static golf__pool_tcache *
tcache_register(golf_pool *p)
{
    /* Arm the exit destructor first: a cache it would not hand back at exit must not exist
     * (its objects would stay out of every get until a trim). */
    if (!tls.keyed)
        tls.keyed = pthread_setspecific(pool_setup.key, &tls) == 0;
    if (!tls.keyed)
        return NULL;
    reg_lock();
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
    reg_unlock();
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
    GOLF__POINT(POOL_THREAD);
    if (GOLF__LIKELY(c && tcache_trylock(c))) {
        GOLF__ASSERT(c->n <= GOLF__POOL_SLOT_CAP, "I1 pool: a thread cache holds more than it can");
        if (GOLF__LIKELY(c->n > 0)) {
            obj = c->objs[--c->n];
            tcache_unlock(c);
            return obj;
        }
        /* Empty: a whole magazine from primary refills the cache (holding the cache lock,
         * then mu: lock order I4). Victim objects go one at a time to the caller only. */
        golf__depot_lock(&p->depot);
        golf__pool_mag *m = golf__depot_take_full(&p->depot);
        if (m) {
            obj = m->objs[--m->n];
            memcpy(c->objs, m->objs, m->n * sizeof *m->objs);
            c->n = (uint32_t)m->n;
            golf__depot_give_empty(&p->depot, m); /* moved, not copied: n = 0 (I5) */
        } else {
            obj = golf__depot_take_one(&p->depot);
        }
        golf__depot_unlock(&p->depot);
        tcache_unlock(c);
    } else {
        /* No cache (OOM), or trim/free/exit holds it: the depot directly. */
        golf__depot_lock(&p->depot);
        obj = golf__depot_take_one(&p->depot);
        golf__depot_unlock(&p->depot);
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
    GOLF__POINT(POOL_THREAD);
    if (GOLF__LIKELY(c && tcache_trylock(c))) {
        GOLF__ASSERT(c->n <= GOLF__POOL_SLOT_CAP, "I1 pool: a thread cache holds more than it can");
        if (GOLF__LIKELY(c->n < GOLF__POOL_SLOT_CAP)) {
            c->objs[c->n++] = obj;
            tcache_unlock(c);
            return;
        }
        /* Full: the top half goes to primary as one magazine. */
        c->n -= GOLF__POOL_MAG_CAP;
        memcpy(spill, c->objs + c->n, sizeof spill);
        c->objs[c->n++] = obj;
        golf__depot_lock(&p->depot);
        left = golf__depot_add(&p->depot, spill, GOLF__POOL_MAG_CAP);
        golf__depot_unlock(&p->depot);
        tcache_unlock(c);
    } else {
        spill[0] = obj;
        golf__depot_lock(&p->depot);
        left = golf__depot_add(&p->depot, spill, 1);
        golf__depot_unlock(&p->depot);
    }
    golf__depot_free_objs(&p->depot, spill, left); /* over the depot cap: excess freed */
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
        /* Out of memory for a magazine, the objects that did not fit (moved to the front) stay
         * in the cache, still cached: no free_object with locks held, nothing lost. */
        c->n = (uint32_t)golf__depot_add_victim(&p->depot, c->objs, c->n);
    }
}

void
golf__pool_thread_unlock_all(golf_pool *p)
{
    golf__pool_tcache *c = p->tcaches;
    while (c) {
        golf__pool_tcache *next = c->pool_next;
        if (c->owner || c->n) {
            tcache_unlock(c);
        } else {
            /* An orphan (fork), emptied by _to_victim: no thread will ever use it. */
            tcache_unlink(p, c);
            free(c);
        }
        c = next;
    }
}

void
golf__pool_thread_detach_all(golf_pool *p)
{
    void *objs[GOLF__POOL_SLOT_CAP];
    reg_lock();
    golf__pool_tcache *c;
    /* One cache at a time, its objects freed with no lock held (free_object may use golf). No
     * allocation: free succeeds out of memory too. p's list only shrinks meanwhile (thread
     * exits; nobody registers, since nobody uses p). */
    while ((c = p->tcaches) != NULL) {
        tcache_lock_wait(c);
        size_t n = c->n;
        memcpy(objs, c->objs, n * sizeof *objs);
        c->n = 0;
        tcache_unlink(p, c);
        if (c->owner) {
            c->pool = NULL; /* dead: the owner frees it at its next registration or at exit */
            tcache_unlock(c);
        } else {
            free(c); /* an orphan (fork): no owner will */
        }
        reg_unlock();
        golf__depot_free_objs(&p->depot, objs, n);
        reg_lock();
    }
    /* Thread exits that took objects of p out of their caches are still freeing them (O5). */
    while (p->exiting)
        pthread_cond_wait(&exit_cv, &golf__pool_registry);
    if (p->all_prev)
        p->all_prev->all_next = p->all_next;
    else
        all_pools = p->all_next;
    if (p->all_next)
        p->all_next->all_prev = p->all_prev;
    reg_unlock();
}
