/* SPDX-License-Identifier: MIT */
/* Ports (in intent) of Go's src/runtime/chan_test.go: TestChan (capacities 0..N),
 * TestNonblockRecvRace, TestNonblockSelectRace(2), TestSelfSelect, TestSelectFairness,
 * TestPseudoRandomSend, TestMultiConsumer, TestSelectDuplicateChannel, TestSelectStress. Goroutines
 * are threads. */
#include <criterion/criterion.h>
#include <math.h>

#include "golf/chan.h"
#include "unit/chan/chan_util.h"

/* ---- TestChan ---- */

typedef struct {
    golf_chan *c;
    int n; /* values to send / receive */
    atomic_int flag;
    int *counts; /* receivers: counts[v]++ */
    bool ok;
} tc_arg;

static void *
tc_recv_one(void *p)
{
    tc_arg *a = p;
    int v;
    golf_chan_recv(a->c, &v);
    atomic_store(&a->flag, 1);
    return NULL;
}

static void *
tc_send_one(void *p)
{
    tc_arg *a = p;
    int z = 0;
    golf_chan_send(a->c, &z);
    atomic_store(&a->flag, 1);
    return NULL;
}

static void *
tc_recv_closed(void *p)
{
    tc_arg *a = p;
    int v = 9;
    a->ok = golf_chan_recv(a->c, &v) == GOLF_ECLOSED && v == 0;
    return NULL;
}

static void *
tc_send_seq(void *p)
{
    tc_arg *a = p;
    for (int i = 0; i < a->n; i++)
        golf_chan_send(a->c, &i);
    return NULL;
}

static void *
tc_recv_count(void *p)
{
    tc_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        int v = -1;
        golf_chan_recv(a->c, &v);
        if (v >= 0 && v < 1000)
            a->counts[v]++;
    }
    return NULL;
}

Test(go_runtime, TestChan, .timeout = 120)
{
    enum { N = 40 }; /* Go: 200, 20 with -short */
    for (size_t cap = 0; cap < N; cap++) {
        int v;
        {
            /* Receive from an empty channel blocks; non-blocking receive does not. */
            golf_chan *c = golf_chan_new(sizeof(int), cap);
            tc_arg r1 = {.c = c}, r2 = {.c = c};
            atomic_init(&r1.flag, 0);
            atomic_init(&r2.flag, 0);
            pthread_t t1 = cu_spawn(tc_recv_one, &r1), t2 = cu_spawn(tc_recv_one, &r2);
            cu_sleep_ms(1);
            cr_assert(!atomic_load(&r1.flag) && !atomic_load(&r2.flag),
                      "chan[%zu]: receive from empty chan", cap);
            cr_assert_eq(golf_chan_try_recv(c, &v), GOLF_EAGAIN,
                         "chan[%zu]: receive from empty chan", cap);
            int z = 0;
            golf_chan_send(c, &z);
            golf_chan_send(c, &z);
            cu_join(t1);
            cu_join(t2);
            golf_chan_free(c);
        }
        {
            /* Send to a full channel blocks; non-blocking send does not. */
            golf_chan *c = golf_chan_new(sizeof(int), cap);
            for (int i = 0; i < (int)cap; i++)
                golf_chan_send(c, &i);
            tc_arg s = {.c = c};
            atomic_init(&s.flag, 0);
            pthread_t t = cu_spawn(tc_send_one, &s);
            cu_sleep_ms(1);
            cr_assert(!atomic_load(&s.flag), "chan[%zu]: send to full chan", cap);
            int z = 0;
            cr_assert_eq(golf_chan_try_send(c, &z), GOLF_EAGAIN, "chan[%zu]: send to full chan",
                         cap);
            golf_chan_recv(c, &v);
            cu_join(t);
            golf_chan_free(c);
        }
        {
            /* Receive 0 from a closed channel, after the buffered values. */
            golf_chan *c = golf_chan_new(sizeof(int), cap);
            for (int i = 0; i < (int)cap; i++)
                golf_chan_send(c, &i);
            golf_chan_close(c);
            for (int i = 0; i < (int)cap; i++) {
                cr_assert_eq(golf_chan_recv(c, &v), GOLF_OK);
                cr_assert_eq(v, i, "chan[%zu]: received %d, expected %d", cap, v, i);
            }
            v = 5;
            cr_assert_eq(golf_chan_recv(c, &v), GOLF_ECLOSED);
            cr_assert_eq(v, 0, "chan[%zu]: received %d, expected 0", cap, v);
            golf_chan_free(c);
        }
        {
            /* Close unblocks a receive. */
            golf_chan *c = golf_chan_new(sizeof(int), cap);
            tc_arg r = {.c = c};
            pthread_t t = cu_spawn(tc_recv_closed, &r);
            cu_sleep_ms(1);
            golf_chan_close(c);
            cu_join(t);
            cr_assert(r.ok, "chan[%zu]: received non zero from closed chan", cap);
            golf_chan_free(c);
        }
        {
            /* 100 integers in FIFO order, twice. */
            golf_chan *c = golf_chan_new(sizeof(int), cap);
            for (int rep = 0; rep < 2; rep++) {
                tc_arg s = {.c = c, .n = 100};
                pthread_t t = cu_spawn(tc_send_seq, &s);
                for (int i = 0; i < 100; i++) {
                    cr_assert_eq(golf_chan_recv(c, &v), GOLF_OK,
                                 "chan[%zu]: receive failed, expected %d", cap, i);
                    cr_assert_eq(v, i, "chan[%zu]: received %d, expected %d", cap, v, i);
                }
                cu_join(t);
            }
            /* 1000 integers from each of 4 senders to 4 receivers: each value arrives 4 times. */
            enum { P = 4, L = 1000 };
            tc_arg s[P], r[P];
            pthread_t ts[P], tr[P];
            int counts[P][L];
            memset(counts, 0, sizeof counts);
            for (int p = 0; p < P; p++) {
                s[p] = (tc_arg){.c = c, .n = L};
                r[p] = (tc_arg){.c = c, .n = L, .counts = counts[p]};
                ts[p] = cu_spawn(tc_send_seq, &s[p]);
                tr[p] = cu_spawn(tc_recv_count, &r[p]);
            }
            for (int p = 0; p < P; p++) {
                cu_join(ts[p]);
                cu_join(tr[p]);
            }
            for (int i = 0; i < L; i++) {
                int n = 0;
                for (int p = 0; p < P; p++)
                    n += counts[p][i];
                cr_assert_eq(n, P, "chan[%zu]: value %d received %d times, expected %d", cap, i, n,
                             P);
            }
            golf_chan_free(c);
        }
        {
            /* len/cap. */
            golf_chan *c = golf_chan_new(sizeof(int), cap);
            cr_assert(golf_chan_len(c) == 0 && golf_chan_cap(c) == cap);
            for (int i = 0; i < (int)cap; i++)
                golf_chan_send(c, &i);
            cr_assert(golf_chan_len(c) == cap && golf_chan_cap(c) == cap, "chan[%zu]: bad len/cap",
                      cap);
            golf_chan_free(c);
        }
    }
}

/* ---- TestNonblockRecvRace: a value buffered before close is seen by a non-blocking receive
 * racing with the close. ---- */

typedef struct {
    golf_chan *c1, *c2;
    atomic_int result; /* 0 pending, 1 ready, 2 "chan is not ready" */
} nb_arg;

static void *
nb_try_recv(void *p)
{
    nb_arg *a = p;
    int v;
    golf_case cs[2] = {{.ch = a->c1, .op = GOLF_RECV, .elem = &v},
                       {.ch = a->c2, .op = GOLF_RECV, .elem = &v}};
    atomic_store(&a->result, golf_select_try(cs, a->c2 ? 2 : 1) >= 0 ? 1 : 2);
    return NULL;
}

Test(go_runtime, TestNonblockRecvRace, .timeout = 60)
{
    for (int i = 0; i < 2000; i++) {
        golf_chan *c = golf_chan_new(sizeof(int), 1);
        int one = 1;
        golf_chan_send(c, &one);
        nb_arg a = {.c1 = c};
        atomic_init(&a.result, 0);
        pthread_t t = cu_spawn(nb_try_recv, &a);
        golf_chan_close(c);
        int v;
        golf_chan_recv(c, &v);
        cu_join(t);
        cr_assert_eq(atomic_load(&a.result), 1, "iteration %d: chan is not ready", i);
        golf_chan_free(c);
    }
}

/* TestNonblockSelectRace and ...Race2: from the moment the second thread starts, at least one of
 * c1, c2 is always ready, so its non-blocking select must never take the default. */
static void
nonblock_select_race(bool close_c2)
{
    for (int i = 0; i < 2000; i++) {
        golf_chan *c1 = golf_chan_new(sizeof(int), 1),
                  *c2 = golf_chan_new(sizeof(int), close_c2 ? 0 : 1);
        int one = 1, v;
        golf_chan_send(c1, &one);
        nb_arg a = {.c1 = c1, .c2 = c2};
        atomic_init(&a.result, 0);
        pthread_t t = cu_spawn(nb_try_recv, &a);
        if (close_c2)
            golf_chan_close(c2);
        else
            golf_chan_send(c2, &one);
        golf_chan_try_recv(c1, &v);
        cu_join(t);
        cr_assert_eq(atomic_load(&a.result), 1, "iteration %d: no chan is ready", i);
        golf_chan_free(c1);
        golf_chan_free(c2);
    }
}

Test(go_runtime, TestNonblockSelectRace, .timeout = 60)
{
    nonblock_select_race(false);
}

Test(go_runtime, TestNonblockSelectRace2, .timeout = 60)
{
    nonblock_select_race(true);
}

/* ---- TestSelfSelect: send and recv on one channel in one select, two threads: no crash, no
 * deadlock, and (unbuffered) a thread never receives its own value. ---- */

typedef struct {
    golf_chan *c;
    int p;
    size_t cap;
    bool self_recv;
} ss_arg;

static void *
ss_worker(void *x)
{
    ss_arg *a = x;
    for (int i = 0; i < 1000; i++) {
        int v = -1;
        golf_case cs[2];
        golf_case snd = {.ch = a->c, .op = GOLF_SEND, .elem = &a->p};
        golf_case rcv = {.ch = a->c, .op = GOLF_RECV, .elem = &v};
        if (a->p == 0 || i % 2 == 0) {
            cs[0] = snd;
            cs[1] = rcv;
        } else {
            cs[0] = rcv;
            cs[1] = snd;
        }
        int r = golf_select(cs, 2);
        if (cs[r].op == GOLF_RECV && a->cap == 0 && v == a->p)
            a->self_recv = true;
    }
    return NULL;
}

Test(go_runtime, TestSelfSelect, .timeout = 60)
{
    static const size_t caps[] = {0, 10};
    for (int k = 0; k < 2; k++) {
        golf_chan *c = golf_chan_new(sizeof(int), caps[k]);
        ss_arg a[2];
        pthread_t t[2];
        for (int p = 0; p < 2; p++) {
            a[p] = (ss_arg){.c = c, .p = p, .cap = caps[k]};
            t[p] = cu_spawn(ss_worker, &a[p]);
        }
        for (int p = 0; p < 2; p++) {
            cu_join(t[p]);
            cr_expect(!a[p].self_recv, "cap %zu: self receive", caps[k]);
        }
        golf_chan_free(c);
    }
}

/* ---- TestSelectFairness ---- */

typedef struct {
    golf_chan *c1, *c2, *c3, *c4, *out, *done;
} sf_arg;

static void *
sf_worker(void *p)
{
    sf_arg *a = p;
    for (;;) {
        unsigned char b = 0;
        golf_case in[4] = {{.ch = a->c3, .op = GOLF_RECV, .elem = &b},
                           {.ch = a->c4, .op = GOLF_RECV, .elem = &b},
                           {.ch = a->c1, .op = GOLF_RECV, .elem = &b},
                           {.ch = a->c2, .op = GOLF_RECV, .elem = &b}};
        golf_select(in, 4);
        golf_case fwd[2] = {{.ch = a->out, .op = GOLF_SEND, .elem = &b},
                            {.ch = a->done, .op = GOLF_RECV, .elem = NULL}};
        if (golf_select(fwd, 2) == 1)
            return NULL;
    }
}

Test(go_runtime, TestSelectFairness, .timeout = 60)
{
    enum { TRIALS = 10000 };
    sf_arg a = {.c1 = golf_chan_new(1, TRIALS + 1),
                .c2 = golf_chan_new(1, TRIALS + 1),
                .c3 = golf_chan_new(1, 0),
                .c4 = golf_chan_new(1, 0),
                .out = golf_chan_new(1, 0),
                .done = golf_chan_new(0, 0)};
    unsigned char one = 1, two = 2;
    for (int i = 0; i < TRIALS + 1; i++) {
        golf_chan_send(a.c1, &one);
        golf_chan_send(a.c2, &two);
    }
    pthread_t t = cu_spawn(sf_worker, &a);
    int cnt1 = 0, cnt2 = 0;
    for (int i = 0; i < TRIALS; i++) {
        unsigned char b = 0;
        golf_chan_recv(a.out, &b);
        if (b == 1)
            cnt1++;
        else if (b == 2)
            cnt2++;
        else
            cr_assert_fail("unexpected value %d on channel", b);
    }
    /* Go's bound: at six nines, |r - 0.5| <= 4.891676 / (2 * sqrt(trials)). */
    double r = (double)cnt1 / TRIALS, e = fabs(r - 0.5);
    cr_expect_leq(e, 4.891676 / (2 * sqrt(TRIALS)),
                  "unfair select: in %d trials, results were %d, %d", TRIALS, cnt1, cnt2);
    golf_chan_close(a.done);
    cu_join(t);
    golf_chan *all[] = {a.c1, a.c2, a.c3, a.c4, a.out, a.done};
    for (int i = 0; i < 6; i++)
        golf_chan_free(all[i]);
}

/* ---- TestPseudoRandomSend: a select over {c <- 1, c <- 0} sends both values. ---- */

typedef struct {
    golf_chan *c;
    int l[100];
} prs_arg;

static void *
prs_reader(void *p)
{
    prs_arg *a = p;
    for (int i = 0; i < 100; i++) {
        sched_yield();
        golf_chan_recv(a->c, &a->l[i]);
    }
    return NULL;
}

Test(go_runtime, TestPseudoRandomSend, .timeout = 30)
{
    enum { N = 100 };
    static const size_t caps[] = {0, N};
    for (int k = 0; k < 2; k++) {
        prs_arg a = {.c = golf_chan_new(sizeof(int), caps[k])};
        pthread_t t = cu_spawn(prs_reader, &a);
        int one = 1, zero = 0;
        for (int i = 0; i < N; i++) {
            golf_case cs[2] = {{.ch = a.c, .op = GOLF_SEND, .elem = &one},
                               {.ch = a.c, .op = GOLF_SEND, .elem = &zero}};
            golf_select(cs, 2);
        }
        cu_join(t);
        int n0 = 0, n1 = 0;
        for (int i = 0; i < N; i++) {
            n0 += (a.l[i] + 1) % 2;
            n1 += a.l[i];
        }
        cr_expect(n0 > N / 10 && n1 > N / 10,
                  "want pseudorandom, got %d zeros and %d ones (chan cap %zu)", n0, n1, caps[k]);
        golf_chan_free(a.c);
    }
}

/* ---- TestMultiConsumer: 23 workers ranging over a work channel, a feeder that closes it, a
 * closer that closes the result channel after the workers; count and sum must match. ---- */

enum { NWORK = 23, NITER = 271828 };
static const int pn[] = {2, 3, 7, 11, 13, 17, 19, 23, 27, 31};

typedef struct {
    golf_chan *q, *r;
    int w;
    atomic_int *workers_left;
    long expect;
} mc_arg;

static void *
mc_worker(void *p)
{
    mc_arg *a = p;
    int v;
    while (golf_chan_recv(a->q, &v) == GOLF_OK) {
        if (pn[a->w % 10] == v) /* mess with the fifo-ish nature of range */
            sched_yield();
        golf_chan_send(a->r, &v);
    }
    if (atomic_fetch_sub(a->workers_left, 1) == 1)
        golf_chan_close(a->r); /* the last worker done: no more results */
    return NULL;
}

static void *
mc_feeder(void *p)
{
    mc_arg *a = p;
    for (int i = 0; i < NITER; i++) {
        int v = pn[i % 10];
        a->expect += v;
        golf_chan_send(a->q, &v);
    }
    golf_chan_close(a->q);
    return NULL;
}

Test(go_runtime, TestMultiConsumer, .timeout = 120)
{
    golf_chan *q = golf_chan_new(sizeof(int), NWORK * 3),
              *r = golf_chan_new(sizeof(int), NWORK * 3);
    atomic_int left = NWORK;
    mc_arg w[NWORK], f = {.q = q, .r = r};
    pthread_t t[NWORK + 1];
    for (int i = 0; i < NWORK; i++) {
        w[i] = (mc_arg){.q = q, .r = r, .w = i, .workers_left = &left};
        t[i] = cu_spawn(mc_worker, &w[i]);
    }
    t[NWORK] = cu_spawn(mc_feeder, &f);
    long n = 0, s = 0;
    int v;
    while (golf_chan_recv(r, &v) == GOLF_OK) {
        n++;
        s += v;
    }
    for (int i = 0; i <= NWORK; i++)
        cu_join(t[i]);
    cr_expect(n == NITER && s == f.expect, "expected sum %ld (got %ld) from %d iter (saw %ld)",
              f.expect, s, NITER, n);
    golf_chan_free(q);
    golf_chan_free(r);
}

/* ---- TestSelectDuplicateChannel: a select queued twice on c, woken through d, must leave c's
 * wait queue intact for the next receiver. ---- */

typedef struct {
    golf_chan *c, *d, *e;
} sd_arg;

static void *
sd_a(void *p)
{
    sd_arg *a = p;
    int v, nine = 9;
    golf_case cs[3] = {{.ch = a->c, .op = GOLF_RECV, .elem = &v},
                       {.ch = a->c, .op = GOLF_RECV, .elem = &v},
                       {.ch = a->d, .op = GOLF_RECV, .elem = &v}};
    golf_select(cs, 3);
    golf_chan_send(a->e, &nine);
    return NULL;
}

static void *
sd_b(void *p)
{
    sd_arg *a = p;
    int v;
    golf_chan_recv(a->c, &v);
    return NULL;
}

Test(go_runtime, TestSelectDuplicateChannel, .timeout = 30)
{
    for (int rep = 0; rep < 20; rep++) {
        sd_arg a = {.c = golf_chan_new(sizeof(int), 0),
                    .d = golf_chan_new(sizeof(int), 0),
                    .e = golf_chan_new(sizeof(int), 0)};
        pthread_t ta = cu_spawn(sd_a, &a);
        cu_sleep_ms(1); /* A queues first on c */
        pthread_t tb = cu_spawn(sd_b, &a);
        cu_sleep_ms(1); /* B queues on c after A */
        int seven = 7, eight = 8, v;
        golf_chan_send(a.d, &seven); /* wakes A, which dequeues itself from c */
        golf_chan_recv(a.e, &v);
        cr_expect_eq(v, 9);
        /* Wakes B: with a corrupted queue this would hand the value to A (gone) and hang. */
        cr_assert_eq(golf_chan_send_timeout(a.c, &eight, 10000 * MS), GOLF_OK,
                     "send to the waiting B failed");
        cu_join(ta);
        cu_join(tb);
        golf_chan_free(a.c);
        golf_chan_free(a.d);
        golf_chan_free(a.e);
    }
}

/* ---- TestSelectStress: 4 channels (2 unbuffered, 2 buffered), 4 senders and 4 receivers
 * direct, plus one thread selecting sends and one selecting receives; N values each way. ---- */

enum { SS_N = 5000 };
typedef struct {
    golf_chan **c;
    int k;
} sst_arg;

static void *
sst_send(void *p)
{
    sst_arg *a = p;
    for (int i = 0; i < SS_N; i++)
        golf_chan_send(a->c[a->k], &i);
    return NULL;
}

static void *
sst_recv(void *p)
{
    sst_arg *a = p;
    int v;
    for (int i = 0; i < SS_N; i++)
        golf_chan_recv(a->c[a->k], &v);
    return NULL;
}

static void *
sst_select_send(void *p)
{
    sst_arg *a = p;
    int n[4] = {0};
    golf_chan *c[4];
    for (int k = 0; k < 4; k++)
        c[k] = a->c[k];
    for (int i = 0; i < 4 * SS_N; i++) {
        golf_case cs[4];
        for (int k = 0; k < 4; k++)
            cs[k] = (golf_case){.ch = c[k], .op = GOLF_SEND, .elem = &i};
        int r = golf_select(cs, 4);
        if (++n[r] == SS_N)
            c[r] = NULL; /* done with this one: a nil channel is never ready */
    }
    return NULL;
}

static void *
sst_select_recv(void *p)
{
    sst_arg *a = p;
    int n[4] = {0}, v;
    golf_chan *c[4];
    for (int k = 0; k < 4; k++)
        c[k] = a->c[k];
    for (int i = 0; i < 4 * SS_N; i++) {
        golf_case cs[4];
        for (int k = 0; k < 4; k++)
            cs[k] = (golf_case){.ch = c[k], .op = GOLF_RECV, .elem = &v};
        int r = golf_select(cs, 4);
        if (++n[r] == SS_N)
            c[r] = NULL;
    }
    return NULL;
}

Test(go_runtime, TestSelectStress, .timeout = 120)
{
    golf_chan *c[4] = {golf_chan_new(sizeof(int), 0), golf_chan_new(sizeof(int), 0),
                       golf_chan_new(sizeof(int), 2), golf_chan_new(sizeof(int), 3)};
    sst_arg a[4];
    pthread_t t[10];
    for (int k = 0; k < 4; k++) {
        a[k] = (sst_arg){.c = c, .k = k};
        t[2 * k] = cu_spawn(sst_send, &a[k]);
        t[2 * k + 1] = cu_spawn(sst_recv, &a[k]);
    }
    t[8] = cu_spawn(sst_select_send, &a[0]);
    t[9] = cu_spawn(sst_select_recv, &a[0]);
    for (int i = 0; i < 10; i++)
        cu_join(t[i]);
    for (int k = 0; k < 4; k++) {
        cr_expect_eq(golf_chan_len(c[k]), 0);
        golf_chan_free(c[k]);
    }
}
