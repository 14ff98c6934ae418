/* SPDX-License-Identifier: MIT */
/* The slow halves of the buffered flavour (chan/chan_buf.h): the waker check and the re-check.
 *
 * A buffered wake-up is a hint: the woken thread retries its case, and a barging thread may
 * take the value first (it consumed it, which is fine). What must hold is C7: a consumed
 * wake-up leads to progress or is passed on. So a waker wakes only for a case that is ready at
 * the ring's *current* head or tail, and a position still held by a thread mid-copy (IN_FLIGHT)
 * is not "ready": that thread's own check wakes for it when it stamps the slot. */
#include "chan_buf.h"

#include "lockfree/backoff.h"
#include "lockfree/chaos.h"
#include "lockfree/fence.h"
#include "lockfree/lock.h"

__attribute__((noinline, cold)) void
golf__buf_wake(golf_chan *ch, uint32_t nr, uint32_t ns)
{
    /* [F3] full fence: orders our publish (the stamp store of our push or pop) before the
     * readiness loads below, against the same fence in every other thread that reaches here:
     * a producer that filled slot h+1 and a consumer that just took slot h could otherwise each
     * miss the other's stamp (store buffering) and neither wake the receiver waiting for h+1
     * (C7). Only reached when a waiter exists: off the uncontended path. */
    golf__fence_full();
    GOLF__POINT(BUF_WAKE);
    /* Only wake for a case that is ready *now* at the ring's current head / tail: a wake-up
     * spent on a receiver whose head slot is still being filled would be lost, and the
     * producer filling it wakes a receiver itself when it is done (C7). */
    if (nr) {
        int rr = golf__ring_recv_ready(ch->ring);
        if (rr == GOLF__RING_IN_FLIGHT)
            GOLF__POINT(BUF_WAKE_IN_FLIGHT);
        golf__waitq_wake_recv_ready(&ch->wq, rr);
    }
    /* Senders registered before a close were woken by it; later ones see the mark in their
     * re-check. So only a free slot wakes one. */
    if (ns && golf__ring_send_ready(ch->ring) == GOLF__RING_READY)
        golf__waitq_notify_one(&ch->wq, GOLF_SEND);
}

void
golf__buf_wait_published(golf_chan *ch)
{
    golf__ring_core *r = ch->ring;
    const golf__ring_geom *g = &r->prod;
    /* acquire: an unpublished position is never behind head (no consumer passes it), so any
     * head we read is at or before every position we may have to wait for. */
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_acquire);
    /* [S4] seq_cst: after the caller's seq_cst store of the fd in the single order; a sender
     * whose fd load came before that store made its [S1] CAS before it too, so its position
     * is below this tail. */
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_seq_cst) & ~g->mark;
    for (; pos != tail; pos = golf__ring_next(g, pos)) {
        golf__ring_slot *slot = golf__ring_slot_at(g, pos);
        /* [R2] acquire: the value is there once the stamp moved past `pos` (published, or
         * already taken: a reserved position's stamp is never below it). */
        /* HOLDER: spin briefly, then yield to the sender (it was descheduled mid-copy). */
        golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_HOLDER);
        while (atomic_load_explicit(&slot->stamp, memory_order_acquire) == pos)
            (void)golf__backoff_wait(&b); /* yields for ever once spent: never false */
    }
}
