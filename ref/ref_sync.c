/* SPDX-License-Identifier: MIT */
/* The pthread reference of golf's sync primitives. */
#include "ref_sync.h"

#include <stdio.h>
#include <stdlib.h>

void
ref_mutex_lock(ref_mutex *m)
{
    pthread_mutex_lock(&m->mu);
}

bool
ref_mutex_trylock(ref_mutex *m)
{
    return pthread_mutex_trylock(&m->mu) == 0;
}

void
ref_mutex_unlock(ref_mutex *m)
{
    pthread_mutex_unlock(&m->mu);
}

void
ref_rwmutex_init(ref_rwmutex *m)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&m->rw, &a);
    pthread_rwlockattr_destroy(&a);
}

void
ref_rwmutex_rlock(ref_rwmutex *m)
{
    pthread_rwlock_rdlock(&m->rw);
}

void
ref_rwmutex_runlock(ref_rwmutex *m)
{
    pthread_rwlock_unlock(&m->rw);
}

void
ref_rwmutex_lock(ref_rwmutex *m)
{
    pthread_rwlock_wrlock(&m->rw);
}

void
ref_rwmutex_unlock(ref_rwmutex *m)
{
    pthread_rwlock_unlock(&m->rw);
}

void
ref_once_do(ref_once *o, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&o->mu);
    if (!o->done) {
        fn(arg);
        o->done = true;
    }
    pthread_mutex_unlock(&o->mu);
}

void
ref_waitgroup_add(ref_waitgroup *wg, int64_t delta)
{
    pthread_mutex_lock(&wg->mu);
    wg->counter += delta;
    if (wg->counter < 0) {
        fprintf(stderr, "fatal error: sync: negative WaitGroup counter\n");
        abort();
    }
    if (wg->counter == 0)
        pthread_cond_broadcast(&wg->cv);
    pthread_mutex_unlock(&wg->mu);
}

void
ref_waitgroup_done(ref_waitgroup *wg)
{
    ref_waitgroup_add(wg, -1);
}

void
ref_waitgroup_wait(ref_waitgroup *wg)
{
    pthread_mutex_lock(&wg->mu);
    while (wg->counter != 0)
        pthread_cond_wait(&wg->cv, &wg->mu);
    pthread_mutex_unlock(&wg->mu);
}

void
ref_cond_wait(ref_cond *c, ref_mutex *m)
{
    pthread_cond_wait(&c->cv, &m->mu);
}

void
ref_cond_signal(ref_cond *c)
{
    pthread_cond_signal(&c->cv);
}

void
ref_cond_broadcast(ref_cond *c)
{
    pthread_cond_broadcast(&c->cv);
}
