/* SPDX-License-Identifier: MIT */
/* golf_mutex: Go's sync.Mutex (src/sync/mutex.go) on a futex on its own state word.
 *
 * Invariants:
 *   - state = LOCKED | WOKEN | STARVING | SIGNAL | PREWAIT | HEIR | waiters << WAITER_SHIFT (bit
 *     layout below).
 *   - waiters counts the threads that are parked in, or committed to, the wait for SIGNAL.
 *   - SIGNAL is Go's semaphore unit, kept in the state word: at most one is outstanding. In normal
 *     mode an unlock grants it only together with setting WOKEN (and only when WOKEN was clear),
 *     and WOKEN is cleared only by the waiter that took SIGNAL (or the spinner that set it); in
 *     starvation mode only the owner's unlock grants it, and taking it is taking the mutex.
 *   - A thread joins the waiters only while no SIGNAL is outstanding (else it pre-waits on sema_
 *     until the SIGNAL is taken): so every waiter that sees SIGNAL was queued when it was granted,
 *     and an unlocker that locks again at once cannot take the hand-off it just made.
 *   - In starvation mode, LOCKED stays clear while ownership passes from the unlocker to the waiter
 *     that takes SIGNAL; arriving threads do not take the lock, they queue.
 *   - HEIR implies STARVING, and that the waiter that set it is still queued; only it clears HEIR
 *     (when it takes its hand-off), and starvation mode is not left while HEIR is set.
 *   - Lifetime (sync/README.md L1): an unlock's last access to *m is the one CAS that releases the
 *     lock, takes the woken waiter off the count and grants SIGNAL; after it comes at most a
 *     futex_wake on &state, which reads no memory. So the thread that locks next may free the mutex
 *     as soon as it unlocks, while this unlock is still in the kernel. (The taker of SIGNAL wakes
 *     the pre-waiters; it is still inside lock, or owns the mutex, so *m is alive.)
 *
 * Normal mode: waiters queue FIFO in the kernel's futex queue, but a woken waiter competes with
 * newly arriving threads (which have the CPU and usually win); that is what makes the mutex fast.
 * Starvation mode: once a waiter fails to get the lock for over 1 ms, the mutex hands itself
 * straight from the unlocker to the waiter at the head of the queue; newcomers queue at the back.
 * It turns back to normal mode when the waiter that took it was the last one, or waited less than
 * 1 ms and no starving waiter (HEIR) is still queued behind it.
 *
 * Differences from Go: Go's runtime semaphore puts a re-queued waiter at the head (LIFO); a futex
 * queue is FIFO, so a re-queued waiter goes to the back. A waiter that starves does so after a
 * wake-up in normal mode, so it re-queues behind waiters that may have waited less; Go would let
 * the first of those leave starvation mode, which here would strand the starving one (it would
 * go on losing in normal mode). HEIR keeps starvation mode until it is served, so its wait is
 * bounded (not by one hold time per thread ahead of it: a waiter that registered later but has
 * not parked can still take a hand-off first; sync/README.md, known limits).
 * Go's Unlock releases LOCKED first and then, in a second step, wakes a waiter through a separate
 * semaphore word; with a garbage collector that is safe, in C the second step could touch a mutex
 * that the next owner has already freed (glibc bug 13690), so golf decides whom to wake in the
 * releasing CAS itself and keeps the semaphore unit in the state word (SIGNAL). */
#include "lockfree/backoff.h"
#include "lockfree/cacheline.h"
#include "lockfree/fatal.h"
#include "lockfree/futex.h"
#include "lockfree/watch.h"
#include "sync_internal.h"

#include <limits.h>

/* Bit layout of golf_mutex.state_ (int32; also the futex word the waiters park on):
 *   bit 0     LOCKED    the mutex is held
 *   bit 1     WOKEN     a waiter was woken (or a spinner is about to lock): unlock need wake nobody
 *   bit 2     STARVING  starvation mode: hand-off to waiters, newcomers queue
 *   bit 3     SIGNAL    one parked waiter may proceed (Go's semaphore unit; at most one)
 *   bit 4     PREWAIT   a thread waits on sema_ for SIGNAL to be taken before it registers
 *   bit 5     HEIR      a waiter that starves is queued: starvation mode lasts until it is served
 *   bits 6-31 waiters   threads parked on (or heading for) the futex
 * golf_mutex.sema_ counts the takings of SIGNAL that found PREWAIT set: the word the arriving
 * threads that must not register yet park on (an event count, so their wake-up cannot be lost). */
enum {
    MUTEX_LOCKED = 1,
    MUTEX_WOKEN = 2,
    MUTEX_STARVING = 4,
    MUTEX_SIGNAL = 8,
    MUTEX_PREWAIT = 16,
    MUTEX_HEIR = 32,
    MUTEX_WAITER_SHIFT = 6,
};
#define MUTEX_ONE_WAITER ((int32_t)1 << MUTEX_WAITER_SHIFT)

/* Go's starvationThresholdNs. */
#define STARVATION_THRESHOLD_NS 1000000u

void (*golf__sync_test_after_release)(void) = NULL;

static void mutex_lock_slow(golf_mutex *m);
static void mutex_unlock_slow(golf_mutex *m, int32_t new_state);

/* Each operation is an always-inline body, used by the public function (behind the
 * GOLF_LOCKORDER test) and by the golf__mutex_*_plain versions golf_rwmutex uses. */
static inline __attribute__((always_inline)) void
mutex_lock(golf_mutex *m)
{
    int32_t expected = 0;
    /* [MU1] acquire: pairs with [MU1] release in golf_mutex_unlock(): the previous holder's
     * critical section happens before ours. Relaxed on failure: we only read a hint. */
    if (GOLF__LIKELY(atomic_compare_exchange_strong_explicit(GOLF__A32(&m->state_), &expected,
                                                             MUTEX_LOCKED, memory_order_acquire,
                                                             memory_order_relaxed)))
        return;
    mutex_lock_slow(m);
}

static inline __attribute__((always_inline)) bool
mutex_trylock(golf_mutex *m)
{
    /* relaxed: a hint; the CAS below decides. */
    int32_t old = atomic_load_explicit(GOLF__A32(&m->state_), memory_order_relaxed);
    if (old & (MUTEX_LOCKED | MUTEX_STARVING))
        return false;
    /* [MU1] acquire (see golf_mutex_lock). A waiter may be competing for the mutex: we race with
     * it like any newcomer, as Go's TryLock does. */
    return atomic_compare_exchange_strong_explicit(GOLF__A32(&m->state_), &old, old | MUTEX_LOCKED,
                                                   memory_order_acquire, memory_order_relaxed);
}

static inline _Atomic uint32_t *
mutex_futex(_Atomic int32_t *state)
{
    /* The futex syscall takes the word as an unsigned 32-bit value; same object, same size. */
    return (_Atomic uint32_t *)state;
}

static inline _Atomic uint32_t *
mutex_prewait_word(golf_mutex *m)
{
    return GOLF__AU32(&m->sema_);
}

/* Waits, without registering, until the outstanding SIGNAL has been taken: a thread must not join
 * the waiters while a SIGNAL is outstanding, or it could take on its first look the unit that the
 * unlock meant for (and woke) a parked waiter; in starvation mode that is the hand-off to the
 * waiter that starves, and the thread that unlocked and at once locks again would take its own
 * hand-off every time. *old is the caller's last view (SIGNAL set, and locked or starving, so it
 * would register); on return, a fresh one to start over from. */
static void
mutex_prewait(golf_mutex *m, _Atomic int32_t *state, int32_t *old)
{
    _Atomic uint32_t *word = mutex_prewait_word(m);
    int32_t s = *old;
    for (;;) {
        /* Read before the CAS below; see [MU2]. relaxed: only the kernel compares it. */
        uint32_t seq = atomic_load_explicit(word, memory_order_relaxed);
        if ((s & MUTEX_SIGNAL) == 0 || (s & (MUTEX_LOCKED | MUTEX_STARVING)) == 0)
            break; /* taken meanwhile, or we may just lock (normal mode, unlocked) */
        /* [MU2] release: orders our read of seq before the taker's increment of it (pairs with
         * [MU2] acquire in mutex_wait_signal(): the taker's CAS reads this value or a later one,
         * and increments only after it), so a taking that comes after this CAS moves the word away
         * from seq and futex_wait cannot sleep through it. A CAS even when PREWAIT is already
         * set: the pairing needs our own write in the state's modification order. */
        if (atomic_compare_exchange_weak_explicit(state, &s, s | MUTEX_PREWAIT,
                                                  memory_order_release, memory_order_relaxed)) {
            golf__wait_until(word, seq, GOLF__FOREVER, GOLF__WAIT_MUTEX_LOCK, m);
            s = atomic_load_explicit(state, memory_order_relaxed);
            break;
        }
        /* On CAS failure `s` holds the fresh value. */
    }
    *old = s;
}

/* Parks until an unlock grants SIGNAL and takes it (the caller is counted in waiters, and joined
 * them while no SIGNAL was outstanding: so any SIGNAL it sees was granted with it queued). Returns
 * true when the mutex was handed to us in starvation mode (we own it: done); false in normal mode,
 * with *old the state our CAS left (WOKEN set, on our behalf): the caller competes for the lock
 * again. */
static bool
mutex_wait_signal(golf_mutex *m, bool heir, bool *starving, uint64_t wait_start, int32_t *old)
{
    _Atomic int32_t *state = GOLF__A32(&m->state_);
    /* relaxed: the CAS below decides, and carries the ordering. */
    int32_t s = atomic_load_explicit(state, memory_order_relaxed);
    for (;;) {
        if (!(s & MUTEX_SIGNAL)) {
            /* Sleeps only while the word still equals s: an unlock that grants SIGNAL changes it
             * first, so its futex_wake cannot be missed (lockfree/futex.h contract). */
            GOLF__POINT(MUTEX_WAIT);
            golf__wait_until(mutex_futex(state), (uint32_t)s, GOLF__FOREVER, GOLF__WAIT_MUTEX_LOCK,
                             m);
            s = atomic_load_explicit(state, memory_order_relaxed);
            continue;
        }
        *starving = *starving || golf__now_ns() - wait_start > STARVATION_THRESHOLD_NS;
        /* Taking SIGNAL also clears PREWAIT: the threads waiting for it are woken below. */
        int32_t next = (s - MUTEX_SIGNAL) & ~MUTEX_PREWAIT;
        if (s & MUTEX_STARVING) {
            if ((s & (MUTEX_LOCKED | MUTEX_WOKEN)) || (s >> MUTEX_WAITER_SHIFT) == 0 ||
                (heir && !(s & MUTEX_HEIR)))
                golf__fatal("sync: inconsistent mutex state");
            /* The mutex was handed to us: take LOCKED and leave the waiters. */
            next += MUTEX_LOCKED - MUTEX_ONE_WAITER;
            if (heir)
                next -= MUTEX_HEIR;
            /* Leave starvation mode when we were the last waiter, or when we did not wait long and
             * the heir has been served: staying in it needlessly would serialise everyone through
             * hand-offs. Go leaves when the taker waited under 1 ms, for its taker is the waiter
             * at the front of the queue; here a waiter that starved re-queued at the back of the
             * futex queue (its wake-up in normal mode took it off), so the ones ahead of it may
             * have waited less: HEIR keeps the mode until that waiter's turn comes. */
            if ((s >> MUTEX_WAITER_SHIFT) == 1) {
                if (next & MUTEX_HEIR)
                    golf__fatal("sync: inconsistent mutex state"); /* the heir is a waiter */
                next -= MUTEX_STARVING;
            } else if (!*starving && !(next & MUTEX_HEIR)) {
                next -= MUTEX_STARVING;
            }
        }
        /* [MU1] acquire: a starvation-mode hand-off makes us the owner here, so this CAS must see
         * the previous holder's writes (pairs with the granting unlock's [MU1] release CAS). In
         * normal mode it only takes the unit; the locking CAS in the caller acquires again.
         * [MU2] acquire too: pairs with the pre-waiters' release CAS (mutex_prewait). */
        if (atomic_compare_exchange_weak_explicit(state, &s, next, memory_order_acquire,
                                                  memory_order_relaxed)) {
            if (s & MUTEX_PREWAIT) {
                /* We own the mutex or are still in lock: *m is alive. relaxed: the word is only
                 * compared by the kernel; [MU2] orders the pre-waiters' reads before this. */
                _Atomic uint32_t *word = mutex_prewait_word(m);
                atomic_fetch_add_explicit(word, 1, memory_order_relaxed);
                golf__futex_wake(word, INT_MAX);
            }
            *old = next;
            return (s & MUTEX_STARVING) != 0;
        }
    }
}

__attribute__((noinline)) static void
mutex_lock_slow(golf_mutex *m)
{
    _Atomic int32_t *state = GOLF__A32(&m->state_);
    uint64_t wait_start = 0;
    bool starving = false;
    bool awoke = false;
    /* Go's active spin (rounds of 30 pauses, re-reading the word between rounds), as a time.
     * Go also checks that other Ps are running and the local run queue is empty; a thread
     * library sees neither, so the budget is short and then we park. No spin where the process
     * has one CPU (Go's ncpu > 1): the holder cannot run while we spin. */
    golf__backoff spin = GOLF__BACKOFF(GOLF__BUDGET_MUTEX);
    /* relaxed: every decision below is confirmed by a CAS on the same word. */
    int32_t old = atomic_load_explicit(state, memory_order_relaxed);
    for (;;) {
        /* Spin while the mutex is locked in normal mode: the holder may release it soon. */
        if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) == MUTEX_LOCKED && !golf__backoff_done(&spin)) {
            /* Set WOKEN so the unlocker does not wake a parked waiter that would only lose to
             * us. relaxed: WOKEN is a hint to unlock, it publishes no data. */
            if (!awoke && !(old & MUTEX_WOKEN) && (old >> MUTEX_WAITER_SHIFT) != 0 &&
                atomic_compare_exchange_weak_explicit(state, &old, old | MUTEX_WOKEN,
                                                      memory_order_relaxed, memory_order_relaxed))
                awoke = true;
            golf__backoff_wait(&spin);
            old = atomic_load_explicit(state, memory_order_relaxed);
            continue;
        }
        int32_t new_state = old;
        /* Don't take a starving mutex: it belongs to the waiters. */
        if (!(old & MUTEX_STARVING))
            new_state |= MUTEX_LOCKED;
        if (old & (MUTEX_LOCKED | MUTEX_STARVING)) {
            if (old & MUTEX_SIGNAL) {
                /* We would join the waiters while a SIGNAL meant for one of them is outstanding:
                 * wait until it is taken (in starvation mode that is a hand-off: newcomers queue
                 * behind it). A thread that holds WOKEN never sees SIGNAL here: normal mode grants
                 * it only while WOKEN is clear, and starvation mode never has WOKEN set. */
                if (awoke)
                    golf__fatal("sync: inconsistent mutex state");
                /* The pre-wait counts towards starvation: it is a wait for the mutex. */
                if (wait_start == 0)
                    wait_start = golf__now_ns();
                mutex_prewait(m, state, &old);
                continue;
            }
            new_state += MUTEX_ONE_WAITER;
        }
        /* Switch to starvation mode, but only if the mutex is held (an unlocked mutex in
         * starvation mode would have nobody to hand it over). */
        bool claim = false; /* we set HEIR: the hand-off we take clears it */
        if (starving && (old & MUTEX_LOCKED)) {
            new_state |= MUTEX_STARVING;
            /* We join the queue at the back (a futex queue is FIFO, and our wake-up took us off
             * it), maybe behind waiters that did not wait long: become the heir, unless another
             * starving waiter already is (it is served first, and we are in the queue by then). */
            if (!(old & MUTEX_HEIR)) {
                new_state |= MUTEX_HEIR;
                claim = true;
            }
        }
        if (awoke) {
            if (!(new_state & MUTEX_WOKEN))
                golf__fatal("sync: inconsistent mutex state");
            new_state &= ~MUTEX_WOKEN;
        }
        /* [MU1] acquire on success: when this CAS takes the lock it must see the previous
         * holder's writes (pairs with the unlock's release). */
        if (atomic_compare_exchange_weak_explicit(state, &old, new_state, memory_order_acquire,
                                                  memory_order_relaxed)) {
            if (!(old & (MUTEX_LOCKED | MUTEX_STARVING))) {
                golf__wait_end();
                return; /* locked with the CAS */
            }
            if (wait_start == 0)
                wait_start = golf__now_ns();
            if (mutex_wait_signal(m, claim, &starving, wait_start, &old)) {
                golf__wait_end();
                return; /* handed over in starvation mode */
            }
            awoke = true;
            golf__backoff_reset(&spin);
            continue;
        }
        /* On CAS failure `old` holds the fresh value. */
    }
}

static inline __attribute__((always_inline)) void
mutex_unlock(golf_mutex *m)
{
    int32_t old = MUTEX_LOCKED;
    /* [MU1] release: publishes the critical section to the next locker (pairs with the
     * acquires in golf_mutex_lock / mutex_lock_slow / mutex_wait_signal / trylock). A CAS, not
     * Go's fetch_sub: the release must also be the last access to *m (invariant L1), so it can
     * only succeed here when there is nobody to wake; the slow path folds the wake-up into it. */
    if (GOLF__LIKELY(atomic_compare_exchange_strong_explicit(
            GOLF__A32(&m->state_), &old, 0, memory_order_release, memory_order_relaxed)))
        return;
    mutex_unlock_slow(m, old);
}

/* ---- the public operations: GOLF_LOCKORDER's test, then the bodies above ------------------ */

__attribute__((noinline, cold)) static void
mutex_lock_checked(golf_mutex *m)
{
    golf__lockorder_acquire(m, GOLF__LOCK_MUTEX);
    mutex_lock(m);
    golf__lockorder_acquired(m, GOLF__LOCK_MUTEX);
}

void
golf_mutex_lock(golf_mutex *m)
{
    /* One load and a branch on a line nothing writes after start (lockfree/watch.h). */
    if (GOLF__UNLIKELY(golf__debug.lockorder)) {
        mutex_lock_checked(m);
        return;
    }
    mutex_lock(m);
}

__attribute__((noinline, cold)) static bool
mutex_trylock_checked(golf_mutex *m)
{
    bool ok = mutex_trylock(m);
    if (ok)
        golf__lockorder_acquired(m, GOLF__LOCK_MUTEX);
    return ok;
}

bool
golf_mutex_trylock(golf_mutex *m)
{
    if (GOLF__UNLIKELY(golf__debug.lockorder))
        return mutex_trylock_checked(m);
    return mutex_trylock(m);
}

__attribute__((noinline, cold)) static void
mutex_unlock_checked(golf_mutex *m)
{
    golf__lockorder_release(m); /* compares the address only: before the unlock, as after */
    mutex_unlock(m);
}

void
golf_mutex_unlock(golf_mutex *m)
{
    /* A call in a cold function, not here: the fast path keeps no stack frame. */
    if (GOLF__UNLIKELY(golf__debug.lockorder)) {
        mutex_unlock_checked(m);
        return;
    }
    mutex_unlock(m);
}

void
golf__mutex_lock_plain(golf_mutex *m)
{
    mutex_lock(m);
}

bool
golf__mutex_trylock_plain(golf_mutex *m)
{
    return mutex_trylock(m);
}

void
golf__mutex_unlock_plain(golf_mutex *m)
{
    mutex_unlock(m);
}

__attribute__((noinline)) static void
mutex_unlock_slow(golf_mutex *m, int32_t old)
{
    _Atomic int32_t *state = GOLF__A32(&m->state_);
    /* Computed before the release: after it, *m may be freed memory. */
    _Atomic uint32_t *futex = mutex_futex(state);
    for (;;) {
        if (!(old & MUTEX_LOCKED))
            golf__fatal("sync: unlock of unlocked mutex");
        GOLF__ASSERT(!(old & MUTEX_PREWAIT) || (old & MUTEX_SIGNAL),
                     "3a Mutex: PREWAIT set with no SIGNAL outstanding");
        GOLF__ASSERT(!(old & MUTEX_HEIR) || (old & MUTEX_STARVING),
                     "3b Mutex: HEIR set outside starvation mode");
        int32_t next = old - MUTEX_LOCKED;
        bool wake = false;
        if (old & MUTEX_STARVING) {
            /* Starvation mode: hand the mutex to the next waiter. LOCKED stays clear, but
             * STARVING keeps newcomers out, so the waiter that takes SIGNAL owns it. */
            if (old & MUTEX_SIGNAL)
                golf__fatal("sync: inconsistent mutex state");
            next |= MUTEX_SIGNAL;
            wake = true;
        } else if ((old >> MUTEX_WAITER_SHIFT) != 0 && !(old & MUTEX_WOKEN)) {
            /* Normal mode with parked waiters and nobody awake: take one off the count, mark it
             * woken and grant it SIGNAL. (WOKEN set: a waiter or spinner is already awake and
             * will take it from here, as in Go.) */
            if (old & MUTEX_SIGNAL)
                golf__fatal("sync: inconsistent mutex state");
            next = (next - MUTEX_ONE_WAITER) | MUTEX_WOKEN | MUTEX_SIGNAL;
            wake = true;
        }
        /* [MU1] release (see golf_mutex_unlock). This CAS is the last access to *m. */
        if (atomic_compare_exchange_weak_explicit(state, &old, next, memory_order_release,
                                                  memory_order_relaxed)) {
            /* *m may already be freed by the next owner: FUTEX_WAKE reads no user memory (a
             * private futex is keyed by address alone); a stray wake-up of a reused address is
             * a spurious one, which every futex waiter tolerates. */
            golf__sync_after_release();
            GOLF__POINT(MUTEX_UNLOCK);
            if (wake)
                golf__futex_wake(futex, 1);
            return;
        }
        /* On CAS failure `old` holds the fresh value. */
    }
}
