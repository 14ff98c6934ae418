/* SPDX-License-Identifier: MIT */
/* stress_chan_close_race [threads] [capacity] [seconds]
 *
 * Close racing with senders and receivers (hazards H1, H3, H4 of chan/README.md), in rounds until
 * the time is up: a fresh channel; half the threads send unique values in every form (send,
 * send_timeout, try_send, select) until the channel is closed, the others receive in every form
 * until GOLF_ECLOSED; the main thread closes at a random moment, then drains. Checks: every send
 * that returned GOLF_OK is received exactly once; no value is received that was not sent OK; a
 * closed receive zero-fills; a second close returns GOLF_ECLOSED. Capacity default: 0, 1, 2, 1024
 * in turn. Exit 0 when every round held, 1 otherwise. */
#include "chan_stress.h"
#include "golf/chan.h"

typedef struct {
    golf_chan *ch;
    int id;
    uint64_t seed;
    cs_bitmap *sent, *got;
    atomic_int *failed;
    long ops;
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
    for (uint32_t s = 0; s < CS_SEQ_MAX; s++) {
        uint64_t v = CS_VAL(a->id, s);
        int rc;
        switch (cs_rand(&a->seed) % 4) {
        case 0:
            rc = golf_chan_send(a->ch, &v);
            break;
        case 1:
            rc = golf_chan_send_timeout(a->ch, &v, cs_rand(&a->seed) % 100000);
            break;
        case 2:
            rc = golf_chan_try_send(a->ch, &v);
            break;
        default: {
            golf_case c[2] = {{.ch = NULL, .op = GOLF_SEND, .elem = &v},
                              {.ch = a->ch, .op = GOLF_SEND, .elem = &v}};
            int r = golf_select_timeout(c, 2, cs_rand(&a->seed) % 100000);
            if (r == 0)
                fail(a, "select chose the nil case", r);
            rc = r < 0 ? r : c[r].status;
        }
        }
        a->ops++;
        if (rc == GOLF_OK) {
            if (!cs_bitmap_set(a->sent, v))
                fail(a, "sent bit already set", (long)s);
        } else if (rc == GOLF_ECLOSED) {
            return NULL;
        } else if (rc != GOLF_ETIMEDOUT && rc != GOLF_EAGAIN) {
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
    for (;;) {
        uint64_t v = 0xDEADBEEFDEADBEEFu;
        int rc;
        switch (cs_rand(&a->seed) % 4) {
        case 0:
            rc = golf_chan_recv(a->ch, &v);
            break;
        case 1:
            rc = golf_chan_recv_timeout(a->ch, &v, cs_rand(&a->seed) % 100000);
            break;
        case 2:
            rc = golf_chan_try_recv(a->ch, &v);
            break;
        default: {
            golf_case c[2] = {{.ch = a->ch, .op = GOLF_RECV, .elem = &v},
                              {.ch = NULL, .op = GOLF_RECV, .elem = &v}};
            int r = golf_select_timeout(c, 2, cs_rand(&a->seed) % 100000);
            if (r == 1)
                fail(a, "select chose the nil case", r);
            rc = r < 0 ? r : c[r].status;
        }
        }
        a->ops++;
        if (rc == GOLF_OK) {
            if (!cs_bitmap_set(a->got, v))
                fail(a, "value received twice or garbage", (long)v);
        } else if (rc == GOLF_ECLOSED) {
            if (v != 0)
                fail(a, "closed receive did not zero-fill", (long)v);
            return NULL;
        } else if (rc != GOLF_ETIMEDOUT && rc != GOLF_EAGAIN) {
            fail(a, "recv returned", rc);
            return NULL;
        } else if (v != 0xDEADBEEFDEADBEEFu) {
            fail(a, "a failed receive wrote out", (long)v);
        }
    }
}

int
main(int argc, char **argv)
{
    cs_args args = cs_parse(argc, argv, 8, 2.0);
    static const long caps[] = {0, 1, 2, 1024};
    int nsend = args.threads / 2;
    cs_bitmap sent = cs_bitmap_new(nsend), got = cs_bitmap_new(nsend);
    atomic_int failed = 0;
    uint64_t seed = 12345, end = cs_now_ns() + (uint64_t)(args.seconds * 1e9);
    long rounds = 0, ops = 0;
    do {
        long cap = args.capacity >= 0 ? args.capacity : caps[rounds % 4];
        golf_chan *ch = golf_chan_new(sizeof(uint64_t), (size_t)cap);
        if (!ch)
            return fprintf(stderr, "golf_chan_new failed\n"), 1;
        cs_bitmap_clear(&sent);
        cs_bitmap_clear(&got);
        arg a[CS_MAX_THREADS];
        pthread_t t[CS_MAX_THREADS];
        for (int i = 0; i < args.threads; i++) {
            a[i] = (arg){.ch = ch,
                         .id = i < nsend ? i : i - nsend,
                         .seed = cs_rand(&seed),
                         .sent = &sent,
                         .got = &got,
                         .failed = &failed};
            cs_spawn(&t[i], i < nsend ? sender : receiver, &a[i]);
        }
        struct timespec d = {.tv_nsec = (long)(cs_rand(&seed) % 3000000)};
        nanosleep(&d, NULL);
        if (golf_chan_close(ch) != GOLF_OK)
            fprintf(stderr, "close failed\n"), atomic_store(&failed, 1);
        if (golf_chan_close(ch) != GOLF_ECLOSED)
            fprintf(stderr, "second close did not return GOLF_ECLOSED\n"), atomic_store(&failed, 1);
        for (int i = 0; i < args.threads; i++) {
            pthread_join(t[i], NULL);
            ops += a[i].ops;
        }
        uint64_t v;
        int rc;
        while ((rc = golf_chan_try_recv(ch, &v)) == GOLF_OK)
            if (!cs_bitmap_set(&got, v))
                fprintf(stderr, "drain: duplicate\n"), atomic_store(&failed, 1);
        if (rc != GOLF_ECLOSED)
            fprintf(stderr, "drained closed channel returned %d\n", rc), atomic_store(&failed, 1);
        if (cs_bitmap_compare(&sent, &got, "close race"))
            atomic_store(&failed, 1);
        golf_chan_free(ch);
        rounds++;
        if (atomic_load(&failed)) {
            fprintf(stderr, "FAILED in round %ld (capacity %ld)\n", rounds, cap);
            break;
        }
    } while (cs_now_ns() < end);
    cs_bitmap_free(&sent);
    cs_bitmap_free(&got);
    printf("chan_close_race: %d threads, %ld rounds, %ld ops: %s\n", args.threads, rounds, ops,
           atomic_load(&failed) ? "FAIL" : "ok");
    return atomic_load(&failed) ? 1 : 0;
}
