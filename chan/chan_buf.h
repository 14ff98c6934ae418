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

/* After every successful buffered push *and* pop, both sides are checked: a push may make the
 * next send ready (the slot after ours was already free) and a pop the next receive (the slot
 * after ours was already full). Checking only the opposite side would leave a waiter asleep
 * with a value ready whenever its wake-up had been spent on a slot still being filled (C7: a
 * consumed wake-up leads to progress or is passed on). After a push (`sent`, a constant that
 * folds away) the notify fd is signalled too, if the channel has one (C10). A batch calls this
 * once per run: one wake-up and one signal for all its values. */
static inline void
golf__buf_after_op(golf_chan *ch, bool sent)
{
    GOLF__POINT(BUF_AFTER_OP);
    /* golf__waitq_after_op: [S3], [S4]. A sender that missed the fd is waited for by
     * golf_chan_notify_fd() until its stamp is stored (C10). */
    uint32_t nr, ns;
    if (golf__waitq_after_op(&ch->wq, sent, &nr, &ns))
        golf__buf_wake(ch, nr, ns);
}

/* Buffered send: the ring push, then the waker check. Inline: this is the fast path. */
static inline int
golf__buf_try_send(golf_chan *ch, const void *elem)
{
    int r = golf__ring_try_push(ch->ring, elem);
    if (r == GOLF_OK)
        golf__buf_after_op(ch, true);
    return r;
}

/* Buffered receive: the ring pop, then the waker check. */
static inline int
golf__buf_try_recv(golf_chan *ch, void *out)
{
    int r = golf__ring_try_pop(ch->ring, out, &ch->wq.closed);
    if (r == GOLF_OK)
        golf__buf_after_op(ch, false);
    return r;
}

/* Batches: up to n values with one CAS (golf__ring_try_push_many / _pop_many), then one waker
 * check for the run. GOLF_OK with *done >= 1, GOLF_EAGAIN or GOLF_ECLOSED (*done == 0). */
static inline int
golf__buf_try_send_many(golf_chan *ch, const unsigned char *elems, size_t n, size_t *done)
{
    int r = golf__ring_try_push_many(ch->ring, elems, n, done);
    if (r == GOLF_OK)
        golf__buf_after_op(ch, true);
    return r;
}

static inline int
golf__buf_try_recv_many(golf_chan *ch, unsigned char *out, size_t max, size_t *done)
{
    int r = golf__ring_try_pop_many(ch->ring, out, max, &ch->wq.closed, done);
    if (r == GOLF_OK)
        golf__buf_after_op(ch, false);
    return r;
}

/* golf_chan_notify_fd()'s half of C10: after its [S4] store of the fd, waits until every
 * position reserved before that store is published (a sender between its CAS and its stamp
 * store may have loaded the fd as -1), so the caller's first drain finds those values. Waits
 * only on senders mid-copy: a few instructions, or until a descheduled one runs again. */
void golf__buf_wait_published(golf_chan *ch);

#endif
