/* SPDX-License-Identifier: MIT */
/* Bug: an operation waited for a thread stalled inside golf when the slot it needed was held
 * one lap back (a consumer still copying out of the slot at head, or a producer still copying
 * into the slot at tail, after the ring went all the way round): the ring code took the stamp
 * for a stale index and reloaded it in a loop, so try forms did not return, timeouts were not
 * honoured, a select with another ready case did not take it, and a receive on a closed,
 * drained channel did not report GOLF_ECLOSED, all until the stalled thread ran again.
 *
 * Each case stalls one thread on the PROT_NONE page (its copy stops in the SIGSEGV handler) and
 * holds it there; the operation under test must return while the stall is still held.
 * Usage: regress_chan_stalled_slot */
#include "regress.h"

#include <pthread.h>

#include "golf/chan.h"
#include "golf/ring.h"

enum { ELEM = 4096 };

static golf_chan *ch;
static golf_ring *ring;
static unsigned char *stall;
static int mode;
static atomic_int b_done;
static int b_ret;

static void *
stalled_recv(void *a)
{
    (void)a;
    REGRESS_CHECK(golf_chan_recv(ch, stall) == GOLF_OK, "stalled recv");
    return NULL;
}

static void *
stalled_send(void *a)
{
    (void)a;
    REGRESS_CHECK(golf_chan_send(ch, stall) == GOLF_OK, "stalled send");
    return NULL;
}

static void *
ring_stalled_pop(void *a)
{
    (void)a;
    REGRESS_CHECK(golf_ring_try_pop(ring, stall) == GOLF_OK, "stalled ring pop");
    return NULL;
}

static void *
ring_stalled_push(void *a)
{
    (void)a;
    REGRESS_CHECK(golf_ring_try_push(ring, stall) == GOLF_OK, "stalled ring push");
    return NULL;
}

static void *
tested(void *a)
{
    (void)a;
    unsigned char *buf = calloc(1, ELEM);
    switch (mode) {
    case 0:
        b_ret = golf_chan_try_recv(ch, buf);
        break;
    case 1:
        b_ret = golf_chan_try_send(ch, buf);
        break;
    case 2:
        b_ret = golf_chan_recv_timeout(ch, buf, 10000000);
        break;
    case 3:
        b_ret = golf_chan_send_timeout(ch, buf, 10000000);
        break;
    case 4: { /* select_try: the other case holds a value */
        golf_chan *other = golf_chan_new(8, 1);
        uint64_t x = 42, y = 0;
        for (int i = 0; i < 16; i++) { /* random order: the stalled case first about half */
            golf_chan_send(other, &x);
            golf_case c[2] = {{ch, GOLF_RECV, buf, 0}, {other, GOLF_RECV, &y, 0}};
            b_ret = golf_select_try(c, 2);
            if (b_ret != 1)
                break;
        }
        golf_chan_free(other);
        break;
    }
    case 5: /* closed and drained: ECLOSED even though the last value's reader is mid-copy */
        b_ret = golf_chan_recv(ch, buf);
        break;
    case 6:
        b_ret = golf_ring_try_pop(ring, buf);
        break;
    case 7:
        b_ret = golf_ring_try_push(ring, buf);
        break;
    }
    free(buf);
    atomic_store(&b_done, 1);
    return NULL;
}

static const char *names[] = {"try_recv",
                              "try_send",
                              "recv_timeout(10 ms)",
                              "send_timeout(10 ms)",
                              "select_try with a ready case",
                              "recv on closed+drained",
                              "golf_ring_try_pop",
                              "golf_ring_try_push"};
static const int want[] = {GOLF_EAGAIN, GOLF_EAGAIN,  GOLF_ETIMEDOUT, GOLF_ETIMEDOUT,
                           1,           GOLF_ECLOSED, GOLF_EAGAIN,    GOLF_EAGAIN};

int
main(void)
{
    regress_watchdog(200);
    stall = regress_stall_page(ELEM);
    unsigned char *v = calloc(1, ELEM);
    for (mode = 0; mode < 8; mode++) {
        ch = golf_chan_new(ELEM, 1);
        REGRESS_CHECK(ch, "golf_chan_new");
        atomic_store(&b_done, 0);
        pthread_t a, b;
        bool send_side = mode == 1 || mode == 3 || mode == 7;
        if (mode >= 6) { /* the same two states on a golf_ring */
            ring = golf_ring_new(ELEM, 1);
            REGRESS_CHECK(ring, "golf_ring_new");
            REGRESS_CHECK(golf_ring_try_push(ring, v) == GOLF_OK, "ring fill");
            if (send_side)
                REGRESS_CHECK(golf_ring_try_pop(ring, v) == GOLF_OK, "ring drain");
            regress_stall_arm();
            pthread_create(&a, NULL, send_side ? ring_stalled_push : ring_stalled_pop, NULL);
        } else if (send_side) {
            /* cap 1: a consumer takes the value, so the next producer reserves the slot's
             * next-lap position and stalls before publishing; the tested send finds the slot
             * a lap behind. */
            REGRESS_CHECK(golf_chan_send(ch, v) == GOLF_OK, "fill");
            REGRESS_CHECK(golf_chan_recv(ch, v) == GOLF_OK, "drain");
            regress_stall_arm();
            pthread_create(&a, NULL, stalled_send, NULL);
        } else {
            /* cap 1: the stalled consumer has taken position 0 and is copying out; head is
             * at position 1, whose slot is that same one, a lap behind. */
            REGRESS_CHECK(golf_chan_send(ch, v) == GOLF_OK, "fill");
            if (mode == 5)
                REGRESS_CHECK(golf_chan_close(ch) == GOLF_OK, "close");
            regress_stall_arm();
            pthread_create(&a, NULL, stalled_recv, NULL);
        }
        REGRESS_CHECK(regress_stall_wait(10), "%s: no stall", names[mode]);
        pthread_create(&b, NULL, tested, NULL);
        bool returned = regress_wait_flag(&b_done, 10);
        regress_stall_release();
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        REGRESS_CHECK(returned, "%s waited for a thread stalled a lap behind", names[mode]);
        REGRESS_CHECK(b_ret == want[mode], "%s returned %d, want %d", names[mode], b_ret,
                      want[mode]);
        golf_chan_free(ch);
        if (mode >= 6)
            golf_ring_free(ring);
        printf("%s: returned %d while the stalled thread was held\n", names[mode], b_ret);
    }
    free(v);
    printf("chan_stalled_slot: pass\n");
    return 0;
}
