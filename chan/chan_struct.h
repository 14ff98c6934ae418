/* SPDX-License-Identifier: MIT */
/* struct golf_chan, shared by every file of chan/ above the waiter layer. Calls nothing above
 * chan/waitq.h. The design and the ordering tags: chan/README.md.
 *
 * Invariants:
 *   C1  A waiter node is linked on at most one list, only while its owner is inside a blocking
 *       operation (select round); the owner unlinks every node it linked before it returns
 *       (nodes live on the owner's stack). A waker tries its claim CAS *before* it unlinks
 *       a node, so a claim can only reach the round the node belongs to, never the owner's
 *       next round (the owner cannot leave a round while one of its nodes is linked).
 *   C2  A waiter's state leaves WAITING exactly once per round, by one CAS: a waker's claim
 *       (-> CLAIMED or DONE) or the owner's abort (-> ABORTED). Whoever wins decides the round.
 *   C3  A CLAIMED waiter is finished (-> DONE) by its claimer, outside every lock; the owner
 *       waits for DONE and never returns while CLAIMED (the claimer still copies into or out of
 *       the owner's buffer).
 *   C4  nrecv / nsend equal the number of nodes linked on recvq / sendq (changed under `lock`).
 *   C5  Buffered: closed is the mark bit of ring.tail, and wq.closed a copy stored (release)
 *       after it under the lock, which a receive that finds the ring empty reads instead of
 *       tail (the producers' line). Between the two stores the re-checks and fingerprints
 *       (which read tail) say closed and the tries EAGAIN; every path from there goes through
 *       the lock, so a receive sees the flag within one more round. Unbounded: the MARK bit
 *       of its tail (U4).
 *       Unbuffered: `closed`, written under lock.
 *   C6  A thread is never paired with itself (claims skip the claimer's own nodes).
 *   C7  Liveness: a consumed wake-up leads to progress or is passed on. Every successful
 *       buffered push and pop re-checks both sides and wakes a waiter whose case is ready at the
 *       ring's *current* head / tail; the thread that completes a slot others were waiting
 *       behind wakes for it. So no receiver sleeps while a value is takeable, and no sender
 *       while a slot is free.
 *   C8  Lifetime: golf's last touch of a channel precedes the return of any operation it
 *       completes elsewhere. An unbuffered claimer stores DONE after its unlock; a close holds
 *       the lock from before the mark to after the wake-ups, and every GOLF_ECLOSED return
 *       settles on the lock first. A buffered value does *not* say its sender has returned.
 *   C9  An untimed single unbuffered operation (one case, on the waiter's own node, no
 *       deadline) decides its round only under its channel's lock: it links its node only when
 *       no peer waits, and nothing else aborts it. So a claimer that finds the node linked,
 *       holding the lock, owns the round without a CAS, and writes the owner's state once:
 *       DONE, after its unlock (C8), with a single exchange that also tells it whether to
 *       wake. A timed one is claimed by CAS like a select's nodes (C2): its timeout must abort
 *       on its own state word, never on the channel, which its peer may free as soon as the
 *       hand-off completes (C8).
 *   C10 Readiness fd (wq.notify_fd, -1 until golf_chan_notify_fd): once it is set, every value
 *       committed to a buffered channel is followed by a signal of the fd from its sender, and
 *       every unbuffered sender that starts to wait signals it under the lock; close signals
 *       it under the lock. A buffered sender loads the fd after its [S1] CAS ([S4], seq_cst);
 *       the creator stores it ([S4]) and then waits until every position below the tail it
 *       loads next is published, so a sender that missed the fd is drained by the first read.
 *   C11 Unbuffered hand-off slot (wq.slot): at most one waiter, an untimed single operation with
 *       a value of at most GOLF__W_INLINE bytes, tagged with its side. It enters by CAS 0 -> itself
 *       only when no waiter of its side is listed and no readiness fd is set, then loads the
 *       other side's count and withdraws by CAS if a peer is listed (Dekker: a registration
 *       fences after its count store and then looks at the slot). It leaves by one CAS or
 *       exchange: a peer's (who completes it), close's (DONE|CLOSED under the lock; the slot
 *       stays SHUT) or its own withdraw. A taker completes it only once it cleared ENTERING,
 *       its last look at the channel (C8).
 */
#ifndef GOLF_CHAN_STRUCT_H
#define GOLF_CHAN_STRUCT_H

#include <stdbool.h>
#include <stddef.h>

#include "golf/chan.h"
#include "lockfree/cacheline.h"
#include "lockfree/lock.h"
#include "lockfree/ring_internal.h"
#include "waitq.h"

struct golf_chan {
    /* One line, every flavour: read-only fields, then the waiting side (written only on slow
     * paths but for an unbuffered channel's hand-off slot, C11; the fast paths read wq.nrecv and
     * wq.nsend, and a send wq.notify_fd, so they share the line with what those paths read
     * anyway). An unbuffered channel is this line and nothing else. */
    GOLF__LINE_ALIGNED size_t elem_size;
    size_t cap;
    golf__waitq wq;
    /* Buffered only, allocated only then: the ring (head and tail each on their own line,
     * each beside a copy of the ring's geometry; closed = tail mark, copied to wq.closed),
     * then its slots. Unbounded: a golf__unb_core
     * (chan/chan_unb.h) in the same place. */
    golf__ring_core ring[];
};

_Static_assert(sizeof(struct golf_chan) == GOLF__LINE, "a channel's header is one line");

/* Woken by hints, with seq_cst waiter counts: buffered *or* unbounded (the waiter layer's
 * `buffered`). */
static inline bool
golf__chan_is_buffered(const golf_chan *ch)
{
    return ch->cap != 0;
}

/* The unbounded flavour (chan/chan_unb.h): cap == GOLF_UNBOUNDED; its trailing part is a
 * golf__unb_core in place of the ring. */
static inline bool
golf__chan_is_unbounded(const golf_chan *ch)
{
    return ch->cap == GOLF_UNBOUNDED;
}

/* The buffered ring flavour: 1 <= cap < GOLF_UNBOUNDED, in one comparison. */
static inline bool
golf__chan_is_ring(const golf_chan *ch)
{
    return ch->cap - 1 < GOLF_UNBOUNDED - 1;
}

/* Called before an operation returns a result that another thread produced while it held ch's
 * lock (a close's GOLF_ECLOSED): that thread's last touch of the channel is its unlock, so after
 * this the caller may free the channel (C8, the lifetime rule; [L2]). */
static inline void
golf__chan_settle(golf_chan *ch)
{
    golf__lock_settle(&ch->wq.lock);
}

#endif
