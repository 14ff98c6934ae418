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

#endif
