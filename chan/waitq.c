/* SPDX-License-Identifier: MIT */
/* The waiter layer of chan/ (chan/waitq.h): wait lists, claims, registration and parking.
 *
 * The protocol (one futex word per thread holds both the select decision and the sleep;
 * chan/README.md, "Design" and "Park and wake"):
 *
 *   owner (blocking)                          waker (a send, receive or close elsewhere)
 *   1. try every case (random order)          1. make the case ready (buffered: the ring's
 *   2. state = WAITING; link a node per case     seq_cst CAS [S1], copy, stamp; or close)
 *      (count store [S3], seq_cst)            2. load nrecv and nsend (seq_cst); if 0: done,
 *   3. re-check every case ([S2] loads)          no waker work (buffered: wake only a side
 *      (unbuffered: checked under the lock       whose case is ready now, C7)
 *      that linked the node)                  3. lock; claim the first node (a select's by a
 *   4. ready: CAS WAITING -> ABORTED             CAS WAITING -> DONE|CLAIMED; a single
 *   5. spin (GOLF__BUDGET_PARK), then set        unbuffered operation's without one, C9);
 *      SLEEPING, futex_wait (bounded and         unlink it; unlock
 *      re-checked while a case is IN_FLIGHT)  4. copy if not done under the lock, then DONE;
 *   6. unlink every node still linked            futex_wake only if the waiter had set
 *   7. DONE on an unbuffered case: complete.     SLEEPING (DONE after the unlock, C8)
 *      DONE on a buffered case: a hint; retry
 *      that case first. ABORTED: retry all, or time out.
 *
 * This file holds steps 2, 4-6 of the owner and 3-4 of the waker; the select engine
 * (chan/select.c) runs the owner's loop, the flavours (chan/chan_buf.c, chan/chan_zero.c) the
 * waker's side and the re-check. Steps 2-3 against the waker's 1-2 are the store->load race of
 * every park/wake protocol; the seq_cst order of [S1], [S2] and [S3] settles it without a fence
 * on the fast path (README, "Why no wake-up is lost"). A select woken by two channels is decided
 * by one claim CAS; the other waker moves on to the next waiter. */
#include "waitq.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "lockfree/backoff.h"
#include "lockfree/cacheline.h"
#include "lockfree/chaos.h"
#include "lockfree/debug.h"
#include "lockfree/fence.h"
#include "lockfree/futex.h"
#include "lockfree/ring_internal.h"
#include "lockfree/watch.h"

static _Thread_local GOLF__CACHE_ALIGNED golf__waiter golf__tls_waiter;

golf__waiter *
golf__self(void)
{
    return &golf__tls_waiter;
}

/* ---- waiter state -------------------------------------------------------------------------- */

/* Wakes a waiter whose claim returned `old`, if it was sleeping. */
static inline void
golf__waiter_wake_if_sleeping(golf__waiter *w, uint32_t old)
{
    if (old & GOLF__W_SLEEPING)
        golf__futex_wake(&w->state, 1);
}

/* Tries to move a WAITING waiter to `to` (CLAIMED or DONE|...), keeping its SLEEPING bit.
 * Returns true on success with the previous state in *old. */
static bool
golf__waiter_claim(golf__waiter *w, uint32_t to, uint32_t *old)
{
    /* relaxed: a first look; the CAS decides. */
    uint32_t s = atomic_load_explicit(&w->state, memory_order_relaxed);
    while ((s & GOLF__W_PHASE) == GOLF__W_WAITING) {
        /* [W2] acq_rel: release publishes what we made ready before the claim (the ring slot
         * of a buffered hint; an inline hand-off's copy into or out of the owner's buffer,
         * [W1]) to the owner's [W2]/[W1] acquire load of its state; acquire
         * orders our later copy after the owner's registration. One CAS decides the round
         * (C2). Failure relaxed: we only look at the phase again. */
        if (atomic_compare_exchange_weak_explicit(&w->state, &s, to | (s & GOLF__W_SLEEPING),
                                                  memory_order_acq_rel, memory_order_relaxed)) {
            *old = s;
            return true;
        }
    }
    return false;
}

void
golf__waiter_finish(golf__waiter *w, uint32_t to)
{
    /* [W1] release: publishes our copy into (or out of) the owner's buffer; pairs with [W1]
     * acquire in golf__park(). The owner may return as soon as it sees this; we touch only
     * the thread-lifetime waiter afterwards (H5). */
    uint32_t old = atomic_exchange_explicit(&w->state, to, memory_order_release);
    /* WAITING: an untimed single unbuffered operation, owned without a CAS (C9). */
    GOLF__ASSERT((old & GOLF__W_PHASE) == GOLF__W_CLAIMED ||
                     (old & GOLF__W_PHASE) == GOLF__W_WAITING,
                 "C3 chan: a waiter finished that its claimer did not hold");
    golf__waiter_wake_if_sleeping(w, old);
}

void
golf__waiter_finish_slot(golf__waiter *w, uint32_t to)
{
    /* [Z3] acquire: pairs with [Z3] release in golf__zero_park(): the waiter's looks at the
     * channel after it entered the slot happen before our DONE, hence before its peer's (our
     * caller's) return, after which the channel may be freed (C8). Clear at once unless we
     * took it within those few instructions. */
    if (atomic_load_explicit(&w->state, memory_order_acquire) & GOLF__W_ENTERING) {
        golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_HOLDER);
        while (atomic_load_explicit(&w->state, memory_order_acquire) & GOLF__W_ENTERING)
            golf__backoff_wait(&b);
    }
    golf__waiter_finish(w, to);
}

bool
golf__waiter_abort(golf__waiter *w)
{
    /* relaxed: a first look; the CAS decides. */
    uint32_t s = atomic_load_explicit(&w->state, memory_order_relaxed);
    while ((s & GOLF__W_PHASE) == GOLF__W_WAITING) {
        /* relaxed: ABORTED publishes nothing; on failure golf__park() reloads with acquire. */
        if (atomic_compare_exchange_weak_explicit(&w->state, &s, GOLF__W_ABORTED,
                                                  memory_order_relaxed, memory_order_relaxed))
            return true;
    }
    return false;
}

__attribute__((noinline, cold)) void
golf__notify_signal(int fd)
{
    uint64_t one = 1;
    /* Non-blocking: EAGAIN only when the counter is about to overflow, and then the fd is
     * readable already. EINTR cannot happen to a non-blocking eventfd write; retry anyway. */
    while (write(fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

/* ---- wait lists (caller holds the queue's lock) --------------------------------------------- */

/* Changes a waiter count (C4). Only ever changed under the queue's lock, so a load and a store
 * do (no locked RMW). A buffered channel's store is [S3] seq_cst: a registration's increment
 * precedes its re-check's [S2] loads in the single seq_cst order, and a buffered fast path's
 * count load follows its [S1] CAS there, so one of the two sees the other (chan/README.md,
 * "Park and wake"); every store to such a word is seq_cst so that such a load reads the latest.
 * An unbuffered channel's counts are read only under its lock, or as a relaxed hint before
 * taking it, so a relaxed store does (on x86 a seq_cst store is an exchange, twice per
 * unbuffered message). The load: relaxed, the lock orders the writers. `buffered`: the kind of
 * the channel the count belongs to (every node on its lists has it in `buffered`). */
static inline void
golf__count_add(_Atomic uint32_t *count, int32_t delta, bool buffered)
{
    uint32_t v = atomic_load_explicit(count, memory_order_relaxed) + (uint32_t)delta;
    GOLF__ASSERT(v < (1u << 31), "C4 chan: a waiter count went below zero");
    if (buffered)
        atomic_store_explicit(count, v, memory_order_seq_cst);
    else
        atomic_store_explicit(count, v, memory_order_relaxed);
}

/* The list and count of the waiters doing `op`. */
static inline golf__wlist *
golf__waitq_list(golf__waitq *q, int op, _Atomic uint32_t **count)
{
    if (op == GOLF_SEND) {
        *count = &q->nsend;
        return &q->sendq;
    }
    *count = &q->nrecv;
    return &q->recvq;
}

/* C4, checked where the lock is released after a change (debug tier): each count equals its
 * list's length. */
static inline void
golf__waitq_check(golf__waitq *q)
{
#ifdef GOLF_DEBUG
    uint32_t nr = 0, ns = 0;
    for (golf__wnode *n = q->recvq.head; n; n = n->next)
        nr++;
    for (golf__wnode *n = q->sendq.head; n; n = n->next)
        ns++;
    /* relaxed: under the lock, which every writer holds. */
    GOLF__ASSERT(nr == atomic_load_explicit(&q->nrecv, memory_order_relaxed) &&
                     ns == atomic_load_explicit(&q->nsend, memory_order_relaxed),
                 "C4 chan: nrecv/nsend differ from the lengths of recvq/sendq");
#else
    (void)q;
#endif
}

static void
golf__wlist_push(golf__wlist *l, golf__wnode *n)
{
    /* relaxed: the owner's own write (under the lock) is the only one it can see here. */
    GOLF__ASSERT(!atomic_load_explicit(&n->linked, memory_order_relaxed),
                 "C1 chan: a waiter node linked on two lists");
    n->next = NULL;
    if (l->head) {
        golf__wnode *tail = l->head->prev;
        tail->next = n;
        n->prev = tail;
        l->head->prev = n;
    } else {
        n->prev = n; /* the head's prev is the tail (golf__wlist) */
        l->head = n;
    }
    /* relaxed: only the owner reads it without the lock, and it wrote this itself (through
     * us, in its own register call). */
    atomic_store_explicit(&n->linked, 1, memory_order_relaxed);
}

/* Takes n out of l's links; `linked` still says 1, so its owner cannot leave its round yet
 * (it waits for the lock or for [N1]). */
static void
golf__wlist_unhook(golf__wlist *l, golf__wnode *n)
{
    if (n == l->head) {
        l->head = n->next;
        if (n->next)
            n->next->prev = n->prev; /* the tail, which the new head now points at */
    } else {
        n->prev->next = n->next;
        if (n->next)
            n->next->prev = n->prev;
        else
            l->head->prev = n->prev; /* n was the tail */
    }
    n->prev = n->next = NULL;
}

static void
golf__wnode_release(golf__wnode *n)
{
    /* [N1] release: our last touch of the node (and, for an inline hand-off, of the owner's
     * `val`); pairs with [N1] acquire in golf__waitq_unregister(). Once the owner sees 0 it may
     * return and reuse the node. */
    atomic_store_explicit(&n->linked, 0, memory_order_release);
}

static void
golf__wlist_unlink(golf__wlist *l, golf__wnode *n)
{
    golf__wlist_unhook(l, n);
    golf__wnode_release(n);
}

/* ---- claims ---------------------------------------------------------------------------------- */

/* How many times the oldest waiter may be passed over for a spinning newer one. */
#define GOLF__STARVE_SKIPS 64u

/* Tries to claim node n of q for `to`; unlinks it either way (won, or stale).
 *
 * The inline hand-off (x != NULL and n is a single unbuffered operation whose value travels
 * through its waiter's `val`, n->buf == n->w->val): the value moves *before* the claim, under
 * the lock (safe: while n is linked and we hold the lock its owner cannot leave this round, C1;
 * a single operation is claimed only through this channel, under this lock; if the CAS loses,
 * the owner aborted and reads neither our bytes in `val` nor changed its own). The claim is
 * still CLAIMED, not DONE: the owner may free the channel as soon as it sees DONE, so DONE is
 * stored after our unlock (golf__waiter_finish), never under the lock (C8). */
static bool
golf__claim_node(golf__wlist *q, _Atomic uint32_t *count, golf__wnode *n, uint32_t to,
                 uint32_t *old, golf__xfer *x)
{
    golf__waiter *w = n->w;
    bool buffered = n->buffered; /* read now: after [N1] the node may be gone */
    uint32_t target = to == GOLF__W_CLAIMED ? to : to | (n->index << GOLF__W_INDEX_SHIFT);
    bool direct = x && to == GOLF__W_CLAIMED && x->size <= GOLF__W_INLINE &&
                  n->buf == (void *)golf__waiter_inline(w, x->size);
    if (direct) {
        if (x->src)
            memcpy(n->buf, x->src, x->size); /* published by golf__waiter_finish ([W1]) */
        else
            memcpy(x->dst, n->buf, x->size); /* a send's value, ours only if we win */
    }
    if (to == GOLF__W_CLAIMED && n->solo) {
        /* An untimed single unbuffered operation (C9): its owner decides its round only under
         * this lock (a ready peer is found under it before linking; nothing aborts it), so a
         * linked node of it is WAITING and ours: no claim CAS. Its state is written once, by
         * golf__waiter_finish() after our unlock, which also learns whether it sleeps. */
        golf__wlist_unlink(q, n); /* [N1]: the owner now waits for DONE */
        golf__count_add(count, -1, buffered);
        *old = 0;
        if (x)
            x->done = direct;
        return true;
    }
    /* Claim *before* releasing the node: while `linked` says 1 its owner cannot leave this
     * round (it waits for the lock or for [N1]), so the CAS can only hit the round the node
     * belongs to, never the owner's next one. */
    golf__wlist_unhook(q, n);
    bool won = golf__waiter_claim(w, target, old);
    golf__wnode_release(n); /* [N1]: our last touch unless we won a CLAIMED */
    golf__count_add(count, -1, buffered);
    if (won && x)
        x->done = direct;
    /* Lost: stale, its owner already decided this round (C2) and finds the node unlinked. */
    return won;
}

golf__waiter *
golf__waitq_claim_first(golf__waitq *wq, int op, const golf__waiter *self, uint32_t to,
                        uint32_t *old, golf__wnode **claimed, golf__xfer *x)
{
    _Atomic uint32_t *count;
    golf__wlist *q = golf__waitq_list(wq, op, &count);
    /* Prefer the newest waiter while it still spins (no SLEEPING bit): it is on a CPU, so it
     * answers at once and costs no futex_wake; the sleepers ahead of it stay asleep, and with
     * more threads than cores a running sender/receiver pair keeps exchanging instead of
     * waking a sleeper per message. The oldest waiter is passed over at most
     * GOLF__STARVE_SKIPS times (a count, not a clock: no clock read per registration), so
     * every waiter is served (the spirit of Go's mutex starvation rule). */
    golf__wnode *t = q->head ? q->head->prev : NULL;
    if (t && t != q->head && t->w != self) {
        /* relaxed: a hint; the claim CAS decides. */
        uint32_t s = atomic_load_explicit(&t->w->state, memory_order_relaxed);
        if ((s & (GOLF__W_PHASE | GOLF__W_SLEEPING)) == GOLF__W_WAITING &&
            q->head->skips < GOLF__STARVE_SKIPS) {
            q->head->skips++;
            golf__waiter *w = t->w;
            if (golf__claim_node(q, count, t, to, old, x)) {
                *claimed = t; /* readable until we finish it (C3); for DONE: not at all */
                return w;
            }
        }
    }
    golf__wnode *n = q->head;
    while (n) {
        golf__wnode *next = n->next;
        if (n->w == self) { /* never pair a thread with itself (H7) */
            n = next;
            continue;
        }
        golf__waiter *w = n->w;
        if (golf__claim_node(q, count, n, to, old, x)) {
            *claimed = n; /* readable until we finish it (C3); for DONE: not at all */
            return w;
        }
        n = next;
    }
    return NULL;
}

static void
golf__sweep_on(golf__wlist *q, _Atomic uint32_t *count, const golf__waiter *w)
{
    for (golf__wnode *n = q->head; n;) {
        golf__wnode *next = n->next;
        if (n->w == w) {
            bool buffered = n->buffered; /* read before [N1] */
            golf__wlist_unlink(q, n);    /* [N1] */
            golf__count_add(count, -1, buffered);
        }
        n = next;
    }
}

void
golf__waitq_sweep(golf__waitq *q, const golf__waiter *w, const golf__wnode *claimed)
{
    if (claimed == &w->node)
        return; /* a single operation has no other node */
    golf__sweep_on(&q->recvq, &q->nrecv, w);
    golf__sweep_on(&q->sendq, &q->nsend, w);
}

void
golf__waitq_notify_one(golf__waitq *q, int op)
{
    uint32_t old = 0;
    golf__wnode *n;
    golf__lock_acquire(&q->lock);
    golf__waiter *w = golf__waitq_claim_first(q, op, NULL, GOLF__W_DONE, &old, &n, NULL);
    golf__waitq_check(q);
    golf__lock_release(&q->lock);
    GOLF__POINT(WAITQ_NOTIFY);
    if (w)
        golf__waiter_wake_if_sleeping(w, old); /* w is thread-lifetime: safe after unlock */
}

void
golf__waitq_wake_closed(golf__waitq *wq, int op)
{
    _Atomic uint32_t *count;
    golf__wlist *q = golf__waitq_list(wq, op, &count);
    while (q->head) {
        golf__wnode *n = q->head;
        golf__waiter *w = n->w;
        uint32_t old;
        /* Claim before unlinking, as in golf__waitq_claim_first(). */
        bool won = golf__waiter_claim(
            w, GOLF__W_DONE | GOLF__W_CLOSED | (n->index << GOLF__W_INDEX_SHIFT), &old);
        bool buffered = n->buffered; /* read before [N1] */
        golf__wlist_unlink(q, n);    /* [N1]: our last touch of the node */
        golf__count_add(count, -1, buffered);
        if (won)
            golf__waiter_wake_if_sleeping(w, old); /* w is thread-lifetime */
    }
}

void
golf__waitq_wake_recv_ready(golf__waitq *q, int rr)
{
    if (rr == GOLF__RING_READY_CLOSED) {
        golf__lock_acquire(&q->lock);
        golf__waitq_wake_closed(q, GOLF_RECV);
        golf__lock_release(&q->lock);
    } else if (rr == GOLF__RING_READY) {
        golf__waitq_notify_one(q, GOLF_RECV);
    }
}

/* ---- registration ---------------------------------------------------------------------------- */

static bool
golf__has_peer(golf__wlist *q, const golf__waiter *self)
{
    for (golf__wnode *n = q->head; n; n = n->next) {
        /* relaxed: a hint under the lock; a peer that decides its round right after our look
         * only makes us retry once. */
        if (n->w != self && (atomic_load_explicit(&n->w->state, memory_order_relaxed) &
                             GOLF__W_PHASE) == GOLF__W_WAITING)
            return true;
    }
    return false;
}

/* True when q's slot holds a waiter doing the other half of `op` (C11). */
static inline bool
golf__slot_has_peer(golf__waitq *q, int op)
{
    /* [Z2] seq_cst: see golf__zero_park(). */
    uintptr_t s = atomic_load_explicit(&q->slot, memory_order_seq_cst);
    return (s & golf__slot_tag(op == GOLF_SEND ? GOLF_RECV : GOLF_SEND)) != 0;
}

/* Unlinks our own solo node again, under the lock (nobody can have claimed it meanwhile). */
static void
golf__solo_unlink(golf__waitq *q, int op, golf__wnode *node)
{
    if (op == GOLF_SEND) {
        golf__wlist_unlink(&q->sendq, node);
        golf__count_add(&q->nsend, -1, false);
    } else {
        golf__wlist_unlink(&q->recvq, node);
        golf__count_add(&q->nrecv, -1, false);
    }
}

/* Prepares the node of a case for registration (not linked yet, only we can see it). */
static void
golf__node_prepare(golf__wnode *node, golf__waiter *self, golf_case *c, uint32_t index,
                   bool buffered, size_t inline_size)
{
    node->w = self;
    node->buf = c->elem;
    if (inline_size) {
        /* The value travels through our waiter (see golf__waiter). */
        unsigned char *iv = golf__waiter_inline(self, inline_size);
        if (c->op == GOLF_SEND)
            memcpy(iv, c->elem, inline_size);
        node->buf = c->op == GOLF_SEND || c->elem ? iv : NULL;
    }
    node->index = index;
    node->skips = 0;
    node->buffered = buffered;
    /* relaxed: not linked yet, only we can see it. */
    atomic_store_explicit(&node->linked, 0, memory_order_relaxed);
}

/* One hold of the lock for every case on the channel keeps C8 for a select with several cases
 * on one channel: a claimer that completes one of them unlinks the others in the same critical
 * section (golf__waitq_sweep), so the owner, once DONE, never needs this channel again. With a
 * hold per case, the owner could still be registering a later case when a peer completed an
 * earlier one and freed the channel. */
bool
golf__waitq_register(golf__waitq *q, bool buffered, golf_case *cases, size_t n,
                     const uint32_t *perm, size_t k, golf__wnode *nodes, golf__waiter *self,
                     size_t inline_size, bool solo)
{
    golf_chan *ch = cases[perm[k]].ch;
    bool want_recvq = false, want_sendq = false;
    golf__lock_acquire(&q->lock);
    /* relaxed: written under the lock we hold. */
    if (!buffered && atomic_load_explicit(&q->closed, memory_order_relaxed)) {
        /* Closed: ready, and never linked, so no receiver can pair with a send that began
         * after the close (close emptied the lists; nothing may join them again). */
        golf__lock_release(&q->lock);
        return true;
    }
    if (solo) {
        /* An untimed single unbuffered operation (C9): a peer waiting now means ready, and
         * then we do not link at all: no claimer ever sees this round, so it needs no abort. */
        bool send = cases[perm[k]].op == GOLF_SEND;
        if (golf__has_peer(send ? &q->recvq : &q->sendq, self) ||
            golf__slot_has_peer(q, cases[perm[k]].op)) {
            golf__lock_release(&q->lock);
            return true;
        }
    }
    for (size_t j = k; j < n; j++) {
        golf_case *c = &cases[perm[j]];
        if (c->ch != ch)
            continue;
        golf__wnode *node = nodes ? &nodes[perm[j]] : &self->node;
        golf__node_prepare(node, self, c, perm[j], buffered, inline_size);
        node->solo = solo;
        if (c->op == GOLF_SEND) {
            golf__wlist_push(&q->sendq, node);
            golf__count_add(&q->nsend, 1, buffered);
            want_recvq = true;
        } else {
            golf__wlist_push(&q->recvq, node);
            golf__count_add(&q->nrecv, 1, buffered);
            want_sendq = true;
        }
    }
    bool ready = false;
    if (!buffered) {
        /* Unbuffered: the lock covers both the peers' lists and `closed`, so this check and
         * our registration are one atomic step for every other unbuffered operation. */
        ready = (want_recvq && golf__has_peer(&q->recvq, self)) ||
                (want_sendq && golf__has_peer(&q->sendq, self));
        /* [Z2] full fence: our count stores above before our look at the slot, against a
         * waiter entering the slot, which CASes it and then loads our count
         * (golf__zero_park): one of us sees the other. */
        golf__fence_full();
        if ((want_recvq && golf__slot_has_peer(q, GOLF_SEND)) ||
            (want_sendq && golf__slot_has_peer(q, GOLF_RECV))) {
            ready = true;
            if (solo) /* C9: linked only when no peer waits; nobody claimed it (we hold the lock) */
                golf__solo_unlink(q, cases[perm[k]].op, &self->node);
        }
        /* A sender now waits: the channel is readable (C10). Under the lock: a receiver that
         * pairs with us needs it, and may free the channel (and its fd) as soon as it has. */
        if (want_recvq)
            golf__waitq_notify(q);
    }
    golf__waitq_check(q);
    golf__lock_release(&q->lock);
    GOLF__POINT(WAITQ_REGISTERED);
    return ready;
}

void
golf__waitq_unregister(golf__waitq *q, int op, golf__wnode *node)
{
    /* [N1] acquire: a waker unlinked it and is done with it; no lock needed. The common case
     * after a wake-up. */
    if (!atomic_load_explicit(&node->linked, memory_order_acquire))
        return;
    golf__lock_acquire(&q->lock);
    /* relaxed: under the lock that every writer holds. */
    if (atomic_load_explicit(&node->linked, memory_order_relaxed)) {
        if (op == GOLF_SEND) {
            golf__wlist_unlink(&q->sendq, node);
            golf__count_add(&q->nsend, -1, node->buffered);
        } else {
            golf__wlist_unlink(&q->recvq, node);
            golf__count_add(&q->nrecv, -1, node->buffered);
        }
    }
    golf__lock_release(&q->lock);
}

/* ---- parking ------------------------------------------------------------------------------- */

/* A parked thread spins GOLF__BUDGET_PARK (lockfree/backoff.h) looking at its state, then
 * sleeps. The budget is a time, so it means the same wait whatever a pause costs here; it is long
 * enough that two threads handing values to each other see each other's reply before they give
 * up, and short against a time slice. Linear, not exponential: a peer's DONE is seen within one
 * pause. No sched_yield: on a loaded machine a yield hands the core to another process for a
 * whole time slice. A waker never makes a system call for a waiter that is still spinning: it
 * wakes only one that set SLEEPING. */
uint32_t
golf__park(golf__waiter *w, golf__park_ctx *pc)
{
    for (;;) {
        /* [W1] acquire: pairs with [W1] release in golf__waiter_finish() or, for an inline
         * hand-off, in golf__waiter_claim() (the copied value) and [W2] release in
         * golf__waiter_claim() (a buffered hint's published slot). */
        uint32_t s = atomic_load_explicit(&w->state, memory_order_acquire);
        uint32_t phase = s & GOLF__W_PHASE;
        if (phase == GOLF__W_DONE || phase == GOLF__W_ABORTED)
            return s;
        if (phase == GOLF__W_WAITING && pc->deadline != GOLF__FOREVER &&
            golf__now_ns() >= pc->deadline) {
            /* On our own word only: the channel may be gone once a peer completed us (C8). */
            if (golf__waiter_abort(w)) {
                pc->timed_out = true;
                return GOLF__W_ABORTED;
            }
            /* Decided by a waker meanwhile: honour it (H4). */
            pc->deadline = GOLF__FOREVER;
            continue;
        }
        if (golf__backoff_wait(&pc->spin))
            continue;
        if (!(s & GOLF__W_SLEEPING)) {
            /* relaxed: the bit is for wakers' RMWs on this word, which read it in order. */
            if (!atomic_compare_exchange_weak_explicit(&w->state, &s, s | GOLF__W_SLEEPING,
                                                       memory_order_relaxed, memory_order_relaxed))
                continue;
            s |= GOLF__W_SLEEPING;
        }
        uint64_t until = phase == GOLF__W_WAITING ? pc->deadline : GOLF__FOREVER;
        bool polling = pc->poll_ns != 0 && phase == GOLF__W_WAITING;
        if (polling) {
            uint64_t p = golf__deadline(pc->poll_ns);
            if (p < until)
                until = p;
        }
        /* Sleeps only while the word still says "undecided, sleeping": a waker changes the
         * word before its futex_wake, so no wake-up is lost. */
        GOLF__POINT(PARK_SLEEP);
        golf__wait_cases(&w->state, s, until, pc->cases, pc->n); /* lockfree/watch.h */
        if (polling)
            return GOLF__W_WAITING; /* the caller looks again, then parks again */
    }
}
