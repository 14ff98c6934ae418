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
#include <sys/eventfd.h>
#include <unistd.h>

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
    /* The header line, then (buffered) the ring's two lines and its slots; the total stays a
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
    if (!ch)
        return;
    if (golf__chan_is_unbounded(ch))
        golf__unb_destroy_all(golf__chan_unb(ch));
    /* relaxed: nobody else may use ch any more (the lifetime rule). */
    int fd = atomic_load_explicit(&ch->wq.notify_fd, memory_order_relaxed);
    if (fd >= 0)
        close(fd);
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
        bool unbounded = golf__chan_is_unbounded(ch);
        if (unbounded) {
            tail = &golf__chan_unb(ch)->tail;
            mark = GOLF__UNB_MARK;
        } else {
            mark = ch->ring->prod.mark;
        }
        /* [R3] release: a receiver that sees the mark and an empty ring (golf__ring_try_pop(),
         * which loads tail with acquire once it sees the flag below) sees everything before
         * the close. The RMW puts the mark in tail's modification order: every later send CAS
         * fails (I4). seq_cst, not just release: every write of tail is then in the park/wake
         * order ([S1], README), which keeps that argument to seq_cst operations only; on x86
         * it is the same instruction. */
        uint64_t old = atomic_fetch_or_explicit(tail, mark, memory_order_seq_cst);
        if (old & mark) {
            golf__lock_release(&ch->wq.lock);
            return GOLF_ECLOSED;
        }
        /* Chaos widens the window where the mark is set and the flag below is not: re-checks
         * and fingerprints (which read tail) say closed, tries (which read the flag) EAGAIN. */
        GOLF__POINT(CHAN_CLOSE);
        /* release: the receivers' flag (C5): a receive that finds the ring empty loads tail
         * only after it sees this (golf__ring_try_pop), so it never polls the producers' line
         * of an open channel. Stored after the mark and under the lock, before any
         * GOLF_ECLOSED answer can return (they settle on the lock). */
        if (!unbounded)
            atomic_store_explicit(&ch->wq.closed, 1, memory_order_release);
        /* Everyone registered before our lock is woken; everyone who registers after sees the
         * mark in its re-check (the lock orders it). */
        golf__waitq_wake_closed(&ch->wq, GOLF_RECV);
        golf__waitq_wake_closed(&ch->wq, GOLF_SEND);
        golf__waitq_notify(&ch->wq); /* under the lock: a receiver may free ch after it (C8) */
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
    /* Shuts the hand-off slot (C11): its waiter, if any, is ours to wake, and no operation can
     * enter it again, so none pairs in it after the close. [Z1] acquire: the waiter's state;
     * seq_cst like every write of the slot ([Z2]). Under the lock: the waiter settles on it
     * before it returns GOLF_ECLOSED (C8). */
    uintptr_t slot = atomic_exchange_explicit(&ch->wq.slot, GOLF__SLOT_SHUT, memory_order_seq_cst);
    if (slot & GOLF__SLOT_TAGS)
        golf__waiter_finish_slot(golf__slot_waiter(slot), GOLF__W_DONE | GOLF__W_CLOSED);
    golf__waitq_notify(&ch->wq); /* under the lock, as above */
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

/* A receive that leaves `out` alone on GOLF_ECLOSED (a batch's later elements). */
static inline int
golf__try_recv_keep(golf_chan *ch, void *out)
{
    int r;
    if (GOLF__LIKELY(golf__chan_is_ring(ch)))
        r = golf__buf_try_recv(ch, out);
    else if (golf__chan_is_unbounded(ch))
        r = golf__unb_try_recv(ch, out);
    else
        r = golf__zero_try_recv(ch, out, golf__self());
    if (GOLF__UNLIKELY(r == GOLF_ECLOSED))
        golf__chan_settle(ch); /* the closer may still hold the lock (C8) */
    return r;
}

/* Out of line on purpose: inlined into golf_chan_recv with the ring pop and its retry loop, the
 * 1P1C receive ran about twice as slow (chan/README.md, "Measured"). */
static __attribute__((noinline)) int
golf__try_recv(golf_chan *ch, void *out)
{
    int r = golf__try_recv_keep(ch, out);
    if (GOLF__UNLIKELY(r == GOLF_ECLOSED) && out && ch->elem_size)
        memset(out, 0, ch->elem_size);
    return r;
}

/* Blocks in the engine with one case (ch may be NULL: Go's nil channel, never ready).
 * Returns the case's status, or GOLF_ETIMEDOUT. */
static int
golf__block_one(golf_chan *ch, int op, void *elem, uint64_t deadline)
{
    golf_case c = {ch, op, elem, 0};
    uint32_t perm;
    /* An untimed unbuffered operation with a small value first tries the hand-off slot (C11). */
    if (ch && !golf__chan_is_buffered(ch) && deadline == GOLF__FOREVER &&
        ch->elem_size <= GOLF__W_INLINE) {
        int r = golf__zero_park(ch, op, elem, golf__self(), &c);
        if (r != GOLF_EAGAIN)
            return r;
    }
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

/* True once `deadline` has passed (0: always, without reading the clock). */
static inline bool
golf__deadline_passed(uint64_t deadline)
{
    return deadline != GOLF__FOREVER && (deadline == 0 || golf__now_ns() >= deadline);
}

/* A timeout as a deadline: 0 stays 0 (a try, no clock read); now + timeout saturates at
 * GOLF__FOREVER (no deadline), so UINT64_MAX means none. */
static inline uint64_t
golf__timeout_deadline(uint64_t timeout_ns)
{
    return timeout_ns == 0 ? 0 : golf__deadline(timeout_ns);
}

GOLF_API int
golf_chan_send_until(golf_chan *ch, const void *elem, uint64_t deadline_ns)
{
    if (ch) {
        if (ch->elem_size && !elem)
            return GOLF_EINVAL;
        int r = golf__try_send(ch, elem);
        if (r != GOLF_EAGAIN)
            return r;
    }
    if (golf__deadline_passed(deadline_ns))
        return GOLF_ETIMEDOUT;
    return golf__block_one(ch, GOLF_SEND, (void *)elem, deadline_ns);
}

GOLF_API int
golf_chan_recv_until(golf_chan *ch, void *out, uint64_t deadline_ns)
{
    if (ch) {
        int r = golf__try_recv(ch, out);
        if (r != GOLF_EAGAIN)
            return r;
    }
    if (golf__deadline_passed(deadline_ns))
        return GOLF_ETIMEDOUT;
    return golf__block_one(ch, GOLF_RECV, out, deadline_ns);
}

GOLF_API int
golf_chan_send_timeout(golf_chan *ch, const void *elem, uint64_t timeout_ns)
{
    return golf_chan_send_until(ch, elem, golf__timeout_deadline(timeout_ns));
}

GOLF_API int
golf_chan_recv_timeout(golf_chan *ch, void *out, uint64_t timeout_ns)
{
    return golf_chan_recv_until(ch, out, golf__timeout_deadline(timeout_ns));
}

/* ---- batches --------------------------------------------------------------------------------
 *
 * A batch is a run of single operations in order, with the flavour's batch step where it has
 * one: a buffered channel moves a whole run of ready slots with one CAS and one waker check
 * (golf__buf_try_send_many / _recv_many). A flavour without a batch step falls back to one try
 * at a time (unbuffered: every value needs its own partner). Blocking is always the single
 * operation's (the engine with one case, on one value), so the park/wake protocol and its
 * proofs are the single operation's; a batch only changes what happens while values are
 * ready. */

static inline const unsigned char *
golf__elem_at(const void *base, size_t i, size_t elem_size)
{
    return base ? (const unsigned char *)base + i * elem_size : NULL;
}

/* Sends up to n values without waiting. GOLF_OK with *done >= 1, or the first value's
 * GOLF_EAGAIN / GOLF_ECLOSED with *done == 0 (settled, C8). */
static int
golf__try_send_some(golf_chan *ch, const void *elems, size_t n, size_t *done)
{
    if (golf__chan_is_ring(ch)) {
        int r = golf__buf_try_send_many(ch, golf__elem_at(elems, 0, 0), n, done);
        if (r == GOLF_ECLOSED)
            golf__chan_settle(ch); /* the closer may still hold the lock (C8) */
        return r;
    }
    size_t k = 0;
    int r = GOLF_OK;
    while (k < n && (r = golf__try_send(ch, golf__elem_at(elems, k, ch->elem_size))) == GOLF_OK)
        k++;
    *done = k;
    return k ? GOLF_OK : r;
}

/* Receives up to max values without waiting; `out` is left alone on GOLF_ECLOSED. As
 * golf__try_send_some() otherwise. An unbuffered channel gives one value: its sender may free the
 * channel as soon as its send returns (C8, "when a send returns, its receiver is done"), so
 * after a hand-off we must not touch the channel again. */
static int
golf__try_recv_some(golf_chan *ch, void *out, size_t max, size_t *done)
{
    if (golf__chan_is_ring(ch)) {
        int r = golf__buf_try_recv_many(ch, out, max, done);
        if (r == GOLF_ECLOSED)
            golf__chan_settle(ch); /* the closer may still hold the lock (C8) */
        return r;
    }
    size_t k = 0, lim = ch->cap == 0 ? 1 : max;
    int r = GOLF_OK;
    while (k < lim &&
           (r = golf__try_recv_keep(ch, (void *)golf__elem_at(out, k, ch->elem_size))) == GOLF_OK)
        k++;
    *done = k;
    return k ? GOLF_OK : r;
}

GOLF_API int
golf_chan_send_many(golf_chan *ch, const void *elems, size_t n, size_t *sent)
{
    if (sent)
        *sent = 0;
    if (n == 0)
        return GOLF_EINVAL;
    if (!ch)
        return golf__block_one(NULL, GOLF_SEND, NULL, GOLF__FOREVER); /* never returns */
    if (ch->elem_size && !elems)
        return GOLF_EINVAL;
    size_t done = 0;
    int r = GOLF_OK;
    while (done < n) {
        size_t k = 0;
        const unsigned char *at = golf__elem_at(elems, done, ch->elem_size);
        r = golf__try_send_some(ch, at, n - done, &k);
        if (r == GOLF_OK) {
            done += k;
            continue;
        }
        if (r == GOLF_ECLOSED)
            break;
        /* Full (or no receiver): wait for room for this one value, then batch again. */
        r = golf__block_one(ch, GOLF_SEND, (void *)at, GOLF__FOREVER);
        if (r != GOLF_OK)
            break;
        done++;
    }
    if (sent)
        *sent = done;
    return done == n ? GOLF_OK : r;
}

/* Checks shared by the batch receives; GOLF_OK when they pass. */
static inline int
golf__recv_many_args(golf_chan *ch, void *out, size_t max, size_t *received)
{
    if (!received || max == 0)
        return GOLF_EINVAL;
    *received = 0;
    if (ch && ch->elem_size && !out)
        return GOLF_EINVAL;
    return GOLF_OK;
}

GOLF_API int
golf_chan_try_recv_many(golf_chan *ch, void *out, size_t max, size_t *received)
{
    int r = golf__recv_many_args(ch, out, max, received);
    if (r != GOLF_OK)
        return r;
    if (!ch)
        return GOLF_EAGAIN;
    r = golf__try_recv_some(ch, out, max, received);
    if (r == GOLF_ECLOSED && out && ch->elem_size)
        memset(out, 0, ch->elem_size);
    return r;
}

GOLF_API int
golf_chan_recv_many(golf_chan *ch, void *out, size_t max, size_t *received)
{
    int r = golf_chan_try_recv_many(ch, out, max, received);
    if (r != GOLF_EAGAIN)
        return r; /* values, closed and drained, or bad arguments */
    /* Nothing ready: wait for one value (ch NULL: forever), then take what else is ready.
     * Unbuffered: one value, and ch is not read after the hand-off (its sender may have freed
     * it, see golf__try_recv_some), so what we need of it is read now. */
    bool more_ok = ch && max > 1 && ch->cap != 0;
    r = golf__block_one(ch, GOLF_RECV, out, GOLF__FOREVER);
    if (r != GOLF_OK)
        return r; /* GOLF_ECLOSED: out[0] zeroed by the engine */
    size_t more = 0;
    if (more_ok && golf__try_recv_some(ch, (void *)golf__elem_at(out, 1, ch->elem_size), max - 1,
                                       &more) != GOLF_OK)
        more = 0;
    *received = 1 + more;
    return GOLF_OK;
}

/* ---- readiness fd ---------------------------------------------------------------------------- */

GOLF_API int
golf_chan_notify_fd(golf_chan *ch)
{
    if (!ch) {
        errno = EINVAL;
        return -1;
    }
    /* acquire: set once, never changed. Its creator may still be waiting for in-flight
     * senders (golf__buf_wait_published) under the lock: settle on the lock ([L2]) before
     * handing the fd out, so no caller drains before that wait is over (C10). */
    int fd = atomic_load_explicit(&ch->wq.notify_fd, memory_order_acquire);
    if (fd >= 0) {
        golf__chan_settle(ch);
        return fd;
    }
    golf__lock_acquire(&ch->wq.lock);
    /* relaxed: written only under the lock we hold. */
    fd = atomic_load_explicit(&ch->wq.notify_fd, memory_order_relaxed);
    if (fd < 0) {
        /* Starts readable (count 1): the caller's first drain picks up whatever arrived, or
         * closed, before this call. */
        fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0) {
            int e = errno;
            golf__lock_release(&ch->wq.lock);
            errno = e;
            return -1;
        }
        /* [S4] seq_cst: see golf__buf_after_op() and golf__buf_wait_published(). An
         * unbuffered sender registers under the lock we hold: it sees the fd, or is linked
         * already and the first drain pairs with it. */
        atomic_store_explicit(&ch->wq.notify_fd, fd, memory_order_seq_cst);
        /* The ring's pop does not load tail: wait for the senders that may have missed the
         * fd. The unbounded pop loads tail (seq_cst; or skips it inside a block reserved
         * throughout, U8) and waits for a reserved slot's write itself (chan/chan_unb.h,
         * golf__unb_after_op). */
        if (golf__chan_is_ring(ch))
            golf__buf_wait_published(ch);
        /* [Z1] acquire (seq_cst): a sender in the hand-off slot did not see the fd (it looks
         * after entering, [Z2]) and is drained through the fd's first count; reading the
         * slot's latest value here makes its entry happen before our caller's drain. */
        else if (!golf__chan_is_buffered(ch))
            (void)atomic_load_explicit(&ch->wq.slot, memory_order_seq_cst);
    }
    golf__lock_release(&ch->wq.lock);
    return fd;
}
