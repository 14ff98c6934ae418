/* SPDX-License-Identifier: MIT */
/* The run helpers every workload file, the host probes and the driver share: a failed result,
 * the clock, and a set of threads started and joined around a timed run. The bottom of bench/:
 * it calls nothing else of golf-bench. */
#include "bench.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void
gb_fail(gb_result *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof out->why, fmt, ap);
    va_end(ap);
    out->ok = false;
}

double
gb_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct worker_start {
    void (*worker)(void *arg, int id);
    void *arg;
    int id;
} worker_start;

static void *
worker_main(void *p)
{
    worker_start *s = p;
    s->worker(s->arg, s->id);
    return NULL;
}

double
gb_run_workers(int nthreads, void (*worker)(void *arg, int id), void *arg)
{
    pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
    worker_start *starts = calloc((size_t)nthreads, sizeof *starts);
    if (tids == NULL || starts == NULL) {
        fprintf(stderr, "golf-bench: out of memory\n");
        exit(2);
    }
    double t0 = gb_now_s();
    for (int i = 0; i < nthreads; i++) {
        starts[i] = (worker_start){worker, arg, i};
        if (pthread_create(&tids[i], NULL, worker_main, &starts[i]) != 0) {
            fprintf(stderr, "golf-bench: cannot start thread %d\n", i);
            exit(2);
        }
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(tids[i], NULL);
    double t = gb_now_s() - t0;
    free(tids);
    free(starts);
    return t;
}
