/* SPDX-License-Identifier: MIT */
/* The unbuffered flavour (cap == 0): the direct hand-off, chan/chan_zero.c. */
#ifndef GOLF_CHAN_ZERO_H
#define GOLF_CHAN_ZERO_H

#include "chan_struct.h"
#include "waitq.h"

/* Pairs with a waiting peer, if one is registered. GOLF_OK, GOLF_ECLOSED (send: closed; recv:
 * closed, and no sender left; `out` untouched: callers zero-fill) or GOLF_EAGAIN. `self` is the
 * caller's waiter: a try never pairs with it. */
int golf__zero_try_send(golf_chan *ch, const void *elem, golf__waiter *self);
int golf__zero_try_recv(golf_chan *ch, void *out, golf__waiter *self);

/* Parks an untimed single operation (op on ch, elem its value or destination; c its case, for
 * the deadlock report) in ch's hand-off slot (C11), when the slot is free, no older waiter of
 * our side is on the lists and no peer is: waits there for a peer or close. GOLF_OK,
 * GOLF_ECLOSED (recv: elem zeroed) or GOLF_EAGAIN: not parked, wait on the lists. Values of at
 * most GOLF__W_INLINE bytes only. */
int golf__zero_park(golf_chan *ch, int op, void *elem, golf__waiter *self, golf_case *c);

#endif
