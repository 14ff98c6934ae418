/* golf_mutex: Go's sync.Mutex (src/sync/mutex.go) on a futex on its own state word.
 *
 * Invariants:
 *   - state = LOCKED | WOKEN | STARVING | SIGNAL | waiters << WAITER_SHIFT (bit layout below).
 *   - waiters counts the threads that are parked in, or committed to, the wait for SIGNAL.
 *   - SIGNAL is Go's semaphore unit, kept in the state word: at most one is outstanding. In normal
 *     mode an unlock grants it only together with setting WOKEN (and only when WOKEN was clear),
 *     and WOKEN is cleared only by the waiter that took SIGNAL (or the spinner that set it); in
 *     starvation mode only the owner's unlock grants it, and taking it is taking the mutex.
 *   - In starvation mode, LOCKED stays clear while ownership passes from the unlocker to the waiter
 *     that takes SIGNAL; arriving threads do not take the lock, they queue.
 *   - Lifetime (sync/README.md L1): an unlock's last access to *m is the one CAS that releases the
 *     lock, takes the woken waiter off the count and grants SIGNAL; after it comes at most a
 *     futex_wake on &state, which reads no memory. So the thread that locks next may free the mutex
 *     as soon as it unlocks, while this unlock is still in the kernel.
 *
 * Normal mode: waiters queue FIFO in the kernel's futex queue, but a woken waiter competes with
 * newly arriving threads (which have the CPU and usually win); that is what makes the mutex fast.
 * Starvation mode: once a waiter fails to get the lock for over 1 ms, the mutex hands itself
 * straight from the unlocker to the waiter at the head of the queue. It turns back to normal mode
 * when the waiter that took it waited less than 1 ms or was the last one.
 *
 * Differences from Go: Go's runtime semaphore puts a re-queued waiter at the head (LIFO); a futex
 * queue is FIFO, so a re-queued waiter goes to the back. Starvation mode still bounds its wait.
 * Go's Unlock releases LOCKED first and then, in a second step, wakes a waiter through a separate
 * semaphore word; with a garbage collector that is safe, in C the second step could touch a mutex
 * that the next owner has already freed (glibc bug 13690), so golf decides whom to wake in the
 * releasing CAS itself and keeps the semaphore unit in the state word (SIGNAL). */
#include "lockfree/cacheline.h"
#include "lockfree/fatal.h"
#include "lockfree/futex.h"
#include "sync/sync_internal.h"

/* Bit layout of golf_mutex.state_ (int32; also the futex word the waiters park on):
 *   bit 0     LOCKED    the mutex is held
 *   bit 1     WOKEN     a waiter was woken (or a spinner is about to lock): unlock need wake nobody
 *   bit 2     STARVING  starvation mode: hand-off to waiters, newcomers queue
 *   bit 3     SIGNAL    one parked waiter may proceed (Go's semaphore unit; at most one)
 *   bits 4-31 waiters   threads parked on (or heading for) the futex
 * golf_mutex.sema_ is no longer used (kept so the struct's layout does not change). */
enum {
    MUTEX_LOCKED = 1,
    MUTEX_WOKEN = 2,
    MUTEX_STARVING = 4,
    MUTEX_SIGNAL = 8,
    MUTEX_WAITER_SHIFT = 4,
};
#define MUTEX_ONE_WAITER ((int32_t)1 << MUTEX_WAITER_SHIFT)

/* Go's starvationThresholdNs. */
#define STARVATION_THRESHOLD_NS 1000000u
/* Go's active_spin and active_spin_cnt. */
enum { ACTIVE_SPIN = 4, ACTIVE_SPIN_CNT = 30 };

static void mutex_lock_slow(golf_mutex *m);
static void mutex_unlock_slow(golf_mutex *m, int32_t new_state);

void
golf_mutex_lock(golf_mutex *m)
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

bool
golf_mutex_trylock(golf_mutex *m)
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

static inline bool
mutex_can_spin(int iter)
{
    /* Go also checks that other Ps are running and the local run queue is empty; a thread
     * library cannot see that, so we spin only a few short rounds and then park. */
    return iter < ACTIVE_SPIN;
}

static inline _Atomic uint32_t *
mutex_futex(_Atomic int32_t *state)
{
    /* The futex syscall takes the word as an unsigned 32-bit value; same object, same size. */
    return (_Atomic uint32_t *)state;
}

/* Parks until an unlock grants SIGNAL and takes it (the caller is counted in waiters). Returns true
 * when the mutex was handed to us in starvation mode (we own it: done); false in normal mode, with
 * *old the state our CAS left (WOKEN set, on our behalf): the caller competes for the lock again.
 */
static bool
mutex_wait_signal(_Atomic int32_t *state, bool *starving, uint64_t wait_start, int32_t *old)
{
    /* relaxed: the CAS below decides, and carries the ordering. */
    int32_t s = atomic_load_explicit(state, memory_order_relaxed);
    for (;;) {
        if (!(s & MUTEX_SIGNAL)) {
            /* Sleeps only while the word still equals s: an unlock that grants SIGNAL changes it
             * first, so its futex_wake cannot be missed (lockfree/futex.h contract). */
            golf__futex_wait(mutex_futex(state), (uint32_t)s, GOLF__FOREVER);
            s = atomic_load_explicit(state, memory_order_relaxed);
            continue;
        }
        *starving = *starving || golf__now_ns() - wait_start > STARVATION_THRESHOLD_NS;
        int32_t next = s - MUTEX_SIGNAL;
        if (s & MUTEX_STARVING) {
            if ((s & (MUTEX_LOCKED | MUTEX_WOKEN)) || (s >> MUTEX_WAITER_SHIFT) == 0)
                golf__fatal("sync: inconsistent mutex state");
            /* The mutex was handed to us: take LOCKED and leave the waiters. Leave starvation
             * mode when we did not wait long or were the last waiter: staying in it needlessly
             * would serialise everyone through hand-offs. */
            next += MUTEX_LOCKED - MUTEX_ONE_WAITER;
            if (!*starving || (s >> MUTEX_WAITER_SHIFT) == 1)
                next -= MUTEX_STARVING;
        }
        /* [MU1] acquire: a starvation-mode hand-off makes us the owner here, so this CAS must see
         * the previous holder's writes (pairs with the granting unlock's [MU1] release CAS). In
         * normal mode it only takes the unit; the locking CAS in the caller acquires again. */
        if (atomic_compare_exchange_weak_explicit(state, &s, next, memory_order_acquire,
                                                  memory_order_relaxed)) {
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
    int iter = 0;
    /* relaxed: every decision below is confirmed by a CAS on the same word. */
    int32_t old = atomic_load_explicit(state, memory_order_relaxed);
    for (;;) {
        /* Spin while the mutex is locked in normal mode: the holder may release it soon. */
        if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) == MUTEX_LOCKED && mutex_can_spin(iter)) {
            /* Set WOKEN so the unlocker does not wake a parked waiter that would only lose to
             * us. relaxed: WOKEN is a hint to unlock, it publishes no data. */
            if (!awoke && !(old & MUTEX_WOKEN) && (old >> MUTEX_WAITER_SHIFT) != 0 &&
                atomic_compare_exchange_weak_explicit(state, &old, old | MUTEX_WOKEN,
                                                      memory_order_relaxed, memory_order_relaxed))
                awoke = true;
            for (int i = 0; i < ACTIVE_SPIN_CNT; i++)
                golf__cpu_relax();
            iter++;
            old = atomic_load_explicit(state, memory_order_relaxed);
            continue;
        }
        int32_t new_state = old;
        /* Don't take a starving mutex: it belongs to the waiters. */
        if (!(old & MUTEX_STARVING))
            new_state |= MUTEX_LOCKED;
        if (old & (MUTEX_LOCKED | MUTEX_STARVING))
            new_state += MUTEX_ONE_WAITER;
        /* Switch to starvation mode, but only if the mutex is held (an unlocked mutex in
         * starvation mode would have nobody to hand it over). */
        if (starving && (old & MUTEX_LOCKED))
            new_state |= MUTEX_STARVING;
        if (awoke) {
            if (!(new_state & MUTEX_WOKEN))
                golf__fatal("sync: inconsistent mutex state");
            new_state &= ~MUTEX_WOKEN;
        }
        /* [MU1] acquire on success: when this CAS takes the lock it must see the previous
         * holder's writes (pairs with the unlock's release). */
        if (atomic_compare_exchange_weak_explicit(state, &old, new_state, memory_order_acquire,
                                                  memory_order_relaxed)) {
            if (!(old & (MUTEX_LOCKED | MUTEX_STARVING)))
                return; /* locked with the CAS */
            if (wait_start == 0)
                wait_start = golf__now_ns();
            if (mutex_wait_signal(state, &starving, wait_start, &old))
                return; /* handed over in starvation mode */
            awoke = true;
            iter = 0;
            continue;
        }
        /* On CAS failure `old` holds the fresh value. */
    }
}

void
golf_mutex_unlock(golf_mutex *m)
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

__attribute__((noinline)) static void
mutex_unlock_slow(golf_mutex *m, int32_t old)
{
    _Atomic int32_t *state = GOLF__A32(&m->state_);
    /* Computed before the release: after it, *m may be freed memory. */
    _Atomic uint32_t *futex = mutex_futex(state);
    for (;;) {
        if (!(old & MUTEX_LOCKED))
            golf__fatal("sync: unlock of unlocked mutex");
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
            if (wake)
                golf__futex_wake(futex, 1);
            return;
        }
        /* On CAS failure `old` holds the fresh value. */
    }
}
