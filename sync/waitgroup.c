/* SPDX-License-Identifier: MIT */
/* golf_waitgroup: Go's sync.WaitGroup (src/sync/waitgroup.go, 1.19) on a futex on its counter.
 *
 * Bit layout of state_ (uint64): counter (signed, high 32 bits) << 32 | waiters (low 32 bits).
 * Waiters park on the counter's 32-bit half of the word (a futex word must be 32 bits; the kernel
 * reads that half, golf only ever accesses the whole word atomically).
 *
 * Invariants:
 *   - waiters counts the threads inside golf_waitgroup_wait that registered while counter > 0;
 *     each takes itself off the count on its way out. A waiter registers only while counter > 0,
 *     so the add that brings the counter to 0 sees every registered waiter in its own result.
 *   - Lifetime (sync/README.md L1): the add (done) that brings the counter to zero does it with
 *     one fetch_add, its last access to *wg; after it comes at most a futex_wake on the counter's
 *     address, which reads no memory. Go's Add, after that store, still resets the word and
 *     releases a semaphore: with a garbage collector that is safe, in C a Wait that returned on the
 *     zero could already have freed the WaitGroup.
 *   - Misuse, fatal: an add of delta > 0 that takes the counter from 0 to delta while waiters
 *     are still counted (they have not all returned from the previous Wait), and a negative
 *     counter. The first aborts here, "Add called concurrently with Wait"; Go lets that Add
 *     succeed and panics in the late waiter, "WaitGroup is reused before previous Wait has
 *     returned" (its waiters are counted out by the done that wakes them; docs/DEVIATIONS.md). */
#include "lockfree/alloc.h"
#include "lockfree/fatal.h"
#include "lockfree/futex.h"
#include "lockfree/watch.h"
#include "sync_internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#define WG_COUNTER(s) ((int32_t)((s) >> 32))
#define WG_WAITERS(s) ((uint32_t)(s))
#define WG_ONE_WAITER ((uint64_t)1)

/* The counter's half of the state word, as a futex word. */
static inline _Atomic uint32_t *
wg_counter_futex(golf_waitgroup *wg)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (_Atomic uint32_t *)(void *)&wg->state_;
#else
    return (_Atomic uint32_t *)(void *)&wg->state_ + 1;
#endif
}

void
golf_waitgroup_add(golf_waitgroup *wg, int64_t delta)
{
    _Atomic uint64_t *state = GOLF__AU64(&wg->state_);
    /* Computed before the fetch_add: after it, *wg may be freed memory. */
    _Atomic uint32_t *futex = wg_counter_futex(wg);
    /* [WG1] release: publishes the caller's work (done = add(-1)) to the waiter that observes the
     * zero (pairs with [WG1] acquire in wait). Every access to the word is a read-modify-write,
     * so each done's release heads a release sequence that runs through the later dones to the
     * zero the waiter reads: no acquire here (Go's Add needed one to pass the earlier dones on
     * through its separate semaphore; golf has no second step). The checks below read only the
     * value this RMW returned. */
    uint64_t s = atomic_fetch_add_explicit(state, (uint64_t)delta << 32, memory_order_release) +
                 ((uint64_t)delta << 32);
    int32_t v = WG_COUNTER(s);
    uint32_t w = WG_WAITERS(s);
    if (v < 0)
        golf__fatal("sync: negative WaitGroup counter");
    if (w != 0 && delta > 0 && v == (int32_t)delta)
        golf__fatal("sync: WaitGroup misuse: Add called concurrently with Wait");
    /* The fetch_add was the last access: a Wait may return on this zero and free *wg at once.
     * FUTEX_WAKE reads no user memory; a stray wake-up of a reused address is spurious. */
    if (v == 0 && w != 0) {
        golf__sync_after_release();
        GOLF__POINT(WG_ADD);
        golf__futex_wake(futex, INT_MAX);
    }
}

void
golf_waitgroup_done(golf_waitgroup *wg)
{
    golf_waitgroup_add(wg, -1);
}

void
golf_waitgroup_wait(golf_waitgroup *wg)
{
    _Atomic uint64_t *state = GOLF__AU64(&wg->state_);
    /* [WG1] acquire: pairs with the adds' release: the work before each done is visible. */
    uint64_t s = atomic_load_explicit(state, memory_order_acquire);
    for (;;) {
        if (WG_COUNTER(s) == 0)
            return;
        if (WG_WAITERS(s) == UINT32_MAX)
            golf__fatal("sync: too many WaitGroup waiters");
        /* Count ourselves as a waiter, only while the counter is not zero. [WG1] acquire on
         * failure: the fresh value may be the zero we return on. (Success needs no ordering,
         * the load below sees the zero, but may not be weaker than failure.) */
        if (atomic_compare_exchange_weak_explicit(state, &s, s + WG_ONE_WAITER,
                                                  memory_order_acquire, memory_order_acquire))
            break;
    }
    _Atomic uint32_t *futex = wg_counter_futex(wg);
    for (;;) {
        /* [WG1] acquire (see above). */
        s = atomic_load_explicit(state, memory_order_acquire);
        if (WG_COUNTER(s) == 0)
            break;
        /* Sleeps only while the counter half is still what we saw: the add that zeroes it
         * changes it before its futex_wake (lockfree/futex.h contract). */
        GOLF__POINT(WG_WAIT);
        golf__wait_until(futex, (uint32_t)WG_COUNTER(s), GOLF__FOREVER, GOLF__WAIT_WAITGROUP_WAIT,
                         wg);
    }
    golf__wait_end();
    /* Take ourselves off the count before returning (after the return the caller may free *wg).
     * relaxed: bookkeeping only; it orders nothing the caller relies on. */
    uint64_t before = atomic_fetch_sub_explicit(state, WG_ONE_WAITER, memory_order_relaxed);
    GOLF__ASSERT(WG_WAITERS(before) >= 1, "6 WaitGroup: a waiter left that was not counted");
}

typedef struct wg_thread_arg {
    golf_waitgroup *wg;
    void (*fn)(void *arg);
    void *arg;
} wg_thread_arg;

static void *
wg_thread_main(void *p)
{
    wg_thread_arg a = *(wg_thread_arg *)p;
    free(p);
    a.fn(a.arg);
    golf_waitgroup_done(a.wg);
    return NULL;
}

int
golf_waitgroup_go(golf_waitgroup *wg, void (*fn)(void *arg), void *arg)
{
    if (wg == NULL || fn == NULL)
        return GOLF_EINVAL;
    wg_thread_arg *a = golf__malloc(sizeof *a);
    if (a == NULL)
        return GOLF_ENOMEM;
    *a = (wg_thread_arg){wg, fn, arg};
    golf_waitgroup_add(wg, 1);
    pthread_attr_t attr;
    pthread_t tid;
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&tid, &attr, wg_thread_main, a);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        free(a);
        golf_waitgroup_done(wg);
        return GOLF_ENOMEM;
    }
    return GOLF_OK;
}
