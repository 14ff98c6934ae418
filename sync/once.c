/* golf_once: Go's sync.Once (src/sync/once.go). A fast path of one acquire load; the slow path
 * serialises callers on a mutex so that every caller returns only after fn has returned. */
#include "sync/sync_internal.h"
#include "lockfree/cacheline.h"


__attribute__((noinline)) static void
once_do_slow(golf_once *o, void (*fn)(void *arg), void *arg)
{
    golf_mutex_lock(&o->m_);
    /* relaxed: the mutex orders this read after the writer's store. */
    if (atomic_load_explicit(GOLF__AU32(&o->done_), memory_order_relaxed) == 0) {
        fn(arg);
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
