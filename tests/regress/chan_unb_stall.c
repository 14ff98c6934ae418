/* SPDX-License-Identifier: MIT */
/* Unbounded channels: a producer stalled mid-copy must not strand parked receivers.
 *
 * Two one-shot receivers park on an empty unbounded channel. Producer A reserves a position and
 * stalls inside its copy (its value sits on a PROT_NONE page; the SIGSEGV handler holds it).
 * Producer B sends the next position and completes. B's wake-up may go to the receiver that then
 * claims A's position and must wait for A: that receiver passes the wake-up on (U5), so the
 * other one takes B's value *while A is still stalled*. Then A is released and its value reaches
 * the waiting receiver. Variants: 8-byte values (63 slots a block) with A on an ordinary slot and
 * on the last slot of a block (A installs the next block before its copy, B sends into it), and
 * 4096-byte values (one slot a block); blocking receives and selects.
 *
 * golf-regress: one-cpu (also run under taskset -c 0)
 * Usage: regress_chan_unb_stall [rounds]  (exit 0: pass) */
#include "regress.h"

#include <pthread.h>

#include "golf/chan.h"

static golf_chan *ch;
static size_t elem;
static unsigned char *stall;
static atomic_int done_count;
static int use_select;

static void *
one_recv(void *arg)
{
    (void)arg;
    unsigned char *buf = malloc(elem);
    int r;
    if (!use_select) {
        r = golf_chan_recv(ch, buf);
    } else {
        golf_case c[2] = {{NULL, GOLF_RECV, NULL, 0}, {ch, GOLF_RECV, buf, 0}};
        r = golf_select(c, 2) == 1 ? c[1].status : -1000;
    }
    if (r != GOLF_OK)
        REGRESS_FAIL("receiver got %d", r);
    free(buf);
    atomic_fetch_add(&done_count, 1);
    return NULL;
}

static void *
stalled_send(void *arg)
{
    (void)arg;
    if (golf_chan_send(ch, stall) != GOLF_OK)
        REGRESS_FAIL("stalled send failed");
    return NULL;
}

static void
wait_done(int want, const char *what)
{
    double end = regress_now_s() + 10;
    while (atomic_load(&done_count) < want) {
        if (regress_now_s() > end)
            REGRESS_FAIL("%s: %d of %d one-shot receivers finished, len=%zu (one is stranded)",
                         what, atomic_load(&done_count), want, golf_chan_len(ch));
        regress_sleep_us(1000);
    }
}

/* skip: values sent and received first, so A's position is `skip` (mod the block). */
static void
round_once(size_t es, int skip, const char *what)
{
    elem = es;
    ch = golf_chan_new(es, GOLF_UNBOUNDED);
    REGRESS_CHECK(ch, "golf_chan_new");
    unsigned char *v = calloc(1, es);
    for (int i = 0; i < skip; i++)
        REGRESS_CHECK(golf_chan_send(ch, v) == GOLF_OK && golf_chan_recv(ch, v) == GOLF_OK, "skip");
    atomic_store(&done_count, 0);
    pthread_t r1, r2, a;
    pthread_create(&r1, NULL, one_recv, NULL);
    pthread_create(&r2, NULL, one_recv, NULL);
    regress_sleep_us(30000); /* both park */
    memset(stall, 7, es);
    regress_stall_arm();
    pthread_create(&a, NULL, stalled_send, NULL);
    REGRESS_CHECK(regress_stall_wait(10), "producer A did not stall");
    REGRESS_CHECK(golf_chan_send(ch, v) == GOLF_OK, "producer B");
    /* B's value is taken while A is still stalled: no receiver sleeps beside it. */
    wait_done(1, what);
    regress_stall_release();
    pthread_join(a, NULL);
    wait_done(2, what);
    pthread_join(r1, NULL);
    pthread_join(r2, NULL);
    REGRESS_CHECK(golf_chan_len(ch) == 0, "%s: len %zu at the end", what, golf_chan_len(ch));
    free(v);
    golf_chan_free(ch);
}

int
main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    regress_watchdog(300);
    stall = regress_stall_page(4096);
    for (int i = 0; i < rounds; i++) {
        for (use_select = 0; use_select < 2; use_select++) {
            round_once(8, 0, "8 bytes, first slot");
            round_once(8, 62, "8 bytes, last slot of a block");
            round_once(4096, 0, "4096 bytes, one slot a block");
            round_once(4096, 5, "4096 bytes, after five blocks");
        }
    }
    printf("chan_unb_stall: %d rounds x 8 scenarios: no stranded receiver\n", rounds);
    return 0;
}
