/* SPDX-License-Identifier: MIT */
/* Worker pools, after "Go by Example: Worker Pools": a fixed number of workers take jobs from a
 * buffered channel and send results to another; main sends the jobs, closes the job channel,
 * and collects exactly one result per job:
 *
 *     jobs := make(chan int, numJobs); results := make(chan int, numJobs)
 *     for w := 1; w <= 3; w++ { go worker(w, jobs, results) }
 *     for j := 1; j <= numJobs; j++ { jobs <- j }
 *     close(jobs)
 *     for a := 1; a <= numJobs; a++ { <-results }
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <stdio.h>
#include <time.h>

#include "golf/golf.h"

enum { NUM_JOBS = 9, NUM_WORKERS = 3 };

typedef struct {
    int id;
    golf_chan *jobs, *results;
} worker_arg;

typedef struct {
    int job, worker, result;
} result;

static void
worker(void *p)
{
    worker_arg *w = p;
    int j;
    while (golf_chan_recv(w->jobs, &j) == GOLF_OK) {
        struct timespec work = {.tv_nsec = 10 * 1000 * 1000}; /* time.Sleep(10ms): "work" */
        nanosleep(&work, NULL);
        result r = {.job = j, .worker = w->id, .result = j * 2};
        golf_chan_send(w->results, &r);
    }
}

int
main(void)
{
    golf_chan *jobs = golf_chan_new(sizeof(int), NUM_JOBS);
    golf_chan *results = golf_chan_new(sizeof(result), NUM_JOBS);
    golf_waitgroup wg = {0};
    worker_arg w[NUM_WORKERS];
    for (int i = 0; i < NUM_WORKERS; i++) {
        w[i] = (worker_arg){.id = i + 1, .jobs = jobs, .results = results};
        golf_waitgroup_go(&wg, worker, &w[i]);
    }
    for (int j = 1; j <= NUM_JOBS; j++)
        golf_chan_send(jobs, &j);
    golf_chan_close(jobs);

    bool seen[NUM_JOBS + 1] = {false};
    bool ok = true;
    for (int a = 1; a <= NUM_JOBS; a++) {
        result r;
        golf_chan_recv(results, &r);
        printf("worker %d finished job %d -> %d\n", r.worker, r.job, r.result);
        if (r.job < 1 || r.job > NUM_JOBS || seen[r.job] || r.result != 2 * r.job)
            ok = false;
        else
            seen[r.job] = true;
    }
    golf_waitgroup_wait(&wg); /* the workers return once jobs is closed and drained */
    golf_chan_free(jobs);
    golf_chan_free(results);
    printf("%s\n", ok ? "all jobs done once" : "WRONG");
    return ok ? 0 : 1;
}
