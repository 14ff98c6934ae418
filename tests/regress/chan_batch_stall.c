/* SPDX-License-Identifier: MIT */
/* Batch receives and golf_chan_notify_fd racing a producer stalled mid-copy (the PROT_NONE trick
 * of regress.h).
 *
 * 1. A one-shot receiver parks in golf_chan_recv_many. Producer A reserves slot 0 and stalls
 *    inside its copy (golf_chan_send of a value on the stall page, or golf_chan_send_many of two
 *    values whose second is on it: its run's first slot is published, the second held).
 *    Producer B then sends three values with golf_chan_send_many and completes. Then A finishes.
 *    The receiver must return, its first value must be A's first (FIFO), and every value must
 *    arrive exactly once.
 * 2. Two one-shot receivers park in golf_chan_recv_many (max 1); A stalls; B sends one value;
 *    A finishes: both receivers return (none is stranded with a value in the channel); with a
 *    stalled golf_chan_send_many A sends two, so three values go to two receivers.
 * 3. golf_chan_notify_fd is called while A is stalled mid-copy: A may have loaded the fd before
 *    it existed, so the call must not return before A's value is in (C10); a try right after
 *    the call must find it.
 *
 * golf-regress: one-cpu (also run under taskset -c 0)
 * Usage: regress_chan_batch_stall [rounds]  (exit 0: pass) */
#include "regress.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>

#include "golf/chan.h"

enum { ELEM = 4096, CAP = 8 };

static golf_chan *ch;
static unsigned char *stall; /* two pages: one or both armed */
static atomic_int done_count;
static int stall_batch;

typedef struct {
    size_t max; /* 1..CAP */
    size_t got;
    unsigned char first;
} recv_result;

static void *
one_recv_many(void *arg)
{
    recv_result *res = arg;
    unsigned char *buf = malloc((size_t)CAP * ELEM);
    int r = golf_chan_recv_many(ch, buf, res->max, &res->got);
    if (r != GOLF_OK || res->got < 1 || res->got > res->max)
        REGRESS_FAIL("recv_many: %d, %zu values", r, res->got);
    res->first = buf[0];
    free(buf);
    atomic_fetch_add(&done_count, 1);
    return NULL;
}

/* Producer A: stalls in its copy; its values are marked 'a' (and 'A' for a second one). */
static void *
stalled_send(void *arg)
{
    (void)arg;
    int r = stall_batch ? golf_chan_send_many(ch, stall, 2, NULL) : golf_chan_send(ch, stall);
    if (r != GOLF_OK)
        REGRESS_FAIL("stalled send failed: %d", r);
    return NULL;
}

/* Fills A's values, then arms the stall: the whole value (single), or only the second. */
static void
arm_a(void)
{
    memset(stall, 'a', ELEM);
    memset(stall + ELEM, 'A', ELEM);
    regress_stall_arm();
    if (stall_batch)
        mprotect(stall, ELEM, PROT_READ | PROT_WRITE);
}

static void
send_b(size_t n)
{
    unsigned char *v = malloc(n * ELEM);
    memset(v, 'b', n * ELEM);
    size_t sent = 0;
    REGRESS_CHECK(golf_chan_send_many(ch, v, n, &sent) == GOLF_OK && sent == n, "producer B");
    free(v);
}

static void
wait_done(int want, const char *what)
{
    double end = regress_now_s() + 10;
    while (atomic_load(&done_count) < want) {
        if (regress_now_s() > end)
            REGRESS_FAIL("%s: %d of %d one-shot receivers finished, len=%zu (stranded)", what,
                         atomic_load(&done_count), want, golf_chan_len(ch));
        regress_sleep_us(1000);
    }
}

/* Takes what is left; returns how many values. */
static size_t
drain(void)
{
    unsigned char *buf = malloc((size_t)CAP * ELEM);
    size_t total = 0, k;
    while (golf_chan_try_recv_many(ch, buf, CAP, &k) == GOLF_OK)
        total += k;
    free(buf);
    return total;
}

static void
one_receiver_round(void)
{
    ch = golf_chan_new(ELEM, CAP);
    REGRESS_CHECK(ch, "golf_chan_new");
    atomic_store(&done_count, 0);
    recv_result res = {CAP, 0, 0};
    pthread_t r, a;
    pthread_create(&r, NULL, one_recv_many, &res);
    regress_sleep_us(30000); /* it parks */
    arm_a();
    pthread_create(&a, NULL, stalled_send, NULL);
    REGRESS_CHECK(regress_stall_wait(10), "producer A did not stall");
    send_b(3);
    regress_sleep_us(30000);
    regress_stall_release();
    pthread_join(a, NULL);
    wait_done(1, stall_batch ? "recv_many vs a stalled send_many" : "recv_many vs a stalled send");
    pthread_join(r, NULL);
    REGRESS_CHECK(res.first == 'a', "first value received is '%c', not A's first", res.first);
    size_t want = (stall_batch ? 2 : 1) + 3;
    size_t total = res.got + drain();
    REGRESS_CHECK(total == want, "%zu values arrived, %zu sent", total, want);
    golf_chan_free(ch);
}

static void
two_receivers_round(void)
{
    ch = golf_chan_new(ELEM, CAP);
    REGRESS_CHECK(ch, "golf_chan_new");
    atomic_store(&done_count, 0);
    /* max 1: each takes one value, so both values must reach both (a recv_many with a larger
     * max may take both, leaving the other receiver rightly waiting). */
    recv_result r1 = {1, 0, 0}, r2 = {1, 0, 0};
    pthread_t t1, t2, a;
    pthread_create(&t1, NULL, one_recv_many, &r1);
    pthread_create(&t2, NULL, one_recv_many, &r2);
    regress_sleep_us(30000);
    arm_a();
    pthread_create(&a, NULL, stalled_send, NULL);
    REGRESS_CHECK(regress_stall_wait(10), "producer A did not stall");
    send_b(1);
    regress_sleep_us(30000);
    regress_stall_release();
    pthread_join(a, NULL);
    wait_done(2, "two recv_many receivers");
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    size_t want = (stall_batch ? 2 : 1) + 1;
    size_t total = r1.got + r2.got + drain();
    REGRESS_CHECK(total == want, "%zu values arrived, %zu sent", total, want);
    golf_chan_free(ch);
}

static atomic_int notify_got;

static void *
notify_then_try(void *arg)
{
    (void)arg;
    int fd = golf_chan_notify_fd(ch);
    if (fd < 0)
        REGRESS_FAIL("golf_chan_notify_fd: errno %d", errno);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, 0) != 1)
        REGRESS_FAIL("a new notify fd is not readable");
    unsigned char *buf = malloc(2 * ELEM);
    size_t k = 0;
    int r = golf_chan_try_recv_many(ch, buf, 2, &k);
    atomic_store(&notify_got, r == GOLF_OK ? (int)k : -1);
    free(buf);
    return NULL;
}

static void
notify_round(void)
{
    ch = golf_chan_new(ELEM, CAP);
    REGRESS_CHECK(ch, "golf_chan_new");
    arm_a();
    pthread_t a, t;
    pthread_create(&a, NULL, stalled_send, NULL);
    REGRESS_CHECK(regress_stall_wait(10), "producer A did not stall");
    atomic_store(&notify_got, -2);
    pthread_create(&t, NULL, notify_then_try, NULL);
    regress_sleep_us(30000); /* notify_fd waits for A */
    regress_stall_release();
    pthread_join(a, NULL);
    pthread_join(t, NULL);
    int want = stall_batch ? 2 : 1;
    REGRESS_CHECK(atomic_load(&notify_got) == want,
                  "the drain right after golf_chan_notify_fd took %d values, %d were sent "
                  "before it",
                  atomic_load(&notify_got), want);
    golf_chan_free(ch);
}

int
main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    regress_watchdog(300);
    stall = regress_stall_page(2 * ELEM);
    for (int i = 0; i < rounds; i++) {
        for (stall_batch = 0; stall_batch < 2; stall_batch++) {
            one_receiver_round();
            two_receivers_round();
            notify_round();
        }
    }
    printf("chan_batch_stall: %d rounds x 6 scenarios: no stranded receiver, no lost value\n",
           rounds);
    return 0;
}
