/* SPDX-License-Identifier: MIT */
/* golf/sync.h: Go's Mutex, RWMutex, Once, WaitGroup and Cond.
 *
 * Zero value ready (Go's rule): a zeroed struct is an unlocked mutex, an unlocked RWMutex, an
 * unset Once, an empty WaitGroup, a Cond nobody waits on. `golf_mutex m = {0};` or memset is
 * enough; there is no init and no destroy. Do not copy one after first use (as in Go).
 *
 * The fields are private: they are declared so the types are complete (embeddable, static), and
 * are only ever accessed atomically by golf (C11 atomics on these words; see sync/README.md).
 *
 * Memory model (Go's words): for a mutex, the n'th unlock synchronizes before the (n+1)'th lock
 * returns. For an RWMutex, an unlock synchronizes before any later rlock or lock returns, and an
 * runlock before the next lock returns. Once: the return of fn synchronizes before the return of
 * any golf_once_do. WaitGroup: each done synchronizes before the wait it unblocks returns. Cond:
 * a signal or broadcast synchronizes before the return of each wait it wakes (the relock of the
 * mutex orders the rest, as in Go).
 *
 * Lifetime (no destroy call, so this is the rule for freeing one): once an operation has returned
 * in a thread, and that thread learns through golf that every other user is done with the object,
 * it may free (or reuse) the memory at once, even while another thread's unlock, runlock or done
 * that let it proceed has not yet returned. For example: lock; last = (--refs == 0); unlock; if
 * (last) free: the last locker frees. The same holds after golf_rwmutex_rlock/runlock behind a
 * writer's unlock, after golf_rwmutex_lock behind the readers' runlocks, after golf_waitgroup_wait
 * returns (every done's wg access is over), after golf_once_do, and after a golf_cond_wait woken
 * by a signal or broadcast (that call's access to the cond is over). golf's last access to the
 * object in every operation comes before that operation can let another one return; what may
 * follow is only a futex wake-up on the address, which reads no memory (sync/README.md, L1).
 * Freeing while another thread is still inside an operation it has not finished (a waiter still
 * in golf_waitgroup_wait, a thread still in golf_mutex_lock) is a use-after-free, as in C. */
#ifndef GOLF_SYNC_H
#define GOLF_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "golf/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct golf_mutex {
    int32_t state_; /* locked | woken | starving | signal | prewait | heir | waiters << 6;
                       the waiters' futex */
    uint32_t sema_; /* where arriving threads wait while a wake-up is outstanding */
} golf_mutex;

typedef struct golf_rwmutex {
    golf_mutex w_;         /* held by writers (Go's rw.w) */
    uint32_t writer_sem_;  /* a writer waits here for departing readers */
    uint32_t reader_sem_;  /* unused (kept for the layout) */
    int32_t reader_count_; /* readers | writer bits | epoch; readers park on it */
    int32_t reader_wait_;  /* departing readers the writer still waits for */
} golf_rwmutex;

typedef struct golf_once {
    uint32_t done_; /* 1 once fn has returned */
    golf_mutex m_;
} golf_once;

typedef struct golf_cond {
    uint32_t wait_;   /* the next ticket a waiter takes (Go's notifyList.wait) */
    uint32_t notify_; /* the next ticket to wake (notifyList.notify), under lock_ */
    uint32_t lock_;   /* 0 free | 1 held | 2 held with threads parked on it */
    uint32_t pad_;
    void *head_; /* waiters that have parked or are about to, in ticket order; under lock_ */
    void *tail_;
} golf_cond;

typedef struct golf_waitgroup {
    uint64_t state_; /* counter << 32 | waiters; waiters wait on the counter half */
    uint32_t sema_;  /* unused (kept for the layout) */
} golf_waitgroup;

/* Locks m; blocks (spin briefly, then park on a futex) until it is available. After a waiter has
 * waited over 1 ms the mutex turns to starvation mode and hands itself to waiters in order. */
GOLF_API void golf_mutex_lock(golf_mutex *m);
/* Locks m if it is free and not in starvation mode; never blocks. */
GOLF_API bool golf_mutex_trylock(golf_mutex *m);
/* Unlocks m; any thread may unlock (as in Go). Unlocked: fatal "sync: unlock of unlocked mutex".
 * The thread that locks m next may free it as soon as it unlocks, even before this call returns. */
GOLF_API void golf_mutex_unlock(golf_mutex *m);

/* Read-locks m. A writer waiting in golf_rwmutex_lock keeps new readers out (no writer starvation),
 * so a thread must not rlock recursively. */
GOLF_API void golf_rwmutex_rlock(golf_rwmutex *m);
GOLF_API bool golf_rwmutex_tryrlock(golf_rwmutex *m);
/* Not read-locked: fatal "sync: RUnlock of unlocked RWMutex". A writer whose lock returns after
 * this runlock may free m at once. */
GOLF_API void golf_rwmutex_runlock(golf_rwmutex *m);
GOLF_API void golf_rwmutex_lock(golf_rwmutex *m);
GOLF_API bool golf_rwmutex_trylock(golf_rwmutex *m);
/* Not locked: fatal "sync: Unlock of unlocked RWMutex". A reader or writer that gets m after
 * this unlock may free it at once (see Lifetime above). */
GOLF_API void golf_rwmutex_unlock(golf_rwmutex *m);

/* Calls fn(arg) if and only if this is the first call for o; every caller returns only after fn
 * has returned. fn may use other golf objects, including golf_once_do on another Once, but must
 * not call golf_once_do on the same o (deadlock, as in Go). */
GOLF_API void golf_once_do(golf_once *o, void (*fn)(void *arg), void *arg);

/* Adds delta (may be negative) to the counter; when it reaches zero every waiter is released.
 * Below zero: fatal "sync: negative WaitGroup counter". */
GOLF_API void golf_waitgroup_add(golf_waitgroup *wg, int64_t delta);
GOLF_API void golf_waitgroup_done(golf_waitgroup *wg);
/* Blocks until the counter is zero. When it returns, every done that counted is over with wg:
 * the caller may free wg (if no other thread is still in golf_waitgroup_wait on it). An add of
 * delta > 0 from zero while a previous wait has not returned is fatal ("sync: WaitGroup
 * misuse"). */
GOLF_API void golf_waitgroup_wait(golf_waitgroup *wg);
/* add(1), then runs fn(arg) on a new detached thread followed by done(). fn may call add/done/go
 * on the same wg (its own count keeps the counter above zero meanwhile). Returns GOLF_OK,
 * GOLF_EINVAL for a NULL wg or fn, or GOLF_ENOMEM when no memory or no thread could be had (the
 * counter is then unchanged). */
GOLF_API int golf_waitgroup_go(golf_waitgroup *wg, void (*fn)(void *arg), void *arg);

/* Go's sync.Cond.Wait: m must be locked by the caller. Atomically (with respect to signal and
 * broadcast) joins c's waiters and unlocks m, blocks until a signal or broadcast wakes it, then
 * locks m again before returning. Never returns without having been woken (no spurious
 * wake-ups), but the condition may have changed again before m is relocked: wait in a loop,
 * `while (!cond) golf_cond_wait(c, m);`, as in Go. m not locked: fatal "sync: unlock of
 * unlocked mutex". */
GOLF_API void golf_cond_wait(golf_cond *c, golf_mutex *m);
/* Wakes one thread waiting on c, if any: the one that has waited longest, and always one that
 * joined before this call began (a wait that starts later is not woken by it). The caller may
 * hold the mutex or not. */
GOLF_API void golf_cond_signal(golf_cond *c);
/* Wakes every thread waiting on c when the call begins. */
GOLF_API void golf_cond_broadcast(golf_cond *c);

#ifdef __cplusplus
}
#endif

#endif /* GOLF_SYNC_H */
