/* SPDX-License-Identifier: MIT */
/* The slow halves of the unbounded flavour (chan/chan_unb.h): block allocation and recycling,
 * the destroy protocol, the wait for a slot still being filled, the waker check and the
 * re-check. The waking rules are the buffered flavour's (chan/chan_buf.c): a wake-up is a hint,
 * and a waker wakes only for a receive that is ready at the current head (C7). */
#include "chan_unb.h"

#include <stdlib.h>

#include "lockfree/alloc.h"
#include "lockfree/fence.h"
#include "lockfree/futex.h"
#include "lockfree/lock.h"

/* Blocks are sized so that a block's slots stay within about this many bytes (at least one
 * slot, at most 63): small values get 63 slots a block, large ones fewer. */
enum { GOLF__UNB_BLOCK_TARGET = 4096, GOLF__UNB_MAX_LAP = 64 };

bool
golf__unb_layout(golf__unb_core *u, size_t elem_size)
{
    if (elem_size > GOLF__RING_MAX_BYTES)
        return false;
    size_t ss = (sizeof(golf__unb_slot) + elem_size + 7u) & ~(size_t)7u;
    uint32_t lap = GOLF__UNB_MAX_LAP, shift = 6;
    while (lap > 2 && (size_t)(lap - 1) * ss > GOLF__UNB_BLOCK_TARGET) {
        lap >>= 1;
        shift--;
    }
    u->elem_size = elem_size;
    u->slot_size = ss;
    u->lap = lap;
    u->lap_shift = shift;
    u->block_size = sizeof(golf__unb_block) + (size_t)(lap - 1) * ss;
    return true;
}

static void
golf__unb_block_reset(const golf__unb_core *u, golf__unb_block *b)
{
    /* relaxed: the block is private here; whoever publishes it ([U4], or the spare's release
     * CAS) publishes these stores. */
    atomic_store_explicit(&b->next, NULL, memory_order_relaxed);
    for (uint64_t i = 0; i + 1 < u->lap; i++)
        atomic_store_explicit(&golf__unb_slot_at(u, b, i)->state, 0, memory_order_relaxed);
}

golf__unb_block *
golf__unb_block_get(golf__unb_core *u)
{
    for (int i = 0; i < GOLF__UNB_SPARES; i++) {
        /* relaxed: a hint that skips the RMW on an empty entry; the exchange decides. */
        if (!atomic_load_explicit(&u->spare[i], memory_order_relaxed))
            continue;
        /* [U7] acquire: pairs with [U7] release in golf__unb_block_put(): the spare's reset is
         * seen. An exchange, so two producers never take the same block. */
        golf__unb_block *b = atomic_exchange_explicit(&u->spare[i], NULL, memory_order_acquire);
        if (b)
            return b;
    }
    golf__unb_block *b = golf__malloc(u->block_size);
    if (b)
        golf__unb_block_reset(u, b);
    return b;
}

void
golf__unb_block_put(golf__unb_core *u, golf__unb_block *b)
{
    golf__unb_block_reset(u, b);
    for (int i = 0; i < GOLF__UNB_SPARES; i++) {
        golf__unb_block *none = NULL;
        /* relaxed: a hint, as in golf__unb_block_get(). */
        if (atomic_load_explicit(&u->spare[i], memory_order_relaxed))
            continue;
        /* [U7] release: the reset before the next taker's use. */
        if (atomic_compare_exchange_strong_explicit(&u->spare[i], &none, b, memory_order_release,
                                                    memory_order_relaxed))
            return;
    }
    /* Every entry holds a block: a channel that drains gives the rest back (memory follows the
     * queue, not its high-water mark). */
    free(b);
}

int
golf__unb_init(golf__unb_core *u)
{
    golf__unb_block *b = golf__malloc(u->block_size);
    if (!b)
        return GOLF_ENOMEM;
    golf__unb_block_reset(u, b);
    /* relaxed: not shared yet; publishing the channel publishes these. */
    for (int i = 0; i < GOLF__UNB_SPARES; i++)
        atomic_store_explicit(&u->spare[i], NULL, memory_order_relaxed);
    atomic_store_explicit(&u->head, 0, memory_order_relaxed);
    atomic_store_explicit(&u->tail, 0, memory_order_relaxed);
    atomic_store_explicit(&u->head_block, b, memory_order_relaxed);
    atomic_store_explicit(&u->tail_block, b, memory_order_relaxed);
    return GOLF_OK;
}

void
golf__unb_destroy_all(golf__unb_core *u)
{
    /* relaxed: not concurrent (golf_chan_free's contract). Every block before head_block was
     * freed by its last reader; from head_block on, the chain ends at tail_block. */
    golf__unb_block *b = atomic_load_explicit(&u->head_block, memory_order_relaxed);
    while (b) {
        golf__unb_block *next = atomic_load_explicit(&b->next, memory_order_relaxed);
        free(b);
        b = next;
    }
    for (int i = 0; i < GOLF__UNB_SPARES; i++)
        free(atomic_load_explicit(&u->spare[i], memory_order_relaxed));
}

size_t
golf__unb_len(const golf__unb_core *cu)
{
    golf__unb_core *u = (golf__unb_core *)cu;
    for (;;) {
        /* acquire/acquire/relaxed, as golf__ring_len(): a (head, tail) pair that coexisted. */
        uint64_t tail = atomic_load_explicit(&u->tail, memory_order_acquire);
        uint64_t head = atomic_load_explicit(&u->head, memory_order_acquire);
        if (atomic_load_explicit(&u->tail, memory_order_relaxed) != tail)
            continue;
        uint64_t t = tail >> 1, h = head >> 1;
        /* A position on a block step counts as the first slot of the next block. */
        if ((t & (u->lap - 1)) == u->lap - 1)
            t++;
        if ((h & (u->lap - 1)) == u->lap - 1)
            h++;
        /* Below a seq x that is not a step there are x >> lap_shift steps. */
        uint64_t n = (t - (t >> u->lap_shift)) - (h - (h >> u->lap_shift));
        return (size_t)n;
    }
}

golf__unb_block *
golf__unb_wait_next(golf__unb_block *b)
{
    golf__backoff bo = GOLF__BACKOFF(GOLF__BUDGET_HOLDER);
    for (;;) {
        /* [U4] acquire: pairs with the installer's release store of next. */
        golf__unb_block *n = atomic_load_explicit(&b->next, memory_order_acquire);
        if (n)
            return n;
        /* Its producer reserved the last slot and stores `next` right after: a few
         * instructions, unless it was descheduled there. */
        golf__backoff_wait(&bo);
    }
}

void
golf__unb_release_block(golf__unb_core *u, golf__unb_block *b, uint64_t start)
{
    /* The last slot's reader starts at 0; a reader that finds DESTROY on its slot continues
     * after it. A slot not READ yet gets DESTROY and its reader takes over (U3). */
    for (uint64_t i = start; i + 2 < u->lap; i++) {
        golf__unb_slot *s = golf__unb_slot_at(u, b, i);
        /* [U3] acquire: that reader's copy-out is done before the block is reused. */
        if (!(atomic_load_explicit(&s->state, memory_order_acquire) & GOLF__UNB_READ) &&
            !(atomic_fetch_or_explicit(&s->state, GOLF__UNB_DESTROY, memory_order_acq_rel) &
              GOLF__UNB_READ))
            return;
    }
    golf__unb_block_put(u, b);
}

__attribute__((noinline, cold)) void
golf__unb_wait_write(golf_chan *ch, golf__unb_slot *s)
{
    /* We claimed a position whose producer is still copying (between its CAS and its WRITE).
     * Other receivers may be parked while the positions after ours are ready: pass the
     * wake-up on first (U5, C7), then wait for this one slot. */
    golf__unb_after_op(ch, false);
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_SLOT);
    for (;;) {
        /* [U2] acquire: pairs with the producer's WRITE. */
        uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st & GOLF__UNB_WRITE)
            return;
        if (golf__backoff_wait(&b))
            continue;
        /* [U2] acquire: as above. WAITER tells the producer to futex_wake this word. */
        st = atomic_fetch_or_explicit(&s->state, GOLF__UNB_WAITER, memory_order_acquire);
        if (st & GOLF__UNB_WRITE)
            return;
        /* The producer's wake may reach the address after we freed the block: a private futex
         * wake reads no memory, and a spurious wake-up of whoever sleeps there is harmless. */
        golf__futex_wait(&s->state, st | GOLF__UNB_WAITER, GOLF__FOREVER);
    }
}

int
golf__unb_recv_ready(golf__unb_core *u)
{
    /* seq_cst [S2]: as golf__ring_recv_ready(); no slot is touched (U3: a block may be freed
     * under a thread that has not claimed a position in it). */
    uint64_t head = atomic_load_explicit(&u->head, memory_order_seq_cst);
    if (((head >> 1) & (u->lap - 1)) == u->lap - 1)
        return GOLF__RING_IN_FLIGHT;
    /* seq_cst [S2], and [R3] (acquire part): see golf__unb_pop(). */
    uint64_t tail = atomic_load_explicit(&u->tail, memory_order_seq_cst);
    if ((head >> 1) == (tail >> 1))
        return (tail & GOLF__UNB_MARK) ? GOLF__RING_READY_CLOSED : GOLF__RING_NOT_READY;
    return GOLF__RING_READY;
}

__attribute__((noinline, cold)) void
golf__unb_wake(golf_chan *ch, uint32_t nr, uint32_t ns)
{
    /* [F3] full fence: as in golf__buf_wake(): our publish before the readiness loads, against
     * the same fence of every other thread that reaches here. */
    golf__fence_full();
    if (nr) {
        golf__waitq_wake_recv_ready(&ch->wq, golf__unb_recv_ready(golf__chan_unb(ch)));
    }
    /* A send on an unbounded channel is always ready, so senders never register (their first
     * try completes); a count here would be a sender racing a close, which wakes it. */
    if (ns)
        golf__waitq_notify_one(&ch->wq, GOLF_SEND);
}
