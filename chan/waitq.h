/* SPDX-License-Identifier: MIT */
/* The bottom of chan/: the per-thread waiter, a channel's wait queues, and the claim, register
 * and park steps every blocking operation is made of (chan/waitq.c). Knows nothing of rings or
 * hand-offs: the flavours above decide what "ready" means, this layer only who waits and who
 * decides a round. Invariants C1-C11: chan/chan_struct.h and chan/README.md. */
#ifndef GOLF_CHAN_WAITQ_H
#define GOLF_CHAN_WAITQ_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golf/chan.h"
#include "lockfree/backoff.h"
#include "lockfree/cacheline.h"
#include "lockfree/lock.h"

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
    /* Set by a waiter entering a hand-off slot until its last look at the channel (C11): a
     * taker waits for it to clear before it completes the waiter. Above every case index. */
    GOLF__W_ENTERING = 1u << 31,
};
#define GOLF__W_MAX_CASES ((size_t)1 << 27)
_Static_assert(((GOLF__W_MAX_CASES - 1) << GOLF__W_INDEX_SHIFT) < GOLF__W_ENTERING,
               "case indices stay below the ENTERING bit");

/* One registration of one case of one blocking operation; lives on the owner's stack (select)
 * or in the owner's waiter (single operations, see golf__waiter.node). */
typedef struct golf__wnode {
    struct golf__wnode *prev, *next; /* protected by the queue's lock */
    struct golf__waiter *w;          /* constant while linked */
    void *buf;                       /* send: the value; recv: where it goes (may be NULL) */
    uint32_t index;                  /* the case index reported in state */
    _Atomic uint32_t linked;         /* written under the queue's lock; read without it
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
 * an 8-byte value), and we find the state, the value and our node's `linked` there. */
typedef struct golf__waiter {
    _Atomic uint32_t state;
    golf__wnode node; /* the node of a single (one-case) blocking operation */
    /* A value of up to 8 bytes travels here, in the state's own line: its hand-off touches one
     * line of ours, not two (the claim brings the line to the peer anyway). */
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

/* The calling thread's waiter. Thread-lifetime storage, so a waker's futex_wake after the owner
 * returned touches valid memory (H5). */
golf__waiter *golf__self(void);

/* Moves a CLAIMED waiter to `to` (DONE|...) and wakes it if it sleeps. */
void golf__waiter_finish(golf__waiter *w, uint32_t to);

/* Completes (to: DONE|...) a waiter taken out of a hand-off slot, once it is done looking at the
 * channel (C11). */
void golf__waiter_finish_slot(golf__waiter *w, uint32_t to);

/* Moves the caller's own WAITING state to ABORTED. False when a waker decided the round first:
 * the caller must then honour the waker's decision (H4). */
bool golf__waiter_abort(golf__waiter *w);

/* ---- a channel's wait queues ---------------------------------------------------------------- */

/* A doubly linked list with one word: the head's `prev` is the tail (the tail's `next` is
 * NULL), so a channel's two lists and its notify fd fit its header line. */
typedef struct golf__wlist {
    golf__wnode *head;
} golf__wlist;

/* Who waits on one channel: 48 bytes of the channel's header line. Only slow paths write it
 * (notify_fd: once), except the hand-off slot, which only unbuffered channels use. */
typedef struct golf__waitq {
    golf__lock lock;
    _Atomic uint32_t nrecv;  /* nodes on recvq (C4): the "has waiters" word senders read */
    _Atomic uint32_t nsend;  /* nodes on sendq (C4): the "has waiters" word receivers read */
    _Atomic uint32_t closed; /* written under lock; a ring's: a copy of tail's mark (C5) */
    golf__wlist recvq;       /* protected by lock */
    golf__wlist sendq;       /* protected by lock */
    /* The channel's readiness eventfd (golf_chan_notify_fd), -1 until asked for: set once,
     * under lock; read by every buffered send after its commit and by an unbuffered sender's
     * registration (C10). A watcher of the channel, not a waiter, but it lives here because
     * the unbuffered rule ("a sender waits") is decided in this layer. */
    _Atomic int notify_fd;
    /* Unbuffered only: the hand-off slot, a waiter parked outside the lists (C11). 0 (free),
     * GOLF__SLOT_SHUT (closed: nobody enters again), or a golf__waiter's address with
     * GOLF__SLOT_SEND or GOLF__SLOT_RECV: an untimed single operation waiting for its peer.
     * A waiter leaves it by one CAS or exchange: a peer's (who then completes the operation),
     * close's, or its own (it then waits on the lists instead). */
    _Atomic uintptr_t slot;
} golf__waitq;

/* The values of golf__waitq.slot besides 0; a waiter is line-aligned, so its low bits are
 * free. */
enum { GOLF__SLOT_SEND = 1u, GOLF__SLOT_RECV = 2u, GOLF__SLOT_TAGS = 3u, GOLF__SLOT_SHUT = 4u };

/* The slot tag of a waiter doing `op`. */
static inline uintptr_t
golf__slot_tag(int op)
{
    return op == GOLF_SEND ? GOLF__SLOT_SEND : GOLF__SLOT_RECV;
}

/* The waiter in a slot word. */
static inline struct golf__waiter *
golf__slot_waiter(uintptr_t s)
{
    return (struct golf__waiter *)(s & ~(uintptr_t)GOLF__SLOT_TAGS);
}

static inline void
golf__waitq_init(golf__waitq *q)
{
    /* relaxed: the queue is not shared yet; whatever publishes its channel publishes it. */
    golf__lock_init(&q->lock);
    atomic_store_explicit(&q->nrecv, 0, memory_order_relaxed);
    atomic_store_explicit(&q->nsend, 0, memory_order_relaxed);
    atomic_store_explicit(&q->closed, 0, memory_order_relaxed);
    atomic_store_explicit(&q->notify_fd, -1, memory_order_relaxed);
    atomic_store_explicit(&q->slot, 0, memory_order_relaxed);
    q->recvq = (golf__wlist){NULL};
    q->sendq = (golf__wlist){NULL};
}

/* Adds 1 to the eventfd `fd` (a channel's notify fd, C10). Cold, out of line; never fails
 * loudly: a full counter (2^64 - 2 pending signals) is readable anyway. */
void golf__notify_signal(int fd);

/* Signals q's notify fd if the channel has one (a close). */
static inline void
golf__waitq_notify(golf__waitq *q)
{
    /* relaxed: called under q's lock, under which the fd is set. */
    int fd = atomic_load_explicit(&q->notify_fd, memory_order_relaxed);
    if (fd >= 0)
        golf__notify_signal(fd);
}

/* The waker check's loads after a successful push or pop of a buffered or unbounded channel:
 * both waiter counts into *nr and *ns, and after a push (`sent`, a constant that folds away) the
 * notify fd's signal. True when a waiter may need a wake (the caller's cold path).
 * [S3] seq_cst loads: after the caller's [S1] seq_cst CAS in the single seq_cst order, so a
 * waiter whose registration ([S3] count store) precedes that CAS is seen here, and one that
 * registers later sees the CAS in its re-check ([S2]): no fence on this path (chan/README.md,
 * "Park and wake"). On x86 these are plain loads; the counts and the fd share the header line,
 * which only slow paths write. [S4] seq_cst fd load: after the [S1] CAS, so either it sees the
 * fd, or golf_chan_notify_fd()'s seq_cst tail load, after its store of the fd, sees the
 * position (C10; each flavour says how it then covers it). -1: the channel never asked. */
static inline bool
golf__waitq_after_op(golf__waitq *q, bool sent, uint32_t *nr, uint32_t *ns)
{
    *nr = atomic_load_explicit(&q->nrecv, memory_order_seq_cst);
    *ns = atomic_load_explicit(&q->nsend, memory_order_seq_cst);
    if (sent) {
        int fd = atomic_load_explicit(&q->notify_fd, memory_order_seq_cst);
        if (GOLF__UNLIKELY(fd >= 0))
            golf__notify_signal(fd);
    }
    return GOLF__UNLIKELY((*nr | *ns) != 0);
}

/* An unbuffered hand-off's value, for golf__waitq_claim_first(): a send passes src, a receive
 * dst (a buffer of `size` bytes, size <= GOLF__W_INLINE). When the claimed node is a single
 * operation with an inline value, the value moves under the lock and the claim goes straight to
 * DONE: `done` is set and the caller neither copies nor finishes. */
typedef struct golf__xfer {
    const void *src;
    void *dst;
    size_t size;
    bool done;
} golf__xfer;

/* Claims the first waiter doing `op` (GOLF_SEND: on sendq) not owned by `self`, with `to`
 * (CLAIMED, or DONE: the node's index is added); unlinks it and every stale node before it.
 * Caller holds q->lock. Returns the claimed waiter (NULL if none), its old state in *old and its
 * node in *claimed (readable until the claimer finishes it when `to` is CLAIMED (C3); not at all
 * when DONE). */
golf__waiter *golf__waitq_claim_first(golf__waitq *q, int op, const golf__waiter *self, uint32_t to,
                                      uint32_t *old, golf__wnode **claimed, golf__xfer *x);

/* After claiming `claimed` (a node of w) for an unbuffered hand-off: unlinks w's other nodes on
 * q (a select with two cases on one channel), so that w, once DONE, never touches the channel
 * again (C8). Caller holds q->lock. */
void golf__waitq_sweep(golf__waitq *q, const golf__waiter *w, const golf__wnode *claimed);

/* Takes q->lock and wakes one waiter doing `op`, as a hint (DONE). */
void golf__waitq_notify_one(golf__waitq *q, int op);

/* Claims every waiter doing `op` with DONE|CLOSED and wakes them. Caller holds q->lock. */
void golf__waitq_wake_closed(golf__waitq *q, int op);

/* A buffered or unbounded channel's wake of receivers for a receive readiness `rr` read *now*
 * (a GOLF__RING_* code): READY wakes one receiver; READY_CLOSED (the last value of a closed
 * channel is gone) wakes every receiver with GOLF_ECLOSED, as the close itself did for those
 * registered before it; IN_FLIGHT and NOT_READY wake no one (a wake-up spent on a value still
 * being written would be lost: its writer wakes a receiver when done, C7). Takes q->lock. */
void golf__waitq_wake_recv_ready(golf__waitq *q, int rr);

/* ---- one blocking round: register, park, unregister ------------------------------------------ */

/* Registers, under one hold of q's lock, case perm[k] (on the channel q belongs to; `buffered`
 * is its kind) and every later case in perm order on the same channel; their nodes' `w` says
 * they are linked. `nodes` has n entries, or is NULL (n == 1): the waiter's own node. A nonzero
 * inline_size passes the single case's value through the waiter (see golf__waiter); `solo` marks
 * an untimed single unbuffered operation (C9). Unbuffered: returns true when a case is ready now
 * (a peer of another thread waits, or closed), checked under the same lock. */
bool golf__waitq_register(golf__waitq *q, bool buffered, golf_case *cases, size_t n,
                          const uint32_t *perm, size_t k, golf__wnode *nodes, golf__waiter *self,
                          size_t inline_size, bool solo);

/* Unlinks node (a case doing `op` on q's channel) if a waker has not already. */
void golf__waitq_unregister(golf__waitq *q, int op, golf__wnode *node);

/* What golf__park needs to know about the round it waits for; the caller sets deadline and
 * poll_ns, park keeps the rest across calls of the same round. */
typedef struct golf__park_ctx {
    uint64_t deadline;  /* GOLF__FOREVER: none */
    uint64_t poll_ns;   /* nonzero: sleep at most this long, then return to let the caller look */
    golf__backoff spin; /* GOLF__BUDGET_PARK, spent across the calls of this round */
    bool timed_out;     /* set when the deadline aborted the round */
    const void *cases;  /* golf_case[n] the round waits on: what the deadlock report names */
    size_t n;
} golf__park_ctx;

/* Waits until the caller's round is decided (DONE or ABORTED, never returning while CLAIMED,
 * C3) and returns the state. Spins GOLF__BUDGET_PARK, then sleeps on the futex. With poll_ns
 * set, a sleep while WAITING lasts at most poll_ns, and then golf__park returns GOLF__W_WAITING:
 * the caller re-checks what it waits for and calls again. */
uint32_t golf__park(golf__waiter *w, golf__park_ctx *pc);

#endif
