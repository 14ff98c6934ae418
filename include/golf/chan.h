/* SPDX-License-Identifier: MIT */
/* golf/chan.h: Go channels and select (design: chan/README.md).
 *
 * A channel carries values of one fixed size, elem_size bytes, copied in by a send and out by a
 * receive: the channel owns its copies and never looks inside them (a pointer in a value is just
 * bytes to it). Two kinds, as in Go:
 *   - buffered (cap >= 1): a send completes as soon as its value is in the buffer; a lock-free
 *     ring of cap slots;
 *   - unbuffered (cap == 0): a send and a receive meet; whichever arrives second hands the value
 *     over and both return;
 *   - unbounded (cap == GOLF_UNBOUNDED, no Go equivalent): a send never waits; the buffer grows
 *     in blocks as values arrive and gives them back as it drains (a linked list of blocks;
 *     at most one spare block is kept). A send fails with GOLF_ENOMEM, having enqueued
 *     nothing, if a block it needs cannot be allocated. Close, receive and select behave as
 *     for a buffered channel.
 * elem_size 0 is Go's chan struct{}: only the event counts, and elem/out may be NULL.
 *
 * A NULL channel is Go's nil channel: send and receive on it block forever (the timeout forms
 * time out, the try forms return GOLF_EAGAIN), and a select case on it is never ready.
 *
 * Return codes: GOLF_OK, or one of GOLF_ECLOSED (the channel is closed: a send failed, or a
 * receive found it closed and empty), GOLF_EAGAIN (a try form that would have to wait),
 * GOLF_ETIMEDOUT (a timeout form ran out of time), GOLF_EINVAL (a bad argument; nothing
 * happened), GOLF_ENOMEM (a send on an unbounded channel, or a large select, ran out of
 * memory). Go panics on a send to a closed
 * channel and on closing one twice; golf returns GOLF_ECLOSED instead.
 *
 * Blocking: an operation that must wait spins for about 14 microseconds, then sleeps on a futex
 * (no CPU used) until a peer, a close or its deadline wakes it. Timeouts are relative, in
 * nanoseconds, on CLOCK_MONOTONIC (so changing the wall clock does not affect them); a timeout
 * of 0 tries once and reports GOLF_ETIMEDOUT where the try form reports GOLF_EAGAIN, and
 * UINT64_MAX means no timeout. An operation a peer has already completed is never undone by a
 * timeout: it returns GOLF_OK even if the deadline has passed meanwhile.
 *
 * Thread safety: every function may be called on the same channel from any number of threads at
 * once, except golf_chan_free. No function here is async-signal-safe: do not call them from a
 * signal handler (a blocking one uses the thread's single waiter record, which the interrupted
 * code may be using).
 *
 * Memory model (Go's words): a send synchronizes before the receive that takes its value
 * completes; the k-th receive on a channel of capacity C synchronizes before the (k+C)-th send
 * completes; a close synchronizes before a receive that returns GOLF_ECLOSED because of it.
 *
 * Close: golf_chan_close wakes every thread blocked on the channel. Blocked senders (and select
 * send cases) return GOLF_ECLOSED without sending. Receivers first drain what is buffered, one
 * value each, as in Go; once the channel is empty every blocked and later receive returns
 * GOLF_ECLOSED with *out zeroed (Go's zero value).
 *
 * Lifetime (when golf_chan_free may be called): once an operation has returned in one thread,
 * and that thread has learnt through golf that every other user of the channel is done, it may
 * free the channel at once; golf's last touch of a channel's memory comes before any operation
 * it completes returns elsewhere. In practice:
 *   - a receiver that gets GOLF_ECLOSED (from golf_chan_recv, a try or timeout form, or a
 *     select case) may free the channel if no other thread still uses it: the closer is done;
 *   - unbuffered: when a send returns, its receiver is done with the channel, and when a
 *     receive returns, its sender is (either side may free it);
 *   - buffered: receiving a value tells you it was sent, *not* that its sender has returned
 *     from golf_chan_send (it may still be checking for waiters). Free a buffered channel after
 *     a close whose GOLF_ECLOSED you received, or after joining the senders.
 * golf_chan_free does not wake anyone: freeing a channel while a thread is blocked on it, or is
 * still inside any call on it, is undefined behaviour (a use-after-free). To shut a channel
 * down: close it, let every blocked thread return (they get GOLF_ECLOSED), then free it. */
#ifndef GOLF_CHAN_H
#define GOLF_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "golf/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct golf_chan golf_chan;

/* The cap of an unbounded channel (golf_chan_new, golf_chan_cap). */
#define GOLF_UNBOUNDED SIZE_MAX

/* A new open channel for values of elem_size bytes (0: Go's chan struct{}), with room for cap
 * values (0: unbuffered; GOLF_UNBOUNDED: no limit). NULL with errno = EINVAL when the sizes are
 * too large to allocate (elem_size or elem_size x cap beyond SIZE_MAX / 4, or cap beyond 2^40
 * other than GOLF_UNBOUNDED), or errno = ENOMEM when out of memory. The first buffered channel of
 * the process also registers it for membarrier(2) (one system call, once). */
GOLF_API golf_chan *golf_chan_new(size_t elem_size, size_t cap);

/* Frees ch (NULL: nothing). Values still buffered are dropped with it, bytes only: nothing is
 * called for them, so drain a channel whose values own memory first. No thread may be blocked
 * on ch or still inside a call on it (see "Lifetime" above): blocked threads are not woken, and
 * using ch after this is undefined behaviour. Never blocks. */
GOLF_API void golf_chan_free(golf_chan *ch);

/* Go's `ch <- v`: sends a copy of the elem_size bytes at elem (read only during the call).
 * Blocks until the value is in the buffer (buffered) or a receiver has taken it (unbuffered);
 * never blocks on an unbounded channel. GOLF_OK: sent. GOLF_ENOMEM (unbounded only): the
 * buffer needed a new block and the allocation failed; nothing was sent, the channel still
 * works. GOLF_ECLOSED: the channel was closed before the value could go in, now or
 * while this call was blocked; the value was not sent. GOLF_EINVAL: elem is NULL and
 * elem_size > 0. ch NULL: blocks forever. */
GOLF_API int golf_chan_send(golf_chan *ch, const void *elem);

/* Go's `v, ok := <-ch`: takes the oldest buffered value, or a blocked sender's value
 * (unbuffered), and copies its elem_size bytes to out (out NULL: the value is dropped). Blocks
 * until a value is there or the channel is closed and empty. GOLF_OK: *out holds the value.
 * GOLF_ECLOSED: closed and empty (ok == false in Go); *out is zeroed when out is not NULL.
 * ch NULL: blocks forever. */
GOLF_API int golf_chan_recv(golf_chan *ch, void *out);

/* Go's select with a send case and a default: sends only if that needs no wait. GOLF_OK: sent.
 * GOLF_EAGAIN: the buffer is full; unbuffered: no receiver is blocked waiting; ch NULL; or
 * (rarely, under contention) the slot it needs is held by a thread that was descheduled in the
 * middle of its own operation (docs/DEVIATIONS.md); never on an unbounded channel. GOLF_ECLOSED:
 * closed. GOLF_ENOMEM: as golf_chan_send. GOLF_EINVAL: elem is NULL and elem_size > 0. Never
 * blocks. */
GOLF_API int golf_chan_try_send(golf_chan *ch, const void *elem);

/* Go's select with a receive case and a default: receives only if that needs no wait. GOLF_OK:
 * *out holds the value (out NULL: dropped). GOLF_EAGAIN: nothing buffered; unbuffered: no
 * sender is blocked waiting; ch NULL; or (rarely) the oldest value is still being copied in by
 * a descheduled sender. GOLF_ECLOSED: closed and empty, *out zeroed. Never blocks, except on an
 * unbounded channel, where a receive that takes a value whose sender is still copying it in
 * waits for that copy (a descheduled sender: until it runs again). */
GOLF_API int golf_chan_try_recv(golf_chan *ch, void *out);

/* golf_chan_send that gives up after timeout_ns nanoseconds: GOLF_ETIMEDOUT, and the value was
 * not sent. timeout_ns 0: golf_chan_try_send, with GOLF_ETIMEDOUT for GOLF_EAGAIN; UINT64_MAX:
 * no timeout. ch NULL: returns GOLF_ETIMEDOUT after the timeout. Otherwise as golf_chan_send. */
GOLF_API int golf_chan_send_timeout(golf_chan *ch, const void *elem, uint64_t timeout_ns);

/* golf_chan_recv that gives up after timeout_ns nanoseconds: GOLF_ETIMEDOUT, nothing was taken
 * and *out is untouched. timeout_ns 0: golf_chan_try_recv, with GOLF_ETIMEDOUT for GOLF_EAGAIN;
 * UINT64_MAX: no timeout. ch NULL: returns GOLF_ETIMEDOUT after the timeout. */
GOLF_API int golf_chan_recv_timeout(golf_chan *ch, void *out, uint64_t timeout_ns);

/* Go's close(ch): no value can be sent any more. Wakes every blocked thread (see "Close"
 * above) and returns without waiting for them. GOLF_OK. GOLF_ECLOSED: already closed (Go
 * panics). GOLF_EINVAL: ch is NULL (Go panics). Never blocks, except for the moment another
 * thread holds the channel's internal lock. */
GOLF_API int golf_chan_close(golf_chan *ch);

/* Go's len(ch): the number of values buffered, a snapshot that may be stale at once (it also
 * counts values whose senders are still copying them in). 0 for an unbuffered or NULL channel. */
GOLF_API size_t golf_chan_len(const golf_chan *ch);

/* Go's cap(ch): the cap given to golf_chan_new (GOLF_UNBOUNDED for an unbounded channel); 0 for
 * NULL. */
GOLF_API size_t golf_chan_cap(const golf_chan *ch);

/* A select case: op on ch, with elem the value to send or where a received value goes. */
enum { GOLF_SEND = 1, GOLF_RECV = 2 };
typedef struct golf_case {
    golf_chan *ch; /* NULL: this case is never ready */
    int op;        /* GOLF_SEND or GOLF_RECV */
    void *elem;    /* send: the value; recv: where it goes (may be NULL to discard) */
    int status;    /* set on the chosen case: GOLF_OK, GOLF_ECLOSED, or GOLF_ENOMEM (a send
                      on an unbounded channel that ran out of memory) */
} golf_case;

/* Go's select without a default: waits until one of the n cases can proceed, performs that one
 * and only that one, and returns its index. Its status is GOLF_OK, or GOLF_ECLOSED for a send
 * to a closed channel or a receive from a closed, empty one (elem zeroed if not NULL); the
 * other cases, and their status fields, are left alone. When several cases are ready one is
 * chosen uniformly at random. A channel may appear in several cases, even with both ops; a
 * thread never hands a value to itself. A send case on an unbounded channel is always ready. n ==
 * 0, or only NULL channels: blocks forever. Errors, with no case performed: GOLF_EINVAL (cases NULL
 * with n > 0, an op that is not GOLF_SEND or GOLF_RECV, a send elem NULL with elem_size > 0, n >
 * 2^27), GOLF_ENOMEM (n > 16 needs a small allocation, and it failed). Every elem must stay valid
 * until the call returns. */
GOLF_API int golf_select(golf_case *cases, size_t n);

/* Go's select with a default: performs a case only if one is ready now; its index, or
 * GOLF_EAGAIN (none ready, or n == 0). Errors as golf_select. Never blocks. */
GOLF_API int golf_select_try(golf_case *cases, size_t n);

/* golf_select that gives up after timeout_ns nanoseconds: an index, or GOLF_ETIMEDOUT with no
 * case performed. timeout_ns 0: golf_select_try, with GOLF_ETIMEDOUT for GOLF_EAGAIN;
 * UINT64_MAX: no timeout. Errors as golf_select. */
GOLF_API int golf_select_timeout(golf_case *cases, size_t n, uint64_t timeout_ns);

#ifdef __cplusplus
}
#endif

#endif /* GOLF_CHAN_H */
