/* SPDX-License-Identifier: MIT */
/* golf-bench's workload interface. Each bench/bench_<module>.c defines its workloads and
 * registers them with GB_REGISTER; golf_bench.c runs them interleaved (every implementation
 * once a round, in a seeded random order), takes medians, prints CSV + a table of golf/peer
 * ratios, and runs the Go mirror from bench/go/ as one more peer. Conventions (timing,
 * payloads, PRNG, sizes) are docs/BENCHMARKS.md's. */
#ifndef GOLF_BENCH_H
#define GOLF_BENCH_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gb_result {
    uint64_t ops;   /* operations done (round trips for *_rtt workloads) */
    double seconds; /* wall time from just before the workers start until all have joined */
    bool ok;        /* the workload's own check passed (count and sum, final counter, ...) */
    char why[160];  /* when !ok: what the check found */
    /* A latency workload (timer_lateness) also fills these; golf-bench prints them per run. */
    bool lat;
    double lat_p50_us, lat_p99_us;
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
    const char *name;            /* docs/BENCHMARKS.md's fixed name, e.g. "chan_buf1024_mpmc" */
    uint64_t n;                  /* default total operations (docs/BENCHMARKS.md) */
    bool rtt;                    /* report ns per round trip (ping-pong) */
    int threads[GB_MAX_THREADS]; /* thread counts to run, 0-terminated */
    gb_impl impls[GB_MAX_IMPLS]; /* golf first, then the C peers; {0}-terminated */
    bool go;                     /* bench/go has a mirror of this workload */
} gb_workload;

void gb_register(const gb_workload *w);
#define GB_REGISTER(var)                                                                           \
    __attribute__((constructor)) static void gb_register_##var(void)                               \
    {                                                                                              \
        gb_register(&var);                                                                         \
    }

/* ---- helpers for workloads ---- */

/* Starts `nthreads` threads running worker(arg, id) for id = 0..nthreads-1 and joins them.
 * Returns the seconds from just before the first thread starts until the last has joined. */
double gb_run_workers(int nthreads, void (*worker)(void *arg, int id), void *arg);

/* docs/BENCHMARKS.md's PRNG: splitmix64, per worker, seeded 0x1234567 + id*0x9E3779B97F4A7C15. */
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

/* CLOCK_MONOTONIC now, in seconds. */
double gb_now_s(void);

/* ---- the host's floors (host.c) ---- */

#define GB_STAT_BATCHES 8 /* batch medians kept in a gb_stat, at most */

/* One measured cost in ns: the median over `batches` batches, or over `trials` single trials
 * grouped into `batches` for the spread. */
typedef struct gb_stat {
    bool ok;                       /* false: not measurable here ("n/a"), why[] says why */
    double median;                 /* ns per operation */
    double p90;                    /* 90th percentile of the single trials (when trials > 0) */
    double spread;                 /* (max-min)/median of the batch medians */
    int batches;                   /* batches the spread is over */
    int trials;                    /* single timed trials (futex, busy membarrier; else 0) */
    double batch[GB_STAT_BATCHES]; /* the batch medians, ns, sorted (batches of them) */
    char why[96];
} gb_stat;

enum {
    GB_HOST_SYSCALL,         /* syscall(SYS_getppid) */
    GB_HOST_FUTEX_WAKE,      /* FUTEX_WAKE issued -> the sleeper runs */
    GB_HOST_MEMBARRIER,      /* membarrier(PRIVATE_EXPEDITED), no other thread running */
    GB_HOST_MEMBARRIER_BUSY, /* the same while another thread spins on another CPU */
    GB_HOST_CACHELINE_RTT,   /* a token through one atomic word, there and back */
    GB_HOST_PAUSE,           /* one spin-loop relax instruction (x86 pause) */
    GB_HOST_NFLOORS
};

typedef struct gb_floor {
    const char *key;   /* CSV workload "host_<key>", JSON host.floors.<key> */
    const char *label; /* the header's words */
    int threads;       /* threads the probe runs */
    gb_stat st;
} gb_floor;

typedef struct gb_host {
    gb_floor floor[GB_HOST_NFLOORS];
    double probe_s; /* how long the probes took */
} gb_host;

/* Measures every floor (well under 1.5 s). Call it while no other thread of the process runs. */
void gb_host_probe(gb_host *h);

/* The first two CPUs this process may run on in cpu[]; false when it may run on only one. */
bool gb_two_cpus(int cpu[2]);
/* Pins the calling thread to one CPU. */
void gb_pin_self(int cpu);

/* A token bouncing between two threads through one atomic word: the physical minimum of a
 * round trip. Thread 0 stores 2i+1 and spin-waits for thread 1's answer 2i+2; either ends the
 * other with GB_BOUNCE_STOP. Run gb_bounce_worker with ids 0 and 1 (gb_run_workers(2, ...)). */
#define GB_BOUNCE_STOP UINT64_MAX
typedef struct gb_bounce {
    _Alignas(128) _Atomic uint64_t word; /* alone on its line pair: only the token moves */
    _Alignas(128) uint64_t n;            /* round trips thread 0 makes */
    double limit_s;                      /* thread 0 stops after this long (0: no limit) */
    int cpu[2];                          /* pin thread id to cpu[id]; -1: leave it unpinned */
    uint64_t done;                       /* thread 0: round trips made */
    uint64_t bad;                        /* thread 0: answers that were not token + 1 */
    uint64_t answered;                   /* thread 1: tokens answered */
    double seconds;                      /* thread 0: time over round trips 2..done */
} gb_bounce;
void gb_bounce_worker(void *arg, int id);

/* Heap bytes per channel of `count` channels of int64 with capacity cap, made by impl ("golf",
 * "ref") and then freed: malloc's in-use bytes (chunk headers included) before and after, divided
 * by count. False, with why[], when it cannot be measured. (bench_chan.c) */
bool gb_chan_footprint(const char *impl, size_t cap, int count, double *bytes, char *why,
                       size_t whylen);

/* One step of a floor spin-wait: plain re-reads, no relax instruction (the floor is the cache
 * line's trip, not pause's latency); every GB_SPIN_YIELD steps a sched_yield, so that more
 * spinners than CPUs (P=4 on 2 cores) still progress. */
#define GB_SPIN_YIELD 4096
static inline void
gb_spin_step(unsigned *spins)
{
    if (++*spins % GB_SPIN_YIELD == 0)
        sched_yield();
}

#endif
