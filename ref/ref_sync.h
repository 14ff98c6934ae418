/* SPDX-License-Identifier: MIT */
/* The pthread reference of golf's sync primitives: the baseline golf-bench compares against and
 * the model the tests cross-check. Plain pthread objects; each needs its *_INIT initializer. */
#ifndef GOLF_REF_SYNC_H
#define GOLF_REF_SYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* clang-format 14 would spread the braces of each *_INIT over four lines */
/* clang-format off */
typedef struct ref_mutex {
    pthread_mutex_t mu;
} ref_mutex;
#define REF_MUTEX_INIT {PTHREAD_MUTEX_INITIALIZER}

typedef struct ref_rwmutex {
    pthread_rwlock_t rw; /* writer-preferring, as Go's */
} ref_rwmutex;
#define REF_RWMUTEX_INIT {PTHREAD_RWLOCK_INITIALIZER}

typedef struct ref_once {
    pthread_mutex_t mu;
    bool done;
} ref_once;
#define REF_ONCE_INIT {PTHREAD_MUTEX_INITIALIZER, false}

typedef struct ref_waitgroup {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t counter;
} ref_waitgroup;
#define REF_WAITGROUP_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0}

typedef struct ref_cond {
    pthread_cond_t cv;
} ref_cond;
#define REF_COND_INIT {PTHREAD_COND_INITIALIZER}
/* clang-format on */

void ref_mutex_lock(ref_mutex *m);
bool ref_mutex_trylock(ref_mutex *m);
void ref_mutex_unlock(ref_mutex *m);

/* Writer preference; REF_RWMUTEX_INIT is reader-preferring. */
void ref_rwmutex_init(ref_rwmutex *m);
void ref_rwmutex_rlock(ref_rwmutex *m);
void ref_rwmutex_runlock(ref_rwmutex *m);
void ref_rwmutex_lock(ref_rwmutex *m);
void ref_rwmutex_unlock(ref_rwmutex *m);

void ref_once_do(ref_once *o, void (*fn)(void *arg), void *arg);

void ref_waitgroup_add(ref_waitgroup *wg, int64_t delta); /* below zero: abort */
void ref_waitgroup_done(ref_waitgroup *wg);
void ref_waitgroup_wait(ref_waitgroup *wg);

/* m locked by the caller. pthread_cond_wait may wake spuriously (golf_cond_wait does not):
 * callers wait in a loop on their condition, as Go's Cond requires anyway. */
void ref_cond_wait(ref_cond *c, ref_mutex *m);
void ref_cond_signal(ref_cond *c);
void ref_cond_broadcast(ref_cond *c);

#endif
