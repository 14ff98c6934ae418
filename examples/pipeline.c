/* SPDX-License-Identifier: MIT */
/* A pipeline, as in the Go blog's "Go Concurrency Patterns: Pipelines and cancellation":
 *
 *     func gen(nums ...int) <-chan int               // emits the numbers, then closes
 *     func sq(in <-chan int) <-chan int              // squares what it receives, then closes
 *     for n := range sq(sq(gen(1..100))) { sum += n } // fourth powers
 *
 * Each stage is a thread that owns its output channel and closes it when its input is drained:
 * golf_chan_recv returning GOLF_ECLOSED is Go's `range` ending. */
#include <stdio.h>

#include "golf/golf.h"

typedef struct {
    golf_chan *in, *out;
    int n; /* gen: how many numbers */
} stage;

static void
gen(void *p)
{
    stage *s = p;
    for (long i = 1; i <= s->n; i++)
        golf_chan_send(s->out, &i);
    golf_chan_close(s->out);
}

static void
sq(void *p)
{
    stage *s = p;
    long v;
    while (golf_chan_recv(s->in, &v) == GOLF_OK) {
        long r = v * v;
        golf_chan_send(s->out, &r);
    }
    golf_chan_close(s->out);
}

int
main(void)
{
    enum { N = 100 };
    golf_waitgroup wg = {0};
    golf_chan *a = golf_chan_new(sizeof(long), 0);
    golf_chan *b = golf_chan_new(sizeof(long), 0);
    golf_chan *c = golf_chan_new(sizeof(long), 0);
    stage s1 = {.out = a, .n = N}, s2 = {.in = a, .out = b}, s3 = {.in = b, .out = c};
    golf_waitgroup_go(&wg, gen, &s1);
    golf_waitgroup_go(&wg, sq, &s2);
    golf_waitgroup_go(&wg, sq, &s3);

    long sum = 0, v;
    while (golf_chan_recv(c, &v) == GOLF_OK) /* for n := range c */
        sum += v;
    golf_waitgroup_wait(&wg);

    long want = 0;
    for (long i = 1; i <= N; i++)
        want += i * i * i * i;
    printf("sum of fourth powers 1..%d = %ld (want %ld)\n", N, sum, want);
    golf_chan_free(a);
    golf_chan_free(b);
    golf_chan_free(c);
    return sum == want ? 0 : 1;
}
