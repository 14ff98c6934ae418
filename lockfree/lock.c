/* SPDX-License-Identifier: MIT */
/* The contended halves of golf__lock (lockfree/lock.h). */
#include "lock.h"

#include "backoff.h"
#include "futex.h"

void
golf__lock_slow(golf__lock *l)
{
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_LOCK);
    while (golf__backoff_wait(&b)) {
        uint32_t expected = GOLF__LOCK_FREE;
        /* relaxed pre-check: only avoids a CAS that would fail; the CAS below acquires. */
        if (atomic_load_explicit(&l->word, memory_order_relaxed) == GOLF__LOCK_FREE &&
            /* [L1] acquire: see golf__lock_acquire(). */
            atomic_compare_exchange_weak_explicit(&l->word, &expected, GOLF__LOCK_HELD,
                                                  memory_order_acquire, memory_order_relaxed))
            return;
    }
    /* [L1] acquire: see golf__lock_acquire(). Marking the word CONTENDED makes the holder's
     * release wake us; we keep the mark when we get the lock, since others may sleep too. */
    while (atomic_exchange_explicit(&l->word, GOLF__LOCK_CONTENDED, memory_order_acquire) !=
           GOLF__LOCK_FREE)
        golf__futex_wait(&l->word, GOLF__LOCK_CONTENDED, GOLF__FOREVER);
}

void
golf__unlock_slow(golf__lock *l)
{
    golf__futex_wake(&l->word, 1);
}
