/* SPDX-License-Identifier: MIT */
/* golf_once: Go's sync.Once (src/sync/once.go). A fast path of one acquire load; the slow path
 * serialises callers on a mutex so that every caller returns only after fn has returned.
 *
 * Lifetime (sync/README.md L1): the slow path's last access to *o is the unlock of o->m_, whose
 * own last access is its releasing CAS (mutex.c), so a caller that returns and learns that every
 * other caller has returned may free o. fn may use other golf objects and other Onces (a nested
 * golf_once_do on another Once is fine); on the same o it deadlocks, as in Go. */
#include "lockfree/cacheline.h"
#include "sync_internal.h"

__attribute__((noinline)) static void
once_do_slow(golf_once *o, void (*fn)(void *arg), void *arg)
{
    golf_mutex_lock(&o->m_);
    /* relaxed: the mutex orders this read after the writer's store. */
    if (atomic_load_explicit(GOLF__AU32(&o->done_), memory_order_relaxed) == 0) {
        fn(arg);
        GOLF__POINT(ONCE_DONE);
        /* [O1] release: fn's effects happen before any fast-path caller returns (pairs with
         * [O1] acquire in golf_once_do). Stored after fn returns, as Go does, so no caller can
         * return while fn still runs. */
        atomic_store_explicit(GOLF__AU32(&o->done_), 1, memory_order_release);
    }
    golf_mutex_unlock(&o->m_);
}

void
golf_once_do(golf_once *o, void (*fn)(void *arg), void *arg)
{
    /* [O1] acquire: pairs with [O1] release in once_do_slow. */
    if (GOLF__LIKELY(atomic_load_explicit(GOLF__AU32(&o->done_), memory_order_acquire) == 1))
        return;
    once_do_slow(o, fn, arg);
}
