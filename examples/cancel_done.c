/* SPDX-License-Identifier: MIT */
/* Cancellation with a done channel, as in the Go blog's "Pipelines and cancellation": several
 * generators produce numbers for as long as anyone wants them; the consumer takes what it needs
 * and then closes `done`. A close is a broadcast: every receive on a closed channel proceeds at
 * once, so each generator blocked in its select wakes up on the done case and returns.
 *
 *     done := make(chan struct{})
 *     go func() {              // each generator
 *         for n := first; ; n += step {
 *             select {
 *             case out <- n:
 *             case <-done: return
 *             }
 *         }
 *     }()
 *     for i := 0; i < want; i++ { <-out }
 *     close(done)              // tells every generator at once
 *
 * done carries no values (elem_size 0, Go's chan struct{}): only its close matters. */
#include <stdatomic.h>
#include <stdio.h>

#include "golf/golf.h"

enum { GENERATORS = 4, WANT = 25 };

typedef struct {
    golf_chan *out, *done;
    long first, step;
} generator_arg;

static atomic_int cancelled; /* generators that returned through the done case */

static void
generator(void *p)
{
    generator_arg *g = p;
    for (long n = g->first;; n += g->step) {
        golf_case cases[] = {
            {.ch = g->out, .op = GOLF_SEND, .elem = &n},
            {.ch = g->done, .op = GOLF_RECV}, /* elem NULL: nothing to receive but the close */
        };
        if (golf_select(cases, 2) == 1) { /* done is closed: stop */
            atomic_fetch_add(&cancelled, 1);
            return;
        }
    }
}

int
main(void)
{
    golf_chan *out = golf_chan_new(sizeof(long), 0);
    golf_chan *done = golf_chan_new(0, 0);
    golf_waitgroup wg = {0};
    generator_arg g[GENERATORS];
    for (int i = 0; i < GENERATORS; i++) {
        g[i] = (generator_arg){.out = out, .done = done, .first = i, .step = GENERATORS};
        golf_waitgroup_go(&wg, generator, &g[i]);
    }

    long sum = 0, n;
    for (int i = 0; i < WANT; i++) {
        golf_chan_recv(out, &n);
        sum += n;
    }
    golf_chan_close(done);    /* cancel: every generator's select now takes the done case */
    golf_waitgroup_wait(&wg); /* returns only once all of them have stopped */

    printf("took %d numbers (sum %ld), then cancelled %d of %d generators\n", WANT, sum,
           atomic_load(&cancelled), GENERATORS);
    golf_chan_free(out);
    golf_chan_free(done);
    return atomic_load(&cancelled) == GENERATORS ? 0 : 1;
}
