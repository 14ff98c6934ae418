/* SPDX-License-Identifier: MIT */
/* The select engine (golf__select_run), which every blocking operation also runs with one case,
 * and golf_select, golf_select_try, golf_select_timeout: Go's select over n cases.
 *
 * Semantics (include/golf/chan.h): among the ready cases one is chosen uniformly at random (a
 * fresh Fisher-Yates shuffle per pass); NULL-channel cases are never ready; a closed channel
 * makes its send and receive cases ready with status GOLF_ECLOSED; exactly one case takes
 * effect; a thread never pairs its own send with its own receive; a timeout never discards a
 * case a peer already chose (the abort CAS loses and the case is honoured).
 *
 * A round: pass 1 tries every case through its flavour; pass 2 registers on every channel
 * (chan/waitq.c) and re-checks the buffered cases (chan/chan_buf.c); then the thread parks until
 * a waker or its own abort decides the round, and pass 3 unregisters. The protocol and why no
 * wake-up is lost: chan/waitq.c and chan/README.md. */
#include "select.h"

#include <stdlib.h>
#include <string.h>

#include "chan_buf.h"
#include "chan_struct.h"
#include "chan_unb.h"
#include "chan_zero.h"
#include "lockfree/alloc.h"
#include "lockfree/backoff.h"
#include "lockfree/cacheline.h"
#include "lockfree/chaos.h"
#include "lockfree/debug.h"
#include "lockfree/futex.h"
#include "lockfree/rand.h"
#include "lockfree/watch.h"
#include "waitq.h"

/* Polling an IN_FLIGHT case: the first pause, and the cap of its doubling. The thread we wait
 * on is normally inside a few instructions (its CAS to its stamp store) and its own check
 * wakes us; a pause this long means it was descheduled there, and then a scheduler tick
 * (milliseconds) is the time scale. */
enum { GOLF__POLL_FIRST_NS = 50000, GOLF__POLL_MAX_NS = 5000000 };

/* Cases handled without a heap allocation. */
enum { GOLF__SELECT_STACK_CASES = 16 };

static inline int
golf__chan_try(golf_chan *ch, int op, void *elem, golf__waiter *self)
{
    if (golf__chan_is_ring(ch))
        return op == GOLF_SEND ? golf__buf_try_send(ch, elem) : golf__buf_try_recv(ch, elem);
    if (golf__chan_is_unbounded(ch))
        return op == GOLF_SEND ? golf__unb_try_send(ch, elem) : golf__unb_try_recv(ch, elem);
    return op == GOLF_SEND ? golf__zero_try_send(ch, elem, self)
                           : golf__zero_try_recv(ch, elem, self);
}

/* The re-check after registration ([S2]): every registered buffered or unbounded case in the
 * round's order. READY or READY_CLOSED for the first that is ready, else IN_FLIGHT if one waits
 * on a position another thread holds, else NOT_READY. No side effects. */
static int
golf__recheck(golf_case *cases, size_t n, golf__wnode *nodes, const uint32_t *perm,
              golf__waiter *self)
{
    int worst = GOLF__RING_NOT_READY;
    for (size_t k = 0; k < n; k++) {
        golf_case *c = &cases[perm[k]];
        golf__wnode *node = nodes ? &nodes[perm[k]] : &self->node;
        /* node->buffered, not c->ch's fields: an unbuffered case may already have been
         * completed by a peer that then freed its channel (C8). */
        if (!c->ch || !node->w || !node->buffered)
            continue; /* not registered, or unbuffered (C8: not read) */
        int r;
        if (golf__chan_is_ring(c->ch))
            r = c->op == GOLF_SEND ? golf__ring_send_ready(c->ch->ring)
                                   : golf__ring_recv_ready(c->ch->ring);
        else /* unbounded: a send is always ready */
            r = c->op == GOLF_SEND ? GOLF__RING_READY : golf__unb_recv_ready(golf__chan_unb(c->ch));
        if (r == GOLF__RING_READY || r == GOLF__RING_READY_CLOSED)
            return r;
        if (r == GOLF__RING_IN_FLIGHT)
            worst = r;
    }
    return worst;
}

/* Finishes the chosen case k with result r (GOLF_OK / GOLF_ECLOSED): sets status, zero-fills a
 * receive's buffer on GOLF_ECLOSED. Returns k. */
static int
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

/* How many passes a non-blocking select makes while its ring cases keep changing under it. */
#define GOLF__SELECT_SNAPSHOT_TRIES 64

/* The fingerprint of every ring-buffered case (lockfree/ring_internal.h): equal before and
 * after a pass of failed tries, it proves those cases were all not ready at one moment. */
static void
golf__select_fingerprint(const golf_case *cases, size_t n, uint64_t v[2])
{
    v[0] = v[1] = 0;
    for (size_t k = 0; k < n; k++)
        if (cases[k].ch && golf__chan_is_ring(cases[k].ch))
            golf__ring_fingerprint(cases[k].ch->ring, v);
}

/* Between the retries of a single send on a full ring: spins (in the same budget) until the ring
 * has room for two lines past its tail, not just one slot (golf__ring_send_room), so that the
 * sender comes back when it can write a run of slots without meeting its consumer in a line.
 * Only a spin: once the budget is spent the sender registers and re-checks the exact condition,
 * so a sender whose consumer frees one slot and stops still goes through. */
static void
golf__select_wait_room(golf_case *cases, size_t n, golf__backoff *retry, uint64_t deadline)
{
    golf_chan *ch = cases[0].ch;
    if (n != 1 || cases[0].op != GOLF_SEND || !ch || !golf__chan_is_ring(ch))
        return;
    size_t k = golf__ring_send_slack(ch->ring);
    if (k == 0)
        return;
    while (!golf__ring_send_room(ch->ring, k) && golf__backoff_wait(retry)) {
        /* A timed send keeps its deadline to within one backoff step, as before the wait. */
        if (deadline != GOLF__FOREVER && golf__now_ns() >= deadline)
            return;
    }
}

int
golf__select_run(golf_case *cases, size_t n, golf__wnode *nodes, uint32_t *perm, uint64_t deadline,
                 bool nonblocking)
{
    golf__waiter *self = golf__self();
    /* Retrying a buffered case before registering: pauses doubling up to GOLF__BUDGET_RETRY in
     * all, then one sched_yield (lets the peer run when more threads than cores share the
     * machine). */
    golf__backoff retry = GOLF__BACKOFF(GOLF__BUDGET_RETRY);
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

    uint64_t before[2] = {0, 0};
    unsigned snapshots = 0;
    for (;;) {
        if (nonblocking)
            golf__select_fingerprint(cases, n, before);
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
        if (nonblocking) {
            /* Go's select with a default sees all its channels at one moment. The tries above
             * ran one after another: a case found empty may have filled before a later one
             * emptied, with one ready at every instant. Unchanged fingerprints of the ring
             * cases mean none of them changed during the pass, so "none ready" held at once.
             * Changed: try again, a bounded number of times (a channel that never rests
             * would otherwise hold us here). */
            uint64_t after[2];
            golf__select_fingerprint(cases, n, after);
            if ((after[0] != before[0] || after[1] != before[1]) &&
                ++snapshots < GOLF__SELECT_SNAPSHOT_TRIES)
                continue;
            return GOLF_EAGAIN;
        }
        if (deadline != GOLF__FOREVER && golf__now_ns() >= deadline)
            return GOLF_ETIMEDOUT;
        if (any_buffered && golf__backoff_wait(&retry)) {
            golf__select_wait_room(cases, n, &retry, deadline);
            continue;
        }

        GOLF__POINT(SELECT_ROUND);
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
            ready = golf__waitq_register(&c->ch->wq, golf__chan_is_buffered(c->ch), cases, n, perm,
                                         k, nodes, self, inline_size, solo);
        }
        /* Buffered cases: re-check after registering. No fence: our count stores [S3] and
         * the re-check's index loads [S2] are seq_cst, as are the fast paths' CAS [S1] and
         * count loads. IN_FLIGHT: the thread holding the position we need may have missed our
         * registration; park polls instead of sleeping for good. */
        int rc = GOLF__RING_NOT_READY;
        if (!ready && any_buffered) {
            rc = golf__recheck(cases, n, nodes, perm, self);
            ready = rc == GOLF__RING_READY || rc == GOLF__RING_READY_CLOSED;
        }
        if (rc == GOLF__RING_IN_FLIGHT)
            GOLF__POINT(SELECT_IN_FLIGHT);
        if (ready && solo)
            continue; /* never linked: retry at once */
        if (ready)
            golf__waiter_abort(self); /* fails only if a waker decided first: honour it */

        golf__park_ctx pc = {deadline,
                             rc == GOLF__RING_IN_FLIGHT ? GOLF__POLL_FIRST_NS : 0,
                             GOLF__BACKOFF(GOLF__BUDGET_PARK),
                             false,
                             cases,
                             n};
        uint32_t s;
        while (((s = golf__park(self, &pc)) & GOLF__W_PHASE) == GOLF__W_WAITING) {
            /* A case was IN_FLIGHT: look again (the re-check has no side effects). */
            rc = golf__recheck(cases, n, nodes, perm, self);
            if (rc == GOLF__RING_READY || rc == GOLF__RING_READY_CLOSED)
                golf__waiter_abort(self); /* fails only if a waker decided first: honour it */
            else if (rc == GOLF__RING_NOT_READY)
                pc.poll_ns = 0; /* whoever takes the position now sees us: sleep for good */
            else if (pc.poll_ns < GOLF__POLL_MAX_NS)
                pc.poll_ns *= 2;
        }
        golf__wait_end();

        /* Pass 3: unlink what is still linked before our stack frame goes (H4). A node a
         * waker unlinked ([N1]) costs no lock, and no touch of its channel (C8). */
        for (size_t k = 0; k < n; k++) {
            golf_case *c = &cases[k];
            golf__wnode *node = nodes ? &nodes[k] : &self->node;
            if (c->ch && node->w)
                golf__waitq_unregister(&c->ch->wq, c->op, node);
            /* relaxed: our own node; a waker's [N1] release was read by unregister. */
            GOLF__ASSERT(!node->w || !atomic_load_explicit(&node->linked, memory_order_relaxed),
                         "C1 chan: a waiter node still linked when its round ends");
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
        if (pc.timed_out)
            return GOLF_ETIMEDOUT;
    }
}

/* ---- golf_select ----------------------------------------------------------------------------- */

static int
golf__select(golf_case *cases, size_t n, uint64_t deadline, bool nonblocking)
{
    if (n > 0 && !cases)
        return GOLF_EINVAL;
    if (n > GOLF__W_MAX_CASES)
        return GOLF_EINVAL;
    for (size_t i = 0; i < n; i++) {
        golf_case *c = &cases[i];
        if (!c->ch)
            continue;
        if (c->op != GOLF_SEND && c->op != GOLF_RECV)
            return GOLF_EINVAL;
        if (c->op == GOLF_SEND && c->ch->elem_size && !c->elem)
            return GOLF_EINVAL;
    }
    golf__wnode stack_nodes[GOLF__SELECT_STACK_CASES];
    uint32_t stack_perm[GOLF__SELECT_STACK_CASES];
    golf__wnode *nodes = stack_nodes;
    uint32_t *perm = stack_perm;
    void *heap = NULL;
    if (n > GOLF__SELECT_STACK_CASES) {
        heap = golf__malloc(n * (sizeof(golf__wnode) + sizeof(uint32_t)));
        if (!heap)
            return GOLF_ENOMEM;
        nodes = heap;
        perm = (uint32_t *)(nodes + n);
    }
    int r = golf__select_run(cases, n, nodes, perm, deadline, nonblocking);
    free(heap);
    return r;
}

GOLF_API int
golf_select(golf_case *cases, size_t n)
{
    return golf__select(cases, n, GOLF__FOREVER, false);
}

GOLF_API int
golf_select_try(golf_case *cases, size_t n)
{
    return golf__select(cases, n, GOLF__FOREVER, true);
}

GOLF_API int
golf_select_until(golf_case *cases, size_t n, uint64_t deadline_ns)
{
    /* A passed deadline still runs pass 1 (every ready case is tried) before the engine's
     * deadline check reports GOLF_ETIMEDOUT. */
    return golf__select(cases, n, deadline_ns, false);
}

GOLF_API int
golf_select_timeout(golf_case *cases, size_t n, uint64_t timeout_ns)
{
    if (timeout_ns == 0) { /* a try: no clock read */
        int r = golf__select(cases, n, GOLF__FOREVER, true);
        return r == GOLF_EAGAIN ? GOLF_ETIMEDOUT : r;
    }
    return golf_select_until(cases, n, golf__deadline(timeout_ns));
}
