/* golf_rwmutex: Go's sync.RWMutex (src/sync/rwmutex.go) on futex semaphores.
 *
 * Invariants:
 *   - reader_count = readers holding or waiting for the read lock; a writer that announced itself
 *     subtracts RWMUTEX_MAX_READERS, so reader_count < 0 means "a writer is pending or active"
 *     and new readers park on reader_sem instead of entering (writer preference: a steady stream
 *     of readers cannot starve a writer).
 *   - reader_wait = readers that were inside when the writer announced itself and have not left
 *     yet; the last of them releases writer_sem.
 *   - w serialises writers.
 */
#include "sync/sync_internal.h"
#include "sync/sema.h"
#include "lockfree/fatal.h"

#define RWMUTEX_MAX_READERS ((int32_t)1 << 30)

void
golf_rwmutex_rlock(golf_rwmutex *m)
{
    /* [RW1] acquire: pairs with [RW1] release in golf_rwmutex_unlock(): a reader that enters
     * without parking sees the last writer's critical section. */
    if (atomic_fetch_add_explicit(GOLF__A32(&m->reader_count_), 1, memory_order_acquire) + 1 < 0) {
        /* A writer is pending: wait for it (the sema's [S1] pair orders its writes before us). */
        golf__sema_acquire(&m->reader_sem_);
    }
}

bool
golf_rwmutex_tryrlock(golf_rwmutex *m)
{
    _Atomic int32_t *rc = GOLF__A32(&m->reader_count_);
    /* relaxed: the CAS below decides. */
    int32_t c = atomic_load_explicit(rc, memory_order_relaxed);
    for (;;) {
        if (c < 0)
            return false;
        /* [RW1] acquire (see rlock). */
        if (atomic_compare_exchange_weak_explicit(rc, &c, c + 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return true;
    }
}

__attribute__((noinline)) static void
rwmutex_runlock_slow(golf_rwmutex *m, int32_t r)
{
    if (r + 1 == 0 || r + 1 == -RWMUTEX_MAX_READERS)
        golf__fatal("sync: RUnlock of unlocked RWMutex");
    /* A writer is pending; the last departing reader lets it in. acq_rel: [RW2] release
     * publishes this reader's reads-before-departure to the writer (pairs with the writer's
     * [RW2] acquire); acquire orders the other readers' departures before our release. */
    if (atomic_fetch_sub_explicit(GOLF__A32(&m->reader_wait_), 1, memory_order_acq_rel) - 1 == 0)
        golf__sema_release(&m->writer_sem_, 1);
}

void
golf_rwmutex_runlock(golf_rwmutex *m)
{
    /* [RW2] release: our reads happen before a later writer's critical section (pairs with the
     * [RW2] acquire in golf_rwmutex_lock). */
    int32_t r =
        atomic_fetch_sub_explicit(GOLF__A32(&m->reader_count_), 1, memory_order_release) - 1;
    if (r < 0)
        rwmutex_runlock_slow(m, r);
}

void
golf_rwmutex_lock(golf_rwmutex *m)
{
    /* First resolve competition with other writers. */
    golf_mutex_lock(&m->w_);
    /* Announce to readers there is a pending writer. [RW2] acquire: pairs with the readers'
     * [RW2] release in runlock, so readers that already left are ordered before us. */
    int32_t r = atomic_fetch_sub_explicit(GOLF__A32(&m->reader_count_), RWMUTEX_MAX_READERS,
                                          memory_order_acq_rel);
    /* Wait for active readers. [RW2] acq_rel on reader_wait: see runlock_slow. */
    if (r != 0 &&
        atomic_fetch_add_explicit(GOLF__A32(&m->reader_wait_), r, memory_order_acq_rel) + r != 0)
        golf__sema_acquire(&m->writer_sem_);
}

bool
golf_rwmutex_trylock(golf_rwmutex *m)
{
    if (!golf_mutex_trylock(&m->w_))
        return false;
    int32_t zero = 0;
    /* [RW2] acquire: as in lock (no reader inside, so nothing to wait for). */
    if (!atomic_compare_exchange_strong_explicit(GOLF__A32(&m->reader_count_), &zero,
                                                 -RWMUTEX_MAX_READERS, memory_order_acquire,
                                                 memory_order_relaxed)) {
        golf_mutex_unlock(&m->w_);
        return false;
    }
    return true;
}

void
golf_rwmutex_unlock(golf_rwmutex *m)
{
    /* Announce to readers there is no active writer. [RW1] release: publishes the critical
     * section to readers (pairs with rlock's [RW1] acquire). */
    int32_t r = atomic_fetch_add_explicit(GOLF__A32(&m->reader_count_), RWMUTEX_MAX_READERS,
                                          memory_order_release) +
                RWMUTEX_MAX_READERS;
    if (r >= RWMUTEX_MAX_READERS)
        golf__fatal("sync: Unlock of unlocked RWMutex");
    /* Unblock the readers that arrived while we held it. */
    if (r > 0)
        golf__sema_release(&m->reader_sem_, (uint32_t)r);
    /* Allow other writers to proceed. */
    golf_mutex_unlock(&m->w_);
}
