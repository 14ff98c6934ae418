/* SPDX-License-Identifier: MIT */
/* The unbuffered hand-off slot (chan/README.md, C11): an untimed single send or receive waits in
 * one word of the channel, outside the waiter lists, so everything else that can pair with a
 * waiting peer or end its wait must look there too. Each round is one-shot: one waiter parks in
 * the slot (a fresh channel, nobody else on it), the other side arrives one way, and the round
 * must end with both served exactly once, or with GOLF_ECLOSED and a zeroed value after a close:
 *   0  slot receiver + a select's send (registers on the lists: the two looks race)
 *   1  slot sender + a select's receive
 *   2  slot receiver + a timed send (also on the lists)
 *   3  slot sender + a timed receive
 *   4  slot receiver + try_send polled until it pairs
 *   5  slot receiver + close: GOLF_ECLOSED, value zeroed
 *   6  slot sender + close: GOLF_ECLOSED
 *   7  two plain senders and two plain receivers at once (one of each in the slot)
 *   8  slot sender, then the readiness fd: readable, and its drain takes the value
 *   9  a sender, then close, then try_recv polls: the send must fail, and no value may come
 *      out of the closed channel, also from a sender that entered the slot after the close
 *      (close shuts the slot)
 *  10  slot receiver + a plain send, and the sender frees the channel as soon as its send
 *      returns (under ASan: the receiver must not look at the channel once it can be taken)
 *  11  the mirror: slot sender, the receiver frees
 * In half the rounds the arriving side starts at once, racing the slot's waiter into its look
 * at the lists; with chaos on (seed 1 unless GOLF_CHAOS chose), the waiter also stops between
 * entering the slot and that look (site ZERO_SLOT).
 *
 * Then the stall: the sender that takes a parked receiver copies its value from a PROT_NONE
 * page and stops in the SIGSEGV handler. Until it is let go, the receiver must not return
 * (it was claimed), a try_recv finds nothing, and a close does not turn the claimed receive
 * into GOLF_ECLOSED; let go, the receiver gets the value.
 * golf-regress: one-cpu (also run under taskset -c 0)
 * Usage: regress_chan_zero_slot [rounds] */
#include "regress.h"

#include <poll.h>
#include <pthread.h>

#include "golf/chan.h"
#include "lockfree/chaos.h"

enum { SCENARIOS = 12 };

static golf_chan *ch;
static int scenario;
static atomic_int parked_ret; /* the slot waiter's result, + 1000 once it returned */
static int64_t parked_val;
static atomic_int parked_started;

/* The waiter that parks in the slot: a receive (mode 0) or a send of 77 (mode 1). */
static void *
parked(void *arg)
{
    int mode = (int)(intptr_t)arg;
    int r;
    atomic_store(&parked_started, 1);
    if (mode == 0) {
        parked_val = -1;
        r = golf_chan_recv(ch, &parked_val);
    } else {
        int64_t v = 77;
        r = golf_chan_send(ch, &v);
    }
    atomic_store(&parked_ret, r + 1000);
    return NULL;
}

static atomic_int pair_sum;

static void *
plain_recv(void *arg)
{
    (void)arg;
    int64_t v = 0;
    REGRESS_CHECK(golf_chan_recv(ch, &v) == GOLF_OK, "plain recv");
    atomic_fetch_add(&pair_sum, (int)v);
    return NULL;
}

static void *
plain_send(void *arg)
{
    int64_t v = (int64_t)(intptr_t)arg;
    REGRESS_CHECK(golf_chan_send(ch, &v) == GOLF_OK, "plain send");
    return NULL;
}

static int
wait_parked(void)
{
    double end = regress_now_s() + 20;
    int r;
    while ((r = atomic_load(&parked_ret)) == 0) {
        if (regress_now_s() > end)
            REGRESS_FAIL("scenario %d: the slot's waiter never returned (stranded)", scenario);
        regress_sleep_us(100);
    }
    return r - 1000;
}

/* The arriving side of scenarios 0-6, 8. */
static void
arrive(void)
{
    int64_t v = 55, got = -1;
    switch (scenario) {
    case 0: {
        golf_case c[2] = {{ch, GOLF_SEND, &v, 0}, {NULL, GOLF_RECV, NULL, 0}};
        REGRESS_CHECK(golf_select(c, 2) == 0 && c[0].status == GOLF_OK, "select send");
        break;
    }
    case 1: {
        golf_case c[2] = {{NULL, GOLF_SEND, &v, 0}, {ch, GOLF_RECV, &got, 0}};
        REGRESS_CHECK(golf_select(c, 2) == 1 && c[1].status == GOLF_OK && got == 77,
                      "select recv: %lld", (long long)got);
        break;
    }
    case 2:
        REGRESS_CHECK(golf_chan_send_timeout(ch, &v, 10000000000ull) == GOLF_OK, "timed send");
        break;
    case 3:
        REGRESS_CHECK(golf_chan_recv_timeout(ch, &got, 10000000000ull) == GOLF_OK && got == 77,
                      "timed recv: %lld", (long long)got);
        break;
    case 4: {
        double end = regress_now_s() + 10;
        int r;
        while ((r = golf_chan_try_send(ch, &v)) == GOLF_EAGAIN) {
            REGRESS_CHECK(regress_now_s() < end, "try_send never found the parked receiver");
            sched_yield();
        }
        REGRESS_CHECK(r == GOLF_OK, "try_send: %d", r);
        break;
    }
    case 5:
    case 6:
        REGRESS_CHECK(golf_chan_close(ch) == GOLF_OK, "close");
        break;
    case 8: {
        int fd = golf_chan_notify_fd(ch);
        REGRESS_CHECK(fd >= 0, "notify_fd");
        struct pollfd p = {fd, POLLIN, 0};
        REGRESS_CHECK(poll(&p, 1, 10000) == 1, "the fd is not readable");
        uint64_t n;
        (void)!read(fd, &n, sizeof n);
        double end = regress_now_s() + 10;
        int r;
        while ((r = golf_chan_try_recv(ch, &got)) == GOLF_EAGAIN) {
            REGRESS_CHECK(regress_now_s() < end, "the drain never found the parked sender");
            REGRESS_CHECK(poll(&p, 1, 100) >= 0, "poll");
        }
        REGRESS_CHECK(r == GOLF_OK && got == 77, "drain: %d %lld", r, (long long)got);
        break;
    }
    }
}

static void
round_one(bool race)
{
    ch = golf_chan_new(sizeof(int64_t), 0);
    REGRESS_CHECK(ch, "golf_chan_new");
    atomic_store(&parked_ret, 0);
    if (scenario == 7) {
        atomic_store(&pair_sum, 0);
        pthread_t t[4];
        pthread_create(&t[0], NULL, plain_recv, NULL);
        pthread_create(&t[1], NULL, plain_send, (void *)(intptr_t)3);
        pthread_create(&t[2], NULL, plain_recv, NULL);
        pthread_create(&t[3], NULL, plain_send, (void *)(intptr_t)4);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        REGRESS_CHECK(atomic_load(&pair_sum) == 7, "values lost or doubled: %d",
                      atomic_load(&pair_sum));
        golf_chan_free(ch);
        return;
    }
    bool sender_parks =
        scenario == 1 || scenario == 3 || scenario == 6 || scenario == 8 || scenario == 11;
    pthread_t t;
    if (scenario == 9) {
        atomic_store(&parked_started, 0);
        pthread_create(&t, NULL, parked, (void *)1);
        if (!race)
            regress_sleep_us(2000);
        while (!atomic_load(&parked_started)) /* racing: close while it sends */
            sched_yield();
        REGRESS_CHECK(golf_chan_close(ch) == GOLF_OK, "close");
        while (atomic_load(&parked_ret) == 0) {
            int64_t g = -1;
            int r = golf_chan_try_recv(ch, &g);
            REGRESS_CHECK(r == GOLF_ECLOSED && g == 0, "a closed channel gave %d, value %lld", r,
                          (long long)g);
        }
        pthread_join(t, NULL);
        REGRESS_CHECK(atomic_load(&parked_ret) - 1000 == GOLF_ECLOSED, "a send after close: %d",
                      atomic_load(&parked_ret) - 1000);
        golf_chan_free(ch);
        return;
    }
    atomic_store(&parked_started, 0);
    pthread_create(&t, NULL, parked, (void *)(intptr_t)sender_parks);
    if (!race)
        regress_sleep_us(2000);           /* parked by now, most likely past its spin */
    while (!atomic_load(&parked_started)) /* racing: arrive while it enters the slot */
        sched_yield();
    if (scenario >= 10) {
        int64_t v = 55, got = -1;
        if (scenario == 10)
            REGRESS_CHECK(golf_chan_send(ch, &v) == GOLF_OK, "send");
        else
            REGRESS_CHECK(golf_chan_recv(ch, &got) == GOLF_OK && got == 77, "recv");
        golf_chan_free(ch); /* the last user: the slot's waiter may still be inside golf */
        REGRESS_CHECK(wait_parked() == GOLF_OK, "scenario %d: the slot's waiter failed", scenario);
        pthread_join(t, NULL);
        REGRESS_CHECK(sender_parks || parked_val == 55, "received %lld", (long long)parked_val);
        return;
    }
    arrive();
    int r = wait_parked();
    pthread_join(t, NULL);
    if (scenario == 5 || scenario == 6) {
        REGRESS_CHECK(r == GOLF_ECLOSED, "scenario %d: %d, not GOLF_ECLOSED", scenario, r);
        REGRESS_CHECK(sender_parks || parked_val == 0, "closed receive not zeroed");
    } else {
        REGRESS_CHECK(r == GOLF_OK, "scenario %d: the slot's waiter got %d", scenario, r);
        REGRESS_CHECK(sender_parks || parked_val == 55, "scenario %d: received %lld", scenario,
                      (long long)parked_val);
    }
    golf_chan_free(ch);
}

/* ---- the stalled claimer ---- */

static int64_t *stall_src;
static atomic_int close_done;

static void *
stalled_sender(void *arg)
{
    (void)arg;
    REGRESS_CHECK(golf_chan_send(ch, stall_src) == GOLF_OK, "stalled send");
    return NULL;
}

static void *
closer(void *arg)
{
    (void)arg;
    REGRESS_CHECK(golf_chan_close(ch) == GOLF_OK, "close during the stall");
    atomic_store(&close_done, 1);
    return NULL;
}

static void
stall_round(void)
{
    ch = golf_chan_new(sizeof(int64_t), 0);
    REGRESS_CHECK(ch, "golf_chan_new");
    atomic_store(&parked_ret, 0);
    atomic_store(&close_done, 0);
    *stall_src = 99;
    pthread_t r, s, c;
    pthread_create(&r, NULL, parked, (void *)0);
    regress_sleep_us(20000); /* the receiver is in the slot */
    regress_stall_arm();
    pthread_create(&s, NULL, stalled_sender, NULL);
    REGRESS_CHECK(regress_stall_wait(10), "the sender never reached the stall page");
    regress_sleep_us(20000);
    REGRESS_CHECK(atomic_load(&parked_ret) == 0,
                  "a claimed receiver returned (%d) before its "
                  "claimer finished",
                  atomic_load(&parked_ret) - 1000);
    int64_t other = 0;
    REGRESS_CHECK(golf_chan_try_recv(ch, &other) == GOLF_EAGAIN, "try_recv during the stall");
    pthread_create(&c, NULL, closer, NULL);
    regress_sleep_us(20000);
    REGRESS_CHECK(atomic_load(&parked_ret) == 0, "the claimed receiver returned during a close");
    regress_stall_release();
    pthread_join(s, NULL);
    pthread_join(c, NULL);
    int got = wait_parked();
    pthread_join(r, NULL);
    REGRESS_CHECK(got == GOLF_OK && parked_val == 99,
                  "the claimed receiver got %d, value %lld (not the stalled sender's 99)", got,
                  (long long)parked_val);
    golf_chan_free(ch);
}

int
main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    regress_watchdog(300);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            regress_chaos_default_on();
        for (int i = 0; i < rounds; i++)
            for (scenario = 0; scenario < SCENARIOS; scenario++)
                round_one(i & 1);
    }
    bool on = atomic_load_explicit(&golf__chaos.on, memory_order_relaxed);
    if (on)
        REGRESS_CHECK(golf__chaos_hits(GOLF__SITE_ZERO_SLOT) > 0, "no waiter entered the slot");
    golf__chaos_set(0, 0);
    stall_src = regress_stall_page(sizeof *stall_src);
    for (int i = 0; i < 3; i++)
        stall_round();
    printf("chan_zero_slot: %d rounds of %d scenarios (chaos %s, ZERO_SLOT hit %llu times), "
           "and 3 stalled claimers: nothing lost, doubled or stranded\n",
           2 * rounds, SCENARIOS, on ? "on in the second half" : "off",
           (unsigned long long)golf__chaos_hits(GOLF__SITE_ZERO_SLOT));
    return 0;
}
