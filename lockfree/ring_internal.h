/* SPDX-License-Identifier: MIT */
/* The stamped bounded MPMC ring shared by golf_ring (lockfree/ring.c) and the buffered channel
 * (chan/chan_buf.h, chan/chan_buf.c). In the line of Dmitry Vyukov's bounded MPMC queue and
 * crossbeam-channel's "array" flavour; written from the algorithm's description, see
 * lockfree/README.md.
 *
 * Layout of `head` and `tail` (64-bit "positions"):
 *
 *     63 ........................ log2(one_lap) | log2(mark) | log2(mark)-1 ......... 0
 *     lap (counts in units of one_lap)         | mark (tail) | index into slots[0, cap)
 *
 *   mark    = next_pow2(cap + 1): the bit above every index. In `tail` it means "closed" (only
 *             the channel sets it; golf_ring never does). In `head` it is always 0.
 *   one_lap = 2 * mark: adding it moves a position to the same index one lap later.
 *
 * Each slot is {_Atomic uint64_t stamp; unsigned char data[elem_size]} (data beside its stamp,
 * so a transfer touches one line for small elements). A slot's stamp says whose turn it is:
 *   stamp == pos        the slot is free for the producer holding tail position `pos`;
 *   stamp == pos + 1    the slot holds the value written at tail position `pos`, ready for the
 *                       consumer holding head position `pos`;
 * after a pop at head position `pos` the stamp becomes pos + one_lap (free, next lap).
 *
 * Invariants:
 *   I1  head <= tail (as positions, mark ignored) and tail - head <= cap elements.
 *   I2  Only the thread whose CAS moved tail from `pos` writes the slot of `pos`, and only the
 *       thread whose CAS moved head from `pos` reads it: a position is owned by exactly one
 *       producer and then exactly one consumer.
 *   I3  A slot's stamp only grows; the stamp store is the owner's last touch of the slot.
 *   I4  Once the mark is set in tail it stays set, and no CAS from an unmarked tail succeeds: a
 *       push that did not reserve before the close never reserves.
 *
 * Ordering tags (table in lockfree/README.md):
 *   [R1] pop's release store of stamp = pos + one_lap  ->  push's acquire load of that stamp:
 *        the consumer's read of the data happens before the next producer overwrites it.
 *   [R2] push's release store of stamp = pos + 1  ->  pop's acquire load of that stamp:
 *        the producer's write of the data happens before the consumer reads it.
 *   [R3] the channel's close (release fetch_or of the mark, then a release store of its closed
 *        flag)  ->  pop's acquire load of that flag, then of tail, when it finds the ring
 *        empty: a receive that reports "closed" sees the close.
 *
 * Progress: a push or pop that wins its CAS completes in a bounded number of its own steps. A
 * thread descheduled between its CAS and its stamp store holds its slot: consumers of that
 * position (or producers of the next lap) cannot pass it. The try operations here never wait on
 * such a slot: push, golf_ring's pop and an open channel's pop report EAGAIN at once, a closed
 * channel's pop after GOLF__RING_STALL_STEPS re-check. */
#ifndef GOLF_LOCKFREE_RING_INTERNAL_H
#define GOLF_LOCKFREE_RING_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backoff.h"
#include "cacheline.h"
#include "chaos.h"
#include "debug.h"
#include "golf/error.h"

/* Re-checks (after a pause) a closed channel's pop spends on a head slot a producer is still
 * filling before it reports GOLF_EAGAIN. Deliberately tiny: polling a slot (and the other index)
 * that another thread is working on slows that very thread down (lockfree/README.md, "ring.h");
 * callers that block back off and park instead. */
enum { GOLF__RING_STALL_STEPS = 1 };

typedef struct golf__ring_slot {
    _Atomic uint64_t stamp;
    unsigned char data[]; /* elem_size bytes, then padding to 8 */
} golf__ring_slot;

/* What every operation needs to find a slot: read-only after init. */
typedef struct golf__ring_geom {
    size_t elem_size;
    size_t cap;
    size_t slot_size; /* bytes per slot: stamp + data rounded up to 8 */
    uint64_t mark;    /* next_pow2(cap + 1); the closed bit of tail */
    uint64_t one_lap; /* 2 * mark */
    unsigned char *slots;
} golf__ring_geom;

/* Two lines: each index shares its line with a copy of the geometry, so a consumer reads only
 * the head line (and the slots) and a producer only the tail line, and the ring needs no third,
 * read-only line (64 bytes less per channel). Head and tail stay on separate lines: sharing one
 * made 8 producers and 8 consumers 2.2x slower (lockfree/README.md). */
typedef struct golf__ring_core {
    /* Written by consumers only (head); `cons` is read-only. */
    GOLF__LINE_ALIGNED _Atomic uint64_t head;
    golf__ring_geom cons;
    /* Written by producers (and by close, which sets the mark); `prod` is read-only. */
    GOLF__LINE_ALIGNED _Atomic uint64_t tail;
    golf__ring_geom prod;
} golf__ring_core;

_Static_assert(sizeof(golf__ring_core) == 2 * GOLF__LINE, "a ring's indices take two lines");

/* Largest slot area a ring may have: a quarter of the address space, so that the callers'
 * header and cache-line rounding (a few hundred bytes) can never wrap a size_t. No allocator
 * gives that much anyway; the point is that the arithmetic stays exact. */
#define GOLF__RING_MAX_BYTES (SIZE_MAX / 4)

/* How many bytes of slots a ring of `cap` elements of `elem_size` bytes needs; 0 when that is
 * more than GOLF__RING_MAX_BYTES (each step checked: unchecked, elem_size 2^61 - 16 with cap 8
 * wraps to a tiny allocation). */
static inline size_t
golf__ring_slots_bytes(size_t elem_size, size_t cap, size_t *slot_size)
{
    if (cap == 0 || elem_size > GOLF__RING_MAX_BYTES)
        return 0;
    size_t ss = (sizeof(golf__ring_slot) + elem_size + 7u) & ~(size_t)7u;
    if (cap > ((size_t)1 << 40) || cap > GOLF__RING_MAX_BYTES / ss)
        return 0;
    *slot_size = ss;
    return ss * cap;
}

/* Sets up a ring over `slots` (golf__ring_slots_bytes() bytes, 8-aligned). Not concurrent. */
static inline void
golf__ring_init(golf__ring_core *r, size_t elem_size, size_t cap, size_t slot_size,
                unsigned char *slots)
{
    uint64_t mark = 1;
    while (mark < (uint64_t)cap + 1)
        mark <<= 1;
    golf__ring_geom g = {elem_size, cap, slot_size, mark, mark << 1, slots};
    r->cons = g;
    r->prod = g;
    for (size_t i = 0; i < cap; i++) {
        golf__ring_slot *s = (golf__ring_slot *)(slots + i * slot_size);
        /* relaxed: not yet shared; whoever publishes the ring publishes these stores. */
        atomic_store_explicit(&s->stamp, (uint64_t)i, memory_order_relaxed);
    }
    atomic_store_explicit(&r->head, 0, memory_order_relaxed);
    atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
}

static inline golf__ring_slot *
golf__ring_slot_at(const golf__ring_geom *g, uint64_t pos)
{
    return (golf__ring_slot *)(g->slots + (size_t)(pos & (g->mark - 1)) * g->slot_size);
}

/* The position after `pos` (mark bit clear): next index, or index 0 of the next lap. */
static inline uint64_t
golf__ring_next(const golf__ring_geom *g, uint64_t pos)
{
    uint64_t index = pos & (g->mark - 1);
    uint64_t lap = pos & ~(g->one_lap - 1);
    return index + 1 < g->cap ? pos + 1 : lap + g->one_lap;
}

/* Copies n bytes; a constant size for the common 8-byte payload lets the compiler emit one
 * move instead of a call. */
static inline void
golf__ring_copy(void *dst, const void *src, size_t n)
{
    if (n == 8)
        memcpy(dst, src, 8);
    else if (n != 0)
        memcpy(dst, src, n);
}

/* Pushes a copy of elem (elem_size bytes). Returns GOLF_OK, GOLF_EAGAIN (full, or the slot is
 * still being emptied by its consumer: never waits on it) or GOLF_ECLOSED (mark set in tail). */
static inline int
golf__ring_try_push(golf__ring_core *r, const void *elem)
{
    const golf__ring_geom *g = &r->prod;
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_CAS);
    /* relaxed: a stale tail only makes the stamp check below fail and reload; the CAS decides. */
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    for (;;) {
        if (tail & g->mark)
            return GOLF_ECLOSED;
        golf__ring_slot *slot = golf__ring_slot_at(g, tail);
        /* [R1] acquire: pairs with [R1] release in golf__ring_try_pop(): the previous lap's
         * consumer has finished reading this slot before we overwrite it. */
        uint64_t stamp = atomic_load_explicit(&slot->stamp, memory_order_acquire);
        if (stamp == tail) {
            uint64_t next = golf__ring_next(g, tail);
            /* [S1] seq_cst: the CAS hands out the position (I2, by tail's modification order;
             * the data is published by the stamp store [R2], not by tail) and is the
             * channel's publish point in the park/wake order: its later load of the waiter
             * counts is ordered after it (chan/README.md, "Park and wake"). On x86 every CAS
             * is a full barrier anyway. Failure relaxed: tail is reloaded (and may now carry
             * the mark: closed). */
            if (atomic_compare_exchange_weak_explicit(&r->tail, &tail, next, memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                GOLF__POINT(RING_PUSH_RESERVED);
                /* relaxed: only we may store to this slot now (I2). */
                GOLF__ASSERT(
                    atomic_load_explicit(&slot->stamp, memory_order_relaxed) == tail,
                    "I2 ring: a reserved slot's stamp changed before its producer's store");
                golf__ring_copy(slot->data, elem, g->elem_size);
                /* [R2] release: publishes the data; pairs with [R2] acquire in
                 * golf__ring_try_pop() and golf__ring_recv_ready(). */
                atomic_store_explicit(&slot->stamp, tail + 1, memory_order_release);
                return GOLF_OK;
            }
            golf__backoff_wait(&b);
        } else if (stamp + g->one_lap == tail + 1) {
            /* The slot still holds last lap's value: the ring is full, or the consumer of that
             * value has taken its position and is still reading it. Either way EAGAIN, at
             * once, and without loading head (crossbeam loads it to tell the two apart):
             * producers polling the consumers' line while the ring is full slow every consumer
             * CAS (a ring whose producers outrun its consumer is full most of the time). Our
             * tail cannot be stale here: once position `tail` is reserved its slot's stamp is
             * >= tail, so this equality means `tail` was the current tail at our stamp load
             * and the slot was not free: full (or its reader mid-copy) at that instant. In a
             * quiescent ring it means exactly "full". */
            return GOLF_EAGAIN;
        } else if ((int64_t)(stamp - tail) < 0) {
            /* The stamp is a lap behind: the producer that reserved this slot's previous
             * position has not published yet, so the ring is full up to a stalled writer.
             * EAGAIN at once: reloading tail would spin until that thread runs again. */
            return GOLF_EAGAIN;
        } else {
            /* Our tail is stale (another producer already filled this slot): reload. */
            golf__backoff_wait(&b);
            /* relaxed: as above. */
            tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        }
    }
}

/* Pops the oldest element into out (may be NULL: discarded). Returns GOLF_OK, GOLF_EAGAIN
 * (empty, or the oldest slot is still being filled) or GOLF_ECLOSED (a closable ring only: empty
 * and the mark is set in tail; out is left alone). `closed` is NULL for a ring that cannot be
 * closed (golf_ring: a constant that folds away), else the closer's flag, stored after the mark
 * (release): an empty ring loads tail, the producers' line, only once the flag is set, so a
 * receiver polling an empty channel never slows its producers' CAS. */
static inline int
golf__ring_try_pop(golf__ring_core *r, void *out, const _Atomic uint32_t *closed)
{
    const golf__ring_geom *g = &r->cons;
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_CAS);
    unsigned stalled = 0;
    /* relaxed: a stale head only fails the stamp check or the CAS below. */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    for (;;) {
        golf__ring_slot *slot = golf__ring_slot_at(g, head);
        /* [R2] acquire: pairs with [R2] release in golf__ring_try_push(): the data is there. */
        uint64_t stamp = atomic_load_explicit(&slot->stamp, memory_order_acquire);
        if (stamp == head + 1) {
            uint64_t next = golf__ring_next(g, head);
            /* [S1] seq_cst: hands out the position (I2) and is the pop's publish point in the
             * park/wake order; see the push side. */
            if (atomic_compare_exchange_weak_explicit(&r->head, &head, next, memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                GOLF__POINT(RING_POP_RESERVED);
                /* relaxed: only we may store to this slot now (I2); the new stamp is a lap on (I3).
                 */
                GOLF__ASSERT(
                    atomic_load_explicit(&slot->stamp, memory_order_relaxed) == head + 1,
                    "I2 ring: a reserved slot's stamp changed before its consumer's store");
                if (out)
                    golf__ring_copy(out, slot->data, g->elem_size);
                /* [R1] release: our read of the data is done; pairs with [R1] acquire in
                 * golf__ring_try_push() and golf__ring_send_ready(). */
                atomic_store_explicit(&slot->stamp, head + g->one_lap, memory_order_release);
                return GOLF_OK;
            }
            golf__backoff_wait(&b);
        } else if ((int64_t)(stamp - head) <= 0) {
            /* Nothing written at head yet: stamp == head, or a lap behind (the consumer of this
             * slot's previous position is still copying out, so no producer can have written
             * it). EAGAIN at once, without loading tail (the producers' line), unless the ring
             * is closed: empty, or its producer is mid-copy; in a quiescent ring exactly
             * "empty". Never reload-and-spin here: that waits for a thread that may not be
             * running, and polls the slot its producer is writing. */
            /* acquire: pairs with the closer's release store of the flag, after its mark: the
             * tail load below then sees the mark. A flag not yet seen means the close has not
             * returned (it stores the flag under its lock, and every GOLF_ECLOSED answer
             * settles on that lock first): EAGAIN orders this receive before the close. */
            if (!closed || !atomic_load_explicit(closed, memory_order_acquire))
                return GOLF_EAGAIN;
            /* Closed: tell "drained" apart from a position a producer took before the close.
             * stamp == head means no consumer passed `head` (it is the current head), so
             * tail == head at the moment we read tail means empty right then: no fence needed,
             * the acquire stamp load keeps the tail load after it. */
            /* [R3] acquire: pairs with [R3] release in golf_chan_close() (the mark): a
             * receive that reports "closed" sees what preceded the close. */
            uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
            if ((tail & ~g->mark) == head)
                return (tail & g->mark) ? GOLF_ECLOSED : GOLF_EAGAIN;
            if (stamp != head || ++stalled > GOLF__RING_STALL_STEPS)
                return GOLF_EAGAIN; /* a producer holds the slot: do not wait on it (H6) */
            golf__backoff_wait(&b);
            /* relaxed: as above. */
            head = atomic_load_explicit(&r->head, memory_order_relaxed);
        } else {
            /* Our head is stale (another consumer took this position): reload. */
            golf__backoff_wait(&b);
            /* relaxed: as above. */
            head = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }
}

/* Batches: one CAS of tail (head) reserves (claims) a run of consecutive positions whose stamps
 * all said "free" ("ready") before the CAS. Why that is safe: a position's stamp changes only
 * by the thread that owns the position, and owning it takes moving the index past it; so if our
 * CAS from `tail` (`head`) succeeds, no thread owned any position of the run between our stamp
 * loads and the CAS, and every stamp we read still holds (I2, I3). The run stops at the first
 * stamp that says otherwise, so it never spans more than one lap (the slot a lap ahead is the
 * run's own first slot). The copies and stamp stores then go in order, so the run's first slot
 * is handed on first. */

/* Pushes up to n elements (elem_size bytes each, consecutive at elems) with one CAS of tail:
 * as many as there are free slots in a row at tail. GOLF_OK with *put >= 1, else as
 * golf__ring_try_push() (*put == 0). */
static inline int
golf__ring_try_push_many(golf__ring_core *r, const unsigned char *elems, size_t n, size_t *put)
{
    const golf__ring_geom *g = &r->prod;
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_CAS);
    *put = 0;
    /* relaxed: as in golf__ring_try_push(). */
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    for (;;) {
        if (tail & g->mark)
            return GOLF_ECLOSED;
        /* [R1] acquire: as in golf__ring_try_push(), for every slot of the run. */
        uint64_t stamp =
            atomic_load_explicit(&golf__ring_slot_at(g, tail)->stamp, memory_order_acquire);
        if (stamp == tail) {
            size_t k = 1;
            uint64_t end = golf__ring_next(g, tail);
            while (k < n && atomic_load_explicit(&golf__ring_slot_at(g, end)->stamp,
                                                 memory_order_acquire) == end) {
                k++;
                end = golf__ring_next(g, end);
            }
            /* [S1] seq_cst: as in golf__ring_try_push(); one CAS for the whole run. A close's
             * mark changes tail, so this fails after a close (I4). */
            if (atomic_compare_exchange_weak_explicit(&r->tail, &tail, end, memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                uint64_t pos = tail;
                for (size_t i = 0; i < k; i++) {
                    golf__ring_slot *slot = golf__ring_slot_at(g, pos);
                    golf__ring_copy(slot->data, elems ? elems + i * g->elem_size : NULL,
                                    g->elem_size);
                    /* [R2] release: publishes this slot's data, as in golf__ring_try_push(). */
                    atomic_store_explicit(&slot->stamp, pos + 1, memory_order_release);
                    pos = golf__ring_next(g, pos);
                }
                *put = k;
                return GOLF_OK;
            }
            golf__backoff_wait(&b);
        } else if (stamp + g->one_lap == tail + 1 || (int64_t)(stamp - tail) < 0) {
            return GOLF_EAGAIN; /* full, or held by a stalled thread: see golf__ring_try_push() */
        } else {
            golf__backoff_wait(&b);
            /* relaxed: a stale tail, reloaded as in golf__ring_try_push(). */
            tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        }
    }
}

/* Pops up to max elements into out (elem_size bytes each; NULL: discarded) with one CAS of
 * head: as many as are ready in a row at head. GOLF_OK with *got >= 1, else as
 * golf__ring_try_pop() (*got == 0; that one may also still pop a single element). */
static inline int
golf__ring_try_pop_many(golf__ring_core *r, unsigned char *out, size_t max,
                        const _Atomic uint32_t *closed, size_t *got)
{
    const golf__ring_geom *g = &r->cons;
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_CAS);
    *got = 0;
    /* relaxed: as in golf__ring_try_pop(). */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    for (;;) {
        /* [R2] acquire: as in golf__ring_try_pop(), for every slot of the run. */
        uint64_t stamp =
            atomic_load_explicit(&golf__ring_slot_at(g, head)->stamp, memory_order_acquire);
        if (stamp == head + 1) {
            size_t k = 1;
            uint64_t end = golf__ring_next(g, head);
            while (k < max && atomic_load_explicit(&golf__ring_slot_at(g, end)->stamp,
                                                   memory_order_acquire) == end + 1) {
                k++;
                end = golf__ring_next(g, end);
            }
            /* [S1] seq_cst: as in golf__ring_try_pop(); one CAS for the whole run. */
            if (atomic_compare_exchange_weak_explicit(&r->head, &head, end, memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                uint64_t pos = head;
                for (size_t i = 0; i < k; i++) {
                    golf__ring_slot *slot = golf__ring_slot_at(g, pos);
                    if (out)
                        golf__ring_copy(out + i * g->elem_size, slot->data, g->elem_size);
                    /* [R1] release: this slot is read, as in golf__ring_try_pop(). */
                    atomic_store_explicit(&slot->stamp, pos + g->one_lap, memory_order_release);
                    pos = golf__ring_next(g, pos);
                }
                *got = k;
                return GOLF_OK;
            }
            golf__backoff_wait(&b);
        } else if ((int64_t)(stamp - head) <= 0) {
            /* Nothing ready at head: the single pop tells empty, closed and a stalled producer
             * apart (and takes one element if one arrived meanwhile). */
            int rc = golf__ring_try_pop(r, out, closed);
            *got = rc == GOLF_OK;
            return rc;
        } else {
            golf__backoff_wait(&b);
            /* relaxed: a stale head, reloaded as in golf__ring_try_pop(). */
            head = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }
}

/* Side-effect-free readiness checks for a parked channel operation's re-check and for the
 * wake-up checks after a successful push or pop (chan/README.md, "Park and wake").
 *
 * A receive is ready when the slot at the *current* head holds a value, or when the ring is
 * closed and drained (head == tail): then GOLF__RING_READY_CLOSED, so the caller wakes every
 * receiver, not one. A send is ready when the slot at the current tail is free, or the ring is
 * closed.
 *
 * Not ready comes in two kinds, told apart by a seq_cst load of the other index [S2]:
 *   GOLF__RING_NOT_READY  nobody holds the position we need (receive: head == tail, empty;
 *                         send: head is a whole lap behind tail, full). The thread that will
 *                         take that position has not made its [S1] CAS yet, so its count load
 *                         (after the CAS) sees a waiter that registered before this check:
 *                         it wakes us. Safe to sleep.
 *   GOLF__RING_IN_FLIGHT  a thread holds the position and has not stamped the slot yet (a
 *                         producer mid-copy at head, or a consumer mid-copy at last lap's
 *                         tail). Its count load may have come before our registration: it
 *                         may not wake us. The caller must not sleep without a time limit,
 *                         and must not spin on it either (that thread may be descheduled):
 *                         it polls, with growing pauses (golf__select_run in
 *                         chan/select.c, through golf__park's poll_ns).
 *
 * "Current" matters: a head (or tail) loaded before another thread moved it points at a slot
 * whose stamp says "already taken"; reporting "not ready" then could strand a waiter whose
 * ready slot is the next one, so the check reloads the index instead. */
enum {
    GOLF__RING_NOT_READY = 0,
    GOLF__RING_READY = 1,
    GOLF__RING_READY_CLOSED = 2,
    GOLF__RING_IN_FLIGHT = 3,
};

/* Adds a fingerprint of everything that decides a try on r to v: v[0] += head + tail (the
 * closed mark included), v[1] += the stamps of the slots at head and at tail. Every term only
 * grows, so sums that are equal at two reads mean no term changed in between (equal index sums
 * mean the same slots were read both times): nothing a push, pop or close does went unseen. A
 * non-blocking select uses two such reads around its failed tries to answer "none ready" only
 * for a moment when every case really was not ready (chan/README.md, "select_try"). */
static inline void
golf__ring_fingerprint(const golf__ring_core *r, uint64_t v[2])
{
    const golf__ring_geom *g = &r->cons;
    /* seq_cst: the reads of one fingerprint are ordered with the other cases' reads, so the
     * two fingerprints bracket every try between them. */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_seq_cst);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);
    v[0] += head + tail;
    v[1] +=
        atomic_load_explicit(&golf__ring_slot_at(g, head)->stamp, memory_order_seq_cst) +
        atomic_load_explicit(&golf__ring_slot_at(g, tail & ~g->mark)->stamp, memory_order_seq_cst);
}

static inline int
golf__ring_recv_ready(golf__ring_core *r)
{
    const golf__ring_geom *g = &r->cons;
    /* seq_cst [S2]: a first look; what decides is the tail load below. */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_seq_cst);
    for (;;) {
        /* [R2] acquire: see golf__ring_try_pop(); also orders the index reloads below after
         * the stamp store of whoever moved the index past this slot. */
        uint64_t stamp =
            atomic_load_explicit(&golf__ring_slot_at(g, head)->stamp, memory_order_acquire);
        /* seq_cst [S2]: see below. */
        uint64_t now = atomic_load_explicit(&r->head, memory_order_seq_cst);
        if (now != head) { /* head moved while we looked: look at the new one */
            head = now;
            continue;
        }
        if (stamp == head + 1)
            return GOLF__RING_READY;
        if ((int64_t)(stamp - head) <= 0) {
            /* No value at head. [S2] seq_cst, and [R3] (acquire part): pairs with the
             * producers' [S1] CAS (after our registration in the seq_cst order, or seen
             * here) and with golf_chan_close()'s mark: a receive that will report "closed"
             * sees what preceded the close. */
            uint64_t tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);
            if ((tail & ~g->mark) == head)
                return (tail & g->mark) ? GOLF__RING_READY_CLOSED : GOLF__RING_NOT_READY;
            return GOLF__RING_IN_FLIGHT; /* a producer holds head, not stamped yet */
        }
        /* The stamp is past head + 1: head is stale, reload. */
        /* seq_cst [S2]: as above. */
        head = atomic_load_explicit(&r->head, memory_order_seq_cst);
    }
}

static inline int
golf__ring_send_ready(golf__ring_core *r)
{
    const golf__ring_geom *g = &r->prod;
    /* seq_cst [S2]: see golf__ring_recv_ready(). */
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);
    for (;;) {
        if (tail & g->mark)
            return GOLF__RING_READY_CLOSED;
        /* [R1] acquire: see golf__ring_try_push(). */
        uint64_t stamp =
            atomic_load_explicit(&golf__ring_slot_at(g, tail)->stamp, memory_order_acquire);
        /* seq_cst [S2]: as above. */
        uint64_t now = atomic_load_explicit(&r->tail, memory_order_seq_cst);
        if (now != tail) {
            tail = now;
            continue;
        }
        if (stamp == tail)
            return GOLF__RING_READY;
        if (stamp + g->one_lap == tail + 1 || (int64_t)(stamp - tail) < 0) {
            /* Last lap's value is still in the slot (or last lap's producer has not stamped
             * it). Full if no consumer has taken that position yet: head is exactly a lap
             * behind. [S2] seq_cst: pairs with the consumers' [S1] CAS. */
            uint64_t head = atomic_load_explicit(&r->head, memory_order_seq_cst);
            return head == tail - g->one_lap ? GOLF__RING_NOT_READY : GOLF__RING_IN_FLIGHT;
        }
        /* Tail is stale: reload. seq_cst [S2]: as above. */
        tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);
    }
}

/* The room a blocked sender waits for before it retries: the slots of two lines (at least
 * one slot, at most a quarter of the ring; 0 for a ring of under 4 slots: no wait). */
static inline size_t
golf__ring_send_slack(const golf__ring_core *r)
{
    const golf__ring_geom *g = &r->prod;
    size_t k = 2 * GOLF__LINE / g->slot_size;
    if (k == 0)
        k = 1;
    return k < g->cap / 4 ? k : g->cap / 4;
}

/* A hint for a sender that found the ring full and spins before it registers: true once the
 * slot `k` positions past the current tail is free (so the slots up to it are too, or will be
 * in a moment: consumers free them in order), or taken by a later producer, or the ring is
 * closed; false while it still holds last lap's value. Waiting for that slot instead of the
 * tail's keeps a sender off the line its consumer is emptying: polling the very slot the
 * consumer works in pulls the line away from it at every poll, and a full ring with a slower
 * consumer then runs at the speed of that tug of war (chan/README.md, "Measured"). Relaxed
 * loads: nothing is read through this answer; the retry that follows decides. */
static inline bool
golf__ring_send_room(golf__ring_core *r, size_t k)
{
    const golf__ring_geom *g = &r->prod;
    /* relaxed: a hint, see above. */
    uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (pos & g->mark)
        return true;
    for (size_t i = 0; i < k; i++)
        pos = golf__ring_next(g, pos);
    /* relaxed: as above. */
    uint64_t stamp = atomic_load_explicit(&golf__ring_slot_at(g, pos)->stamp, memory_order_relaxed);
    return (int64_t)(stamp - pos) >= 0;
}

/* Elements between head and tail (reserved ones included): a snapshot. */
static inline size_t
golf__ring_len(const golf__ring_core *r)
{
    const golf__ring_geom *g = &r->cons;
    for (;;) {
        /* acquire/acquire/relaxed: re-reading tail until it did not move gives a (head, tail)
         * pair that coexisted; the acquire keeps the head load between the two tail loads. */
        uint64_t tail = atomic_load_explicit(&((golf__ring_core *)r)->tail, memory_order_acquire);
        uint64_t head = atomic_load_explicit(&((golf__ring_core *)r)->head, memory_order_acquire);
        if (atomic_load_explicit(&((golf__ring_core *)r)->tail, memory_order_relaxed) != tail)
            continue;
        uint64_t t = tail & ~g->mark;
        uint64_t hix = head & (g->mark - 1), tix = t & (g->mark - 1);
        if (hix < tix)
            return (size_t)(tix - hix);
        if (hix > tix)
            return (size_t)(g->cap - hix + tix);
        return t == head ? 0 : g->cap;
    }
}

#endif
