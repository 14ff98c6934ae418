/* SPDX-License-Identifier: MIT */
/* stress_chan_select_race [threads] [capacity] [seconds]
 *
 * Select racing with close and timeouts (hazards H2, H4, H7 of chan/README.md), in rounds: two
 * channels A and B; senders select-send unique values over {A, B, A} (a duplicate case) with random
 * timeouts (0 included), receivers select-receive over {B, A, nil} the same way; the main thread
 * closes A and then B at random moments. A case that reports GOLF_ECLOSED makes that thread drop
 * the channel (a nil case from then on). Checks: every select that returned a case with GOLF_OK
 * moved exactly that value; timed-out selects moved nothing; nothing lost or duplicated;
 * GOLF_ECLOSED only after the close; the nil case never chosen. Capacity default: 0, 1, 2, 1024 in
 * turn. */
#include "chan_stress.h"
#include "golf/chan.h"

typedef struct {
    golf_chan *ch[2];
    atomic_int *closed; /* [2]: set by main just before closing */
    int id;
    uint64_t seed;
    cs_bitmap *sent, *got;
    atomic_int *failed;
    long ops, timeouts;
} arg;

static void
fail(arg *a, const char *msg, long x)
{
    fprintf(stderr, "thread %d: %s (%ld)\n", a->id, msg, x);
    atomic_store(a->failed, 1);
}

static uint64_t
pick_timeout(arg *a)
{
    uint64_t r = cs_rand(&a->seed);
    return r % 8 == 0 ? 0 : r % 200000; /* 0 .. 200 us, zero 1/8 of the time */
}

static void *
sender(void *p)
{
    arg *a = p;
    golf_chan *ch[2] = {a->ch[0], a->ch[1]};
    for (uint32_t s = 0; s < CS_SEQ_MAX && (ch[0] || ch[1]);) {
        uint64_t v = CS_VAL(a->id, s);
        golf_case c[3] = {{.ch = ch[0], .op = GOLF_SEND, .elem = &v},
                          {.ch = ch[1], .op = GOLF_SEND, .elem = &v},
                          {.ch = ch[0], .op = GOLF_SEND, .elem = &v}};
        int r = (cs_rand(&a->seed) & 3) == 0 ? golf_select_try(c, 3)
                                             : golf_select_timeout(c, 3, pick_timeout(a));
        a->ops++;
        if (r == GOLF_ETIMEDOUT || r == GOLF_EAGAIN) {
            a->timeouts++;
            continue;
        }
        if (r < 0 || r > 2) {
            fail(a, "select returned", r);
            return NULL;
        }
        int which = r == 1;
        if (c[r].status == GOLF_ECLOSED) {
            if (!atomic_load(&a->closed[which]))
                fail(a, "GOLF_ECLOSED before close", which);
            ch[which] = NULL;
            continue;
        }
        if (c[r].status != GOLF_OK) {
            fail(a, "status", c[r].status);
            return NULL;
        }
        if (!cs_bitmap_set(a->sent, v))
            fail(a, "sent twice", (long)s);
        s++;
    }
    return NULL;
}

static void *
receiver(void *p)
{
    arg *a = p;
    golf_chan *ch[2] = {a->ch[0], a->ch[1]};
    while (ch[0] || ch[1]) {
        uint64_t v = 0xDEADBEEFDEADBEEFu, w = 0xDEADBEEFDEADBEEFu;
        golf_case c[3] = {{.ch = ch[1], .op = GOLF_RECV, .elem = &v},
                          {.ch = ch[0], .op = GOLF_RECV, .elem = &v},
                          {.ch = NULL, .op = GOLF_RECV, .elem = &w}};
        int r = (cs_rand(&a->seed) & 3) == 0 ? golf_select_try(c, 3)
                                             : golf_select_timeout(c, 3, pick_timeout(a));
        a->ops++;
        if (r == GOLF_ETIMEDOUT || r == GOLF_EAGAIN) {
            a->timeouts++;
            if (v != 0xDEADBEEFDEADBEEFu)
                fail(a, "a timed-out select wrote its buffer", (long)v);
            continue;
        }
        if (r < 0 || r > 1) {
            fail(a, "select returned", r);
            return NULL;
        }
        int which = r == 0;
        if (c[r].status == GOLF_ECLOSED) {
            if (!atomic_load(&a->closed[which]))
                fail(a, "GOLF_ECLOSED before close", which);
            if (v != 0)
                fail(a, "closed receive did not zero-fill", (long)v);
            ch[which] = NULL;
            continue;
        }
        if (c[r].status != GOLF_OK || !cs_bitmap_set(a->got, v))
            fail(a, "bad or duplicate value", (long)v);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    cs_args args = cs_parse(argc, argv, 8, 2.0);
    static const long caps[] = {0, 1, 2, 1024};
    int nsend = args.threads / 2;
    cs_bitmap sent = cs_bitmap_new(nsend), got = cs_bitmap_new(nsend);
    atomic_int failed = 0;
    uint64_t seed = 777, end = cs_now_ns() + (uint64_t)(args.seconds * 1e9);
    long rounds = 0, ops = 0, timeouts = 0;
    do {
        long cap = args.capacity >= 0 ? args.capacity : caps[rounds % 4];
        golf_chan *ch[2] = {golf_chan_new(sizeof(uint64_t), (size_t)cap),
                            golf_chan_new(sizeof(uint64_t), (size_t)cap)};
        atomic_int closed[2] = {0, 0};
        cs_bitmap_clear(&sent);
        cs_bitmap_clear(&got);
        arg a[CS_MAX_THREADS];
        pthread_t t[CS_MAX_THREADS];
        for (int i = 0; i < args.threads; i++) {
            a[i] = (arg){.ch = {ch[0], ch[1]},
                         .closed = closed,
                         .id = i < nsend ? i : i - nsend,
                         .seed = cs_rand(&seed),
                         .sent = &sent,
                         .got = &got,
                         .failed = &failed};
            cs_spawn(&t[i], i < nsend ? sender : receiver, &a[i]);
        }
        for (int k = 0; k < 2; k++) {
            struct timespec d = {.tv_nsec = (long)(cs_rand(&seed) % 4000000)};
            nanosleep(&d, NULL);
            atomic_store(&closed[k], 1);
            if (golf_chan_close(ch[k]) != GOLF_OK)
                fprintf(stderr, "close failed\n"), atomic_store(&failed, 1);
        }
        for (int i = 0; i < args.threads; i++) {
            pthread_join(t[i], NULL);
            ops += a[i].ops;
            timeouts += a[i].timeouts;
        }
        for (int k = 0; k < 2; k++) {
            uint64_t v;
            int rc;
            while ((rc = golf_chan_try_recv(ch[k], &v)) == GOLF_OK)
                if (!cs_bitmap_set(&got, v))
                    fprintf(stderr, "drain: duplicate\n"), atomic_store(&failed, 1);
            if (rc != GOLF_ECLOSED)
                fprintf(stderr, "drained closed channel returned %d\n", rc),
                    atomic_store(&failed, 1);
            golf_chan_free(ch[k]);
        }
        if (cs_bitmap_compare(&sent, &got, "select race"))
            atomic_store(&failed, 1);
        rounds++;
        if (atomic_load(&failed)) {
            fprintf(stderr, "FAILED in round %ld (capacity %ld)\n", rounds, cap);
            break;
        }
    } while (cs_now_ns() < end);
    cs_bitmap_free(&sent);
    cs_bitmap_free(&got);
    printf("chan_select_race: %d threads, %ld rounds, %ld selects (%ld timed out): %s\n",
           args.threads, rounds, ops, timeouts, atomic_load(&failed) ? "FAIL" : "ok");
    return atomic_load(&failed) ? 1 : 0;
}
