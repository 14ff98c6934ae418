/* SPDX-License-Identifier: MIT */
/* The unbounded flavour (cap == GOLF_UNBOUNDED): a linked list of blocks of slots, in the shape
 * of crossbeam-channel's "list" flavour (written from its description; chan/README.md). Sends
 * never wait for room; receivers park on the channel's waitq exactly as the buffered flavour's
 * do (hints, the same readiness probe and the same waker check after every operation). Inline
 * fast paths here, the slow halves in chan/chan_unb.c.
 *
 * Positions (`head`, `tail`, 64 bits):
 *
 *     63 ..................................... 1 | 0
 *     seq = block number * lap + offset          | MARK: tail: closed; head: BEYOND
 *
 *   lap    a power of two (2..64) per channel; a block holds bcap = lap - 1 slots;
 *   offset (seq & (lap - 1)) in [0, bcap) names a slot of the current block; offset == bcap is
 *          the step between two blocks: the thread that took the last slot is installing the
 *          next block (tail: its producer; head: its consumer), others wait a few instructions.
 *
 * Slot state bits (32-bit, also the futex a receiver waits on for a slot still being filled):
 *   WRITE    the value is in the slot ([U2] release by its producer);
 *   READ     its consumer is done with the slot ([U3]);
 *   DESTROY  the block's destroyer passed this slot before its READ: its consumer continues the
 *            destruction (crossbeam's protocol: whoever finishes the last read frees the block);
 *   WAITER   its consumer sleeps on the state word: the producer must futex_wake it.
 *
 * Invariants:
 *   U1  A position is reserved by exactly one producer (CAS on tail) and claimed by exactly one
 *       consumer (CAS on head); head <= tail in seq (mark ignored); tail only grows.
 *   U2  A producer allocates (or takes a spare) the block it will install *before* the CAS that
 *       reserves the block's last slot: after a reservation nothing can fail, so a GOLF_ENOMEM
 *       send has reserved and enqueued nothing.
 *   U3  A block is freed (or kept as a spare) only after every one of its slots is READ; no
 *       thread dereferences a block before its CAS on head or tail succeeded (the CAS proves
 *       the index, hence the block pointer loaded after it, did not move).
 *   U4  Once MARK is set in tail it stays set: a send that did not reserve before the close
 *       never reserves; the installer adds to tail (fetch_add) rather than storing, so a close
 *       during a block step is not lost.
 *   U5  A receiver that claimed a position whose producer has not written yet passes the
 *       wake-up on (the waker check) before it waits for that one slot (C7).
 *   U8  BEYOND in head: a receiver saw tail in a later block than head's, so every slot of
 *       head's block is reserved (tail only grows) and the receivers of the rest of the block
 *       need not load tail, the producers' line (crossbeam's head mark bit). Set by a receive's
 *       CAS on head, cleared when head steps into the next block. */
#ifndef GOLF_CHAN_UNB_H
#define GOLF_CHAN_UNB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan_struct.h"
#include "lockfree/backoff.h"
#include "lockfree/cacheline.h"
#include "lockfree/chaos.h"
#include "lockfree/futex.h"
#include "lockfree/ring_internal.h"
#include "waitq.h"

enum {
    GOLF__UNB_WRITE = 1u,
    GOLF__UNB_READ = 2u,
    GOLF__UNB_DESTROY = 4u,
    GOLF__UNB_WAITER = 8u,
};
#define GOLF__UNB_MARK ((uint64_t)1)
#define GOLF__UNB_STEP ((uint64_t)2) /* one seq */

/* Recycled blocks a channel keeps: one line of pointers. One was too few: a producer and a
 * consumer that drift apart by a few blocks then malloc and free a block each per step, into the
 * same glibc arena, and sleep on its lock (chan/README.md, "the spare blocks"). */
enum { GOLF__UNB_SPARES = 8 };

typedef struct golf__unb_slot {
    _Atomic uint32_t state;
    uint32_t pad;
    unsigned char data[]; /* elem_size bytes, then padding to 8 */
} golf__unb_slot;

typedef struct golf__unb_block {
    _Atomic(struct golf__unb_block *) next; /* installed by the producer of the last slot */
    uint64_t pad;
    unsigned char slots[];
} golf__unb_block;

/* The trailing part of an unbounded channel (after the header line). */
typedef struct golf__unb_core {
    /* Read-only after golf_chan_new. */
    size_t elem_size;
    size_t slot_size;  /* bytes per slot: state + data rounded up to 8 */
    size_t block_size; /* bytes per block */
    uint32_t lap;      /* slots per block + 1, a power of two */
    uint32_t lap_shift;
    /* Recycled blocks (NULL: none in that entry): taken by a producer that needs a block,
     * refilled by the consumer that finishes one; a block that finds every entry taken goes
     * back to malloc. */
    GOLF__LINE_ALIGNED _Atomic(golf__unb_block *) spare[GOLF__UNB_SPARES];
    /* Written by consumers. */
    GOLF__LINE_ALIGNED _Atomic uint64_t head;
    _Atomic(golf__unb_block *) head_block;
    /* Written by producers (and by close: MARK). */
    GOLF__LINE_ALIGNED _Atomic uint64_t tail;
    _Atomic(golf__unb_block *) tail_block;
} golf__unb_core;
_Static_assert(sizeof(((golf__unb_core *)0)->spare) == GOLF__LINE, "the spares fill one line");

static inline golf__unb_core *
golf__chan_unb(const golf_chan *ch)
{
    /* The same trailing bytes the buffered flavour uses for its ring; a channel is only ever
     * one flavour. */
    return (golf__unb_core *)(void *)((golf_chan *)ch)->ring;
}

static inline golf__unb_slot *
golf__unb_slot_at(const golf__unb_core *u, golf__unb_block *b, uint64_t off)
{
    return (golf__unb_slot *)(void *)(b->slots + (size_t)off * u->slot_size);
}

/* Sizes an unbounded channel's block for elem_size; false when elem_size is too large. */
bool golf__unb_layout(golf__unb_core *u, size_t elem_size);

/* Sets up u (its first block allocated); GOLF_ENOMEM when that allocation fails. */
int golf__unb_init(golf__unb_core *u);

/* Frees every block (values still inside are dropped). Not concurrent. */
void golf__unb_destroy_all(golf__unb_core *u);

/* Values between head and tail (reserved ones included): a snapshot. */
size_t golf__unb_len(const golf__unb_core *u);

/* The waker check after a successful push or pop; cold, out of line (as golf__buf_wake). */
void golf__unb_wake(golf_chan *ch, uint32_t nr, uint32_t ns);

/* Readiness of a receive: GOLF__RING_READY (a position between head and tail: its value is
 * there or its producer is copying it, and the receiver that claims it waits only for that
 * copy, U5), GOLF__RING_READY_CLOSED (closed and drained), GOLF__RING_IN_FLIGHT (head is at a
 * block step: the consumer installing the next block may have missed our registration),
 * GOLF__RING_NOT_READY (empty: the next producer's CAS comes after our registration in the
 * seq_cst order and its waker check sees us). A send is always ready. */
int golf__unb_recv_ready(golf__unb_core *u);

/* Slow halves of the fast paths. */
golf__unb_block *golf__unb_block_get(golf__unb_core *u);
void golf__unb_block_put(golf__unb_core *u, golf__unb_block *b);
void golf__unb_wait_write(golf_chan *ch, golf__unb_slot *s);
golf__unb_block *golf__unb_wait_next(golf__unb_block *b);
void golf__unb_release_block(golf__unb_core *u, golf__unb_block *b, uint64_t start);

/* The waker check, as golf__buf_after_op (chan/chan_buf.h): [S3] seq_cst loads of both counts
 * after our [S1] CAS; after a push (`sent`) the notify fd's signal (C10). */
static inline void
golf__unb_after_op(golf_chan *ch, bool sent)
{
    /* golf__waitq_after_op: [S3], [S4]. A sender that loads -1 there made its [S1] CAS before
     * golf_chan_notify_fd()'s store of the fd, so every pop after that store (its tail load is
     * seq_cst; a pop that skips it under BEYOND is in a block reserved throughout, U8) sees the
     * reserved position, claims it and waits for the write (U5): no wait at creation, unlike
     * the ring. */
    uint32_t nr, ns;
    if (golf__waitq_after_op(&ch->wq, sent, &nr, &ns))
        golf__unb_wake(ch, nr, ns);
}

/* The list push: GOLF_OK, GOLF_ECLOSED, or GOLF_ENOMEM (a new block was needed and could not be
 * allocated; nothing was reserved, U2). Never GOLF_EAGAIN. No waker check. */
static inline int
golf__unb_push(golf_chan *ch, const void *elem)
{
    golf__unb_core *u = golf__chan_unb(ch);
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_CAS);
    golf__backoff holder = GOLF__BACKOFF(GOLF__BUDGET_HOLDER);
    golf__unb_block *fresh = NULL;
    const uint64_t bcap = u->lap - 1;
    /* [U5] acquire: pairs with the installer's fetch_add below: the tail_block load that follows
     * sees the block of this index. */
    uint64_t tail = atomic_load_explicit(&u->tail, memory_order_acquire);
    for (;;) {
        if (GOLF__UNLIKELY(tail & GOLF__UNB_MARK)) {
            if (fresh)
                golf__unb_block_put(u, fresh);
            return GOLF_ECLOSED;
        }
        uint64_t off = (tail >> 1) & (u->lap - 1);
        if (GOLF__UNLIKELY(off == bcap)) {
            /* Another producer is installing the next block (three stores after its CAS). */
            golf__backoff_wait(&holder);
            /* [U5] acquire: as above. */
            tail = atomic_load_explicit(&u->tail, memory_order_acquire);
            continue;
        }
        if (GOLF__UNLIKELY(off + 1 == bcap && !fresh)) {
            /* We may take the last slot: hold the next block before reserving (U2). */
            fresh = golf__unb_block_get(u);
            if (!fresh)
                return GOLF_ENOMEM;
        }
        /* relaxed: the acquire load of tail above ordered it; the CAS below proves the block
         * is still the one of `tail` (U3). */
        golf__unb_block *blk = atomic_load_explicit(&u->tail_block, memory_order_relaxed);
        /* [S1] seq_cst: reserves the position (U1) and is the send's publish point in the
         * park/wake order (chan/README.md). Failure: acquire, as the load above. */
        if (atomic_compare_exchange_weak_explicit(&u->tail, &tail, tail + GOLF__UNB_STEP,
                                                  memory_order_seq_cst, memory_order_acquire)) {
            if (off + 1 == bcap) {
                /* relaxed: published by the fetch_add below. */
                atomic_store_explicit(&u->tail_block, fresh, memory_order_relaxed);
                /* [U5] release: publishes tail_block with the index that leaves the step; an
                 * add, not a store, keeps a MARK a close set meanwhile (U4). */
                atomic_fetch_add_explicit(&u->tail, GOLF__UNB_STEP, memory_order_release);
                GOLF__POINT(UNB_BLOCK_STEP);
                /* [U4] release: pairs with [U4] acquire in golf__unb_wait_next(): the fresh
                 * block's reset is seen by its consumers. Last (crossbeam's order): the head
                 * step waits for `next`, so tail leaves the step first and head never passes
                 * tail (U1). Stored first, it let the consumer of our last slot move head into
                 * the next block while tail still sat on the step: a receiver then claimed a
                 * position nobody had reserved, and after a close waited for it for ever
                 * (tests/regress/chan_unb_step_close.c). */
                atomic_store_explicit(&blk->next, fresh, memory_order_release);
                fresh = NULL;
            }
            if (GOLF__UNLIKELY(fresh != NULL))
                golf__unb_block_put(u, fresh);
            golf__unb_slot *s = golf__unb_slot_at(u, blk, off);
            golf__ring_copy(s->data, elem, u->elem_size);
            /* [U2] release: publishes the value; pairs with [U2] acquire in golf__unb_pop()
             * and golf__unb_wait_write(). */
            uint32_t old =
                atomic_fetch_or_explicit(&s->state, GOLF__UNB_WRITE, memory_order_release);
            if (GOLF__UNLIKELY(old & GOLF__UNB_WAITER))
                golf__futex_wake(&s->state, 1); /* the address only: see golf__unb_wait_write */
            return GOLF_OK;
        }
        golf__backoff_wait(&b);
    }
}

/* The list pop: GOLF_OK, GOLF_EAGAIN (empty) or GOLF_ECLOSED (closed and empty). A position
 * whose producer is still copying is waited for (U5; chan/README.md, known limits). No waker
 * check. */
static inline int
golf__unb_pop(golf_chan *ch, void *out)
{
    golf__unb_core *u = golf__chan_unb(ch);
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_CAS);
    golf__backoff holder = GOLF__BACKOFF(GOLF__BUDGET_HOLDER);
    const uint64_t bcap = u->lap - 1;
    /* [U6] acquire: pairs with the head installer's release store: head_block is that of the
     * index. */
    uint64_t head = atomic_load_explicit(&u->head, memory_order_acquire);
    for (;;) {
        uint64_t off = (head >> 1) & (u->lap - 1);
        if (GOLF__UNLIKELY(off == bcap)) {
            /* The consumer of the last slot is installing the next block. */
            golf__backoff_wait(&holder);
            /* [U6] acquire: as above. */
            head = atomic_load_explicit(&u->head, memory_order_acquire);
            continue;
        }
        uint64_t want = head + GOLF__UNB_STEP; /* keeps BEYOND */
        if (!(head & GOLF__UNB_MARK)) {
            /* [R3] acquire (a close before a GOLF_ECLOSED) and seq_cst: head == tail here is
             * an empty channel at the moment of this load (tail only grows, head <= tail). */
            uint64_t tail = atomic_load_explicit(&u->tail, memory_order_seq_cst);
            if ((head >> 1) == (tail >> 1))
                return (tail & GOLF__UNB_MARK) ? GOLF_ECLOSED : GOLF_EAGAIN;
            /* U8: tail is past this block: the receivers of its other slots skip this load.
             * head never passes tail (U1: the installer moves tail off its step before it
             * stores `next`, which the head step waits for), so "differs" means "later". */
            if ((tail >> 1 >> u->lap_shift) > (head >> 1 >> u->lap_shift))
                want |= GOLF__UNB_MARK;
        }
        /* relaxed: ordered by the acquire load of head; validated by the CAS (U3). */
        golf__unb_block *blk = atomic_load_explicit(&u->head_block, memory_order_relaxed);
        /* [S1] seq_cst: claims the position (U1); the receive's publish point. Failure: acquire,
         * as the load of head above. */
        if (atomic_compare_exchange_weak_explicit(&u->head, &head, want, memory_order_seq_cst,
                                                  memory_order_acquire)) {
            if (off + 1 == bcap) {
                golf__unb_block *next = golf__unb_wait_next(blk);
                /* relaxed: published by the release store of head below. */
                atomic_store_explicit(&u->head_block, next, memory_order_relaxed);
                /* [U6] release: see the acquire loads of head. */
                atomic_store_explicit(&u->head, (head & ~GOLF__UNB_MARK) + 2 * GOLF__UNB_STEP,
                                      memory_order_release);
            }
            golf__unb_slot *s = golf__unb_slot_at(u, blk, off);
            /* [U2] acquire: pairs with the producer's WRITE. */
            if (GOLF__UNLIKELY(
                    !(atomic_load_explicit(&s->state, memory_order_acquire) & GOLF__UNB_WRITE)))
                golf__unb_wait_write(ch, s);
            if (out)
                golf__ring_copy(out, s->data, u->elem_size);
            if (off + 1 == bcap) {
                golf__unb_release_block(u, blk, 0);
            } else if (atomic_fetch_or_explicit(&s->state, GOLF__UNB_READ, memory_order_acq_rel) &
                       GOLF__UNB_DESTROY) {
                /* [U3] acq_rel: our read is done before whoever frees the block (release),
                 * and we see the destroyer's marks (acquire). */
                golf__unb_release_block(u, blk, off + 1);
            }
            return GOLF_OK;
        }
        golf__backoff_wait(&b);
    }
}

/* Unbounded send: the push, then the waker check (as golf__buf_try_send). */
static inline int
golf__unb_try_send(golf_chan *ch, const void *elem)
{
    int r = golf__unb_push(ch, elem);
    if (r == GOLF_OK)
        golf__unb_after_op(ch, true);
    return r;
}

/* Unbounded receive: the pop, then the waker check (as golf__buf_try_recv). */
static inline int
golf__unb_try_recv(golf_chan *ch, void *out)
{
    int r = golf__unb_pop(ch, out);
    if (r == GOLF_OK)
        golf__unb_after_op(ch, false);
    return r;
}

#endif
