/* SPDX-License-Identifier: MIT */
/* Shared inside chan/: the channel object, the per-thread waiter, waiter lists and the small
 * futex lock that guards them. See chan/README.md for the design and the ordering-tag table.
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
 *   C5  Buffered: closed is the mark bit of ring.tail. Unbuffered: `closed`, written under lock.
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
 */
#ifndef GOLF_CHAN_INTERNAL_H
#define GOLF_CHAN_INTERNAL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golf/chan.h"
#include "lockfree/backoff.h"
#include "lockfree/cacheline.h"
#include "lockfree/fence.h"
#include "lockfree/futex.h"
#include "lockfree/lock.h"
#include "lockfree/ring_internal.h"

/* ---- the per-thread waiter ------------------------------------------------------------------
 *
 * state, a 32-bit futex word:
 *
 *     31 ............ 4 | 3      | 2        | 1 0
 *     case index        | CLOSED | SLEEPING | phase (WAITING, CLAIMED, DONE, ABORTED)
 *
 *   WAITING   registered, waiting; wakers may claim it.
 *   CLAIMED   a waker of an unbuffered channel won it and is copying the value (C3).
 *   DONE      decided by a waker: `index` is the case; CLOSED says the wake came from close.
 *             Unbuffered: the operation is complete. Buffered: a hint, the owner retries that
 *             case first.
 *   ABORTED   decided by the owner (timeout, or it found a case ready while registering).
 *   SLEEPING  the owner is in (or about to enter) futex_wait: whoever moves the phase must
 *             futex_wake. Without it no waker makes a system call.
 */
enum {
    GOLF__W_WAITING = 0u,
    GOLF__W_CLAIMED = 1u,
    GOLF__W_DONE = 2u,
    GOLF__W_ABORTED = 3u,
    GOLF__W_PHASE = 3u,
    GOLF__W_SLEEPING = 4u,
    GOLF__W_CLOSED = 8u,
    GOLF__W_INDEX_SHIFT = 4,
};
#define GOLF__W_MAX_CASES ((size_t)1 << 27)

/* One registration of one case of one blocking operation; lives on the owner's stack (select)
 * or in the owner's waiter (single operations, see golf__waiter.node). */
typedef struct golf__wnode {
    struct golf__wnode *prev, *next; /* protected by the channel's lock */
    struct golf__waiter *w;          /* constant while linked */
    void *buf;                       /* send: the value; recv: where it goes (may be NULL) */
    uint32_t index;                  /* the case index reported in state */
    _Atomic uint32_t linked;         /* written under the channel's lock; read without it
                                        by the owner ([N1]) to skip the lock when a waker
                                        already unlinked the node */
    uint32_t skips;                  /* times passed over for a newer waiter (under the lock) */
    uint16_t buffered;               /* the case's channel is buffered; written by the owner
                                        before linking, read by it after DONE without
                                        touching the channel (C8) */
    uint16_t solo;                   /* an untimed single unbuffered operation (C9): claimed
                                        without a CAS; written before linking */
} golf__wnode;

/* Values up to this size travel through the waiter's own line in an unbuffered hand-off. */
enum { GOLF__W_INLINE = 64, GOLF__W_SMALL = 8 };

/* Thread-lifetime. The state word, the node of a single blocking operation and a value of up to
 * 8 bytes share the first 64-byte line, a larger inline value takes the second: a peer
 * completing an unbuffered hand-off touches these lines of ours and nothing else (one line for
 * an 8-byte value), and we find the state, the value and our node's `linked` there (fewer cache
 * misses per hand-off, pingpong). */
typedef struct golf__waiter {
    _Atomic uint32_t state;
    golf__wnode node; /* the node of a single (one-case) blocking operation */
    /* A value of up to 8 bytes travels here, in the state's own line: its hand-off touches one
     * line of ours, not two (the claim CAS brings the line to the peer anyway). */
    unsigned char small[GOLF__W_SMALL];
    alignas(64) unsigned char val[GOLF__W_INLINE]; /* a larger single operation's value */
} golf__waiter;

_Static_assert(offsetof(golf__waiter, small) + GOLF__W_SMALL <= 64,
               "the small inline value shares the state's cache line");

/* The inline value buffer of a single unbuffered operation of elem_size bytes (0 < elem_size
 * <= GOLF__W_INLINE). */
static inline unsigned char *
golf__waiter_inline(golf__waiter *w, size_t elem_size)
{
    return elem_size <= GOLF__W_SMALL ? w->small : w->val;
}

typedef struct golf__wlist {
    golf__wnode *head, *tail;
} golf__wlist;

/* ---- the channel ------------------------------------------------------------------------- */

struct golf_chan {
    /* One line, every flavour: read-only fields, the waiting side (written only on slow paths;
     * the fast paths read nrecv and nsend, so they share the line with what those paths read
     * anyway). An unbuffered channel is this line and nothing else. */
    GOLF__LINE_ALIGNED size_t elem_size;
    size_t cap;
    golf__lock lock;
    _Atomic uint32_t nrecv;  /* nodes on recvq (C4): the "has waiters" word senders read */
    _Atomic uint32_t nsend;  /* nodes on sendq (C4): the "has waiters" word receivers read */
    _Atomic uint32_t closed; /* unbuffered only; written under lock */
    golf__wlist recvq;       /* protected by lock */
    golf__wlist sendq;       /* protected by lock */
    /* Buffered only, allocated only then: the ring (its read-only fields, head and tail each
     * on their own line; closed = tail mark), then its slots. */
    golf__ring_core ring[];
};

_Static_assert(sizeof(struct golf_chan) == GOLF__LINE, "a channel's header is one line");

/* ---- waiter helpers (wait.c) --------------------------------------------------------------- */

/* The calling thread's waiter. Thread-lifetime storage, so a waker's futex_wake after the owner
 * returned touches valid memory (H5). */
golf__waiter *golf__self(void);

void golf__wlist_push(golf__wlist *l, golf__wnode *n);
void golf__wlist_unlink(golf__wlist *l, golf__wnode *n);

/* Tries to move a WAITING waiter to `to` (CLAIMED or DONE|...), keeping its SLEEPING bit.
 * Returns true on success with the previous state in *old. */
bool golf__waiter_claim(golf__waiter *w, uint32_t to, uint32_t *old);

/* Moves a CLAIMED waiter to `to` (DONE|...) and wakes it if it sleeps. */
void golf__waiter_finish(golf__waiter *w, uint32_t to);

/* Wakes a waiter whose claim (golf__waiter_claim) returned `old`, if it was sleeping. */
static inline void
golf__waiter_wake_if_sleeping(golf__waiter *w, uint32_t old)
{
    if (old & GOLF__W_SLEEPING)
        golf__futex_wake(&w->state, 1);
}

/* An unbuffered hand-off's value, for golf__wlist_claim_first(): a send passes src, a receive
 * dst (a buffer of `size` bytes, size <= GOLF__W_INLINE). When the claimed node is a single
 * operation with an inline value, the value moves under the lock and the claim goes straight to
 * DONE: `done` is set and the caller neither copies nor finishes. */
typedef struct golf__xfer {
    const void *src;
    void *dst;
    size_t size;
    bool done;
} golf__xfer;

/* Claims the first waiter of q not owned by `self` with `to` (CLAIMED, or DONE: the node's
 * index is added); unlinks it and every stale node before it. Caller holds the lock. Returns
 * the claimed waiter (NULL if none), its old state in *old and its node in *claimed (readable
 * until the claimer finishes it when `to` is CLAIMED (C3); not at all when DONE). */
golf__waiter *golf__wlist_claim_first(golf__wlist *q, _Atomic uint32_t *count,
                                      const golf__waiter *self, uint32_t to, uint32_t *old,
                                      golf__wnode **claimed, golf__xfer *x);

/* After claiming `claimed` (a node of w) for an unbuffered hand-off: unlinks w's other nodes on
 * ch (a select with two cases on one channel), so that w, once DONE, never touches ch again
 * (C8). Caller holds the lock. */
void golf__chan_sweep_waiter(golf_chan *ch, const golf__waiter *w, const golf__wnode *claimed);

/* Wakes one waiter of a buffered channel's queue, as a hint (DONE). */
void golf__chan_notify_one(golf_chan *ch, golf__wlist *q, _Atomic uint32_t *count);

/* Claims every waiter on both queues with DONE|CLOSED and wakes them. Caller holds the lock. */
void golf__chan_wake_all_closed(golf_chan *ch);

/* ---- the operations, per flavour ------------------------------------------------------------
 * try: GOLF_OK, GOLF_ECLOSED (send: closed; recv: closed and drained; out untouched: callers
 * zero-fill) or GOLF_EAGAIN. `self` is the caller's waiter: an unbuffered try never pairs with
 * it. */
int golf__zero_try_send(golf_chan *ch, const void *elem, golf__waiter *self);
int golf__zero_try_recv(golf_chan *ch, void *out, golf__waiter *self);

/* The waker check after a successful buffered push or pop; cold, out of line (wait.c). nr / ns
 * are the waiter counts the fast path loaded. Wakes one receiver if a receive is ready now (every
 * receiver if the ring is closed and drained) and one sender if a send is ready now. */
void golf__buf_wake(golf_chan *ch, uint32_t nr, uint32_t ns);

/* After every successful buffered push *and* pop, both sides are checked: a push may make the
 * next send ready (the slot after ours was already free) and a pop the next receive (the slot
 * after ours was already full). Checking only the opposite side left a waiter asleep with a
 * value ready whenever its wake-up had been spent on a slot still being filled (C7 in
 * chan/README.md: a consumed wake-up leads to progress or is passed on). */
static inline void
golf__buf_after_op(golf_chan *ch)
{
    /* [S3] seq_cst loads: after our push's or pop's [S1] seq_cst CAS in the single seq_cst
     * order, so a waiter whose registration ([S3] count store) precedes that CAS is seen here,
     * and one that registers later sees our CAS in its re-check ([S2]): no fence on this path
     * (chan/README.md, "Park and wake"). On x86 these are plain loads. Nonzero sends us to the
     * locked slow path. Both counts share the header line, which only slow paths write. */
    uint32_t nr = atomic_load_explicit(&ch->nrecv, memory_order_seq_cst);
    uint32_t ns = atomic_load_explicit(&ch->nsend, memory_order_seq_cst);
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

/* Called before an operation returns a result that another thread produced while it held ch's
 * lock (a close's GOLF_ECLOSED): that thread's last touch of the channel is its unlock, so after
 * this the caller may free the channel (C8, the lifetime rule; [L2]). */
static inline void
golf__chan_settle(golf_chan *ch)
{
    golf__lock_settle(&ch->lock);
}

void golf__chan_unregister(golf_chan *ch, int op, golf__wnode *node);

/* The engine behind every blocking operation and every select: try the cases in random order,
 * then register on all, re-check, park; see wait.c. `nodes` and `perm` have n entries; nodes ==
 * NULL (only with n == 1) uses the calling thread's waiter node (and its inline value buffer).
 * Returns the index of the case done (its status set), GOLF_EAGAIN (deadline 0 and nothing
 * ready) or GOLF_ETIMEDOUT. */
int golf__select_run(golf_case *cases, size_t n, golf__wnode *nodes, uint32_t *perm,
                     uint64_t deadline, bool nonblocking);

/* Finishes the chosen case k with result r (GOLF_OK / GOLF_ECLOSED): sets status, zero-fills a
 * receive's buffer on GOLF_ECLOSED. Returns k. */
int golf__case_done(golf_case *cases, size_t k, int r);

static inline bool
golf__chan_is_buffered(const golf_chan *ch)
{
    return ch->cap != 0;
}

static inline int
golf__chan_try(golf_chan *ch, int op, void *elem, golf__waiter *self)
{
    if (golf__chan_is_buffered(ch))
        return op == GOLF_SEND ? golf__buf_try_send(ch, elem) : golf__buf_try_recv(ch, elem);
    return op == GOLF_SEND ? golf__zero_try_send(ch, elem, self)
                           : golf__zero_try_recv(ch, elem, self);
}

#endif
