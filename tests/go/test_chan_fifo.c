/* SPDX-License-Identifier: MIT */
/* Port (in intent) of Go's test/chan/fifo.go: values through a buffered channel come out in
 * order, and a chain of threads handing a token down unbuffered channels receives the values of
 * one unbuffered channel in the order sent. */
#include <criterion/criterion.h>

#include "golf/chan.h"
#include "unit/chan/chan_util.h"

enum { N = 10 };

/* AsynchFifo */
Test(go_fifo, asynch_fifo, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), N);
    for (int i = 0; i < N; i++)
        cr_assert_eq(golf_chan_send(ch, &i), GOLF_OK);
    for (int i = 0; i < N; i++) {
        int v = -1;
        cr_assert_eq(golf_chan_recv(ch, &v), GOLF_OK);
        cr_assert_eq(v, i, "bad receive");
    }
    golf_chan_free(ch);
}

/* SynchFifo: link i waits for the token on `in`, receives from ch (must be i), passes the
 * token on `out`. */
typedef struct {
    golf_chan *ch, *in, *out;
    int val;
    bool ok;
} link_arg;

static void *
chain(void *p)
{
    link_arg *a = p;
    int tok, v = -1;
    golf_chan_recv(a->in, &tok);
    golf_chan_recv(a->ch, &v);
    a->ok = v == a->val;
    tok = 1;
    golf_chan_send(a->out, &tok);
    return NULL;
}

Test(go_fifo, synch_fifo, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    golf_chan *links[N + 1];
    link_arg a[N];
    pthread_t t[N];
    links[0] = golf_chan_new(sizeof(int), 0);
    for (int i = 0; i < N; i++) {
        links[i + 1] = golf_chan_new(sizeof(int), 0);
        a[i] = (link_arg){.ch = ch, .in = links[i], .out = links[i + 1], .val = i};
        t[i] = cu_spawn(chain, &a[i]);
    }
    int tok = 0;
    golf_chan_send(links[0], &tok);
    for (int i = 0; i < N; i++)
        golf_chan_send(ch, &i);
    golf_chan_recv(links[N], &tok);
    for (int i = 0; i < N; i++) {
        cu_join(t[i]);
        cr_expect(a[i].ok, "link %d received out of order", i);
    }
    for (int i = 0; i <= N; i++)
        golf_chan_free(links[i]);
    golf_chan_free(ch);
}
