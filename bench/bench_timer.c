/* SPDX-License-Identifier: MIT */
/* timer_lateness (docs/BENCHMARKS.md): each of T threads arms a 1 ms timer, receives its fire
 * and frees it, n timers in all (Go: `<-time.After(time.Millisecond)`). The lateness of one
 * timer is the time the receiver has the value minus the deadline; golf-bench prints its median
 * and 99th percentile per run (stderr, "lateness"); ops/s counts timers. The "ref" peer is the
 * floor: clock_nanosleep to the same absolute deadline, no timer thread in between. */
#include "bench.h"
#include "golf/chan.h"
#include "golf/time.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LATENESS_DELAY_NS 1000000u /* 1 ms */

typedef struct lat_ctx {
    uint64_t per_thread;
    uint64_t *lateness; /* per_thread slots per thread, ns */
    atomic_int failed;
} lat_ctx;

static void
golf_lat_worker(void *arg, int id)
{
    lat_ctx *c = arg;
    uint64_t *out = c->lateness + (size_t)id * c->per_thread;
    for (uint64_t i = 0; i < c->per_thread; i++) {
        uint64_t deadline = golf_now_ns() + LATENESS_DELAY_NS;
        golf_timer *t = golf_timer_new(LATENESS_DELAY_NS, 0);
        uint64_t fired = 0;
        if (t == NULL || golf_chan_recv(golf_timer_chan(t), &fired) != GOLF_OK) {
            atomic_store(&c->failed, 1);
            golf_timer_free(t);
            return;
        }
        uint64_t now = golf_now_ns();
        golf_timer_free(t);
        if (fired < deadline) /* deadline was read before the timer's: it may only be later */
            atomic_store(&c->failed, 2);
        out[i] = now > deadline ? now - deadline : 0;
    }
}

static void
ref_lat_worker(void *arg, int id)
{
    lat_ctx *c = arg;
    uint64_t *out = c->lateness + (size_t)id * c->per_thread;
    for (uint64_t i = 0; i < c->per_thread; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t deadline =
            (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + LATENESS_DELAY_NS;
        ts.tv_sec = (time_t)(deadline / 1000000000u);
        ts.tv_nsec = (long)(deadline % 1000000000u);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
        }
        uint64_t now = golf_now_ns();
        out[i] = now > deadline ? now - deadline : 0;
    }
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void
run_lateness(int threads, uint64_t n, gb_result *out, void (*worker)(void *, int))
{
    lat_ctx c = {.per_thread = n / (uint64_t)threads};
    if (c.per_thread == 0)
        c.per_thread = 1;
    uint64_t total = c.per_thread * (uint64_t)threads;
    c.lateness = calloc(total, sizeof *c.lateness);
    if (c.lateness == NULL) {
        gb_fail(out, "out of memory");
        return;
    }
    out->seconds = gb_run_workers(threads, worker, &c);
    out->ops = total;
    if (atomic_load(&c.failed) == 1)
        gb_fail(out, "a timer could not be made or received");
    else if (atomic_load(&c.failed) == 2)
        gb_fail(out, "a timer fired before its deadline");
    qsort(c.lateness, total, sizeof *c.lateness, cmp_u64);
    out->lat = true;
    out->lat_p50_us = (double)c.lateness[total / 2] / 1e3;
    out->lat_p99_us =
        (double)c.lateness[(total * 99) / 100 < total ? (total * 99) / 100 : total - 1] / 1e3;
    free(c.lateness);
}

static void
golf_lateness(int threads, uint64_t n, gb_result *out)
{
    run_lateness(threads, n, out, golf_lat_worker);
}

static void
ref_lateness(int threads, uint64_t n, gb_result *out)
{
    run_lateness(threads, n, out, ref_lat_worker);
}

static const gb_workload timer_lateness = {
    .name = "timer_lateness",
    .n = 2000,
    .threads = {1, 4},
    .impls = {{"golf", golf_lateness}, {"ref", ref_lateness}},
    .go = true,
};
GB_REGISTER(timer_lateness)
