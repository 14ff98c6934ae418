/* SPDX-License-Identifier: MIT */
/* Port (in intent) of Go's src/sync/cond_test.go: TestCondSignal, TestCondSignalGenerations,
 * TestCondBroadcast, TestRace and TestCondSignalStealing, on golf_cond with golf channels where
 * Go uses channels (goroutines become threads). */
#include <criterion/criterion.h>
#include <sched.h>

#include "golf/chan.h"
#include "golf/sync.h"
#include "unit/chan/chan_util.h"

/* ---- TestCondSignal: each signal wakes exactly one of the sleeping threads. ---- */

typedef struct sig_ctx {
    golf_mutex m;
    golf_cond c;
    golf_chan *running, *awake;
} sig_ctx;

static void *
sig_waiter(void *p)
{
    sig_ctx *x = p;
    golf_mutex_lock(&x->m);
    golf_chan_send(x->running, NULL);
    golf_cond_wait(&x->c, &x->m);
    golf_chan_send(x->awake, NULL);
    golf_mutex_unlock(&x->m);
    return NULL;
}

Test(go_cond, signal, .timeout = 60)
{
    enum { N = 2 };
    sig_ctx x = {0};
    x.running = golf_chan_new(0, N);
    x.awake = golf_chan_new(0, N);
    pthread_t t[N];
    for (int i = 0; i < N; i++)
        t[i] = cu_spawn(sig_waiter, &x);
    for (int i = 0; i < N; i++)
        golf_chan_recv(x.running, NULL); /* each is in wait once we can lock m */
    for (int n = N; n > 0; n--) {
        cr_assert_eq(golf_chan_try_recv(x.awake, NULL), GOLF_EAGAIN, "thread not asleep");
        golf_mutex_lock(&x.m);
        golf_cond_signal(&x.c);
        golf_mutex_unlock(&x.m);
        golf_chan_recv(x.awake, NULL); /* hangs (the test times out) if nobody woke */
        cr_assert_eq(golf_chan_try_recv(x.awake, NULL), GOLF_EAGAIN, "too many threads awake");
    }
    golf_cond_signal(&x.c); /* nobody waits: nothing happens */
    for (int i = 0; i < N; i++)
        cu_join(t[i]);
    golf_chan_free(x.running);
    golf_chan_free(x.awake);
}

/* ---- TestCondSignalGenerations: a signal wakes the longest waiter, never a later one. ---- */

typedef struct gen_arg {
    sig_ctx *x;
    int id;
} gen_arg;

static void *
gen_waiter(void *p)
{
    gen_arg *a = p;
    golf_mutex_lock(&a->x->m);
    golf_chan_send(a->x->running, NULL);
    golf_cond_wait(&a->x->c, &a->x->m);
    golf_chan_send(a->x->awake, &a->id);
    golf_mutex_unlock(&a->x->m);
    return NULL;
}

Test(go_cond, signal_generations, .timeout = 120)
{
    enum { N = 100 };
    sig_ctx x = {0};
    x.running = golf_chan_new(0, N);
    x.awake = golf_chan_new(sizeof(int), N);
    pthread_t t[N];
    gen_arg a[N];
    for (int i = 0; i < N; i++) {
        a[i] = (gen_arg){&x, i};
        t[i] = cu_spawn(gen_waiter, &a[i]);
        if (i > 0) {
            /* The signal of the previous round was made while only thread i-1 waited. */
            int got = -1;
            golf_chan_recv(x.awake, &got);
            cr_assert_eq(got, i - 1, "wrong thread woke up: want %d, got %d", i - 1, got);
        }
        golf_chan_recv(x.running, NULL);
        golf_mutex_lock(&x.m);
        golf_cond_signal(&x.c);
        golf_mutex_unlock(&x.m);
    }
    int got = -1;
    golf_chan_recv(x.awake, &got);
    cr_assert_eq(got, N - 1);
    for (int i = 0; i < N; i++)
        cu_join(t[i]);
    golf_chan_free(x.running);
    golf_chan_free(x.awake);
}

/* ---- TestCondBroadcast: every round, a broadcast wakes all N, each once. ---- */

typedef struct bc_ctx {
    golf_mutex m;
    golf_cond c;
    bool exit; /* under m */
    golf_chan *running, *awake;
} bc_ctx;

typedef struct bc_arg {
    bc_ctx *x;
    int id;
} bc_arg;

static void *
bc_waiter(void *p)
{
    bc_arg *a = p;
    golf_mutex_lock(&a->x->m);
    while (!a->x->exit) {
        golf_chan_send(a->x->running, &a->id);
        golf_cond_wait(&a->x->c, &a->x->m);
        golf_chan_send(a->x->awake, &a->id);
    }
    golf_mutex_unlock(&a->x->m);
    return NULL;
}

Test(go_cond, broadcast, .timeout = 300)
{
    enum { N = 64 }; /* Go: 200 goroutines; threads on two cores make 64 rounds of 64 enough */
    bc_ctx x = {0};
    x.running = golf_chan_new(sizeof(int), N);
    x.awake = golf_chan_new(sizeof(int), N);
    pthread_t t[N];
    bc_arg a[N];
    for (int i = 0; i < N; i++) {
        a[i] = (bc_arg){&x, i};
        t[i] = cu_spawn(bc_waiter, &a[i]);
    }
    for (int round = 0; round < N; round++) {
        for (int i = 0; i < N; i++)
            golf_chan_recv(x.running, NULL); /* hangs unless all N are running */
        if (round == N - 1) {
            golf_mutex_lock(&x.m);
            x.exit = true;
            golf_mutex_unlock(&x.m);
        }
        cr_assert_eq(golf_chan_try_recv(x.awake, NULL), GOLF_EAGAIN, "thread not asleep");
        golf_mutex_lock(&x.m);
        golf_cond_broadcast(&x.c);
        golf_mutex_unlock(&x.m);
        bool seen[N] = {false};
        for (int i = 0; i < N; i++) {
            int g = -1;
            golf_chan_recv(x.awake, &g);
            cr_assert(g >= 0 && g < N && !seen[g], "thread %d woke up twice", g);
            seen[g] = true;
        }
    }
    for (int i = 0; i < N; i++)
        cu_join(t[i]);
    cr_assert_eq(golf_chan_try_recv(x.running, NULL), GOLF_EAGAIN, "thread did not exit");
    golf_cond_broadcast(&x.c);
    golf_chan_free(x.running);
    golf_chan_free(x.awake);
}

/* ---- TestRace: three threads hand x along through waits and signals. ---- */

typedef struct race_ctx {
    golf_mutex m;
    golf_cond c;
    int x; /* under m */
    atomic_int bad;
} race_ctx;

static void *
race_a(void *p)
{
    race_ctx *r = p;
    golf_mutex_lock(&r->m);
    r->x = 1;
    golf_cond_wait(&r->c, &r->m);
    if (r->x != 2)
        atomic_fetch_add(&r->bad, 1);
    r->x = 3;
    golf_cond_signal(&r->c);
    golf_mutex_unlock(&r->m);
    return NULL;
}

static void *
race_b(void *p)
{
    race_ctx *r = p;
    golf_mutex_lock(&r->m);
    for (;;) {
        if (r->x == 1) {
            r->x = 2;
            golf_cond_signal(&r->c);
            break;
        }
        golf_mutex_unlock(&r->m);
        sched_yield();
        golf_mutex_lock(&r->m);
    }
    golf_mutex_unlock(&r->m);
    return NULL;
}

static void *
race_c(void *p)
{
    race_ctx *r = p;
    golf_mutex_lock(&r->m);
    for (;;) {
        if (r->x == 2) {
            golf_cond_wait(&r->c, &r->m);
            if (r->x != 3)
                atomic_fetch_add(&r->bad, 1);
            break;
        }
        if (r->x == 3)
            break;
        golf_mutex_unlock(&r->m);
        sched_yield();
        golf_mutex_lock(&r->m);
    }
    golf_mutex_unlock(&r->m);
    return NULL;
}

Test(go_cond, race, .timeout = 60)
{
    for (int iter = 0; iter < 200; iter++) {
        race_ctx r = {0};
        pthread_t a = cu_spawn(race_a, &r), b = cu_spawn(race_b, &r), c = cu_spawn(race_c, &r);
        cu_join(a);
        cu_join(b);
        cu_join(c);
        cr_assert_eq(atomic_load(&r.bad), 0, "a waiter saw the wrong x (iteration %d)", iter);
    }
}

/* ---- TestCondSignalStealing: a broadcast racing with a new waiter still wakes the first
 * waiter; the newcomer may or may not be woken. ---- */

typedef struct steal_ctx {
    golf_mutex m;
    golf_cond cond;
    bool done; /* under m */
    golf_chan *ch;
} steal_ctx;

static void *
steal_first(void *p)
{
    steal_ctx *s = p;
    golf_mutex_lock(&s->m);
    golf_chan_send(s->ch, NULL);
    golf_cond_wait(&s->cond, &s->m);
    golf_mutex_unlock(&s->m);
    golf_chan_send(s->ch, NULL);
    return NULL;
}

static void *
steal_broadcaster(void *p)
{
    golf_cond_broadcast(&((steal_ctx *)p)->cond);
    return NULL;
}

static void *
steal_second(void *p)
{
    steal_ctx *s = p;
    golf_mutex_lock(&s->m);
    while (!s->done)
        golf_cond_wait(&s->cond, &s->m);
    golf_mutex_unlock(&s->m);
    return NULL;
}

Test(go_cond, signal_stealing, .timeout = 120)
{
    for (int iter = 0; iter < 1000; iter++) {
        steal_ctx s = {0};
        s.ch = golf_chan_new(0, 0);
        pthread_t first = cu_spawn(steal_first, &s);
        golf_chan_recv(s.ch, NULL);
        /* The first waiter is inside golf_cond_wait: it held m when it sent. */
        golf_mutex_lock(&s.m);
        golf_mutex_unlock(&s.m);
        pthread_t b = cu_spawn(steal_broadcaster, &s);
        pthread_t second = cu_spawn(steal_second, &s);
        /* Go fails after 2 s; here the first waiter must return (the timeout catches a hang). */
        golf_chan_recv(s.ch, NULL);
        golf_mutex_lock(&s.m);
        s.done = true;
        golf_cond_broadcast(&s.cond);
        golf_mutex_unlock(&s.m);
        cu_join(first);
        cu_join(b);
        cu_join(second);
        golf_chan_free(s.ch);
    }
}
