/* SPDX-License-Identifier: MIT */
/* Bug: receivers blocked on a closed channel whose head slot a descheduled producer is still
 * filling burnt a CPU (register, fence, see "closed", abort, retry, forever) instead of
 * sleeping. A blocked thread must use no CPU (chan/README.md, "Progress").
 *
 * A producer reserves slot 0 and stalls inside its copy (value on a PROT_NONE page); the
 * channel is closed; four receivers block. Over one second their CPU time must stay small
 * (they sleep; before the fix each spun at ~0.25 CPU-s/s). Then the producer finishes: exactly
 * one receiver gets its value, the other three GOLF_ECLOSED, and all return (one-shot: no later
 * close wakes them). Odd rounds close while the receivers are already parked: the close must
 * wake them without handing out GOLF_ECLOSED while a value is still being written.
 * Usage: regress_chan_closed_spin [rounds] */
#include "regress.h"

#include <pthread.h>
#include <time.h>

#include "golf/chan.h"

enum { ELEM = 4096, NRECV = 4 };

static golf_chan *ch;
static unsigned char *stall;
static atomic_int got_value, got_closed;
static clockid_t clocks[NRECV];
static atomic_int started;

static void *
receiver(void *arg)
{
    int i = (int)(intptr_t)arg;
    pthread_getcpuclockid(pthread_self(), &clocks[i]);
    atomic_fetch_add(&started, 1);
    unsigned char *buf = malloc(ELEM);
    int r = golf_chan_recv(ch, buf);
    if (r == GOLF_OK) {
        REGRESS_CHECK(buf[0] == 9 && buf[ELEM - 1] == 9, "value corrupted");
        atomic_fetch_add(&got_value, 1);
    } else if (r == GOLF_ECLOSED) {
        atomic_fetch_add(&got_closed, 1);
    } else {
        REGRESS_FAIL("recv returned %d", r);
    }
    free(buf);
    return NULL;
}

static void *
stalled_send(void *arg)
{
    (void)arg;
    REGRESS_CHECK(golf_chan_send(ch, stall) == GOLF_OK, "stalled send");
    return NULL;
}

static double
cpu_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 2;
    regress_watchdog(300);
    stall = regress_stall_page(ELEM);
    for (int round = 0; round < rounds; round++) {
        ch = golf_chan_new(ELEM, 4);
        REGRESS_CHECK(ch, "golf_chan_new");
        atomic_store(&got_value, 0);
        atomic_store(&got_closed, 0);
        atomic_store(&started, 0);
        memset(stall, 9, ELEM);
        regress_stall_arm();
        pthread_t p, r[NRECV];
        pthread_create(&p, NULL, stalled_send, NULL);
        REGRESS_CHECK(regress_stall_wait(10), "producer did not stall");
        /* Even rounds close first; odd rounds close while the receivers are already parked
         * (the close must not hand them GOLF_ECLOSED: a value is still coming). */
        bool close_first = (round & 1) == 0;
        if (close_first)
            REGRESS_CHECK(golf_chan_close(ch) == GOLF_OK, "close");
        for (int i = 0; i < NRECV; i++)
            pthread_create(&r[i], NULL, receiver, (void *)(intptr_t)i);
        while (atomic_load(&started) < NRECV)
            regress_sleep_us(1000);
        if (!close_first) {
            regress_sleep_us(50000); /* they park */
            REGRESS_CHECK(golf_chan_close(ch) == GOLF_OK, "close");
        }
        regress_sleep_us(100000); /* settle into their waits */
        double before[NRECV];
        for (int i = 0; i < NRECV; i++)
            before[i] = cpu_s(clocks[i]);
        regress_sleep_us(1000000);
        double worst = 0;
        for (int i = 0; i < NRECV; i++) {
            double used = cpu_s(clocks[i]) - before[i];
            if (used > worst)
                worst = used;
        }
        /* A sleeping thread uses ~0; a spinning one up to 0.5 s of this second (2 cores). The
         * bound is loose so that sanitizer builds and a loaded machine pass. */
        REGRESS_CHECK(worst < 0.05,
                      "a receiver blocked on a closed channel used %.3f CPU-s in 1 s (spinning)",
                      worst);
        REGRESS_CHECK(atomic_load(&got_value) + atomic_load(&got_closed) == 0,
                      "a receiver returned before the producer finished");
        regress_stall_release();
        pthread_join(p, NULL);
        double end = regress_now_s() + 10;
        while (atomic_load(&got_value) + atomic_load(&got_closed) < NRECV) {
            if (regress_now_s() > end)
                REGRESS_FAIL("%d of %d receivers returned (stranded)",
                             atomic_load(&got_value) + atomic_load(&got_closed), NRECV);
            regress_sleep_us(1000);
        }
        for (int i = 0; i < NRECV; i++)
            pthread_join(r[i], NULL);
        REGRESS_CHECK(atomic_load(&got_value) == 1 && atomic_load(&got_closed) == NRECV - 1,
                      "value %d closed %d", atomic_load(&got_value), atomic_load(&got_closed));
        golf_chan_free(ch);
        printf("round %d: worst receiver CPU while blocked %.4f s in 1 s\n", round, worst);
    }
    printf("chan_closed_spin: pass\n");
    return 0;
}
