/* golf-bench's workload interface. Each bench/bench_<module>.c defines its workloads and
 * registers them with GB_REGISTER; golf_bench.c runs them interleaved (golf, peer, golf, peer,
 * ...), takes medians, prints CSV + a table of golf/peer ratios, and runs the Go mirror from
 * bench/go/ as one more peer. Conventions (timing, payloads, PRNG, sizes) are BENCH.md's. */
#ifndef GOLF_BENCH_H
#define GOLF_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gb_result {
    uint64_t ops;     /* operations done (round trips for *_rtt workloads) */
    double seconds;   /* wall time from just before the workers start until all have joined */
    bool ok;          /* the workload's own check passed (count and sum, final counter, ...) */
    char why[160];    /* when !ok: what the check found */
} gb_result;

/* Runs one fresh instance (fresh queue/map/pool) of the workload with `threads` (the CSV's
 * threads column: P for the queue workloads, T elsewhere) and `n` total operations. Setup such
 * as prefilling a map is not timed. Fills *out. */
typedef void (*gb_run_fn)(int threads, uint64_t n, gb_result *out);

typedef struct gb_impl {
    const char *name; /* "golf" first; then peers: "ref", "ck", "urcu", "malloc", ... */
    gb_run_fn run;
} gb_impl;

#define GB_MAX_THREADS 8
#define GB_MAX_IMPLS 6

typedef struct gb_workload {
    const char *name;                 /* BENCH.md's fixed name, e.g. "chan_buf1024_mpmc" */
    uint64_t n;                       /* default total operations (BENCH.md) */
    bool rtt;                         /* report ns per round trip (ping-pong) */
    int threads[GB_MAX_THREADS];      /* thread counts to run, 0-terminated */
    gb_impl impls[GB_MAX_IMPLS];      /* golf first, then the C peers; {0}-terminated */
    bool go;                          /* bench/go has a mirror of this workload */
} gb_workload;

void gb_register(const gb_workload *w);
#define GB_REGISTER(var)                                                                      \
    __attribute__((constructor)) static void gb_register_##var(void) { gb_register(&var); }

/* ---- helpers for workloads ---- */

/* Starts `nthreads` threads running worker(arg, id) for id = 0..nthreads-1 and joins them.
 * Returns the seconds from just before the first thread starts until the last has joined. */
double gb_run_workers(int nthreads, void (*worker)(void *arg, int id), void *arg);

/* BENCH.md's PRNG: splitmix64, per worker, seeded 0x1234567 + id*0x9E3779B97F4A7C15. */
static inline uint64_t
gb_seed(int id)
{
    return 0x1234567u + (uint64_t)id * 0x9E3779B97F4A7C15u;
}
static inline uint64_t
gb_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Marks *out failed with a printf-style reason. */
void gb_fail(gb_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
