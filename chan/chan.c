/* SPDX-License-Identifier: MIT */
/* golf_chan: Go channels (include/golf/chan.h; design in chan/README.md). The top of chan/:
 * the public entry points (argument checks, the fast paths, close, len/cap, the blocking and
 * timed forms); the files below it call nothing here (chan/README.md, "Files").
 *
 * Two flavours behind one type:
 *   - buffered (cap >= 1): the stamped ring of lockfree/ring_internal.h, closed = the mark bit
 *     in the ring's tail (close and send linearize on that one word, H3); waiters are only
 *     woken as hints and retry (chan/chan_buf.c);
 *   - unbuffered (cap == 0): a direct hand-off between a sender and a parked receiver (or the
 *     reverse), chan/chan_zero.c;
 *   - unbounded (cap == GOLF_UNBOUNDED): a linked list of blocks, closed = the mark bit in its
 *     tail, waiters woken as the buffered flavour's (chan/chan_unb.c).
 * Blocking goes through the select engine (chan/select.c) with one case.
 *
 * Memory-model contract (Go's): a send happens before the receive that takes its value
 * completes ([R2], or [W1] for a hand-off); the k-th receive on a channel of capacity C
 * happens before the (k+C)-th send completes ([R1]); a close happens before a receive that
 * returns GOLF_ECLOSED because of it ([R3], or [L1] for unbuffered). */
#include "chan_buf.h"
#include "chan_struct.h"
#include "chan_unb.h"
#include "chan_zero.h"
#include "lockfree/alloc.h"
#include "lockfree/chaos.h"
#include "lockfree/futex.h"
#include "lockfree/lock.h"
#include "select.h"
#include "waitq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* An unbounded channel: the header line, the golf__unb_core, and its first block (a second
 * allocation; the blocks come and go with the values). */
static golf_chan *
golf__chan_new_unbounded(size_t elem_size)
{
    golf__unb_core layout;
    if (!golf__unb_layout(&layout, elem_size)) {
        errno = EINVAL;
        return NULL;
    }
    golf_chan *ch = golf__aligned_alloc(GOLF__LINE, sizeof(golf_chan) + sizeof(golf__unb_core));
    if (!ch) {
        errno = ENOMEM;
        return NULL;
    }
    memset(ch, 0, sizeof(golf_chan) + sizeof(golf__unb_core));
    ch->elem_size = elem_size;
    ch->cap = GOLF_UNBOUNDED;
    golf__unb_core *u = golf__chan_unb(ch);
    u->elem_size = layout.elem_size;
    u->slot_size = layout.slot_size;
    u->block_size = layout.block_size;
    u->lap = layout.lap;
    u->lap_shift = layout.lap_shift;
    if (golf__unb_init(u) != GOLF_OK) {
        free(ch);
        errno = ENOMEM;
        return NULL;
    }
    golf__waitq_init(&ch->wq);
    return ch;
}

GOLF_API golf_chan *
golf_chan_new(size_t elem_size, size_t cap)
{
    if (cap == GOLF_UNBOUNDED)
        return golf__chan_new_unbounded(elem_size);
    size_t slot_size = 0, bytes = 0;
    if (cap > 0) {
        bytes = golf__ring_slots_bytes(elem_size, cap, &slot_size);
        if (bytes == 0) {
            errno = EINVAL;
            return NULL;
        }
    } else if (elem_size > SIZE_MAX / 4) {
        errno = EINVAL;
        return NULL;
    }
    /* The header line, then (buffered) the ring's three lines and its slots; the total stays a
     * multiple of the alignment. Sizes were checked above (the slot area is at most a quarter
     * of the address space), so nothing here can wrap. */
    size_t head_bytes = sizeof(golf_chan) + (cap > 0 ? sizeof(golf__ring_core) : 0);
    size_t total = (head_bytes + bytes + GOLF__LINE - 1) & ~(size_t)(GOLF__LINE - 1);
    golf_chan *ch = golf__aligned_alloc(GOLF__LINE, total);
    if (!ch) {
        errno = ENOMEM;
        return NULL;
    }
    memset(ch, 0, head_bytes);
    ch->elem_size = elem_size;
    ch->cap = cap;
    if (cap > 0)
        golf__ring_init(ch->ring, elem_size, cap, slot_size, (unsigned char *)ch + head_bytes);
    /* The channel is not shared yet; handing the pointer to another thread publishes it
     * (thread creation, or another channel). */
    golf__waitq_init(&ch->wq);
    return ch;
}

GOLF_API void
golf_chan_free(golf_chan *ch)
{
    if (ch && golf__chan_is_unbounded(ch))
        golf__unb_destroy_all(golf__chan_unb(ch));
    free(ch);
}

GOLF_API size_t
golf_chan_len(const golf_chan *ch)
{
    if (!ch || !golf__chan_is_buffered(ch))
        return 0;
    if (golf__chan_is_unbounded(ch))
        return golf__unb_len(golf__chan_unb(ch));
    return golf__ring_len(ch->ring);
}

GOLF_API size_t
golf_chan_cap(const golf_chan *ch)
{
    return ch ? ch->cap : 0;
}

GOLF_API int
golf_chan_close(golf_chan *ch)
{
    if (!ch)
        return GOLF_EINVAL;
    if (golf__chan_is_buffered(ch)) {
        /* The lock is taken *before* the mark is set: a receiver that sees the mark settles
         * on the lock (golf__chan_settle) before it returns GOLF_ECLOSED, so it cannot free
         * the channel while we still wake waiters (C8). */
        golf__lock_acquire(&ch->wq.lock);
        _Atomic uint64_t *tail = &ch->ring->tail;
        uint64_t mark = 0;
        if (golf__chan_is_unbounded(ch)) {
            tail = &golf__chan_unb(ch)->tail;
            mark = GOLF__UNB_MARK;
        } else {
            mark = ch->ring->mark;
        }
        /* [R3] release: a receiver that sees the mark and an empty ring (acquire in
         * golf__ring_try_pop()) sees everything before the close. The RMW puts the mark in
         * tail's modification order: every later send CAS fails (I4). seq_cst, not just
         * release: every write of tail is then in the park/wake order ([S1], README), which
         * keeps that argument to seq_cst operations only; on x86 it is the same instruction. */
        uint64_t old = atomic_fetch_or_explicit(tail, mark, memory_order_seq_cst);
        if (old & mark) {
            golf__lock_release(&ch->wq.lock);
            return GOLF_ECLOSED;
        }
        GOLF__POINT(CHAN_CLOSE);
        /* Everyone registered before our lock is woken; everyone who registers after sees the
         * mark in its re-check (the lock orders it). */
        golf__waitq_wake_closed(&ch->wq, GOLF_RECV);
        golf__waitq_wake_closed(&ch->wq, GOLF_SEND);
        golf__lock_release(&ch->wq.lock);
        return GOLF_OK;
    }
    golf__lock_acquire(&ch->wq.lock);
    /* relaxed: written and read under the lock ([L1] publishes it); the unlocked fast-fail
     * reads only use it to decide whether to take the lock. */
    if (atomic_load_explicit(&ch->wq.closed, memory_order_relaxed)) {
        golf__lock_release(&ch->wq.lock);
        return GOLF_ECLOSED;
    }
    /* relaxed: as above; [L1] publishes it with the emptied lists. */
    atomic_store_explicit(&ch->wq.closed, 1, memory_order_relaxed);
    golf__waitq_wake_closed(&ch->wq, GOLF_RECV);
    golf__waitq_wake_closed(&ch->wq, GOLF_SEND);
    golf__lock_release(&ch->wq.lock);
    return GOLF_OK;
}

/* ---- send / receive ------------------------------------------------------------------------ */

static inline int
golf__try_send(golf_chan *ch, const void *elem)
{
    int r;
    if (GOLF__LIKELY(golf__chan_is_ring(ch)))
        r = golf__buf_try_send(ch, elem);
    else if (golf__chan_is_unbounded(ch))
        r = golf__unb_try_send(ch, elem);
    else
        r = golf__zero_try_send(ch, elem, golf__self());
    if (GOLF__UNLIKELY(r == GOLF_ECLOSED))
        golf__chan_settle(ch); /* the closer may still hold the lock (C8) */
    return r;
}

static inline int
golf__try_recv(golf_chan *ch, void *out)
{
    int r;
    if (GOLF__LIKELY(golf__chan_is_ring(ch)))
        r = golf__buf_try_recv(ch, out);
    else if (golf__chan_is_unbounded(ch))
        r = golf__unb_try_recv(ch, out);
    else
        r = golf__zero_try_recv(ch, out, golf__self());
    if (GOLF__UNLIKELY(r == GOLF_ECLOSED)) {
        if (out && ch->elem_size)
            memset(out, 0, ch->elem_size);
        golf__chan_settle(ch); /* the closer may still hold the lock (C8) */
    }
    return r;
}

/* Blocks in the engine with one case (ch may be NULL: Go's nil channel, never ready).
 * Returns the case's status, or GOLF_ETIMEDOUT. */
static int
golf__block_one(golf_chan *ch, int op, void *elem, uint64_t deadline)
{
    golf_case c = {ch, op, elem, 0};
    uint32_t perm;
    /* nodes == NULL: the engine uses the waiter's own node and inline value buffer. */
    int r = golf__select_run(&c, 1, NULL, &perm, deadline, false);
    return r < 0 ? r : c.status;
}

GOLF_API int
golf_chan_send(golf_chan *ch, const void *elem)
{
    if (ch) {
        if (GOLF__UNLIKELY(ch->elem_size && !elem))
            return GOLF_EINVAL;
        int r = golf__try_send(ch, elem);
        if (GOLF__LIKELY(r != GOLF_EAGAIN))
            return r;
    }
    return golf__block_one(ch, GOLF_SEND, (void *)elem, GOLF__FOREVER);
}

GOLF_API int
golf_chan_recv(golf_chan *ch, void *out)
{
    if (ch) {
        int r = golf__try_recv(ch, out);
        if (GOLF__LIKELY(r != GOLF_EAGAIN))
            return r;
    }
    return golf__block_one(ch, GOLF_RECV, out, GOLF__FOREVER);
}

GOLF_API int
golf_chan_try_send(golf_chan *ch, const void *elem)
{
    if (!ch)
        return GOLF_EAGAIN;
    if (ch->elem_size && !elem)
        return GOLF_EINVAL;
    return golf__try_send(ch, elem);
}

GOLF_API int
golf_chan_try_recv(golf_chan *ch, void *out)
{
    if (!ch)
        return GOLF_EAGAIN;
    return golf__try_recv(ch, out);
}

GOLF_API int
golf_chan_send_timeout(golf_chan *ch, const void *elem, uint64_t timeout_ns)
{
    if (ch) {
        if (ch->elem_size && !elem)
            return GOLF_EINVAL;
        int r = golf__try_send(ch, elem);
        if (r != GOLF_EAGAIN)
            return r;
    }
    if (timeout_ns == 0)
        return GOLF_ETIMEDOUT;
    return golf__block_one(ch, GOLF_SEND, (void *)elem, golf__deadline(timeout_ns));
}

GOLF_API int
golf_chan_recv_timeout(golf_chan *ch, void *out, uint64_t timeout_ns)
{
    if (ch) {
        int r = golf__try_recv(ch, out);
        if (r != GOLF_EAGAIN)
            return r;
    }
    if (timeout_ns == 0)
        return GOLF_ETIMEDOUT;
    return golf__block_one(ch, GOLF_RECV, out, golf__deadline(timeout_ns));
}
