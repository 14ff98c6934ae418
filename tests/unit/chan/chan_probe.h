/* SPDX-License-Identifier: MIT */
/* A background channel operation the test can watch: has it completed, with what result?
 * Used to check "blocks" / "does not block" / "is woken" rules of include/golf/chan.h. */
#ifndef GOLF_TESTS_CHAN_PROBE_H
#define GOLF_TESTS_CHAN_PROBE_H

#include "golf/chan.h"
#include "unit/chan/chan_util.h"

enum probe_kind {
    P_SEND,
    P_RECV,
    P_SEND_TIMEOUT,
    P_RECV_TIMEOUT,
    P_SELECT,
    P_SELECT_TIMEOUT,
    P_SEND_MANY,  /* n values at elem; moved = *sent */
    P_RECV_MANY,  /* up to n into elem; moved = *received */
    P_SEND_UNTIL, /* timeout_ns is the deadline */
    P_RECV_UNTIL,
    P_SELECT_UNTIL,
};

typedef struct probe {
    enum probe_kind kind;
    golf_chan *ch;
    void *elem;
    uint64_t timeout_ns;
    golf_case *cases;
    size_t n;
    size_t moved;
    int rc;
    atomic_int done;
    pthread_t thread;
} probe;

static void *
probe_main(void *p)
{
    probe *pr = p;
    switch (pr->kind) {
    case P_SEND:
        pr->rc = golf_chan_send(pr->ch, pr->elem);
        break;
    case P_RECV:
        pr->rc = golf_chan_recv(pr->ch, pr->elem);
        break;
    case P_SEND_TIMEOUT:
        pr->rc = golf_chan_send_timeout(pr->ch, pr->elem, pr->timeout_ns);
        break;
    case P_RECV_TIMEOUT:
        pr->rc = golf_chan_recv_timeout(pr->ch, pr->elem, pr->timeout_ns);
        break;
    case P_SELECT:
        pr->rc = golf_select(pr->cases, pr->n);
        break;
    case P_SELECT_TIMEOUT:
        pr->rc = golf_select_timeout(pr->cases, pr->n, pr->timeout_ns);
        break;
    case P_SEND_MANY:
        pr->rc = golf_chan_send_many(pr->ch, pr->elem, pr->n, &pr->moved);
        break;
    case P_RECV_MANY:
        pr->rc = golf_chan_recv_many(pr->ch, pr->elem, pr->n, &pr->moved);
        break;
    case P_SEND_UNTIL:
        pr->rc = golf_chan_send_until(pr->ch, pr->elem, pr->timeout_ns);
        break;
    case P_RECV_UNTIL:
        pr->rc = golf_chan_recv_until(pr->ch, pr->elem, pr->timeout_ns);
        break;
    case P_SELECT_UNTIL:
        pr->rc = golf_select_until(pr->cases, pr->n, pr->timeout_ns);
        break;
    }
    atomic_store_explicit(&pr->done, 1, memory_order_release);
    return NULL;
}

static inline void
probe_start(probe *pr)
{
    atomic_init(&pr->done, 0);
    pr->rc = 12345;
    pr->thread = cu_spawn(probe_main, pr);
}

static inline bool
probe_done(probe *pr)
{
    return atomic_load_explicit(&pr->done, memory_order_acquire) != 0;
}

/* Gives the probe `ms` to finish; true if it did (then it is joined). */
static inline bool
probe_finishes_within(probe *pr, unsigned ms)
{
    if (!cu_wait_flag(&pr->done, ms))
        return false;
    cu_join(pr->thread);
    return true;
}

/* The probe still runs after `ms`: it is blocked. */
static inline bool
probe_still_blocked_after(probe *pr, unsigned ms)
{
    cu_sleep_ms(ms);
    return !probe_done(pr);
}

#endif
