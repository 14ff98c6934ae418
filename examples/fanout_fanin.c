/* SPDX-License-Identifier: MIT */
/* Fan-out, fan-in (Go blog, "Pipelines"): several workers read from one channel (fan-out); a
 * merge forwards all their outputs to one channel and closes it once every worker is done,
 * which a sync.WaitGroup tells it (here golf_waitgroup):
 *
 *     var wg sync.WaitGroup
 *     wg.Add(len(cs))
 *     for _, c := range cs {
 *         go func(c <-chan int) { for n := range c { out <- n }; wg.Done() }(c)
 *     }
 *     go func() { wg.Wait(); close(out) }()
 */
#include <stdio.h>

#include "golf/golf.h"

enum { WORKERS = 4, JOBS = 10000 };

typedef struct {
    golf_chan *jobs, *out;
    int id;
    long done; /* jobs this worker did */
} worker;

/* Fan-out: every worker takes jobs from the same channel until it is closed. */
static void
square_worker(void *p)
{
    worker *w = p;
    long n;
    while (golf_chan_recv(w->jobs, &n) == GOLF_OK) {
        long r = n * n;
        golf_chan_send(w->out, &r);
        w->done++;
    }
}

typedef struct {
    golf_waitgroup *wg;
    golf_chan *out;
} closer_arg;

/* Fan-in: once every worker has returned, nothing more can arrive: close the merged channel. */
static void
closer(void *p)
{
    closer_arg *c = p;
    golf_waitgroup_wait(c->wg);
    golf_chan_close(c->out);
}

static void
producer(void *p)
{
    golf_chan *jobs = p;
    for (long i = 1; i <= JOBS; i++)
        golf_chan_send(jobs, &i);
    golf_chan_close(jobs);
}

int
main(void)
{
    golf_chan *jobs = golf_chan_new(sizeof(long), 16);
    golf_chan *out = golf_chan_new(sizeof(long), 16);
    golf_waitgroup workers = {0}, others = {0};
    worker w[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        w[i] = (worker){.jobs = jobs, .out = out, .id = i};
        golf_waitgroup_go(&workers, square_worker, &w[i]);
    }
    closer_arg c = {.wg = &workers, .out = out};
    golf_waitgroup_go(&others, closer, &c);
    golf_waitgroup_go(&others, producer, jobs);

    long sum = 0, count = 0, v;
    while (golf_chan_recv(out, &v) == GOLF_OK) {
        sum += v;
        count++;
    }
    golf_waitgroup_wait(&others);

    long want = (long)JOBS * (JOBS + 1) * (2L * JOBS + 1) / 6;
    printf("%ld results, sum of squares %ld (want %d, %ld); jobs per worker:", count, sum, JOBS,
           want);
    long total = 0;
    for (int i = 0; i < WORKERS; i++) {
        printf(" %ld", w[i].done);
        total += w[i].done;
    }
    printf("\n");
    golf_chan_free(jobs);
    golf_chan_free(out);
    return count == JOBS && sum == want && total == JOBS ? 0 : 1;
}
