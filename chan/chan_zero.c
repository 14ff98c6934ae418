/* SPDX-License-Identifier: MIT */
/* The unbuffered ("zero") flavour: Go's direct hand-off with a parked peer (chan/README.md,
 * "Design"). A send pairs with a waiting receiver, a receive with a waiting sender; the one who
 * arrives second copies the value straight between the two callers' buffers and completes the
 * parked one's operation, which never retries.
 *
 * Pairing happens under the channel's lock (`wq.lock`, the lists, `wq.closed`). A value of up
 * to 64 bytes moves under it, through the peer's inline buffer; a larger one after the unlock,
 * while the peer waits for DONE (C3). A select or timed peer is claimed by one CAS on its waiter
 * state (so a select is paired through one case only); an untimed single operation is claimed
 * by finding its node linked under the lock, with no CAS (C9). Either way DONE is stored after
 * the unlock (C8).
 *
 * Before all that, an untimed single operation with an inline-sized value may wait in the
 * channel's hand-off slot instead of the lists (golf__zero_park, C11), and every try first takes
 * a peer waiting there: one CAS, no lock. */
#include "chan_zero.h"

#include <string.h>

#include "lockfree/chaos.h"
#include "lockfree/futex.h"
#include "lockfree/watch.h"

/* Takes the waiter parked in ch's slot if it does the other half of our operation (`tag`: its
 * op's), by one CAS to 0: then we own its round and must complete it (copy, DONE). NULL: the
 * slot holds no such waiter now. */
static inline golf__waiter *
golf__zero_take_slot(golf_chan *ch, uintptr_t tag)
{
    /* relaxed: a first look; the CAS decides. */
    uintptr_t s = atomic_load_explicit(&ch->wq.slot, memory_order_relaxed);
    /* The waiter's line is the next one we need (its value, its state): asked for now, it
     * travels while the CAS below waits for the slot's line, one transfer off the hand-off's
     * path (chan/README.md, "Measured"). A hint: harmless if we lose the CAS. */
    if (s & tag)
        __builtin_prefetch(golf__slot_waiter(s), 1, 3);
    while (s & tag) {
        /* [Z1] acquire: pairs with [Z1] release in golf__zero_park(): the parked waiter's
         * state, and a sender's value in its inline buffer, are visible to us. seq_cst, not
         * just acq_rel: every write of the slot is then in the [Z2] order, so a seq_cst look at
         * the slot cannot read a write older than the last entry before it (the same
         * instruction on x86). Failure relaxed: we only look at the tag again. */
        if (atomic_compare_exchange_weak_explicit(&ch->wq.slot, &s, 0, memory_order_seq_cst,
                                                  memory_order_relaxed))
            return golf__slot_waiter(s);
    }
    return NULL;
}

int
golf__zero_try_send(golf_chan *ch, const void *elem, golf__waiter *self)
{
    size_t size = ch->elem_size;
    golf__waiter *w = golf__zero_take_slot(ch, GOLF__SLOT_RECV);
    if (w) {
        /* After the CAS we touch only the receiver's thread-lifetime waiter (C8, C11). */
        if (size)
            memcpy(golf__waiter_inline(w, size), elem, size);
        golf__waiter_finish_slot(w, GOLF__W_DONE);
        return GOLF_OK;
    }
    /* relaxed fast fail (Go's `full(c)` check without the lock): with no receiver registered
     * and the channel open, this try would fail at this instant. A blocking caller registers
     * and re-checks under the lock, so a stale answer costs a round, never a hang. */
    if (atomic_load_explicit(&ch->wq.nrecv, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&ch->wq.closed, memory_order_relaxed) == 0)
        return GOLF_EAGAIN;
    /* size was read before the lock: after our unlock we touch only the peer's buffer and
     * waiter, never the channel (C8). */
    uint32_t old = 0;
    golf__wnode *n = NULL;
    golf__lock_acquire(&ch->wq.lock);
    /* relaxed: written under the lock we hold. */
    if (atomic_load_explicit(&ch->wq.closed, memory_order_relaxed)) {
        golf__lock_release(&ch->wq.lock);
        return GOLF_ECLOSED;
    }
    golf__xfer x = {elem, NULL, size, false};
    w = golf__waitq_claim_first(&ch->wq, GOLF_RECV, self, GOLF__W_CLAIMED, &old, &n, &x);
    if (w)
        golf__waitq_sweep(&ch->wq, w, n);
    golf__lock_release(&ch->wq.lock);
    /* From here on we touch only the claimed peer (its buffer, its node, its thread-lifetime
     * waiter), never the channel: the peer may free it once it sees DONE (C8). */
    if (!w)
        return GOLF_EAGAIN;
    uint32_t index = n->index;
    GOLF__POINT(WAITQ_CLAIMED);
    if (!x.done && n->buf && size) /* x.done: an inline hand-off, copied under the lock */
        memcpy(n->buf, elem, size);
    golf__waiter_finish(w, GOLF__W_DONE | (index << GOLF__W_INDEX_SHIFT));
    return GOLF_OK;
}

int
golf__zero_try_recv(golf_chan *ch, void *out, golf__waiter *self)
{
    size_t size = ch->elem_size; /* read before the lock, see golf__zero_try_send() (C8) */
    golf__waiter *w = golf__zero_take_slot(ch, GOLF__SLOT_SEND);
    if (w) {
        /* The sender's value waits in its waiter until our DONE (C11). */
        if (out && size)
            memcpy(out, golf__waiter_inline(w, size), size);
        golf__waiter_finish_slot(w, GOLF__W_DONE);
        return GOLF_OK;
    }
    /* relaxed fast fail, as in golf__zero_try_send(). */
    if (atomic_load_explicit(&ch->wq.nsend, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&ch->wq.closed, memory_order_relaxed) == 0)
        return GOLF_EAGAIN;
    uint32_t old = 0;
    golf__wnode *n = NULL;
    unsigned char tmp[GOLF__W_INLINE];
    golf__xfer x = {NULL, tmp, size, false};
    golf__lock_acquire(&ch->wq.lock);
    w = golf__waitq_claim_first(&ch->wq, GOLF_SEND, self, GOLF__W_CLAIMED, &old, &n, &x);
    if (w)
        golf__waitq_sweep(&ch->wq, w, n);
    if (!w) {
        /* relaxed: written under the lock we hold. Close empties sendq, so a closed channel
         * never has a sender to pair with. */
        int closed = atomic_load_explicit(&ch->wq.closed, memory_order_relaxed) != 0;
        golf__lock_release(&ch->wq.lock);
        return closed ? GOLF_ECLOSED : GOLF_EAGAIN;
    }
    golf__lock_release(&ch->wq.lock);
    /* As in golf__zero_try_send(): the channel is not touched after the unlock (C8). */
    uint32_t index = n->index;
    GOLF__POINT(WAITQ_CLAIMED);
    if (x.done) { /* inline hand-off: the value is in tmp */
        golf__waiter_finish(w, GOLF__W_DONE | (index << GOLF__W_INDEX_SHIFT));
        if (out)
            memcpy(out, tmp, size);
        return GOLF_OK;
    }
    if (out && size)
        memcpy(out, n->buf, size);
    golf__waiter_finish(w, GOLF__W_DONE | (index << GOLF__W_INDEX_SHIFT));
    return GOLF_OK;
}

int
golf__zero_park(golf_chan *ch, int op, void *elem, golf__waiter *self, golf_case *c)
{
    size_t size = ch->elem_size;
    _Atomic uint32_t *mine = op == GOLF_SEND ? &ch->wq.nsend : &ch->wq.nrecv;
    _Atomic uint32_t *peers = op == GOLF_SEND ? &ch->wq.nrecv : &ch->wq.nsend;
    /* relaxed: hints. Taken or shut (closed), or older waiters of our side on the lists (they
     * are served first: a newcomer in the slot would overtake them), or a readiness fd (a
     * waiting sender signals it under the lock, C10): the lists. */
    if (atomic_load_explicit(&ch->wq.slot, memory_order_relaxed) != 0 ||
        atomic_load_explicit(mine, memory_order_relaxed) != 0 ||
        atomic_load_explicit(&ch->wq.notify_fd, memory_order_relaxed) >= 0)
        return GOLF_EAGAIN;
    GOLF__POINT(ZERO_SLOT_ENTER);
    /* relaxed: published by the CAS below. ENTERING: we still look at the channel after the
     * CAS, and a peer may take us meanwhile; it must not complete us (and return, and free the
     * channel) before our last look ([Z3] below). */
    atomic_store_explicit(&self->state, GOLF__W_WAITING | GOLF__W_ENTERING, memory_order_relaxed);
    if (op == GOLF_SEND && size)
        memcpy(golf__waiter_inline(self, size), elem, size);
    uintptr_t me = (uintptr_t)self | golf__slot_tag(op);
    uintptr_t expect = 0;
    /* [Z1] release: our state and value, for the peer that takes us. [Z2] seq_cst: before the
     * loads below in the single seq_cst order (Dekker against a registration on the lists,
     * which stores its count, fences and loads the slot, and against a readiness fd's
     * creation). Fails once close has shut the slot: then the lists say closed. */
    if (!atomic_compare_exchange_strong_explicit(&ch->wq.slot, &expect, me, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return GOLF_EAGAIN;
    GOLF__POINT(ZERO_SLOT);
    /* [Z2] seq_cst: a peer that registered on the lists, or an fd stored, before our CAS is seen
     * here; one after it sees us in its own look at the slot (the fd's first count drains us). */
    if (atomic_load_explicit(peers, memory_order_seq_cst) != 0 ||
        atomic_load_explicit(&ch->wq.notify_fd, memory_order_seq_cst) >= 0) {
        expect = me;
        /* seq_cst: in the [Z2] order like every write of the slot (see golf__zero_take_slot);
         * withdrawing publishes nothing. Lost: a peer or close took us first. */
        if (atomic_compare_exchange_strong_explicit(&ch->wq.slot, &expect, 0, memory_order_seq_cst,
                                                    memory_order_relaxed))
            return GOLF_EAGAIN;
    }
    /* [Z3] release: our last touch of the channel until we are completed; pairs with [Z3]
     * acquire in golf__waiter_finish_slot(). A store, not an RMW: while ENTERING is set nobody
     * else writes our state (a taker or close waits for it to clear before its DONE). */
    atomic_store_explicit(&self->state, GOLF__W_WAITING, memory_order_release);
    golf__park_ctx pc = {GOLF__FOREVER, 0, GOLF__BACKOFF(GOLF__BUDGET_PARK), false, c, 1};
    uint32_t s;
    while (((s = golf__park(self, &pc)) & GOLF__W_PHASE) != GOLF__W_DONE) {
    }
    golf__wait_end();
    /* From here on the channel is gone if the peer freed it, unless it was closed (C8). */
    if (s & GOLF__W_CLOSED) {
        if (op == GOLF_RECV && elem && size)
            memset(elem, 0, size);
        golf__chan_settle(ch); /* the closer still holds the lock (C8) */
        return GOLF_ECLOSED;
    }
    if (op == GOLF_RECV && elem && size)
        memcpy(elem, golf__waiter_inline(self, size), size);
    return GOLF_OK;
}
