/* SPDX-License-Identifier: MIT */
/* Bug: a buffered wake-up spent on a slot still being filled (or emptied) was lost.
 *
 * Two one-shot receivers park on an empty channel. Producer A reserves slot 0 and stalls inside
 * its copy (its value sits on a PROT_NONE page; the SIGSEGV handler holds it). Producer B sends
 * into slot 1 and completes: its wake-up goes to a receiver that cannot take slot 0 yet. Then A
 * finishes. Both values must reach both receivers. Before the fix one receiver slept forever
 * with len == 1 (its wake-up had been used up on the stalled slot).
 *
 * The mirror for senders: a full channel, two one-shot senders parked, consumer A stalls inside
 * its copy out of slot 0 (its buffer is the PROT_NONE page), consumer B takes slot 1. Both
 * senders must complete. Each scenario runs with blocking calls and with select.
 *
 * golf-regress: one-cpu (also run under taskset -c 0)
 * Usage: regress_chan_lost_wakeup [rounds]  (exit 0: pass) */
#include "regress.h"

#include <pthread.h>

#include "golf/chan.h"

enum { ELEM = 4096 };

static golf_chan *ch;
static unsigned char *stall; /* one page: the stalled thread's value or buffer */
static atomic_int done_count;
static int use_select;

static int
do_recv(void *out)
{
    if (!use_select)
        return golf_chan_recv(ch, out);
    golf_case c[2] = {{NULL, GOLF_RECV, NULL, 0}, {ch, GOLF_RECV, out, 0}};
    int k = golf_select(c, 2);
    return k == 1 ? c[1].status : -1000;
}

static int
do_send(const void *v)
{
    if (!use_select)
        return golf_chan_send(ch, v);
    golf_case c[2] = {{ch, GOLF_SEND, (void *)v, 0}, {NULL, GOLF_RECV, NULL, 0}};
    int k = golf_select(c, 2);
    return k == 0 ? c[0].status : -1000;
}

static void *
one_recv(void *arg)
{
    (void)arg;
    unsigned char *buf = malloc(ELEM);
    int r = do_recv(buf);
    if (r != GOLF_OK)
        REGRESS_FAIL("receiver got %d", r);
    free(buf);
    atomic_fetch_add(&done_count, 1);
    return NULL;
}

static void *
one_send(void *arg)
{
    (void)arg;
    unsigned char *buf = calloc(1, ELEM);
    int r = do_send(buf);
    if (r != GOLF_OK)
        REGRESS_FAIL("sender got %d", r);
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

static void *
stalled_recv(void *arg)
{
    (void)arg;
    if (golf_chan_recv(ch, stall) != GOLF_OK)
        REGRESS_FAIL("stalled recv failed");
    return NULL;
}

static void
wait_done(int want, const char *what)
{
    double end = regress_now_s() + 10;
    while (atomic_load(&done_count) < want) {
        if (regress_now_s() > end)
            REGRESS_FAIL("%s: %d of %d one-shot waiters finished, len=%zu (a waiter is stranded)",
                         what, atomic_load(&done_count), want, golf_chan_len(ch));
        regress_sleep_us(1000);
    }
}

static void
receivers_round(void)
{
    ch = golf_chan_new(ELEM, 4);
    REGRESS_CHECK(ch, "golf_chan_new");
    atomic_store(&done_count, 0);
    pthread_t r1, r2, a;
    pthread_create(&r1, NULL, one_recv, NULL);
    pthread_create(&r2, NULL, one_recv, NULL);
    regress_sleep_us(30000); /* both park */
    memset(stall, 7, ELEM);
    regress_stall_arm();
    pthread_create(&a, NULL, stalled_send, NULL);
    REGRESS_CHECK(regress_stall_wait(10), "producer A did not stall");
    unsigned char *v = calloc(1, ELEM);
    REGRESS_CHECK(golf_chan_send(ch, v) == GOLF_OK, "producer B");
    free(v);
    regress_sleep_us(30000); /* B's wake-up is spent (the woken receiver re-parks) */
    regress_stall_release();
    pthread_join(a, NULL);
    wait_done(2, use_select ? "receivers (select)" : "receivers");
    pthread_join(r1, NULL);
    pthread_join(r2, NULL);
    golf_chan_free(ch);
}

static void
senders_round(void)
{
    ch = golf_chan_new(ELEM, 2);
    REGRESS_CHECK(ch, "golf_chan_new");
    unsigned char *v = calloc(1, ELEM);
    REGRESS_CHECK(golf_chan_send(ch, v) == GOLF_OK && golf_chan_send(ch, v) == GOLF_OK, "fill");
    atomic_store(&done_count, 0);
    pthread_t s1, s2, a;
    pthread_create(&s1, NULL, one_send, NULL);
    pthread_create(&s2, NULL, one_send, NULL);
    regress_sleep_us(30000); /* both park: full */
    regress_stall_arm();
    pthread_create(&a, NULL, stalled_recv, NULL);
    REGRESS_CHECK(regress_stall_wait(10), "consumer A did not stall");
    REGRESS_CHECK(golf_chan_recv(ch, v) == GOLF_OK, "consumer B");
    regress_sleep_us(30000);
    regress_stall_release();
    pthread_join(a, NULL);
    wait_done(2, use_select ? "senders (select)" : "senders");
    pthread_join(s1, NULL);
    pthread_join(s2, NULL);
    /* The two values the senders added are there. */
    REGRESS_CHECK(golf_chan_len(ch) == 2, "len %zu after the senders", golf_chan_len(ch));
    free(v);
    golf_chan_free(ch);
}

int
main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    regress_watchdog(300);
    stall = regress_stall_page(ELEM);
    for (int i = 0; i < rounds; i++) {
        for (use_select = 0; use_select < 2; use_select++) {
            receivers_round();
            senders_round();
        }
    }
    printf("chan_lost_wakeup: %d rounds x 4 scenarios: no stranded waiter\n", rounds);
    return 0;
}
