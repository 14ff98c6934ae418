/* golf_mutex: Go's sync.Mutex (src/sync/mutex.go) on a futex semaphore.
 *
 * Invariants:
 *   - state = LOCKED | WOKEN | STARVING | waiters << WAITER_SHIFT (bit layout below).
 *   - waiters counts the threads that are parked in, or committed to, golf__sema_acquire(&sema).
 *   - At most one semaphore unit is outstanding at any time: in normal mode an unlock releases one
 *     only after setting WOKEN, and WOKEN is cleared only by the thread that consumed that unit (or
 *     the spinner that set it); in starvation mode only the owner's unlock releases one.
 *   - In starvation mode, LOCKED stays clear while ownership passes from the unlocker to the waiter
 *     that takes the unit; arriving threads do not take the lock, they queue.
 *
 * Normal mode: waiters queue FIFO in the kernel's futex queue, but a woken waiter competes with
 * newly arriving threads (which have the CPU and usually win); that is what makes the mutex fast.
 * Starvation mode: once a waiter fails to get the lock for over 1 ms, the mutex hands itself
 * straight from the unlocker to the waiter at the head of the queue. It turns back to normal mode
 * when the waiter that took it waited less than 1 ms or was the last one.
 *
 * Difference from Go: Go's runtime semaphore puts a re-queued waiter at the head (LIFO); a futex
 * queue is FIFO, so a re-queued waiter goes to the back. Starvation mode still bounds its wait. */
#include "sync/sync_internal.h"
#include "sync/sema.h"
#include "lockfree/cacheline.h"
#include "lockfree/fatal.h"
#include "lockfree/futex.h"

/* Bit layout of golf_mutex.state_ (int32):
 *   bit 0     LOCKED    the mutex is held
 *   bit 1     WOKEN     a waiter was woken (or a spinner is about to lock): unlock need wake nobody
 *   bit 2     STARVING  starvation mode: hand-off to waiters, newcomers queue
 *   bits 3-31 waiters   threads parked on (or heading for) the semaphore */
enum {
    MUTEX_LOCKED = 1,
    MUTEX_WOKEN = 2,
    MUTEX_STARVING = 4,
    MUTEX_WAITER_SHIFT = 3,
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
            golf__sema_acquire(&m->sema_);
            starving = starving || golf__now_ns() - wait_start > STARVATION_THRESHOLD_NS;
            /* acquire: in starvation mode the mutex was handed to us; the sema's [S1] pair
             * already orders the previous holder's writes before this point. */
            old = atomic_load_explicit(state, memory_order_acquire);
            if (old & MUTEX_STARVING) {
                if ((old & (MUTEX_LOCKED | MUTEX_WOKEN)) || (old >> MUTEX_WAITER_SHIFT) == 0)
                    golf__fatal("sync: inconsistent mutex state");
                int32_t delta = MUTEX_LOCKED - MUTEX_ONE_WAITER;
                /* Leave starvation mode when we did not wait long or were the last waiter:
                 * staying in it needlessly would serialise everyone through hand-offs. */
                if (!starving || (old >> MUTEX_WAITER_SHIFT) == 1)
                    delta -= MUTEX_STARVING;
                /* relaxed: we already own the mutex (hand-off); this only updates the
                 * bookkeeping, and the next unlock's release publishes our writes. */
                atomic_fetch_add_explicit(state, delta, memory_order_relaxed);
                return;
            }
            awoke = true;
            iter = 0;
        }
        /* On CAS failure `old` holds the fresh value. */
    }
}

void
golf_mutex_unlock(golf_mutex *m)
{
    /* [MU1] release: publishes the critical section to the next locker (pairs with the
     * acquires in golf_mutex_lock / mutex_lock_slow / trylock). */
    int32_t new_state = atomic_fetch_sub_explicit(GOLF__A32(&m->state_), MUTEX_LOCKED,
                                                  memory_order_release) -
                        MUTEX_LOCKED;
    if (GOLF__UNLIKELY(new_state != 0))
        mutex_unlock_slow(m, new_state);
}

__attribute__((noinline)) static void
mutex_unlock_slow(golf_mutex *m, int32_t new_state)
{
    if (!((new_state + MUTEX_LOCKED) & MUTEX_LOCKED))
        golf__fatal("sync: unlock of unlocked mutex");
    _Atomic int32_t *state = GOLF__A32(&m->state_);
    if (!(new_state & MUTEX_STARVING)) {
        int32_t old = new_state;
        for (;;) {
            /* Nobody to wake, or somebody already woken / spinning / holding the lock: they
             * will take it from here. */
            if ((old >> MUTEX_WAITER_SHIFT) == 0 ||
                (old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING)))
                return;
            int32_t next = (old - MUTEX_ONE_WAITER) | MUTEX_WOKEN;
            /* relaxed: the waiter's ordering comes from the sema's [S1] pair and the
             * [MU1] release of our fetch_sub above. */
            if (atomic_compare_exchange_weak_explicit(state, &old, next, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                golf__sema_release(&m->sema_, 1);
                return;
            }
        }
    } else {
        /* Starvation mode: hand the mutex to the next waiter. LOCKED stays clear, but STARVING
         * keeps newcomers out, so the woken waiter owns it. */
        golf__sema_release(&m->sema_, 1);
    }
}
