/* SPDX-License-Identifier: MIT */
/* The buffered flavour (cap >= 1): the ring of lockfree/ring_internal.h, closed = the mark bit
 * in its tail; waiters are woken as hints and retry. Inline fast paths here, the slow halves in
 * chan/chan_buf.c. */
#ifndef GOLF_CHAN_BUF_H
#define GOLF_CHAN_BUF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "chan_struct.h"
#include "lockfree/cacheline.h"
#include "lockfree/chaos.h"
#include "lockfree/ring_internal.h"
#include "waitq.h"

/* The waker check after a successful buffered push or pop; cold, out of line. nr / ns are the
 * waiter counts the fast path loaded. Wakes one receiver if a receive is ready now (every
 * receiver if the ring is closed and drained) and one sender if a send is ready now. */
void golf__buf_wake(golf_chan *ch, uint32_t nr, uint32_t ns);

/* Re-checks every registered buffered case of a blocking round (perm order; nodes == NULL: the
 * waiter's own node): GOLF__RING_READY (or READY_CLOSED) if one is ready now, else
 * GOLF__RING_IN_FLIGHT if one waits on a position another thread holds, else
 * GOLF__RING_NOT_READY. No side effects. */
int golf__buf_recheck(golf_case *cases, size_t n, golf__wnode *nodes, const uint32_t *perm,
                      golf__waiter *self);

/* After every successful buffered push *and* pop, both sides are checked: a push may make the
 * next send ready (the slot after ours was already free) and a pop the next receive (the slot
 * after ours was already full). Checking only the opposite side would leave a waiter asleep
 * with a value ready whenever its wake-up had been spent on a slot still being filled (C7: a
 * consumed wake-up leads to progress or is passed on). */
static inline void
golf__buf_after_op(golf_chan *ch)
{
    GOLF__POINT(BUF_AFTER_OP);
    /* [S3] seq_cst loads: after our push's or pop's [S1] seq_cst CAS in the single seq_cst
     * order, so a waiter whose registration ([S3] count store) precedes that CAS is seen here,
     * and one that registers later sees our CAS in its re-check ([S2]): no fence on this path
     * (chan/README.md, "Park and wake"). On x86 these are plain loads. Nonzero sends us to the
     * locked slow path. Both counts share the header line, which only slow paths write. */
    uint32_t nr = atomic_load_explicit(&ch->wq.nrecv, memory_order_seq_cst);
    uint32_t ns = atomic_load_explicit(&ch->wq.nsend, memory_order_seq_cst);
    if (GOLF__UNLIKELY((nr | ns) != 0))
        golf__buf_wake(ch, nr, ns);
}

/* Buffered send: the ring push, then the waker check. Inline: this is the fast path. */
static inline int
golf__buf_try_send(golf_chan *ch, const void *elem)
{
    int r = golf__ring_try_push(ch->ring, elem);
    if (r == GOLF_OK)
        golf__buf_after_op(ch);
    return r;
}

/* Buffered receive: the ring pop, then the waker check. */
static inline int
golf__buf_try_recv(golf_chan *ch, void *out)
{
    int r = golf__ring_try_pop(ch->ring, out, true);
    if (r == GOLF_OK)
        golf__buf_after_op(ch);
    return r;
}

#endif
