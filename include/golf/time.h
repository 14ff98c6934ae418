/* SPDX-License-Identifier: MIT */
/* golf/time.h: the clock of golf's deadlines, and Go's time.Timer and time.Ticker (design:
 * timer/README.md).
 *
 * Clock: golf_now_ns is CLOCK_MONOTONIC in nanoseconds, the clock of every golf timeout and
 * deadline; changing the wall clock does not move it.
 *
 * Timers: a golf_timer delivers its fire times on an ordinary channel (golf_timer_chan), a
 * buffered channel of capacity 1 carrying uint64_t values: the golf_now_ns at which it fired.
 * Receive from it with golf_chan_recv, a try or timeout form, or a select case, as in Go's
 * `<-t.C`. A fire that finds the previous value still unread is dropped (Go's Ticker drops
 * ticks for a slow receiver the same way). The user never closes or frees that channel: it is
 * freed with the timer.
 *
 * Cost: no thread per timer. The first timer of the process starts one timer thread, which keeps
 * every armed timer in a heap and sleeps until the earliest deadline; 10,000 armed timers cost
 * 10,000 heap slots, not threads. A fire is a golf_chan_try_send from that thread, so a timer
 * fires no earlier than its deadline and, on an idle machine, within tens of microseconds
 * after it (timer/README.md has the measurement).
 *
 * Semantics are those of Go's timers before Go 1.23 (the channel is buffered): golf_timer_stop
 * and golf_timer_reset do not drain a value already delivered, so a receiver may still get a fire
 * time from before the stop or reset. `if (!golf_timer_stop(t)) golf_chan_try_recv(ch, &v);`
 * drains it, as Go's `if !t.Stop() { <-t.C }` (use the try form: the value may have been received
 * already).
 *
 * Thread safety: golf_timer_chan, golf_timer_stop and golf_timer_reset may be called from any
 * thread, concurrently with each other and with the timer firing. golf_timer_free must be the
 * last call on a timer, with no other thread still inside a call on it or on its channel (no
 * receiver blocked on the channel: it would block on freed memory); it may run while the timer
 * thread is firing the timer: it waits for that fire to finish before freeing.
 *
 * Memory model: a fire synchronizes before the receive that gets its value (it is a channel
 * send); golf_timer_new and golf_timer_reset synchronize before the fire they arm.
 *
 * fork(): a child process gets a copy of every timer; the timer thread is not copied, so the
 * child starts its own at the fork if any timer is armed (else at its first timer call). */
#ifndef GOLF_TIME_H
#define GOLF_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "golf/chan.h"
#include "golf/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CLOCK_MONOTONIC now, in nanoseconds: the clock of every golf deadline. No system call (vDSO). */
GOLF_API uint64_t golf_now_ns(void);

typedef struct golf_timer golf_timer;

/* A new armed timer. period_ns 0: Go's time.NewTimer: fires once, delay_ns from now. Otherwise
 * Go's time.NewTicker with a first fire after delay_ns: then fires every period_ns, each deadline
 * the previous deadline plus period_ns (a late fire does not shift later ones; deadlines that
 * passed while the timer thread could not run are skipped, not fired in a burst). A delay of
 * 0 fires as soon as the timer thread runs; a deadline beyond UINT64_MAX ns never comes. NULL
 * with errno = ENOMEM when out of memory or when the timer thread could not be started. */
GOLF_API golf_timer *golf_timer_new(uint64_t delay_ns, uint64_t period_ns);

/* The timer's channel: capacity 1, elements uint64_t (the fire time, golf_now_ns). Valid until
 * golf_timer_free. NULL for a NULL t. */
GOLF_API golf_chan *golf_timer_chan(golf_timer *t);

/* Disarms t. true if this call stopped a fire that was still pending (a Timer that had not fired
 * yet, any armed Ticker); false if t had already fired (a Timer) or was already stopped, or t is
 * NULL. After it returns t does not fire again until a reset; a fire that was delivered before
 * stays in the channel. */
GOLF_API bool golf_timer_stop(golf_timer *t);

/* Re-arms t as if new: next fire delay_ns from now, then every period_ns (0: once), whether t was
 * armed, fired or stopped; a pending fire is replaced. GOLF_OK, GOLF_EINVAL for a NULL t, or
 * GOLF_ENOMEM when the timer thread is gone and could not be restarted (only in a fork child
 * whose start of it failed); t is then stopped. A value already in the channel stays there. */
GOLF_API int golf_timer_reset(golf_timer *t, uint64_t delay_ns, uint64_t period_ns);

/* Stops t and frees it and its channel (NULL: nothing). Waits for a fire in progress to finish
 * first, so it may be called at any time, even right after a receive of the timer's value. */
GOLF_API void golf_timer_free(golf_timer *t);

#ifdef __cplusplus
}
#endif

#endif /* GOLF_TIME_H */
