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
 * the unlock (C8). */
#include "chan_zero.h"

#include <string.h>

#include "lockfree/chaos.h"

int
golf__zero_try_send(golf_chan *ch, const void *elem, golf__waiter *self)
{
    /* relaxed fast fail (Go's `full(c)` check without the lock): with no receiver registered
     * and the channel open, this try would fail at this instant. A blocking caller registers
     * and re-checks under the lock, so a stale answer costs a round, never a hang. */
    if (atomic_load_explicit(&ch->wq.nrecv, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&ch->wq.closed, memory_order_relaxed) == 0)
        return GOLF_EAGAIN;
    /* Read before the lock: after our unlock we touch only the peer's buffer and waiter, never
     * the channel (C8). */
    size_t size = ch->elem_size;
    uint32_t old = 0;
    golf__wnode *n = NULL;
    golf__lock_acquire(&ch->wq.lock);
    /* relaxed: written under the lock we hold. */
    if (atomic_load_explicit(&ch->wq.closed, memory_order_relaxed)) {
        golf__lock_release(&ch->wq.lock);
        return GOLF_ECLOSED;
    }
    golf__xfer x = {elem, NULL, size, false};
    golf__waiter *w =
        golf__waitq_claim_first(&ch->wq, GOLF_RECV, self, GOLF__W_CLAIMED, &old, &n, &x);
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
    /* relaxed fast fail, as in golf__zero_try_send(). */
    if (atomic_load_explicit(&ch->wq.nsend, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&ch->wq.closed, memory_order_relaxed) == 0)
        return GOLF_EAGAIN;
    size_t size = ch->elem_size; /* read before the lock, see golf__zero_try_send() (C8) */
    uint32_t old = 0;
    golf__wnode *n = NULL;
    unsigned char tmp[GOLF__W_INLINE];
    golf__xfer x = {NULL, tmp, size, false};
    golf__lock_acquire(&ch->wq.lock);
    golf__waiter *w =
        golf__waitq_claim_first(&ch->wq, GOLF_SEND, self, GOLF__W_CLAIMED, &old, &n, &x);
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
