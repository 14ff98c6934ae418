/* SPDX-License-Identifier: MIT */
/* A counting semaphore on one futex word: what Go's runtime_Semacquire/Semrelease are to its sync
 * package. Zero value: count 0.
 *
 * Wake order: the kernel queues the waiters of one private futex in FIFO order (same priority), so
 * a release wakes the longest waiter; a thread arriving in acquire may still take the count first
 * (no hand-off token).
 *
 * Lifetime (sync/README.md L1): a release's last access to the semaphore word is its release
 * fetch_add; the futex_wake after it reads no memory. So a release may be the last thing a
 * primitive does before the acquirer frees it. Only the RWMutex's writer_sem uses this now (the
 * mutex and the WaitGroup keep their waiters on their state words). */
#ifndef GOLF_SYNC_SEMA_H
#define GOLF_SYNC_SEMA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lockfree/futex.h"
#include "lockfree/watch.h"
#include "sync_internal.h"

static inline _Atomic uint32_t *
golf__sema_word(uint32_t *sema)
{
    /* The public structs hold plain words (so the headers compile as C++); golf only ever
     * touches them through this atomic view, which has the same size and alignment. */
    return (_Atomic uint32_t *)sema;
}

/* Takes one unit, parking while the count is zero (a wait of `kind` on `obj`, watch.h). */
static inline void
golf__sema_acquire(uint32_t *sema, golf__wait_kind kind, const void *obj)
{
    _Atomic uint32_t *w = golf__sema_word(sema);
    bool parked = false;
    for (;;) {
        /* relaxed: the CAS below is what takes the unit and carries the ordering. */
        uint32_t v = atomic_load_explicit(w, memory_order_relaxed);
        while (v > 0) {
            /* [S1] acquire: pairs with [S1] release in golf__sema_release(): what the releaser
             * did before releasing is visible to the thread that takes its unit. */
            if (atomic_compare_exchange_weak_explicit(w, &v, v - 1, memory_order_acquire,
                                                      memory_order_relaxed)) {
                if (parked)
                    golf__wait_end();
                return;
            }
        }
        /* Sleeps only while the word is still 0: a release between our load and the syscall
         * changed it, and the kernel returns at once. */
        GOLF__POINT(SEMA_ACQUIRE);
        golf__wait_until(w, 0, GOLF__FOREVER, kind, obj);
        parked = true;
    }
}

/* Adds n units and wakes up to n parked acquirers. */
static inline void
golf__sema_release(uint32_t *sema, uint32_t n)
{
    _Atomic uint32_t *w = golf__sema_word(sema);
    /* [S1] release: pairs with [S1] acquire in golf__sema_acquire(). The last access to *sema:
     * an acquirer may return and free it before the futex_wake below, which reads no memory. */
    atomic_fetch_add_explicit(w, n, memory_order_release);
    golf__sync_after_release();
    GOLF__POINT(SEMA_RELEASE);
    /* Always a syscall: callers release only when their own state says somebody waits (or is
     * about to), so there is no "nobody waits" case to optimise here. */
    golf__futex_wake(w, (int)n);
}

#endif
