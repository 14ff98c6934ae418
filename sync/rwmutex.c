/* SPDX-License-Identifier: MIT */
/* golf_rwmutex: Go's sync.RWMutex (src/sync/rwmutex.go), with its reader count packed into one
 * futex word so that an unlock's last access to the lock is the store that releases it.
 *
 * Go's RWMutex.Unlock adds back the writer bias (readers may now enter), then releases the
 * readers' semaphore, then unlocks the writer mutex w: three stores, the first of which already
 * lets a reader complete rlock, runlock and free the lock (sync/README.md, invariant L1; glibc bug
 * 13690). golf keeps Go's algorithm (writer preference; the readers that queued behind a writer
 * get in when it unlocks, before the next writer; writers serialised on w) but changes how the
 * writer's unlock is published:
 *
 *   - the readers that queue behind a writer park on the state word itself and wait for its
 *     epoch to change (not for a semaphore unit), so the writer's one release CAS (clear WRITER,
 *     bump the epoch) admits them all, and a futex_wake, which reads no memory, wakes them;
 *   - the writer unlocks w *before* that CAS. The next writer may take w at once, but cannot set
 *     WRITER (and so cannot finish lock) until the CAS: it parks on the state word meanwhile,
 *     flagging WRITER_WAITING so that the CAS's futex_wake covers it.
 *
 * Invariants:
 *   - state (the reader_count_ field) = readers | WRITER_WAITING | WRITER | epoch (layout below).
 *   - readers = the readers holding the read lock or queued for it behind a writer.
 *   - WRITER is set from a writer's announce CAS (in lock/trylock, holding w) to the release CAS
 *     in its unlock; while it is set, arriving readers queue. Only the holder of w sets WRITER or
 *     WRITER_WAITING, so at most one writer is ever parked on the state word.
 *   - A reader that queued behind a writer saw WRITER with epoch e in its own fetch_add; it is
 *     admitted exactly when the epoch differs from e. Only a writer's unlock changes the epoch,
 *     and no second writer can unlock while the reader still waits (the next writer counts it in
 *     its readers and waits for it to leave), so the epoch moves at most once under a waiting
 *     reader and 3 bits are plenty.
 *   - reader_wait = readers that were inside when the writer announced itself and have not left
 *     yet; the one that brings it to zero releases writer_sem (Go's scheme; a semaphore release
 *     is a release store then a futex_wake, so its last access is the release).
 *   - reader_sem_ is no longer used (kept so the struct's layout does not change).
 */
#include "lockfree/cacheline.h"
#include "lockfree/fatal.h"
#include "lockfree/futex.h"
#include "lockfree/watch.h"
#include "sema.h"
#include "sync_internal.h"

#include <limits.h>

/* Bit layout of golf_rwmutex.reader_count_ (uint32; the futex word readers and a writer park on):
 *   bits 0-26  readers         holding the read lock or queued behind a writer
 *   bit 27     WRITER_WAITING  the writer holding w is parked until the previous writer's release
 *   bit 28     WRITER          a writer is pending or active: arriving readers queue
 *   bits 29-31 epoch           bumped by every writer unlock (wraps) */
#define RW_READER_MASK ((uint32_t)0x07ffffff)
#define RW_WRITER_WAITING ((uint32_t)1 << 27)
#define RW_WRITER ((uint32_t)1 << 28)
#define RW_EPOCH_ONE ((uint32_t)1 << 29)
#define RW_EPOCH_MASK ((uint32_t)7 << 29)

static inline _Atomic uint32_t *
rw_state(golf_rwmutex *m)
{
    return GOLF__AU32(&m->reader_count_);
}

__attribute__((noinline)) static void
rwmutex_rlock_slow(golf_rwmutex *m, uint32_t s)
{
    if ((s & RW_READER_MASK) == RW_READER_MASK)
        golf__fatal("sync: too many RWMutex readers");
    /* A writer is pending or active: wait for its unlock, seen as a new epoch. */
    _Atomic uint32_t *state = rw_state(m);
    uint32_t epoch = s & RW_EPOCH_MASK;
    for (;;) {
        /* [RW1] acquire: pairs with [RW1] release in golf_rwmutex_unlock(): the writer's critical
         * section happens before ours. */
        uint32_t v = atomic_load_explicit(state, memory_order_acquire);
        if ((v & RW_EPOCH_MASK) != epoch) {
            golf__wait_end();
            return;
        }
        /* Sleeps only while the word is still v: the writer's release CAS changes the epoch
         * before its futex_wake (lockfree/futex.h contract). */
        golf__wait_until(state, v, GOLF__FOREVER, GOLF__WAIT_RWMUTEX_RLOCK, m);
    }
}

static inline __attribute__((always_inline)) void
rw_rlock(golf_rwmutex *m)
{
    /* [RW1] acquire: pairs with [RW1] release in golf_rwmutex_unlock(): a reader that enters
     * without parking sees the last writer's critical section. */
    uint32_t s = atomic_fetch_add_explicit(rw_state(m), 1, memory_order_acquire);
    /* One compare: no writer and room for one more reader. */
    if (GOLF__LIKELY((s & (RW_WRITER | RW_READER_MASK)) < RW_READER_MASK))
        return;
    rwmutex_rlock_slow(m, s);
}

static inline __attribute__((always_inline)) bool
rw_tryrlock(golf_rwmutex *m)
{
    _Atomic uint32_t *state = rw_state(m);
    /* relaxed: the CAS below decides. */
    uint32_t s = atomic_load_explicit(state, memory_order_relaxed);
    for (;;) {
        if (s & RW_WRITER)
            return false;
        if ((s & RW_READER_MASK) == RW_READER_MASK)
            golf__fatal("sync: too many RWMutex readers");
        /* [RW1] acquire (see rlock). */
        if (atomic_compare_exchange_weak_explicit(state, &s, s + 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return true;
    }
}

__attribute__((noinline)) static void
rwmutex_runlock_slow(golf_rwmutex *m, uint32_t s)
{
    if ((s & RW_READER_MASK) == 0)
        golf__fatal("sync: RUnlock of unlocked RWMutex");
    GOLF__POINT(RWMUTEX_RUNLOCK);
    /* A writer announced itself while we were inside (it counted us): the last departing
     * reader lets it in. The writer cannot finish lock before this decrement, so *m is alive.
     * acq_rel: [RW2] release publishes this reader's reads-before-departure to the writer (pairs
     * with the writer's [RW2] acquire); acquire orders the other readers' departures before our
     * release. The semaphore release is a release store then a futex_wake: its store is our last
     * access to *m. */
    if (atomic_fetch_sub_explicit(GOLF__A32(&m->reader_wait_), 1, memory_order_acq_rel) - 1 == 0)
        golf__sema_release(&m->writer_sem_, 1);
}

static inline __attribute__((always_inline)) void
rw_runlock(golf_rwmutex *m)
{
    /* [RW2] release: our reads happen before a later writer's critical section (pairs with the
     * [RW2] acquire in golf_rwmutex_lock). With no writer pending this is our last access. */
    uint32_t s = atomic_fetch_sub_explicit(rw_state(m), 1, memory_order_release);
    /* One compare: no writer pending and we were a reader (readers was 1..max). */
    if (GOLF__UNLIKELY((s & (RW_WRITER | RW_READER_MASK)) - 1 >= RW_READER_MASK))
        rwmutex_runlock_slow(m, s);
}

/* Sets WRITER (the caller holds w); returns the readers it must wait for. Parks while the previous
 * writer, which has already unlocked w, has not yet released the state word. */
static uint32_t
rwmutex_announce(golf_rwmutex *m)
{
    _Atomic uint32_t *state = rw_state(m);
    /* relaxed: the CAS below decides. */
    uint32_t s = atomic_load_explicit(state, memory_order_relaxed);
    bool parked = false;
    for (;;) {
        if (s & RW_WRITER) {
            /* The previous writer is between its unlock of w and its release CAS. Flag that
             * we wait (relaxed: only a "wake me" hint, read by that CAS), then park. */
            if (!(s & RW_WRITER_WAITING)) {
                if (!atomic_compare_exchange_weak_explicit(state, &s, s | RW_WRITER_WAITING,
                                                           memory_order_relaxed,
                                                           memory_order_relaxed))
                    continue;
                s |= RW_WRITER_WAITING;
            }
            golf__wait_until(state, s, GOLF__FOREVER, GOLF__WAIT_RWMUTEX_LOCK, m);
            parked = true;
            s = atomic_load_explicit(state, memory_order_relaxed);
            continue;
        }
        /* [RW2] acquire: pairs with the readers' [RW2] release in runlock, so readers that already
         * left are ordered before us; also [RW1]-orders the previous writer's release. */
        if (atomic_compare_exchange_weak_explicit(state, &s, s | RW_WRITER, memory_order_acquire,
                                                  memory_order_relaxed)) {
            if (parked)
                golf__wait_end();
            return s & RW_READER_MASK;
        }
    }
}

static inline __attribute__((always_inline)) void
rw_lock(golf_rwmutex *m)
{
    /* First resolve competition with other writers. */
    golf__mutex_lock_plain(&m->w_);
    /* Announce to readers there is a pending writer. */
    int32_t r = (int32_t)rwmutex_announce(m);
    /* Wait for active readers. [RW2] acq_rel on reader_wait: see runlock_slow; the semaphore's
     * [S1] pair orders the last reader's departure before our return. */
    if (r != 0 &&
        atomic_fetch_add_explicit(GOLF__A32(&m->reader_wait_), r, memory_order_acq_rel) + r != 0)
        golf__sema_acquire(&m->writer_sem_, GOLF__WAIT_RWMUTEX_LOCK, m);
}

static inline __attribute__((always_inline)) bool
rw_trylock(golf_rwmutex *m)
{
    if (!golf__mutex_trylock_plain(&m->w_))
        return false;
    _Atomic uint32_t *state = rw_state(m);
    /* relaxed: the CAS below decides. */
    uint32_t s = atomic_load_explicit(state, memory_order_relaxed);
    for (;;) {
        /* Readers inside, or the previous writer has not released the word yet: busy. */
        if (s & (RW_WRITER | RW_READER_MASK)) {
            golf__mutex_unlock_plain(&m->w_);
            return false;
        }
        /* [RW2] acquire: as in lock (no reader inside, so nothing to wait for). */
        if (atomic_compare_exchange_weak_explicit(state, &s, s | RW_WRITER, memory_order_acquire,
                                                  memory_order_relaxed))
            return true;
    }
}

static inline __attribute__((always_inline)) void
rw_unlock(golf_rwmutex *m)
{
    _Atomic uint32_t *state = rw_state(m);
    /* relaxed: a misuse check; we own the lock, so nobody else clears WRITER. */
    uint32_t s = atomic_load_explicit(state, memory_order_relaxed);
    if (!(s & RW_WRITER))
        golf__fatal("sync: Unlock of unlocked RWMutex");
    /* Let the next writer take w now: it cannot set WRITER, hence cannot finish lock, before the
     * release below, so *m stays alive until then (invariant L1). Unlocking w after the release
     * instead would touch memory a reader may already have freed. */
    golf__mutex_unlock_plain(&m->w_);
    for (;;) {
        /* Clear WRITER (and WRITER_WAITING) and bump the epoch: admits every queued reader.
         * [RW1] release: publishes the critical section to readers (pairs with rlock's and
         * rlock_slow's [RW1] acquire). This CAS is the last access to *m. */
        uint32_t next = (s & ~(RW_WRITER | RW_WRITER_WAITING)) + RW_EPOCH_ONE;
        if (atomic_compare_exchange_weak_explicit(state, &s, next, memory_order_release,
                                                  memory_order_relaxed))
            break;
    }
    /* *m may be freed now: FUTEX_WAKE reads no user memory (private futexes are keyed by address
     * alone) and a stray wake-up of a reused address is a spurious one. `state` is an address
     * computed before the release, not a load. */
    GOLF__POINT(RWMUTEX_UNLOCK);
    if ((s & RW_READER_MASK) != 0 || (s & RW_WRITER_WAITING)) {
        golf__sync_after_release();
        golf__futex_wake(state, INT_MAX);
    }
}

/* ---- the public operations: GOLF_LOCKORDER's test (one load and a branch on a line nothing
 * writes after start), then the bodies above ------------------------------------------------ */

__attribute__((noinline, cold)) static void
rw_rlock_checked(golf_rwmutex *m)
{
    golf__lockorder_acquire(m, GOLF__LOCK_RWMUTEX_READ);
    rw_rlock(m);
    golf__lockorder_acquired(m, GOLF__LOCK_RWMUTEX_READ);
}

void
golf_rwmutex_rlock(golf_rwmutex *m)
{
    if (GOLF__UNLIKELY(golf__debug.lockorder)) {
        rw_rlock_checked(m);
        return;
    }
    rw_rlock(m);
}

__attribute__((noinline, cold)) static bool
rw_tryrlock_checked(golf_rwmutex *m)
{
    bool ok = rw_tryrlock(m);
    if (ok)
        golf__lockorder_acquired(m, GOLF__LOCK_RWMUTEX_READ);
    return ok;
}

bool
golf_rwmutex_tryrlock(golf_rwmutex *m)
{
    if (GOLF__UNLIKELY(golf__debug.lockorder))
        return rw_tryrlock_checked(m);
    return rw_tryrlock(m);
}

__attribute__((noinline, cold)) static void
rw_runlock_checked(golf_rwmutex *m)
{
    golf__lockorder_release(m);
    rw_runlock(m);
}

void
golf_rwmutex_runlock(golf_rwmutex *m)
{
    if (GOLF__UNLIKELY(golf__debug.lockorder)) {
        rw_runlock_checked(m);
        return;
    }
    rw_runlock(m);
}

__attribute__((noinline, cold)) static void
rw_lock_checked(golf_rwmutex *m)
{
    golf__lockorder_acquire(m, GOLF__LOCK_RWMUTEX);
    rw_lock(m);
    golf__lockorder_acquired(m, GOLF__LOCK_RWMUTEX);
}

void
golf_rwmutex_lock(golf_rwmutex *m)
{
    if (GOLF__UNLIKELY(golf__debug.lockorder)) {
        rw_lock_checked(m);
        return;
    }
    rw_lock(m);
}

__attribute__((noinline, cold)) static bool
rw_trylock_checked(golf_rwmutex *m)
{
    bool ok = rw_trylock(m);
    if (ok)
        golf__lockorder_acquired(m, GOLF__LOCK_RWMUTEX);
    return ok;
}

bool
golf_rwmutex_trylock(golf_rwmutex *m)
{
    if (GOLF__UNLIKELY(golf__debug.lockorder))
        return rw_trylock_checked(m);
    return rw_trylock(m);
}

__attribute__((noinline, cold)) static void
rw_unlock_checked(golf_rwmutex *m)
{
    golf__lockorder_release(m);
    rw_unlock(m);
}

void
golf_rwmutex_unlock(golf_rwmutex *m)
{
    if (GOLF__UNLIKELY(golf__debug.lockorder)) {
        rw_unlock_checked(m);
        return;
    }
    rw_unlock(m);
}
