/* golf/sync.h: Go's Mutex, RWMutex, Once and WaitGroup.
 *
 * Zero value ready (Go's rule): a zeroed struct is an unlocked mutex, an unlocked RWMutex, an
 * unset Once, an empty WaitGroup. `golf_mutex m = {0};` or memset is enough; there is no init and
 * no destroy. Do not copy one after first use (as in Go).
 *
 * The fields are private: they are declared so the types are complete (embeddable, static), and
 * are only ever accessed atomically by golf (C11 atomics on these words; see sync/README.md).
 *
 * Memory model (Go's words): for a mutex, the n'th unlock synchronizes before the (n+1)'th lock
 * returns. For an RWMutex, an unlock synchronizes before any later rlock or lock returns, and an
 * runlock before the next lock returns. Once: the return of fn synchronizes before the return of
 * any golf_once_do. WaitGroup: each done synchronizes before the wait it unblocks returns. */
#ifndef GOLF_SYNC_H
#define GOLF_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "golf/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct golf_mutex {
    int32_t state_;   /* locked | woken | starving | waiters << 3 (sync/mutex.c) */
    uint32_t sema_;   /* futex semaphore the waiters park on */
} golf_mutex;

typedef struct golf_rwmutex {
    golf_mutex w_;           /* held by writers (Go's rw.w) */
    uint32_t writer_sem_;    /* a writer waits here for departing readers */
    uint32_t reader_sem_;    /* readers wait here for the writer */
    int32_t reader_count_;   /* pending readers; minus 1<<30 while a writer is pending */
    int32_t reader_wait_;    /* departing readers the writer still waits for */
} golf_rwmutex;

typedef struct golf_once {
    uint32_t done_;          /* 1 once fn has returned */
    golf_mutex m_;
} golf_once;

typedef struct golf_waitgroup {
    uint64_t state_;         /* counter << 32 | waiters */
    uint32_t sema_;
} golf_waitgroup;

/* Locks m; blocks (spin briefly, then park on a futex) until it is available. After a waiter has
 * waited over 1 ms the mutex turns to starvation mode and hands itself to waiters in order. */
GOLF_API void golf_mutex_lock(golf_mutex *m);
/* Locks m if it is free and not in starvation mode; never blocks. */
GOLF_API bool golf_mutex_trylock(golf_mutex *m);
/* Unlocks m; any thread may unlock (as in Go). Unlocked: fatal "sync: unlock of unlocked mutex". */
GOLF_API void golf_mutex_unlock(golf_mutex *m);

/* Read-locks m. A writer waiting in golf_rwmutex_lock keeps new readers out (no writer starvation),
 * so a thread must not rlock recursively. */
GOLF_API void golf_rwmutex_rlock(golf_rwmutex *m);
GOLF_API bool golf_rwmutex_tryrlock(golf_rwmutex *m);
/* Not read-locked: fatal "sync: RUnlock of unlocked RWMutex". */
GOLF_API void golf_rwmutex_runlock(golf_rwmutex *m);
GOLF_API void golf_rwmutex_lock(golf_rwmutex *m);
GOLF_API bool golf_rwmutex_trylock(golf_rwmutex *m);
/* Not locked: fatal "sync: Unlock of unlocked RWMutex". */
GOLF_API void golf_rwmutex_unlock(golf_rwmutex *m);

/* Calls fn(arg) if and only if this is the first call for o; every caller returns only after fn
 * has returned. fn must not call golf_once_do on the same o (deadlock, as in Go). */
GOLF_API void golf_once_do(golf_once *o, void (*fn)(void *arg), void *arg);

/* Adds delta (may be negative) to the counter; when it reaches zero every waiter is released.
 * Below zero: fatal "sync: negative WaitGroup counter". */
GOLF_API void golf_waitgroup_add(golf_waitgroup *wg, int64_t delta);
GOLF_API void golf_waitgroup_done(golf_waitgroup *wg);
/* Blocks until the counter is zero. */
GOLF_API void golf_waitgroup_wait(golf_waitgroup *wg);
/* add(1), then runs fn(arg) on a new detached thread followed by done(). Returns GOLF_OK,
 * GOLF_EINVAL for a NULL wg or fn, or GOLF_ENOMEM when no thread could be started (the add is
 * undone). */
GOLF_API int golf_waitgroup_go(golf_waitgroup *wg, void (*fn)(void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* GOLF_SYNC_H */
