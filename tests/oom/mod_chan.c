/* SPDX-License-Identifier: MIT */
/* Channels under a failing malloc, from a cold process: new, send, receive, close and free of
 * buffered and unbuffered channels, and a process's first selects over 64 cases (oom.h).
 *
 * Only golf_chan_new (NULL + ENOMEM), a select over more than 16 cases and a send on an
 * unbounded channel (GOLF_ENOMEM) may answer "out of memory"; every other call must behave
 * exactly as with memory. A select or a send that answers GOLF_ENOMEM must have moved nothing. */
#include "oom.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "golf/chan.h"

static bool
chan_works(void)
{
    golf_chan *ch = golf_chan_new(sizeof(long), 1);
    if (ch == NULL)
        return false;
    long v = 5, w = 0;
    bool ok = golf_chan_send(ch, &v) == GOLF_OK && golf_chan_recv(ch, &w) == GOLF_OK && w == 5;
    golf_chan_free(ch);
    return ok;
}

static golf_chan *
c_new(size_t elem_size, size_t cap)
{
    golf_chan *ch = golf_chan_new(elem_size, cap);
    if (!OOM_PTR(ch, "golf_chan_new"))
        oom_recovered(chan_works);
    return ch;
}

/* ---- a peer thread, created before the sweep starts; its golf calls are swept ---- */

enum { PEER_SEND = 1, PEER_RECV = 2 };
static golf_chan *peer_ch;
static _Atomic int peer_op;   /* set by the main thread: what the peer does next */
static _Atomic int peer_stop; /* give up (the main side answered out of memory) */
static _Atomic int peer_done; /* 1: completed; -1: gave up */
static long peer_value;

static void *
peer_main(void *arg)
{
    (void)arg;
    while (atomic_load(&peer_op) == 0)
        usleep(100);
    int op = atomic_load(&peer_op);
    for (;;) {
        int rc = op == PEER_SEND ? golf_chan_send_timeout(peer_ch, &peer_value, 1000000)
                                 : golf_chan_recv_timeout(peer_ch, &peer_value, 1000000);
        if (rc == GOLF_OK) {
            atomic_store(&peer_done, 1);
            return NULL;
        }
        if (rc != GOLF_ETIMEDOUT)
            OOM_FAIL("peer: %s_timeout returned %d", op == PEER_SEND ? "send" : "recv", rc);
        if (atomic_load(&peer_stop)) {
            atomic_store(&peer_done, -1);
            return NULL;
        }
    }
}

static pthread_t
peer_create(void)
{
    pthread_t t;
    OOM_CHECK(pthread_create(&t, NULL, peer_main, NULL) == 0, "pthread_create (setup)");
    return t;
}

/* Every operation of buffered and unbuffered channels, from the first golf_chan_new on. */
static void
ops(void)
{
    pthread_t peer = peer_create();
    oom_start();
    golf_chan *b = c_new(sizeof(long), 4);
    golf_chan *u = c_new(sizeof(long), 0);
    golf_chan *z = c_new(0, 2); /* chan struct{} */
    long v, w;
    for (v = 1; v <= 4; v++)
        OOM_CHECK(golf_chan_send(b, &v) == GOLF_OK, "buffered send %ld", v);
    OOM_CHECK(golf_chan_try_send(b, &v) == GOLF_EAGAIN, "try_send on a full channel");
    OOM_CHECK(golf_chan_send_timeout(b, &v, 100000) == GOLF_ETIMEDOUT, "send_timeout, full");
    OOM_CHECK(golf_chan_recv(b, &w) == GOLF_OK && w == 1, "recv: %ld", w);
    OOM_CHECK(golf_chan_try_recv(b, &w) == GOLF_OK && w == 2, "try_recv: %ld", w);
    OOM_CHECK(golf_chan_len(b) == 2 && golf_chan_cap(b) == 4, "len/cap");
    OOM_CHECK(golf_chan_send(z, NULL) == GOLF_OK && golf_chan_recv(z, NULL) == GOLF_OK, "struct{}");
    /* Batches, deadlines and the notify fd allocate nothing of golf's heap (the eventfd is the
     * kernel's): they must work as with memory. */
    long vs[4] = {1, 2, 3, 4}, ws[4] = {0, 0, 0, 0};
    size_t k = 0;
    int nfd = golf_chan_notify_fd(z);
    OOM_CHECK(nfd >= 0 && golf_chan_notify_fd(z) == nfd, "notify_fd");
    OOM_CHECK(golf_chan_send_many(z, NULL, 2, &k) == GOLF_OK && k == 2, "send_many struct{}");
    OOM_CHECK(golf_chan_recv_many(z, NULL, 4, &k) == GOLF_OK && k == 2, "recv_many struct{}");
    OOM_CHECK(golf_chan_recv_many(b, ws, 4, &k) == GOLF_OK && k == 2 && ws[0] == 3 && ws[1] == 4,
              "recv_many: %zu", k);
    OOM_CHECK(golf_chan_send_many(b, vs, 4, &k) == GOLF_OK && k == 4, "send_many");
    OOM_CHECK(golf_chan_send_until(b, &v, 0) == GOLF_ETIMEDOUT, "send_until, full");
    OOM_CHECK(golf_chan_recv_until(b, &w, 0) == GOLF_OK && w == 1, "recv_until 1");
    OOM_CHECK(golf_chan_recv_until(b, &w, 0) == GOLF_OK && w == 2, "recv_until 2");

    /* Unbuffered: the peer receives one value, then the main thread receives one. */
    peer_ch = u;
    atomic_store(&peer_op, PEER_RECV);
    v = 42;
    OOM_CHECK(golf_chan_send(u, &v) == GOLF_OK, "unbuffered send");
    pthread_join(peer, NULL);
    OOM_CHECK(atomic_load(&peer_done) == 1 && peer_value == 42, "peer got %ld", peer_value);
    OOM_CHECK(golf_chan_recv_timeout(u, &w, 100000) == GOLF_ETIMEDOUT, "unbuffered recv_timeout");

    OOM_CHECK(golf_chan_close(b) == GOLF_OK && golf_chan_close(u) == GOLF_OK, "close");
    OOM_CHECK(golf_chan_close(b) == GOLF_ECLOSED, "second close");
    OOM_CHECK(golf_chan_send(b, &v) == GOLF_ECLOSED, "send after close");
    OOM_CHECK(golf_chan_recv(b, &w) == GOLF_OK && w == 3, "drain 3");
    OOM_CHECK(golf_chan_recv(b, &w) == GOLF_OK && w == 4, "drain 4");
    w = 9;
    OOM_CHECK(golf_chan_recv(b, &w) == GOLF_ECLOSED && w == 0, "recv after drain");
    OOM_CHECK(golf_chan_recv(u, &w) == GOLF_ECLOSED, "unbuffered recv after close");
    golf_chan_free(b);
    golf_chan_free(u);
    golf_chan_free(z);
    oom_disarm();
    OOM_CHECK(chan_works(), "a channel after the run");
}

/* A process's first selects: 64 cases, so the waiter nodes come from the heap. */
enum { NB = 32, NU = 32, NCASES = NB + NU, FULL = 16 };

static golf_chan *buf[NB], *unb[NU];
static golf_case cases[NCASES];
static long vals[NCASES];

static void
lens(size_t out[NB])
{
    for (int i = 0; i < NB; i++)
        out[i] = golf_chan_len(buf[i]);
}

static void
same_lens(const size_t before[NB], int except, const char *what)
{
    size_t now[NB];
    lens(now);
    for (int i = 0; i < NB; i++)
        OOM_CHECK(now[i] == before[i] - (i == except), "%s: buffered channel %d has %zu, not %zu",
                  what, i, now[i], before[i] - (i == except));
}

static void
select64(void)
{
    pthread_t peer = peer_create();
    oom_start();
    for (int i = 0; i < NB; i++)
        buf[i] = c_new(sizeof(long), 1);
    for (int i = 0; i < NU; i++)
        unb[i] = c_new(sizeof(long), 0);
    for (long i = 0; i < FULL; i++)
        OOM_CHECK(golf_chan_send(buf[i], &i) == GOLF_OK, "fill");
    size_t before[NB];
    lens(before);

    /* 1. select_try: receives (16 ready) and sends to unbuffered channels nobody receives. */
    for (int i = 0; i < NB; i++)
        cases[i] = (golf_case){buf[i], GOLF_RECV, &vals[i], 0};
    for (int i = 0; i < NU; i++) {
        vals[NB + i] = 100 + i;
        cases[NB + i] = (golf_case){unb[i], GOLF_SEND, &vals[NB + i], 0};
    }
    int r = golf_select_try(cases, NCASES);
    if (r != GOLF_ENOMEM || oom_injected() == 0) {
        OOM_CHECK(r >= 0 && r < FULL && cases[r].status == GOLF_OK && vals[r] == r,
                  "select_try: %d", r);
        same_lens(before, r, "select_try");
        long back = r;
        OOM_CHECK(golf_chan_send(buf[r], &back) == GOLF_OK, "refill");
    } else {
        same_lens(before, -1, "select_try out of memory");
    }

    /* 2. select_timeout over cases none of which is ready: it parks, then times out. */
    for (int i = 0; i < NB; i++)
        cases[i] = (golf_case){buf[i], i < FULL ? GOLF_SEND : GOLF_RECV, &vals[i], 0};
    r = golf_select_timeout(cases, NCASES, 1000000);
    OOM_CHECK(r == GOLF_ETIMEDOUT || (r == GOLF_ENOMEM && oom_injected() > 0), "select_timeout: %d",
              r);
    same_lens(before, -1, "select_timeout");

    /* 3. A blocking select completed by the peer: it receives from unbuffered channel 7. */
    for (int i = 0; i < NU; i++)
        cases[NB + i] = (golf_case){unb[i], GOLF_RECV, &vals[NB + i], 0};
    peer_ch = unb[7];
    peer_value = 77;
    atomic_store(&peer_op, PEER_SEND);
    r = golf_select(cases, NCASES);
    if (r == GOLF_ENOMEM && oom_injected() > 0) {
        atomic_store(&peer_stop, 1);
        pthread_join(peer, NULL);
        OOM_CHECK(atomic_load(&peer_done) == -1, "the peer sent to a select that failed");
    } else {
        OOM_CHECK(r == NB + 7 && cases[r].status == GOLF_OK && vals[r] == 77, "select: %d", r);
        pthread_join(peer, NULL);
        OOM_CHECK(atomic_load(&peer_done) == 1, "peer");
    }
    same_lens(before, -1, "select");

    for (int i = 0; i < NB; i++)
        golf_chan_free(buf[i]);
    for (int i = 0; i < NU; i++)
        golf_chan_free(unb[i]);
    oom_disarm();
    OOM_CHECK(chan_works(), "a channel after the run");
}

/* Unbounded channels: sends across block steps (8-byte values: 63 a block; 600-byte values: 6
 * a block), some failing with GOLF_ENOMEM; the values that went in come out, in order, and
 * nothing else; draining and refilling goes through the spare blocks. */
static void
unbounded_one(size_t es)
{
    golf_chan *u = c_new(es, GOLF_UNBOUNDED);
    enum { N = 400 };
    static unsigned char in[600], out[600];
    static long queued[N];
    long nq = 0, head = 0;
    for (long round = 0; round < 2; round++) {
        for (long i = 0; i < N / 2; i++) {
            long v = round * 1000 + i;
            memset(in, (int)v, es);
            memcpy(in, &v, sizeof v);
            size_t len = golf_chan_len(u);
            int rc = i % 3 == 0 ? golf_chan_try_send(u, in) : golf_chan_send(u, in);
            if (OOM_RC(rc, "unbounded send"))
                queued[nq++] = v;
            else
                OOM_CHECK(golf_chan_len(u) == len, "a failed send enqueued something");
        }
        OOM_CHECK(golf_chan_len(u) == (size_t)(nq - head), "len %zu, want %ld", golf_chan_len(u),
                  nq - head);
        /* Take all but a few, so the next round's steps reuse the spare blocks. */
        while (nq - head > 3) {
            OOM_CHECK(golf_chan_recv(u, out) == GOLF_OK, "unbounded recv");
            long v;
            memcpy(&v, out, sizeof v);
            OOM_CHECK(v == queued[head] && (es <= 8 || out[es - 1] == (unsigned char)v),
                      "got %ld, want %ld", v, queued[head]);
            head++;
        }
    }
    OOM_CHECK(golf_chan_close(u) == GOLF_OK, "close");
    long v = 0;
    OOM_CHECK(golf_chan_send(u, &v) == GOLF_ECLOSED, "send after close");
    while (head < nq) {
        OOM_CHECK(golf_chan_recv(u, out) == GOLF_OK, "drain");
        memcpy(&v, out, sizeof v);
        OOM_CHECK(v == queued[head], "drain: got %ld, want %ld", v, queued[head]);
        head++;
    }
    OOM_CHECK(golf_chan_recv(u, out) == GOLF_ECLOSED, "recv after drain");
    golf_chan_free(u);
}

static void
unbounded(void)
{
    oom_start();
    unbounded_one(8);
    unbounded_one(600);
    oom_disarm();
    OOM_CHECK(chan_works(), "a channel after the run");
}

const oom_scenario oom_chan_scenarios[] = {
    {"chan_ops", NULL, ops},
    {"chan_unbounded", NULL, unbounded},
    {"chan_select64", NULL, select64},
    {NULL, NULL, NULL},
};
