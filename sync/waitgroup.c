/* golf_waitgroup: Go's sync.WaitGroup (src/sync/waitgroup.go, 1.19) on a futex semaphore.
 *
 * Bit layout of state_ (uint64): counter (signed, high 32 bits) << 32 | waiters (low 32 bits).
 * Invariants: waiters > 0 only while counter > 0, except during the hand-off in add() that resets
 * the whole word to 0 and then releases exactly `waiters` units of the semaphore. */
#include "sync/sync_internal.h"
#include "lockfree/alloc.h"
#include "sync/sema.h"
#include "lockfree/fatal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#define WG_COUNTER(s) ((int32_t)((s) >> 32))
#define WG_WAITERS(s) ((uint32_t)(s))

void
golf_waitgroup_add(golf_waitgroup *wg, int64_t delta)
{
    _Atomic uint64_t *state = GOLF__AU64(&wg->state_);
    /* [WG1] acq_rel: release publishes the caller's work (done = add(-1)) to the waiter that
     * observes the zero (pairs with [WG1] acquire in wait); acquire lets the thread that brings
     * the counter to zero see every earlier done's work before it releases the waiters. */
    uint64_t s = atomic_fetch_add_explicit(state, (uint64_t)delta << 32, memory_order_acq_rel) +
                 ((uint64_t)delta << 32);
    int32_t v = WG_COUNTER(s);
    uint32_t w = WG_WAITERS(s);
    if (v < 0)
        golf__fatal("sync: negative WaitGroup counter");
    if (w != 0 && delta > 0 && v == (int32_t)delta)
        golf__fatal("sync: WaitGroup misuse: Add called concurrently with Wait");
    if (v > 0 || w == 0)
        return;
    /* Counter is 0 and there are waiters: nobody may change the state now (a concurrent add
     * would be the misuse above), so a plain check and store are enough. relaxed: the sema's
     * [S1] pair orders what follows for the waiters. */
    if (atomic_load_explicit(state, memory_order_relaxed) != s)
        golf__fatal("sync: WaitGroup misuse: Add called concurrently with Wait");
    atomic_store_explicit(state, 0, memory_order_relaxed);
    golf__sema_release(&wg->sema_, w);
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
        /* Count ourselves as a waiter. acquire on success: same pair as above. */
        if (atomic_compare_exchange_weak_explicit(state, &s, s + 1, memory_order_acquire,
                                                  memory_order_acquire)) {
            golf__sema_acquire(&wg->sema_);
            /* relaxed: only a misuse check; the sema's [S1] pair carries the ordering. */
            if (atomic_load_explicit(state, memory_order_relaxed) != 0)
                golf__fatal("sync: WaitGroup is reused before previous Wait has returned");
            return;
        }
    }
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
