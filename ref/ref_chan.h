/* SPDX-License-Identifier: MIT */
/* ref/ref_chan.h: the mutex + condition-variable reference for golf/chan.h and golf/ring.h.
 *
 * Same API and semantics as golf's (include/golf/chan.h: Go's), under the prefix ref_. It exists
 * to be obviously right, not fast: the tests cross-check golf against it, and golf-bench runs it
 * as the "mutex reference" peer.
 *
 * Design (Go's runtime/chan.go, with pthreads in place of the runtime):
 *   - one pthread mutex per channel protects the buffer, `closed`, and two FIFO wait queues
 *     (blocked senders, blocked receivers);
 *   - every operation is a select: ref_chan_send(ch, v) is a select over the single case
 *     {ch, GOLF_SEND, v}, so there is one blocking path;
 *   - a blocked select owns one waiter (mutex + condvar + `fired`) and one queue node per case;
 *     a peer that finds a node claims the waiter under the waiter's mutex (first claim wins,
 *     Go's selectDone) and does the transfer itself, so a wake-up is never lost or stolen;
 *   - a select locks its channels in address order (duplicates once), like Go's sellock;
 *   - lock order: channel mutexes (ascending address) before any waiter mutex.
 *
 * Cases: ref_case has golf_case's layout with a ref_chan in place of the golf_chan, and uses
 * golf's GOLF_SEND / GOLF_RECV and error codes (golf/error.h).
 *
 * The ref ring (ref_ring_*) is a mutex around a circular buffer with golf/ring.h's API. */
#ifndef GOLF_REF_CHAN_H
#define GOLF_REF_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include "golf/chan.h"
#include "golf/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ref_chan ref_chan;
ref_chan *ref_chan_new(size_t elem_size, size_t cap); /* NULL + errno (EINVAL, ENOMEM) */
void ref_chan_free(ref_chan *ch);
int ref_chan_send(ref_chan *ch, const void *elem);
int ref_chan_recv(ref_chan *ch, void *out);
int ref_chan_try_send(ref_chan *ch, const void *elem);
int ref_chan_try_recv(ref_chan *ch, void *out);
int ref_chan_send_timeout(ref_chan *ch, const void *elem, uint64_t timeout_ns);
int ref_chan_recv_timeout(ref_chan *ch, void *out, uint64_t timeout_ns);
int ref_chan_send_until(ref_chan *ch, const void *elem, uint64_t deadline_ns);
int ref_chan_recv_until(ref_chan *ch, void *out, uint64_t deadline_ns);
int ref_chan_send_many(ref_chan *ch, const void *elems, size_t n, size_t *sent);
int ref_chan_recv_many(ref_chan *ch, void *out, size_t max, size_t *received);
int ref_chan_try_recv_many(ref_chan *ch, void *out, size_t max, size_t *received);
int ref_chan_close(ref_chan *ch);
size_t ref_chan_len(const ref_chan *ch);
size_t ref_chan_cap(const ref_chan *ch);

typedef struct ref_case {
    ref_chan *ch; /* NULL: never ready */
    int op;       /* GOLF_SEND or GOLF_RECV */
    void *elem;   /* send: the value; recv: where it goes (NULL discards) */
    int status;   /* set on the chosen case: GOLF_OK or GOLF_ECLOSED */
} ref_case;
int ref_select(ref_case *cases, size_t n);
int ref_select_try(ref_case *cases, size_t n);
int ref_select_timeout(ref_case *cases, size_t n, uint64_t timeout_ns);
int ref_select_until(ref_case *cases, size_t n, uint64_t deadline_ns);

typedef struct ref_ring ref_ring;
ref_ring *ref_ring_new(size_t elem_size, size_t capacity); /* NULL + EINVAL/ENOMEM */
void ref_ring_free(ref_ring *r);
int ref_ring_try_push(ref_ring *r, const void *elem);
int ref_ring_try_pop(ref_ring *r, void *out);
size_t ref_ring_len(const ref_ring *r);
size_t ref_ring_cap(const ref_ring *r);

#ifdef __cplusplus
}
#endif

#endif
