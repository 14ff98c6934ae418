/* SPDX-License-Identifier: MIT */
/* Blocking for channels: the per-thread waiter, the waiter lists, the list lock and the engine
 * shared by every blocking operation and every select (golf__select_run).
 *
 * The protocol (Go's selectDone CAS and crossbeam's Context merged into one futex word per
 * thread; chan/README.md, "Design" and "Park and wake"):
 *
 *   owner (blocking)                          waker (a send, receive or close elsewhere)
 *   1. try every case (random order)          1. make the case ready (buffered: the ring's
 *   2. state = WAITING; link a node per case     seq_cst CAS [S1], copy, stamp; or close)
 *      (count store [S3], seq_cst)            2. load nrecv and nsend (seq_cst); if 0: done,
 *   3. re-check every case ([S2] loads)          no waker work (buffered: wake only a side
 *      (unbuffered: checked under the lock       whose case is ready now, C7)
 *      that linked the node)                  3. lock; claim the first node (a select's by a
 *   4. ready: CAS WAITING -> ABORTED             CAS WAITING -> DONE|CLAIMED; a single
 *   5. spin (GOLF__SPIN_PARK_NS), then set       unbuffered operation's without one, C9);
 *      SLEEPING, futex_wait (bounded and         unlink it; unlock
 *      re-checked while a case is IN_FLIGHT)  4. copy if not done under the lock, then DONE;
 *   6. unlink every node still linked            futex_wake only if the waiter had set
 *   7. DONE on an unbuffered case: complete.     SLEEPING (DONE after the unlock, C8)
 *      DONE on a buffered case: a hint; retry
 *      that case first. ABORTED: retry all, or time out.
 *
 * Steps 2-3 against the waker's 1-2 are the store->load race of every park/wake protocol; the
 * seq_cst order of [S1], [S2] and [S3] settles it without a fence on the fast path (README,
 * "Why no wake-up is lost"). A select woken by two channels is decided by one claim CAS; the
 * other waker moves on to the next waiter. */
#include "chan/chan_internal.h"

#include <sched.h>
#include <string.h>

#include "lockfree/rand.h"
#include "lockfree/spin.h"

static _Thread_local GOLF__CACHE_ALIGNED golf__waiter golf__tls_waiter;

golf__waiter *
golf__self(void)
{
    return &golf__tls_waiter;
}

/* ---- waiter lists (caller holds the channel lock) ------------------------------------------- */

/* Changes a waiter count (C4). Only ever changed under the channel lock, so a load and a store
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
    if (buffered)
        atomic_store_explicit(count, v, memory_order_seq_cst);
    else
        atomic_store_explicit(count, v, memory_order_relaxed);
}

void
golf__wlist_push(golf__wlist *l, golf__wnode *n)
{
    n->next = NULL;
    n->prev = l->tail;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
    /* relaxed: only the owner reads it without the lock, and it wrote this itself (through
     * us, in its own register call). */
    atomic_store_explicit(&n->linked, 1, memory_order_relaxed);
}

/* Takes n out of l's links; `linked` still says 1, so its owner cannot leave its round yet
 * (it waits for the lock or for [N1]). */
static void
golf__wlist_unhook(golf__wlist *l, golf__wnode *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
}

static void
golf__wnode_release(golf__wnode *n)
{
    /* [N1] release: our last touch of the node (and, for an inline hand-off, of the owner's
     * `val`); pairs with [N1] acquire in golf__chan_unregister(). Once the owner sees 0 it may
     * return and reuse the node. */
    atomic_store_explicit(&n->linked, 0, memory_order_release);
}

void
golf__wlist_unlink(golf__wlist *l, golf__wnode *n)
{
    golf__wlist_unhook(l, n);
    golf__wnode_release(n);
}

/* ---- waiter state -------------------------------------------------------------------------- */

bool
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
    golf__waiter_wake_if_sleeping(w, old);
}

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
golf__wlist_claim_first(golf__wlist *q, _Atomic uint32_t *count, const golf__waiter *self,
                        uint32_t to, uint32_t *old, golf__wnode **claimed, golf__xfer *x)
{
    /* Prefer the newest waiter while it still spins (no SLEEPING bit): it is on a CPU, so it
     * answers at once and costs no futex_wake; the sleepers ahead of it stay asleep. With 16
     * threads on 2 cores this keeps a running sender/receiver pair exchanging instead of
     * waking a sleeper per message. The oldest waiter is passed over at most
     * GOLF__STARVE_SKIPS times (a count, not a clock: no clock read per registration), so
     * every waiter is served (the spirit of Go's mutex starvation rule). */
    golf__wnode *t = q->tail;
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

static void golf__wake_all_closed_on(golf__wlist *q, _Atomic uint32_t *count);

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
golf__chan_sweep_waiter(golf_chan *ch, const golf__waiter *w, const golf__wnode *claimed)
{
    if (claimed == &w->node)
        return; /* a single operation has no other node */
    golf__sweep_on(&ch->recvq, &ch->nrecv, w);
    golf__sweep_on(&ch->sendq, &ch->nsend, w);
}

void
golf__chan_notify_one(golf_chan *ch, golf__wlist *q, _Atomic uint32_t *count)
{
    uint32_t old = 0;
    golf__wnode *n;
    golf__lock_acquire(&ch->lock);
    golf__waiter *w = golf__wlist_claim_first(q, count, NULL, GOLF__W_DONE, &old, &n, NULL);
    golf__lock_release(&ch->lock);
    if (w)
        golf__waiter_wake_if_sleeping(w, old); /* w is thread-lifetime: safe after unlock */
}

static void
golf__wake_all_closed_on(golf__wlist *q, _Atomic uint32_t *count)
{
    while (q->head) {
        golf__wnode *n = q->head;
        golf__waiter *w = n->w;
        uint32_t old;
        /* Claim before unlinking, as in golf__wlist_claim_first(). */
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
golf__chan_wake_all_closed(golf_chan *ch)
{
    golf__wake_all_closed_on(&ch->recvq, &ch->nrecv);
    golf__wake_all_closed_on(&ch->sendq, &ch->nsend);
}

__attribute__((noinline, cold)) void
golf__buf_wake(golf_chan *ch, uint32_t nr, uint32_t ns)
{
    /* [F3] full fence: orders our publish (the stamp store of our push or pop) before the
     * readiness loads below, against the same fence in every other thread that reaches here:
     * a producer that filled slot h+1 and a consumer that just took slot h could otherwise each
     * miss the other's stamp (store buffering) and neither wake the receiver waiting for h+1
     * (C7). Only reached when a waiter exists: off the uncontended path. */
    golf__fence_full();
    /* Only wake for a case that is ready *now* at the ring's current head / tail: a wake-up
     * spent on a receiver whose head slot is still being filled would be lost, and the
     * producer filling it wakes a receiver itself when it is done (C7). */
    if (nr) {
        int rr = golf__ring_recv_ready(ch->ring);
        if (rr == GOLF__RING_READY_CLOSED) {
            /* The last value of a closed channel is gone: every receiver gets GOLF_ECLOSED,
             * as at the close itself (which woke those registered before it). */
            golf__lock_acquire(&ch->lock);
            golf__wake_all_closed_on(&ch->recvq, &ch->nrecv);
            golf__lock_release(&ch->lock);
        } else if (rr == GOLF__RING_READY) {
            golf__chan_notify_one(ch, &ch->recvq, &ch->nrecv);
        }
    }
    /* Senders registered before a close were woken by it; later ones see the mark in their
     * re-check. So only a free slot wakes one. */
    if (ns && golf__ring_send_ready(ch->ring) == GOLF__RING_READY)
        golf__chan_notify_one(ch, &ch->sendq, &ch->nsend);
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

/* Prepares the node of case j for registration (not linked yet, only we can see it). */
static void
golf__node_prepare(golf__wnode *node, golf__waiter *self, golf_case *c, uint32_t index,
                   bool inline_val)
{
    node->w = self;
    node->buf = c->elem;
    if (inline_val) {
        /* The value travels through our waiter (see golf__waiter). */
        unsigned char *iv = golf__waiter_inline(self, c->ch->elem_size);
        if (c->op == GOLF_SEND)
            memcpy(iv, c->elem, c->ch->elem_size);
        node->buf = c->op == GOLF_SEND || c->elem ? iv : NULL;
    }
    node->index = index;
    node->skips = 0;
    node->buffered = golf__chan_is_buffered(c->ch);
    /* relaxed: not linked yet, only we can see it. */
    atomic_store_explicit(&node->linked, 0, memory_order_relaxed);
}

/* Registers, under one hold of ch's lock, case perm[k] and every later case (in perm order) on
 * the same channel; their nodes' `w` says they are linked. One hold for all of them keeps C8 for
 * a select with several cases on one channel: a claimer that completes one of them unlinks the
 * others in the same critical section (golf__chan_sweep_waiter), so the owner, once DONE, never
 * needs this channel again; registering them one lock hold at a time let the owner take the
 * lock of a channel its peer had already freed. Unbuffered: returns true when a case is ready
 * now (a peer of another thread waits, or closed), checked under the same lock. */
static bool
golf__chan_register(golf_chan *ch, golf_case *cases, size_t n, const uint32_t *perm, size_t k,
                    golf__wnode *nodes, golf__waiter *self, bool inline_val, bool solo)
{
    bool buffered = golf__chan_is_buffered(ch);
    bool want_recvq = false, want_sendq = false;
    golf__lock_acquire(&ch->lock);
    /* relaxed: written under the lock we hold. */
    if (!buffered && atomic_load_explicit(&ch->closed, memory_order_relaxed)) {
        /* Closed: ready, and never linked, so no receiver can pair with a send that began
         * after the close (close emptied the lists; nothing may join them again). */
        golf__lock_release(&ch->lock);
        return true;
    }
    if (solo) {
        /* An untimed single unbuffered operation (C9): a peer waiting now means ready, and
         * then we do not link at all: no claimer ever sees this round, so it needs no abort. */
        bool send = cases[perm[k]].op == GOLF_SEND;
        if (golf__has_peer(send ? &ch->recvq : &ch->sendq, self)) {
            golf__lock_release(&ch->lock);
            return true;
        }
    }
    for (size_t j = k; j < n; j++) {
        golf_case *c = &cases[perm[j]];
        if (c->ch != ch)
            continue;
        golf__wnode *node = nodes ? &nodes[perm[j]] : &self->node;
        golf__node_prepare(node, self, c, perm[j], inline_val);
        node->solo = solo;
        if (c->op == GOLF_SEND) {
            golf__wlist_push(&ch->sendq, node);
            golf__count_add(&ch->nsend, 1, buffered);
            want_recvq = true;
        } else {
            golf__wlist_push(&ch->recvq, node);
            golf__count_add(&ch->nrecv, 1, buffered);
            want_sendq = true;
        }
    }
    bool ready = false;
    if (!buffered) {
        /* Unbuffered: the lock covers both the peers' lists and `closed`, so this check and
         * our registration are one atomic step for every other unbuffered operation. */
        ready = (want_recvq && golf__has_peer(&ch->recvq, self)) ||
                (want_sendq && golf__has_peer(&ch->sendq, self));
    }
    golf__lock_release(&ch->lock);
    return ready;
}

void
golf__chan_unregister(golf_chan *ch, int op, golf__wnode *node)
{
    /* [N1] acquire: a waker unlinked it and is done with it; no lock needed. The common case
     * after a wake-up. */
    if (!atomic_load_explicit(&node->linked, memory_order_acquire))
        return;
    golf__lock_acquire(&ch->lock);
    /* relaxed: under the lock that every writer holds. */
    if (atomic_load_explicit(&node->linked, memory_order_relaxed)) {
        if (op == GOLF_SEND) {
            golf__wlist_unlink(&ch->sendq, node);
            golf__count_add(&ch->nsend, -1, node->buffered);
        } else {
            golf__wlist_unlink(&ch->recvq, node);
            golf__count_add(&ch->nrecv, -1, node->buffered);
        }
    }
    golf__lock_release(&ch->lock);
}

/* ---- parking ------------------------------------------------------------------------------- */

/* Re-checks every registered buffered case: READY (or READY_CLOSED) if one is ready now,
 * else IN_FLIGHT if one waits on a position another thread holds, else NOT_READY. */
static int
golf__buf_recheck(golf_case *cases, size_t n, golf__wnode *nodes, const uint32_t *perm,
                  golf__waiter *self)
{
    int worst = GOLF__RING_NOT_READY;
    for (size_t k = 0; k < n; k++) {
        golf_case *c = &cases[perm[k]];
        golf__wnode *node = nodes ? &nodes[perm[k]] : &self->node;
        /* node->buffered, not c->ch->cap: an unbuffered case may already have been completed
         * by a peer that then freed its channel (C8). */
        if (!c->ch || !node->w || !node->buffered)
            continue;
        int r = c->op == GOLF_SEND ? golf__ring_send_ready(c->ch->ring)
                                   : golf__ring_recv_ready(c->ch->ring);
        if (r == GOLF__RING_READY || r == GOLF__RING_READY_CLOSED)
            return r;
        if (r == GOLF__RING_IN_FLIGHT)
            worst = r;
    }
    return worst;
}

/* What golf__park needs to know about the operation it waits for. */
typedef struct golf__park_ctx {
    golf_case *cases;
    size_t n;
    golf__wnode *nodes;
    uint32_t *perm;
    bool poll; /* a buffered case was IN_FLIGHT at the re-check: no sleep without a limit */
} golf__park_ctx;

/* Polling an IN_FLIGHT case: the first pause, and the cap of its doubling. The thread we wait
 * on is normally inside a few instructions (its CAS to its stamp store) and its own check
 * wakes us; a pause this long means it was descheduled there, and then a scheduler tick
 * (milliseconds) is the time scale. */
enum { GOLF__POLL_FIRST_NS = 50000, GOLF__POLL_MAX_NS = 5000000 };

/* Moves our own WAITING state to ABORTED. False when a waker decided the round first. */
static bool
golf__abort(golf__waiter *w)
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

/* A parked thread spins GOLF__SPIN_PARK_NS (lockfree/spin.h) looking at its state, then sleeps.
 * The budget is a time, so it means the same wait whatever a pause costs here; it is long
 * enough that two threads handing values to each other (unbuffered ping-pong) see each other's
 * reply before they give up, and short against a time slice. Linear, not exponential: a peer's
 * DONE is seen within one pause. No sched_yield: on a loaded machine a yield hands the core to
 * another process for a whole time slice. A waker never makes a system call for a waiter that
 * is still spinning: it wakes only one that set SLEEPING. */

/* Waits until our round is decided (DONE or ABORTED, never returning while CLAIMED, C3).
 * Spins, then yields, then sleeps on the futex. Sets *timed_out when the deadline aborted it. */
static uint32_t
golf__park(golf__waiter *w, uint64_t deadline, bool *timed_out, golf__park_ctx *pc)
{
    uint32_t spins = 0, budget = golf__spin_pauses(GOLF__SPIN_PARK_NS);
    uint64_t poll_ns = GOLF__POLL_FIRST_NS;
    for (;;) {
        /* [W1] acquire: pairs with [W1] release in golf__waiter_finish() or, for an inline
         * hand-off, in golf__waiter_claim() (the copied value) and [W2] release in
         * golf__waiter_claim() (a buffered hint's published slot). */
        uint32_t s = atomic_load_explicit(&w->state, memory_order_acquire);
        uint32_t phase = s & GOLF__W_PHASE;
        if (phase == GOLF__W_DONE || phase == GOLF__W_ABORTED)
            return s;
        if (phase == GOLF__W_WAITING && deadline != GOLF__FOREVER && golf__now_ns() >= deadline) {
            /* On our own word only: the channel may be gone once a peer completed us (C8). */
            if (golf__abort(w)) {
                *timed_out = true;
                return GOLF__W_ABORTED;
            }
            /* Decided by a waker meanwhile: honour it (H4). */
            deadline = GOLF__FOREVER;
            continue;
        }
        if (spins < budget) {
            spins++;
            golf__cpu_relax();
            continue;
        }
        if (!(s & GOLF__W_SLEEPING)) {
            /* relaxed: the bit is for wakers' RMWs on this word, which read it in order. */
            if (!atomic_compare_exchange_weak_explicit(&w->state, &s, s | GOLF__W_SLEEPING,
                                                       memory_order_relaxed, memory_order_relaxed))
                continue;
            s |= GOLF__W_SLEEPING;
        }
        uint64_t until = phase == GOLF__W_WAITING ? deadline : GOLF__FOREVER;
        bool polling = pc->poll && phase == GOLF__W_WAITING;
        if (polling) {
            uint64_t p = golf__deadline(poll_ns);
            if (p < until)
                until = p;
        }
        /* Sleeps only while the word still says "undecided, sleeping": a waker changes the
         * word before its futex_wake, so no wake-up is lost. */
        golf__futex_wait_until(&w->state, s, until);
        if (polling) {
            /* A case was IN_FLIGHT: look again (the re-check has no side effects). */
            int rc = golf__buf_recheck(pc->cases, pc->n, pc->nodes, pc->perm, w);
            if (rc == GOLF__RING_READY || rc == GOLF__RING_READY_CLOSED)
                golf__abort(w); /* fails only if a waker decided first: then honour it */
            else if (rc == GOLF__RING_NOT_READY)
                pc->poll = false; /* whoever takes the position now sees us: sleep for good */
            else if (poll_ns < GOLF__POLL_MAX_NS)
                poll_ns *= 2;
        }
    }
}

/* ---- the engine ------------------------------------------------------------------------------ */

int
golf__case_done(golf_case *cases, size_t k, int r)
{
    golf_case *c = &cases[k];
    c->status = r;
    if (r == GOLF_ECLOSED) {
        if (c->op == GOLF_RECV && c->elem && c->ch->elem_size)
            memset(c->elem, 0, c->ch->elem_size);
        golf__chan_settle(c->ch); /* the closer may still hold the lock (C8) */
    }
    return (int)k;
}

int
golf__select_run(golf_case *cases, size_t n, golf__wnode *nodes, uint32_t *perm, uint64_t deadline,
                 bool nonblocking)
{
    golf__waiter *self = golf__self();
    /* Retrying a buffered case before registering: pauses doubling up to GOLF__SPIN_RETRY_NS
     * in all, then one sched_yield (lets the peer run when 16 threads share 2 cores). */
    uint32_t pre_budget = 0, pre_spent = 0, pre_step = 1;
    bool pre_yielded = false;
    bool any_buffered = false;
    long hint = -1;

    for (size_t i = 0; i < n; i++) {
        perm[i] = (uint32_t)i;
        if (cases[i].ch && golf__chan_is_buffered(cases[i].ch))
            any_buffered = true;
    }
    /* A single unbuffered operation (nodes == NULL: n == 1) with a small value registers the
     * waiter's own node and passes the value through the waiter's inline buffer. */
    bool inline_val = !nodes && n == 1 && cases[0].ch && !any_buffered &&
                      cases[0].ch->elem_size > 0 && cases[0].ch->elem_size <= GOLF__W_INLINE;
    size_t inline_size = inline_val ? cases[0].ch->elem_size : 0;
    /* An untimed single unbuffered operation decides its rounds under the channel's lock
     * (C9); a timed one aborts by CAS on its own word, like a select. */
    bool solo = !nodes && n == 1 && cases[0].ch && !any_buffered && deadline == GOLF__FOREVER;

    for (;;) {
        /* Pass 1: a woken buffered case first (the item that woke us), then every case in a
         * fresh uniformly random order (Fisher-Yates): the first ready one wins. */
        if (hint >= 0) {
            golf_case *c = &cases[hint];
            int r = golf__chan_try(c->ch, c->op, c->elem, self);
            if (r != GOLF_EAGAIN)
                return golf__case_done(cases, (size_t)hint, r);
            hint = -1;
        }
        for (size_t i = n; i > 1; i--) {
            uint32_t j = golf__rand_below((uint32_t)i);
            uint32_t t = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = t;
        }
        for (size_t k = 0; k < n; k++) {
            golf_case *c = &cases[perm[k]];
            if (!c->ch)
                continue;
            int r = golf__chan_try(c->ch, c->op, c->elem, self);
            if (r != GOLF_EAGAIN)
                return golf__case_done(cases, perm[k], r);
        }
        if (nonblocking)
            return GOLF_EAGAIN;
        if (deadline != GOLF__FOREVER && golf__now_ns() >= deadline)
            return GOLF_ETIMEDOUT;
        if (any_buffered && !pre_yielded) {
            if (pre_budget == 0)
                pre_budget = golf__spin_pauses(GOLF__SPIN_RETRY_NS);
            if (pre_spent < pre_budget) {
                for (uint32_t i = 0; i < pre_step; i++)
                    golf__cpu_relax();
                pre_spent += pre_step;
                if (pre_step < 64)
                    pre_step *= 2;
            } else {
                sched_yield();
                pre_yielded = true;
            }
            continue;
        }

        /* Pass 2: register every case, in the same random order; a node's `w` says it is
         * linked (set under its channel's lock), so clear them first. */
        /* relaxed: our nodes are not linked yet; the lock that links them publishes this. */
        atomic_store_explicit(&self->state, GOLF__W_WAITING, memory_order_relaxed);
        for (size_t k = 0; k < n; k++)
            (nodes ? &nodes[k] : &self->node)->w = NULL;
        bool ready = false;
        for (size_t k = 0; k < n && !ready; k++) {
            golf_case *c = &cases[perm[k]];
            if (!c->ch || (nodes ? &nodes[perm[k]] : &self->node)->w)
                continue; /* nil channel, or linked with an earlier case on its channel */
            ready = golf__chan_register(c->ch, cases, n, perm, k, nodes, self, inline_val, solo);
        }
        /* Buffered cases: re-check after registering. No fence: our count stores [S3] and
         * the re-check's index loads [S2] are seq_cst, as are the fast paths' CAS [S1] and
         * count loads. IN_FLIGHT: the thread holding the position we need may have missed our
         * registration; park polls instead of sleeping for good. */
        int rc = GOLF__RING_NOT_READY;
        if (!ready && any_buffered) {
            rc = golf__buf_recheck(cases, n, nodes, perm, self);
            ready = rc == GOLF__RING_READY || rc == GOLF__RING_READY_CLOSED;
        }
        if (ready && solo)
            continue; /* never linked: retry at once */
        if (ready)
            golf__abort(self); /* fails only if a waker decided first: then honour it */

        bool timed_out = false;
        golf__park_ctx pc = {cases, n, nodes, perm, rc == GOLF__RING_IN_FLIGHT};
        uint32_t s = golf__park(self, deadline, &timed_out, &pc);

        /* Pass 3: unlink what is still linked before our stack frame goes (H4). A node a
         * waker unlinked ([N1]) costs no lock, and no touch of its channel (C8). */
        for (size_t k = 0; k < n; k++) {
            golf_case *c = &cases[k];
            golf__wnode *node = nodes ? &nodes[k] : &self->node;
            if (c->ch && node->w)
                golf__chan_unregister(c->ch, c->op, node);
        }

        if ((s & GOLF__W_PHASE) == GOLF__W_DONE) {
            size_t k = s >> GOLF__W_INDEX_SHIFT;
            if (!(nodes ? &nodes[k] : &self->node)->buffered) {
                /* Closed: the closer may still hold the lock; case_done settles on it. */
                if (s & GOLF__W_CLOSED)
                    return golf__case_done(cases, k, GOLF_ECLOSED);
                /* An unbuffered hand-off, complete. Its claimer stored DONE after its unlock and
                 * the peer may free the channel as soon as we return, or already: from here on
                 * we do not touch cases[k].ch (C8). */
                if (inline_val && cases[k].op == GOLF_RECV && cases[k].elem)
                    memcpy(cases[k].elem, golf__waiter_inline(self, inline_size), inline_size);
                cases[k].status = GOLF_OK;
                return (int)k;
            }
            hint = (long)k;
            continue;
        }
        if (timed_out)
            return GOLF_ETIMEDOUT;
    }
}
