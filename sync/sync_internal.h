/* SPDX-License-Identifier: MIT */
/* Shared inside sync/: the atomic views of the public structs' private words. */
#ifndef GOLF_SYNC_INTERNAL_H
#define GOLF_SYNC_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "golf/sync.h"
#include "lockfree/chaos.h"
#include "lockfree/debug.h"

/* The public structs hold plain integers so that sync.h compiles as C++ and a zeroed struct is
 * valid; golf accesses them only through these atomic views (same size and alignment on every
 * platform golf builds on; checked below). */
_Static_assert(sizeof(_Atomic int32_t) == sizeof(int32_t), "atomic int32 layout");
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "atomic uint32 layout");
_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "atomic uint64 layout");

/* Test hook (NULL outside tests): called right after the releasing RMW of an unlock's slow path
 * (mutex; RWMutex unlock and the writer semaphore when they wake someone), of the add that
 * zeroes a WaitGroup with waiters, and of a Cond's wake of a waiter, before the futex_wake; and
 * in golf_cond_wait between unlocking the caller's mutex and enqueueing (a window a signal may
 * fall into). tests/regress/sync_lifetime.c sets it to
 * a yield (or a short sleep) so that the thread that frees the object runs inside that window,
 * which is otherwise a few instructions wide (sync/README.md L1: nothing may touch the object
 * there). Never called on the uncontended fast paths. Set it only while no golf sync call runs
 * (before starting the threads): it is a plain pointer. Hidden (tests link golf_internal). */
extern void (*golf__sync_test_after_release)(void);

static inline void
golf__sync_after_release(void)
{
    /* Reads a global, not the object: allowed after the release. */
    void (*hook)(void) = golf__sync_test_after_release;
    if (__builtin_expect(hook != NULL, 0))
        hook();
}

/* The mutex operations without the lock-order hooks: golf_rwmutex's own writer mutex `w_`
 * goes through these, so GOLF_LOCKORDER sees the RWMutex, not its inner mutex. */
void golf__mutex_lock_plain(golf_mutex *m);
bool golf__mutex_trylock_plain(golf_mutex *m);
void golf__mutex_unlock_plain(golf_mutex *m);

/* GOLF_LOCKORDER (sync/lockorder.c). The lock paths call these only when
 * golf__debug.lockorder is set: acquire before an acquisition that can block (checks the new
 * acquired-while-holding edges), acquired after every successful one (trylock too), release at
 * every unlock. */
typedef enum golf__lock_kind {
    GOLF__LOCK_MUTEX,
    GOLF__LOCK_RWMUTEX,
    GOLF__LOCK_RWMUTEX_READ,
} golf__lock_kind;

void golf__lockorder_acquire(const void *lock, golf__lock_kind kind);
void golf__lockorder_acquired(const void *lock, golf__lock_kind kind);
void golf__lockorder_release(const void *lock);

#define GOLF__A32(p) ((_Atomic int32_t *)(p))
#define GOLF__AU32(p) ((_Atomic uint32_t *)(p))
#define GOLF__AU64(p) ((_Atomic uint64_t *)(p))

#endif
