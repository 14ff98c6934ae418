/* SPDX-License-Identifier: MIT */
/* Bug: use-after-free when the last user frees a channel right after its operation returned
 * (Go's done-channel idiom). golf's last touch of a channel must come before any operation it
 * completes can return elsewhere (chan/README.md I7):
 *   - close: a receiver that gets GOLF_ECLOSED frees the channel while the closer is still
 *     waking waiters (buffered and unbuffered; polling and parked receivers);
 *   - unbuffered hand-off: the sender frees after its send returned while the receiver is still
 *     inside golf, and the reverse, whichever of the two parked first;
 *   - a select with two cases on one unbuffered channel, completed by a peer that then frees.
 * Run under ASan (the asan preset): a late touch is a heap-use-after-free report. In the other
 * builds it checks the values and that nothing hangs.
 * golf-regress: one-cpu (also run under taskset -c 0)
 * Usage: regress_chan_lifetime [iters [scenario 0-5]] */
#include "regress.h"

#include <pthread.h>
#include <sched.h>

#include "golf/chan.h"

typedef struct {
    golf_chan *ch;
    int mode;
    atomic_int *left; /* receivers still to return; the last one frees */
    long value;
} job;

static void
maybe_yield(unsigned i)
{
    if (i & 1)
        sched_yield();
}

/* Worker side of each scenario. */
static void *
worker(void *arg)
{
    job *j = arg;
    long v = 0;
    switch (j->mode) {
    case 0: /* closer: the receiver frees on ECLOSED */
    case 1:
        maybe_yield((unsigned)j->value);
        REGRESS_CHECK(golf_chan_close(j->ch) == GOLF_OK, "close");
        break;
    case 2: /* receiver; the sender frees after its send returned */
        REGRESS_CHECK(golf_chan_recv(j->ch, &v) == GOLF_OK && v == j->value, "recv");
        break;
    case 3: /* sender; the receiver frees after its receive returned */
        REGRESS_CHECK(golf_chan_send(j->ch, &j->value) == GOLF_OK, "send");
        break;
    case 4: { /* a select on two receive cases of one channel; the sender frees */
        long a = 0, b = 0;
        golf_case c[2] = {{j->ch, GOLF_RECV, &a, 0}, {j->ch, GOLF_RECV, &b, 0}};
        int k = golf_select(c, 2);
        REGRESS_CHECK(k == 0 || k == 1, "select %d", k);
        REGRESS_CHECK(c[k].status == GOLF_OK && (k ? b : a) == j->value, "select value");
        break;
    }
    case 5: /* one of several parked receivers on a closed channel: the last frees */
        REGRESS_CHECK(golf_chan_recv(j->ch, &v) == GOLF_ECLOSED, "recv after close");
        if (atomic_fetch_sub(j->left, 1) == 1)
            golf_chan_free(j->ch);
        break;
    }
    return NULL;
}

static void
run(int mode, size_t cap, int iters)
{
    for (int i = 0; i < iters; i++) {
        golf_chan *ch = golf_chan_new(sizeof(long), cap);
        REGRESS_CHECK(ch, "golf_chan_new");
        job j = {ch, mode, NULL, 1000 + i};
        long v = 0;
        if (mode == 5) {
            enum { N = 3 };
            atomic_int left = N;
            job js[N];
            pthread_t t[N];
            for (int k = 0; k < N; k++) {
                js[k] = (job){ch, 5, &left, 0};
                pthread_create(&t[k], NULL, worker, &js[k]);
            }
            if (i & 1)
                regress_sleep_us(200); /* let them park */
            REGRESS_CHECK(golf_chan_close(ch) == GOLF_OK, "close");
            for (int k = 0; k < N; k++)
                pthread_join(t[k], NULL);
            continue; /* freed by the last receiver */
        }
        pthread_t t;
        pthread_create(&t, NULL, worker, &j);
        if ((i & 2) && mode >= 2)
            regress_sleep_us(100); /* the worker parks first; else we do, or we race */
        switch (mode) {
        case 0: /* polling receiver */
            for (;;) {
                int r = golf_chan_try_recv(ch, &v);
                if (r == GOLF_ECLOSED)
                    break;
                REGRESS_CHECK(r == GOLF_EAGAIN, "try_recv %d", r);
            }
            break;
        case 1: /* blocking receiver */
            REGRESS_CHECK(golf_chan_recv(ch, &v) == GOLF_ECLOSED, "recv");
            break;
        case 2:
        case 4:
            REGRESS_CHECK(golf_chan_send(ch, &j.value) == GOLF_OK, "send");
            break;
        case 3:
            REGRESS_CHECK(golf_chan_recv(ch, &v) == GOLF_OK && v == j.value, "recv value");
            break;
        }
        golf_chan_free(ch); /* our operation returned: every other user is done */
        pthread_join(t, NULL);
    }
}

int
main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 400;
    int only = argc > 2 ? atoi(argv[2]) : -1; /* run one scenario */
    regress_watchdog(500);
    static const char *names[] = {
        "close->polling ECLOSED->free",         "close->blocked ECLOSED->free",
        "unbuffered: send returns->free",       "unbuffered: recv returns->free",
        "select(2 cases, one chan) peer frees", "close->3 parked receivers, last frees"};
    for (int mode = 0; mode < 6; mode++) {
        if (only >= 0 && mode != only)
            continue;
        if (mode <= 1 || mode == 5) {
            run(mode, 0, iters);
            run(mode, 4, iters);
        } else {
            run(mode, 0, iters);
        }
        printf("%s: %d iterations ok\n", names[mode], iters);
    }
    printf("chan_lifetime: pass\n");
    return 0;
}
