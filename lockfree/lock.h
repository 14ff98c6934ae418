/* SPDX-License-Identifier: MIT */
/* golf__lock: a small futex lock for short internal critical sections (a channel's waiter
 * lists). Drepper's three-state mutex (lockfree/README.md, "lock.h"): an uncontended acquire and
 * release are one atomic each and never enter the kernel; a contended acquire spins
 * GOLF__BUDGET_LOCK (lockfree/backoff.h), then sleeps on the word.
 *
 * word:  GOLF__LOCK_FREE 0, GOLF__LOCK_HELD 1 (no sleepers), GOLF__LOCK_CONTENDED 2 (someone
 *        may sleep: the release must futex_wake). */
#ifndef GOLF_LOCKFREE_LOCK_H
#define GOLF_LOCKFREE_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

#include "cacheline.h"

enum { GOLF__LOCK_FREE = 0u, GOLF__LOCK_HELD = 1u, GOLF__LOCK_CONTENDED = 2u };

typedef struct golf__lock {
    _Atomic uint32_t word;
} golf__lock;

/* The contended halves, out of line. */
void golf__lock_slow(golf__lock *l);
void golf__unlock_slow(golf__lock *l);

static inline void
golf__lock_init(golf__lock *l)
{
    /* relaxed: the lock is not shared yet; whatever publishes its owner publishes it. */
    atomic_store_explicit(&l->word, GOLF__LOCK_FREE, memory_order_relaxed);
}

static inline void
golf__lock_acquire(golf__lock *l)
{
    uint32_t expected = GOLF__LOCK_FREE;
    /* [L1] acquire: pairs with [L1] release in golf__lock_release(): the previous holder's
     * writes happen before ours. */
    if (GOLF__LIKELY(atomic_compare_exchange_strong_explicit(
            &l->word, &expected, GOLF__LOCK_HELD, memory_order_acquire, memory_order_relaxed)))
        return;
    golf__lock_slow(l);
}

static inline void
golf__lock_release(golf__lock *l)
{
    /* [L1] release: publishes our writes to the next holder. */
    if (GOLF__UNLIKELY(atomic_exchange_explicit(&l->word, GOLF__LOCK_FREE, memory_order_release) ==
                       GOLF__LOCK_CONTENDED))
        golf__unlock_slow(l);
}

/* Returns once no thread holds l, if one held it when the caller learnt what it is about to
 * act on: a result another thread produced while it held l. That thread's last touch of the
 * memory l guards is its release, so after this the caller may free that memory. One load when
 * the lock is free. */
static inline void
golf__lock_settle(golf__lock *l)
{
    /* The caller may have read the holder's result with a relaxed load (a send's tail, the
     * mark): this fence makes that read synchronize with the holder's release-or-stronger
     * write of it, so the holder's acquisition of l happens before the load below, which then
     * cannot see the word as it was before. A compiler barrier only on x86. */
    atomic_thread_fence(memory_order_acquire);
    /* [L2] acquire: pairs with [L1] release in golf__lock_release(): seeing FREE after we saw
     * the holder's result means the holder has released (FREE is later than its acquisition in
     * the word's modification order) and is done with the guarded memory. */
    if (GOLF__UNLIKELY(atomic_load_explicit(&l->word, memory_order_acquire) != GOLF__LOCK_FREE)) {
        golf__lock_acquire(l);
        golf__lock_release(l);
    }
}

#endif
