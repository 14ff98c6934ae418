/* SPDX-License-Identifier: MIT */
/* golf_cond: Go's sync.Cond (src/sync/cond.go) on the ticket scheme of Go's runtime notifyList
 * (src/runtime/sema.go), with one futex word per waiter instead of a runtime semaphore.
 *
 * Fields (golf/sync.h): wait_ (the next ticket), notify_ (the next ticket to wake), lock_ (a
 * small futex lock guarding notify_'s writes and the list), head_/tail_ (the list of waiters
 * that are parked or about to park; each node lives on its waiter's stack).
 *
 * Invariants:
 *   - A waiter takes its ticket (fetch_add on wait_) while it still holds the caller's mutex, so
 *     a signal that the mutex orders after the wait sees the ticket. Tickets wrap; a ticket t is
 *     notified when notify_ has passed it, (int32_t)(t - notify_) < 0.
 *   - notify_ only grows, and never passes wait_: a signal moves it by one when some ticket is
 *     unnotified, a broadcast to wait_. Both write it under lock_.
 *   - A node is in the list only while its ticket is unnotified: the signal or broadcast that
 *     notifies a listed ticket unlinks its node under lock_, and a waiter enqueues its node (under
 *     lock_) only after checking that its ticket is still unnotified. So a notified ticket whose
 *     node is not listed yet is found by its waiter at that check: no lost wake-up.
 *   - A waiter returns only once its ticket is notified: there are no spurious wake-ups.
 *   - Lifetime (sync/README.md L1): a signal or broadcast does all its work on the cond under
 *     lock_, and its last access to the cond is the unlock's exchange; after it, it only touches
 *     the unlinked nodes (the woken waiters' stacks) and makes futex wakes. A woken waiter makes
 *     no access to the cond, so the cond may be freed by a thread that knows all users are done
 *     while the signaller is still setting the flags of the nodes it unlinked. A node's next link
 *     is read before its flag is set (after the flag, its waiter may return and its stack
 *     frame be reused); the futex_wake on a dead node's address reads no memory (at worst a
 *     spurious wake-up of a later waiter at that address, which re-checks its flag). */
#include "lockfree/backoff.h"
#include "lockfree/cacheline.h"
#include "lockfree/futex.h"
#include "lockfree/watch.h"
#include "sync_internal.h"

#include <limits.h>

/* A thread inside golf_cond_wait, on its own stack. */
typedef struct cond_waiter {
    struct cond_waiter *next; /* under lock_ while listed */
    uint32_t ticket;
    _Atomic uint32_t woken; /* 0, then 1 once unlinked by a signal or broadcast: the futex word */
} cond_waiter;

/* lock_: a futex lock (Drepper's "mutex 2"). */
enum { COND_FREE = 0, COND_HELD = 1, COND_CONTENDED = 2 };

static inline bool
cond_notified(uint32_t ticket, uint32_t notify)
{
    return (int32_t)(ticket - notify) < 0;
}

__attribute__((noinline, cold)) static void
cond_lock_slow(_Atomic uint32_t *l)
{
    /* The sections under lock_ are a few loads and stores (a list walk for signal), like
     * golf__lock's: the same budget. */
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_LOCK);
    while (golf__backoff_wait(&b)) {
        uint32_t expected = COND_FREE;
        /* relaxed pre-check: only avoids a CAS that would fail; the CAS acquires. */
        if (atomic_load_explicit(l, memory_order_relaxed) == COND_FREE &&
            /* [CV2] acquire: see cond_lock(). */
            atomic_compare_exchange_weak_explicit(l, &expected, COND_HELD, memory_order_acquire,
                                                  memory_order_relaxed))
            return;
    }
    /* [CV2] acquire: see cond_lock(). Marking the word contended makes the unlock wake us. */
    while (atomic_exchange_explicit(l, COND_CONTENDED, memory_order_acquire) != COND_FREE)
        golf__futex_wait(l, COND_CONTENDED, GOLF__FOREVER);
}

static inline void
cond_lock(golf_cond *c)
{
    _Atomic uint32_t *l = GOLF__AU32(&c->lock_);
    uint32_t expected = COND_FREE;
    /* [CV2] acquire: pairs with [CV2] release in cond_unlock(): the list and notify_ as the
     * previous holder left them. */
    if (GOLF__LIKELY(atomic_compare_exchange_strong_explicit(
            l, &expected, COND_HELD, memory_order_acquire, memory_order_relaxed)))
        return;
    cond_lock_slow(l);
}

/* The caller's last access to *c when it is a signal or broadcast (L1 above). */
static inline void
cond_unlock(golf_cond *c)
{
    _Atomic uint32_t *l = GOLF__AU32(&c->lock_);
    /* [CV2] release: pairs with [CV2] acquire in cond_lock(). */
    if (atomic_exchange_explicit(l, COND_FREE, memory_order_release) == COND_CONTENDED) {
        golf__sync_after_release();
        /* Reads no memory: harmless if *c is freed by now. */
        golf__futex_wake(l, 1);
    }
}

/* Sets w's flag and wakes it. w is unlinked: after the store its waiter may return. */
static inline void
cond_wake(cond_waiter *w)
{
    _Atomic uint32_t *flag = &w->woken;
    /* [CV1] release: pairs with [CV1] acquire in golf_cond_wait(): what the signaller did before
     * the signal is visible when the wait returns. */
    atomic_store_explicit(flag, 1, memory_order_release);
    /* From here the waiter may return and free the cond (and its node is gone): only the wake,
     * which reads no memory. The test hook widens this window. */
    golf__sync_after_release();
    golf__futex_wake(flag, 1);
}

void
golf_cond_wait(golf_cond *c, golf_mutex *m)
{
    /* The ticket is taken under the caller's mutex (Go's notifyListAdd before L.Unlock): a
     * signal ordered after this wait by the mutex sees it. relaxed: the mutex unlock below
     * publishes it to a signaller that locks m afterwards; a signaller that does not lock m
     * is concurrent, and may or may not see it, as in Go. */
    uint32_t ticket = atomic_fetch_add_explicit(GOLF__AU32(&c->wait_), 1, memory_order_relaxed);
    golf_mutex_unlock(m);
    /* Test hook: a signal may notify our ticket before our node is listed (the check below
     * catches it); tests/stress/cond_queue.c yields here to make that common. */
    golf__sync_after_release();
    GOLF__POINT(COND_WAIT);

    cond_waiter self = {.next = NULL, .ticket = ticket, .woken = 0};
    cond_lock(c);
    /* relaxed: notify_ is written under lock_, which we hold. */
    if (cond_notified(ticket,
                      atomic_load_explicit(GOLF__AU32(&c->notify_), memory_order_relaxed))) {
        /* Notified before we could enqueue: the signal found no node of ours and counted on
         * this check. The lock's [CV2] pair orders the signaller's work before our return. */
        cond_unlock(c);
        golf_mutex_lock(m);
        return;
    }
    if (c->tail_ == NULL)
        c->head_ = &self;
    else
        ((cond_waiter *)c->tail_)->next = &self;
    c->tail_ = &self;
    cond_unlock(c);

    /* [CV1] acquire: pairs with [CV1] release in cond_wake(). Sleeps only while the flag is 0;
     * any return of the futex call is re-checked. */
    while (atomic_load_explicit(&self.woken, memory_order_acquire) == 0)
        golf__wait_until(&self.woken, 0, GOLF__FOREVER, GOLF__WAIT_COND_WAIT, c);
    golf__wait_end();
    golf_mutex_lock(m);
}

void
golf_cond_signal(golf_cond *c)
{
    /* Fast path: nobody to wake (every ticket taken so far is notified). relaxed: a waiter
     * ordered before this call (through the caller's mutex) has its ticket visible here by
     * happens-before; the loads may see newer values, and notify_ never passes wait_, so seeing
     * them equal always means every ticket ordered before us was notified. */
    uint32_t w = atomic_load_explicit(GOLF__AU32(&c->wait_), memory_order_relaxed);
    if (w == atomic_load_explicit(GOLF__AU32(&c->notify_), memory_order_relaxed))
        return;
    cond_lock(c);
    uint32_t t = atomic_load_explicit(GOLF__AU32(&c->notify_), memory_order_relaxed);
    /* relaxed: under lock_, the ticket we wake is one taken before this load; see above. */
    if (t == atomic_load_explicit(GOLF__AU32(&c->wait_), memory_order_relaxed)) {
        cond_unlock(c);
        return;
    }
    /* relaxed: written under lock_; the waiters read it under lock_ too. */
    atomic_store_explicit(GOLF__AU32(&c->notify_), t + 1, memory_order_relaxed);
    /* relaxed: under lock_. */
    GOLF__ASSERT(
        (int32_t)(atomic_load_explicit(GOLF__AU32(&c->wait_), memory_order_relaxed) - (t + 1)) >= 0,
        "7 Cond: notify_ passed wait_");
    /* Tickets enqueue out of order (a later ticket may take lock_ first): find ticket t. If it
     * is not listed, its waiter has not enqueued yet and will see notify_ has passed it. */
    cond_waiter *prev = NULL, *n = c->head_;
    while (n != NULL && n->ticket != t) {
        prev = n;
        n = n->next;
    }
    if (n != NULL) {
        if (prev == NULL)
            c->head_ = n->next;
        else
            prev->next = n->next;
        if (c->tail_ == n)
            c->tail_ = prev;
    }
    cond_unlock(c);
    if (n != NULL)
        cond_wake(n);
}

void
golf_cond_broadcast(golf_cond *c)
{
    /* Fast path: as in golf_cond_signal. */
    uint32_t w = atomic_load_explicit(GOLF__AU32(&c->wait_), memory_order_relaxed);
    if (w == atomic_load_explicit(GOLF__AU32(&c->notify_), memory_order_relaxed))
        return;
    cond_lock(c);
    /* relaxed: under lock_; every ticket taken before this load is notified by the store. */
    w = atomic_load_explicit(GOLF__AU32(&c->wait_), memory_order_relaxed);
    atomic_store_explicit(GOLF__AU32(&c->notify_), w, memory_order_relaxed);
    cond_waiter *n = c->head_;
    c->head_ = NULL;
    c->tail_ = NULL;
    cond_unlock(c);
    while (n != NULL) {
        cond_waiter *next = n->next; /* before the flag: then n may be gone */
        cond_wake(n);
        n = next;
    }
}
