/* SPDX-License-Identifier: MIT */
/* Port (in intent) of Go's test/chan/doubleselect.go: a sender selects over four unbuffered
 * channels; four muxes forward to one channel; the receiver checks that no value arrives twice
 * (two cases of one select both running) and, here also, that none is lost. */
#include <criterion/criterion.h>

#include "golf/chan.h"
#include "unit/chan/chan_util.h"

enum { ITER = 20000 };

typedef struct {
    golf_chan *c[4];
} sender_arg;

static void *
sender(void *p)
{
    sender_arg *a = p;
    for (int i = 0; i < ITER; i++) {
        golf_case cs[4];
        for (int k = 0; k < 4; k++)
            cs[k] = (golf_case){.ch = a->c[k], .op = GOLF_SEND, .elem = &i};
        golf_select(cs, 4);
    }
    for (int k = 0; k < 4; k++)
        golf_chan_close(a->c[k]);
    return NULL;
}

typedef struct {
    golf_chan *in, *out, *done;
} mux_arg;

static void *
mux(void *p)
{
    mux_arg *a = p;
    int v;
    while (golf_chan_recv(a->in, &v) == GOLF_OK)
        golf_chan_send(a->out, &v);
    golf_chan_send(a->done, NULL);
    return NULL;
}

static void *
closer(void *p)
{
    mux_arg *a = p; /* in = done, out = cmux */
    for (int k = 0; k < 4; k++)
        golf_chan_recv(a->in, NULL);
    golf_chan_close(a->out);
    return NULL;
}

Test(go_doubleselect, no_value_runs_two_cases, .timeout = 60)
{
    sender_arg s;
    for (int k = 0; k < 4; k++)
        s.c[k] = golf_chan_new(sizeof(int), 0);
    golf_chan *done = golf_chan_new(0, 0), *cmux = golf_chan_new(sizeof(int), 0);
    mux_arg m[4], cl = {.in = done, .out = cmux};
    pthread_t t[6];
    t[0] = cu_spawn(sender, &s);
    for (int k = 0; k < 4; k++) {
        m[k] = (mux_arg){.in = s.c[k], .out = cmux, .done = done};
        t[1 + k] = cu_spawn(mux, &m[k]);
    }
    t[5] = cu_spawn(closer, &cl);
    uint8_t *seen = calloc(ITER, 1);
    int v, n = 0;
    while (golf_chan_recv(cmux, &v) == GOLF_OK) {
        cr_assert(v >= 0 && v < ITER);
        cr_assert_eq(seen[v], 0, "got duplicate value: %d", v);
        seen[v] = 1;
        n++;
    }
    cr_expect_eq(n, ITER, "received %d of %d", n, ITER);
    for (int i = 0; i < 6; i++)
        cu_join(t[i]);
    free(seen);
    for (int k = 0; k < 4; k++)
        golf_chan_free(s.c[k]);
    golf_chan_free(done);
    golf_chan_free(cmux);
}
