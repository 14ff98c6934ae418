/* SPDX-License-Identifier: MIT */
/* Port (in intent) of Go's test/chan/select3.go: which channel operations and selects block,
 * which do not, and which "panic" (golf: return GOLF_ECLOSED). testBlock(always, f) = f is still
 * running after a while; testBlock(never, f) = f returns. */
#include <criterion/criterion.h>

#include "golf/chan.h"
#include "unit/chan/chan_util.h"

typedef struct {
    void (*f)(void *);
    void *arg;
    atomic_int done;
} blk;

static void *
blk_main(void *p)
{
    blk *b = p;
    b->f(b->arg);
    atomic_store(&b->done, 1);
    return NULL;
}

/* Go waits 10 ms for "always"; a little more here for loaded machines. */
static bool
blocks(void (*f)(void *), void *arg)
{
    blk *b = calloc(1, sizeof *b); /* leaked on purpose if f never returns */
    b->f = f;
    b->arg = arg;
    pthread_t t = cu_spawn(blk_main, b);
    cu_sleep_ms(20);
    if (!atomic_load(&b->done)) {
        pthread_detach(t);
        return true;
    }
    cu_join(t);
    free(b);
    return false;
}

/* "never": f must return, well within 10 s (Go's bound). */
static bool
returns(void (*f)(void *), void *arg)
{
    blk b = {.f = f, .arg = arg};
    pthread_t t = cu_spawn(blk_main, &b);
    bool ok = cu_wait_flag(&b.done, 10000);
    if (ok)
        cu_join(t);
    else
        pthread_detach(t);
    return ok;
}

static golf_chan *closedch;
static int seven = 7;

static void
nil_send(void *a)
{
    (void)a;
    golf_chan_send(NULL, &seven);
}
static void
nil_recv(void *a)
{
    int v;
    (void)a;
    golf_chan_recv(NULL, &v);
}
static void
buffered_send(void *a)
{
    (void)a;
    golf_chan *ch = golf_chan_new(sizeof(int), 1);
    golf_chan_send(ch, &seven);
    golf_chan_free(ch);
}
static void
closed_recv_ten(void *a)
{
    bool *ok = a;
    *ok = true;
    for (int i = 0; i < 10; i++) {
        int x = 5;
        if (golf_chan_recv(closedch, &x) != GOLF_ECLOSED || x != 0)
            *ok = false;
    }
}
static void
unbuffered_recv(void *a)
{
    (void)a;
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    int v;
    golf_chan_recv(ch, &v);
}
static void
select_nothing(void *a)
{
    golf_case c;
    (void)a;
    golf_select(&c, 0);
}
static void
select_nil_recv(void *a)
{
    int v;
    golf_case c = {.ch = NULL, .op = GOLF_RECV, .elem = &v};
    (void)a;
    golf_select(&c, 1);
}
static void
select_nil_send(void *a)
{
    golf_case c = {.ch = NULL, .op = GOLF_SEND, .elem = &seven};
    (void)a;
    golf_select(&c, 1);
}
static void
select_nil_both(void *a)
{
    int v;
    golf_case c[2] = {{.ch = NULL, .op = GOLF_RECV, .elem = &v},
                      {.ch = NULL, .op = GOLF_SEND, .elem = &seven}};
    (void)a;
    golf_select(c, 2);
}
static void
select_unbuffered_recv(void *a)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    int v;
    golf_case c = {.ch = ch, .op = GOLF_RECV, .elem = &v};
    (void)a;
    golf_select(&c, 1);
}
static void
select_try_nothing(void *a)
{
    golf_case c;
    *(int *)a = golf_select_try(&c, 0);
}
static void
select_closed_recv(void *a)
{
    int v = 3;
    golf_case c = {.ch = closedch, .op = GOLF_RECV, .elem = &v};
    *(int *)a = golf_select(&c, 1) == 0 && c.status == GOLF_ECLOSED && v == 0;
}
static void
select_self(void *a)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    int v;
    golf_case c[2] = {{.ch = ch, .op = GOLF_SEND, .elem = &seven},
                      {.ch = ch, .op = GOLF_RECV, .elem = &v}};
    (void)a;
    golf_select(c, 2);
}

Test(go_select3, what_blocks_and_what_does_not, .timeout = 60)
{
    closedch = golf_chan_new(sizeof(int), 0);
    golf_chan_close(closedch);

    cr_expect(blocks(nil_send, NULL), "nilch <- 7");
    cr_expect(blocks(nil_recv, NULL), "<-nilch");

    /* select { case nilch <- 7: unreachable(); default: } */
    cr_expect_eq(golf_chan_try_send(NULL, &seven), GOLF_EAGAIN);
    int v;
    cr_expect_eq(golf_chan_try_recv(NULL, &v), GOLF_EAGAIN);

    cr_expect(returns(buffered_send, NULL), "ch <- 7 on a buffered channel");
    bool ok = false;
    cr_expect(returns(closed_recv_ten, &ok));
    cr_expect(ok, "expected 0, closed from a closed channel");

    /* closedch <- 7 panics in Go; golf returns GOLF_ECLOSED. */
    cr_expect_eq(golf_chan_send(closedch, &seven), GOLF_ECLOSED);

    cr_expect(blocks(unbuffered_recv, NULL), "<-ch on a new unbuffered channel");
    cr_expect(blocks(select_nothing, NULL), "select {}");
    cr_expect(blocks(select_nil_recv, NULL), "select { case <-nilch }");
    cr_expect(blocks(select_nil_send, NULL), "select { case nilch <- 7 }");
    cr_expect(blocks(select_nil_both, NULL), "select { case <-nilch; case nilch <- 7 }");
    cr_expect(blocks(select_unbuffered_recv, NULL), "select { case <-ch } unbuffered");

    int r = 1;
    cr_expect(returns(select_try_nothing, &r), "select { default: }");
    cr_expect_eq(r, GOLF_EAGAIN);
    golf_case nc = {.ch = NULL, .op = GOLF_RECV, .elem = &v};
    cr_expect_eq(golf_select_try(&nc, 1), GOLF_EAGAIN, "select { case <-nilch; default: }");
    nc.op = GOLF_SEND;
    nc.elem = &seven;
    cr_expect_eq(golf_select_try(&nc, 1), GOLF_EAGAIN, "select { case nilch <- 7; default: }");

    golf_chan *ch = golf_chan_new(sizeof(int), 1);
    golf_case sc = {.ch = ch, .op = GOLF_SEND, .elem = &seven};
    cr_expect_eq(golf_select_try(&sc, 1), 0, "select { case ch <- 7: ; default: unreachable }");
    golf_case rc = {.ch = ch, .op = GOLF_RECV, .elem = &v};
    cr_expect_eq(golf_select_try(&rc, 1), 0, "select { case <-ch: ; default: unreachable }");
    cr_expect_eq(v, 7);
    golf_chan_free(ch);

    r = 0;
    cr_expect(returns(select_closed_recv, &r), "select { case <-closedch }");
    cr_expect(r, "select on closed recv: ready, ECLOSED, zero value");

    /* select { case closedch <- 7: } panics in Go: here the case is ready with GOLF_ECLOSED. */
    golf_case cs = {.ch = closedch, .op = GOLF_SEND, .elem = &seven};
    cr_expect_eq(golf_select(&cs, 1), 0);
    cr_expect_eq(cs.status, GOLF_ECLOSED);

    cr_expect(blocks(select_self, NULL), "select { case c <- 1; case <-c } must not match itself");
}
