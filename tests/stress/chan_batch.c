/* SPDX-License-Identifier: MIT */
/* stress_chan_batch [threads] [capacity] [seconds]
 *
 * Batches mixed with single operations, and with a close, in rounds until the time is up: a
 * fresh channel; half the threads send unique values with golf_chan_send_many (random batch
 * sizes 1..70), golf_chan_send, try_send and a select send case; the others receive with
 * golf_chan_recv_many, try_recv_many (random max 1..70), golf_chan_recv and a select receive
 * case; one receiver also drains through the channel's notify fd now and then. The main thread
 * closes at a random moment, then drains. Checks: every value sent OK is received exactly once
 * (a send_many's *sent counts), nothing else is received, every consumer sees each producer's
 * values in order (batches included), *received is within 1..max, a closed receive reports
 * 0 values. Capacity default: 0, 1, 7, 64, 1024 and GOLF_UNBOUNDED in turn. Exit 0 when every round
 * held. */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "chan_stress.h"
#include "golf/chan.h"

enum { MAXB = 70 };

typedef struct {
    golf_chan *ch;
    int id, nprod;
    uint64_t seed;
    cs_bitmap *sent, *got;
    atomic_int *failed;
    long ops, batches;
} arg;

static void
fail(arg *a, const char *msg, long x)
{
    fprintf(stderr, "thread %d: %s (%ld)\n", a->id, msg, x);
    atomic_store(a->failed, 1);
}

static void *
sender(void *p)
{
    arg *a = p;
    uint64_t vals[MAXB];
    uint32_t seq = 0;
    while (seq + MAXB < CS_SEQ_MAX) {
        int form = (int)(cs_rand(&a->seed) % 8);
        size_t n = form < 5 ? 1 + cs_rand(&a->seed) % MAXB : 1;
        for (size_t i = 0; i < n; i++)
            vals[i] = CS_VAL(a->id, seq + i);
        size_t sent = 0;
        int rc;
        if (form < 5) {
            rc = golf_chan_send_many(a->ch, vals, n, &sent);
            a->batches++;
            if ((rc == GOLF_OK) != (sent == n) || sent > n)
                fail(a, "send_many: rc and *sent disagree", (long)sent);
        } else if (form == 5) {
            rc = golf_chan_send(a->ch, vals);
            sent = rc == GOLF_OK;
        } else if (form == 6) {
            rc = golf_chan_try_send(a->ch, vals);
            sent = rc == GOLF_OK;
        } else {
            golf_case c[2] = {{.ch = NULL, .op = GOLF_SEND, .elem = vals},
                              {.ch = a->ch, .op = GOLF_SEND, .elem = vals}};
            int r = golf_select_until(c, 2, cs_now_ns() + cs_rand(&a->seed) % 100000);
            rc = r < 0 ? r : c[r].status;
            sent = rc == GOLF_OK;
        }
        a->ops++;
        for (size_t i = 0; i < sent; i++)
            if (!cs_bitmap_set(a->sent, vals[i]))
                fail(a, "sent bit already set", (long)(seq + i));
        seq += (uint32_t)sent;
        if (rc == GOLF_ECLOSED)
            return NULL;
        if (rc != GOLF_OK && rc != GOLF_EAGAIN && rc != GOLF_ETIMEDOUT) {
            fail(a, "send returned", rc);
            return NULL;
        }
    }
    return NULL;
}

static void *
receiver(void *p)
{
    arg *a = p;
    uint64_t vals[MAXB];
    int64_t last[CS_MAX_THREADS];
    for (int i = 0; i < CS_MAX_THREADS; i++)
        last[i] = -1;
    int fd = -1;
    for (;;) {
        int form = (int)(cs_rand(&a->seed) % 8);
        size_t max = 1 + cs_rand(&a->seed) % MAXB, got = 0;
        int rc;
        if (form < 3) {
            rc = golf_chan_recv_many(a->ch, vals, max, &got);
            a->batches++;
        } else if (form < 5) {
            rc = golf_chan_try_recv_many(a->ch, vals, max, &got);
        } else if (form == 5) {
            rc = golf_chan_recv(a->ch, vals);
            got = rc == GOLF_OK;
        } else if (form == 6 && a->id == 0) {
            /* The notify fd: wait for it, read it, then a try. No assertion on readiness:
             * other receivers race us for every value. */
            if (fd < 0 && (fd = golf_chan_notify_fd(a->ch)) < 0)
                fail(a, "notify_fd", errno);
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            if (poll(&pf, 1, 1) == 1) {
                uint64_t cnt;
                if (read(fd, &cnt, sizeof cnt) != sizeof cnt && errno != EAGAIN)
                    fail(a, "read of the notify fd", errno);
            }
            rc = golf_chan_try_recv_many(a->ch, vals, max, &got);
        } else {
            golf_case c[2] = {{.ch = a->ch, .op = GOLF_RECV, .elem = vals},
                              {.ch = NULL, .op = GOLF_RECV, .elem = vals}};
            int r = golf_select_until(c, 2, cs_now_ns() + cs_rand(&a->seed) % 100000);
            rc = r < 0 ? r : c[r].status;
            got = rc == GOLF_OK;
        }
        a->ops++;
        if (rc == GOLF_OK) {
            if (got < 1 || got > max)
                fail(a, "received count out of range", (long)got);
            for (size_t i = 0; i < got && i < max; i++)
                if (!cs_check_received(a->got, last, vals[i], a->nprod, a->id))
                    atomic_store(a->failed, 1);
        } else if (rc == GOLF_ECLOSED) {
            if (got != 0 || vals[0] != 0)
                fail(a, "closed receive reported values or did not zero", (long)got);
            return NULL;
        } else if (rc != GOLF_EAGAIN && rc != GOLF_ETIMEDOUT) {
            fail(a, "recv returned", rc);
            return NULL;
        }
    }
}

int
main(int argc, char **argv)
{
    cs_args args = cs_parse(argc, argv, 6, 2.0);
    static const size_t caps[] = {0, 1, 7, 64, 1024, GOLF_UNBOUNDED};
    int nsend = args.threads / 2;
    cs_bitmap sent = cs_bitmap_new(nsend), got = cs_bitmap_new(nsend);
    atomic_int failed = 0;
    uint64_t seed = 777, end = cs_now_ns() + (uint64_t)(args.seconds * 1e9);
    long rounds = 0, ops = 0, batches = 0;
    do {
        size_t cap = args.capacity >= 0 ? (size_t)args.capacity : caps[rounds % 6];
        golf_chan *ch = golf_chan_new(sizeof(uint64_t), cap);
        if (!ch)
            return fprintf(stderr, "golf_chan_new failed\n"), 1;
        cs_bitmap_clear(&sent);
        cs_bitmap_clear(&got);
        arg a[CS_MAX_THREADS];
        pthread_t t[CS_MAX_THREADS];
        for (int i = 0; i < args.threads; i++) {
            a[i] = (arg){.ch = ch,
                         .id = i < nsend ? i : i - nsend,
                         .nprod = nsend,
                         .seed = cs_rand(&seed),
                         .sent = &sent,
                         .got = &got,
                         .failed = &failed};
            cs_spawn(&t[i], i < nsend ? sender : receiver, &a[i]);
        }
        struct timespec d = {.tv_nsec = (long)(cs_rand(&seed) % 20000000)};
        nanosleep(&d, NULL);
        if (golf_chan_close(ch) != GOLF_OK)
            fprintf(stderr, "close failed\n"), atomic_store(&failed, 1);
        for (int i = 0; i < args.threads; i++) {
            pthread_join(t[i], NULL);
            ops += a[i].ops;
            batches += a[i].batches;
        }
        uint64_t v[MAXB];
        size_t k;
        int rc;
        while ((rc = golf_chan_try_recv_many(ch, v, MAXB, &k)) == GOLF_OK)
            for (size_t i = 0; i < k; i++)
                if (!cs_bitmap_set(&got, v[i]))
                    fprintf(stderr, "drain: duplicate\n"), atomic_store(&failed, 1);
        if (rc != GOLF_ECLOSED)
            fprintf(stderr, "drained closed channel returned %d\n", rc), atomic_store(&failed, 1);
        if (cs_bitmap_compare(&sent, &got, "batch"))
            atomic_store(&failed, 1);
        golf_chan_free(ch);
        rounds++;
        if (atomic_load(&failed)) {
            fprintf(stderr, "FAILED in round %ld (capacity %zu)\n", rounds, cap);
            break;
        }
    } while (cs_now_ns() < end);
    cs_bitmap_free(&sent);
    cs_bitmap_free(&got);
    printf("chan_batch: %d threads, %ld rounds, %ld ops (%ld batches): %s\n", args.threads, rounds,
           ops, batches, atomic_load(&failed) ? "FAIL" : "ok");
    return atomic_load(&failed) ? 1 : 0;
}
