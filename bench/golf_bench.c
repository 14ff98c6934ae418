/* SPDX-License-Identifier: MIT */
/* golf-bench: golf beside its peers, interleaved in one invocation (docs/BENCHMARKS.md).
 *
 * First it measures the host's floors (host.c) and prints them in its header. Then, for each
 * workload and thread count, it runs every implementation once per round, `runs` rounds, in
 * an order shuffled each round (seeded), so slow drift of a shared machine hits all of them
 * alike, and reports the median of the rounds, golf's speed relative to each peer and, where a
 * workload has a floor row, each implementation's time as a multiple of the floor's. Last, the
 * footprint of a channel. Output: the table on stdout, and optionally CSV, JSON and a plot. */
#include "bench.h"
#include "stats.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* The Go mirror's file name: looked for next to golf-bench, then on PATH (go_path()). */
#define GOLF_BENCH_GO_NAME "golf-bench-go"
#ifndef GOLF_BENCH_VERSION
#define GOLF_BENCH_VERSION "unknown"
#endif

#define MAX_WORKLOADS 64
#define MAX_RUNS 99

static const gb_workload *workloads[MAX_WORKLOADS];
static int nworkloads;

void
gb_register(const gb_workload *w)
{
    if (nworkloads < MAX_WORKLOADS)
        workloads[nworkloads++] = w;
}

/* ---- options ---- */

/* The default --budget. The standard comparison's slowest rows are the futex-bound channels
 * (unbuffered, ping-pong) and the mutex references, which a loaded 2-core host runs at
 * 0.05-0.1 Mops/s: each is a budget per round. At 5 s the whole comparison takes about 5-7
 * minutes on 2 cores (README, "Benchmark"); 5 s is still millions of operations for every
 * implementation that runs faster than 1 Mops/s, and 250,000 for one at 0.05. */
#define GB_DEFAULT_BUDGET_S 5.0

static struct {
    int runs;
    double scale;
    const char *csv_path;
    const char *json_path;
    const char *plot_path;
    const char *go_path;
    bool no_go;
    bool quiet;
    bool host_only;         /* --host: the host's floors, no workload */
    bool list;              /* --list: the workloads, nothing run */
    const char *only_impls; /* comma list or NULL */
    double budget;          /* seconds one run of one implementation may take; 0: no limit */
    uint64_t seed;          /* of the order implementations run in, each round */
    double t0;              /* when the run began (gb_now_s()) */
    double elapsed_s;       /* how long the host probe, footprint and workloads took */
    bool seed_given;        /* --seed N; else one from the clock and the process id */
} opt = {.runs = 3, .scale = 1.0, .budget = GB_DEFAULT_BUDGET_S};

/* The stream that orders each round's implementations, started from opt.seed. */
static uint64_t order_state;

/* One (workload, threads) selection from the command line. */
typedef struct selection {
    const gb_workload *w;
    int threads[GB_MAX_THREADS]; /* 0-terminated; empty: the workload's own list */
} selection;

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: golf-bench [options] [WORKLOAD[:T1,T2,...]]...\n"
            "  With no workload: the standard comparison (every workload, its thread counts).\n"
            "  Every run first measures the host's floors (system call, futex wake-up,\n"
            "  membarrier, cache-line round trip, pause) and prints them in its header.\n"
            "  --host          measure and print only the host's floors\n"
            "  --list          list workloads, their thread counts and implementations\n"
            "  --runs N        rounds per measurement, median reported (default 3)\n"
            "  --scale F       multiply every workload's operation count by F (default 1)\n"
            "  --impl A,B      run only these implementations (golf and floor always run)\n"
            "  --budget S      seconds one run may take (default 5; 0: none): a slower\n"
            "                  implementation runs fewer operations, marked '*' (see below)\n"
            "  --seed N        the seed of the order the implementations run in, shuffled\n"
            "                  every round (default: from the clock; the header prints it)\n"
            "  --csv FILE      also write the results as CSV to FILE ('-': stdout), columns\n"
            "                  impl,workload,threads,ops_per_sec,ns_per_op (as ever),\n"
            "                  spread,runs,bytes_per_chan,ops_per_run,budget_cut,status,why,\n"
            "                  golf_ratio,ratio_ci_lo,ratio_ci_hi,target,verdict; failed rows\n"
            "                  too; host floors are rows of impl 'host'\n"
            "  --json FILE     also write everything as one JSON object to FILE ('-': stdout):\n"
            "                  the seed, host facts and floors, every row with each round's\n"
            "                  value, ratio, interval and verdict, the targets, the footprint\n"
            "  --plot FILE     also draw the results to FILE (PNG) with gnuplot, when installed:\n"
            "                  medians, error bars from the slowest to the fastest round\n"
            "  --go PATH       the Go mirror binary (default: golf-bench-go next to golf-bench,\n"
            "                  else on PATH)\n"
            "  --no-go         skip the Go peer\n"
            "  --quiet         no progress on stderr\n"
            "  --version       print golf-bench's version and exit\n"
            "  --help          print this and exit\n"
            "  An option's value may follow it (--runs 5) or be joined to it (--runs=5).\n"
            "  Every value is checked before anything runs: a bad one, an unknown workload or\n"
            "  implementation, or an output that cannot be written exits with status 2.\n");
}

static const gb_workload *
find_workload(const char *name, size_t len)
{
    for (int i = 0; i < nworkloads; i++)
        if (strlen(workloads[i]->name) == len && strncmp(workloads[i]->name, name, len) == 0)
            return workloads[i];
    return NULL;
}

static int
cmp_workload(const void *a, const void *b)
{
    const gb_workload *x = *(const gb_workload *const *)a, *y = *(const gb_workload *const *)b;
    return strcmp(x->name, y->name);
}

/* The standard order: docs/BENCHMARKS.md's table order. Others follow alphabetically. */
/* clang-format off */
static const char *const standard_order[] = {
    "chan_buf1024_mpmc", "chan_unbuf_mpmc", "chan_unbounded_mpmc", "chan_select2_buf1024",
    "chan_pingpong_rtt", "chan_recv_many64", "ring_mpmc1024", "map_load99", "map_load90",
    "map_load50", "map_loadorstore_hot",
    "pool_getput64", "mutex_inc", "waitgroup_adddone", NULL};
/* clang-format on */

static void
sort_workloads(void)
{
    qsort(workloads, (size_t)nworkloads, sizeof workloads[0], cmp_workload);
    int pos = 0;
    for (int k = 0; standard_order[k]; k++) {
        for (int i = pos; i < nworkloads; i++) {
            if (strcmp(workloads[i]->name, standard_order[k]) == 0) {
                const gb_workload *t = workloads[i];
                memmove(&workloads[pos + 1], &workloads[pos], (size_t)(i - pos) * sizeof t);
                workloads[pos++] = t;
                break;
            }
        }
    }
}

/* ---- implementations of one measurement ---- */

typedef struct impl_ref {
    const char *name;
    gb_run_fn run; /* NULL: the Go mirror */
} impl_ref;

/* golf and the floor (what the others are measured against) always run. */
static bool
impl_wanted(const char *name)
{
    if (opt.only_impls == NULL || strcmp(name, "golf") == 0 || strcmp(name, "floor") == 0)
        return true;
    size_t n = strlen(name);
    for (const char *p = opt.only_impls; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len + (e ? 1 : 0);
    }
    return false;
}

/* --go PATH; else golf-bench-go in golf-bench's own folder (the build tree's bench/, or the
 * bin/ it was installed to); else the first one on PATH; else the bare name (not found). */
static const char *
go_path(void)
{
    static char found[4096];
    if (opt.go_path)
        return opt.go_path;
    if (found[0])
        return found;
    ssize_t len = readlink("/proc/self/exe", found, sizeof found - 1);
    if (len > 0) {
        found[len] = 0;
        char *slash = strrchr(found, '/');
        if (slash && (size_t)(slash + 1 - found) + sizeof GOLF_BENCH_GO_NAME <= sizeof found) {
            memcpy(slash + 1, GOLF_BENCH_GO_NAME, sizeof GOLF_BENCH_GO_NAME);
            if (access(found, X_OK) == 0)
                return found;
        }
    }
    for (const char *dir = getenv("PATH"); dir && *dir;) {
        const char *end = strchr(dir, ':');
        int n = end ? (int)(end - dir) : (int)strlen(dir);
        if (n > 0 &&
            snprintf(found, sizeof found, "%.*s/%s", n, dir, GOLF_BENCH_GO_NAME) <
                (int)sizeof found &&
            access(found, X_OK) == 0)
            return found;
        dir = end ? end + 1 : NULL;
    }
    snprintf(found, sizeof found, "%s", GOLF_BENCH_GO_NAME);
    return found;
}

static bool
go_available(void)
{
    return !opt.no_go && access(go_path(), X_OK) == 0;
}

/* Runs the Go mirror with args; line[] gets the first line it prints, without the newline ("" when
 * none). False when it cannot be started. */
static bool
go_line(const char *args, char *line, size_t len)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s", go_path(), args);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return false;
    if (fgets(line, (int)len, p) == NULL)
        line[0] = 0;
    pclose(p);
    line[strcspn(line, "\n")] = 0;
    return true;
}

static void
run_go(const gb_workload *w, int threads, uint64_t n, gb_result *out)
{
    char args[256], line[512];
    snprintf(args, sizeof args, "-w %s -t %d -n %llu", w->name, threads, (unsigned long long)n);
    memset(out, 0, sizeof *out);
    if (!go_line(args, line, sizeof line)) {
        gb_fail(out, "cannot run %s %s", go_path(), args);
        return;
    }
    unsigned long long ops;
    double secs, p50, p99;
    int got = sscanf(line, "ok %llu %lf %lf %lf", &ops, &secs, &p50, &p99);
    if (got >= 2) {
        out->ops = ops;
        out->seconds = secs;
        out->ok = true;
        if (got == 4) {
            out->lat = true;
            out->lat_p50_us = p50;
            out->lat_p99_us = p99;
        }
    } else {
        gb_fail(out, "go: %s", line[0] ? line : "no output");
    }
}

/* ---- results ---- */

/* The host: facts and floors (read_host_facts(), gb_host_probe()). */
static struct {
    char hostname[128];
    char date[64];     /* for people: 2026-11-29 20:01 UTC */
    char iso_date[32]; /* for programs: 2026-11-29T20:01:07Z */
    char kernel[128];
    char machine[128];
    char cpu_model[128];
    long cpus;
    gb_host floors;
} host;

/* docs/BENCHMARKS.md's targets, in one table. A target is golf's speed over vs's, at least
 * `bound`, where vs is an implementation or HOST_RTT (the host's cache-line round trip, as a
 * rate: a target on ns per operation, turned round); with vs NULL it is golf's own spread, at
 * most `bound`. */
#define HOST_RTT "host-rtt"
typedef struct target {
    const char *workload; /* the name, or "chan_*": every channel workload */
    int threads;          /* 0: every thread count */
    const char *vs;
    double bound;
    const char *text; /* docs/BENCHMARKS.md's words */
} target;

static const target targets[] = {
    {"chan_buf1024_mpmc", 1, "go", 2.0, ">= 2x Go"},
    {"chan_buf1024_mpmc", 8, "go", 1.2, ">= 1.2x Go"},
    {"chan_buf1024_mpmc", 8, "ref", 4.0, ">= 4x the mutex reference"},
    {"chan_unbuf_mpmc", 1, HOST_RTT, 1.0, "ns/message <= host cache-line rtt"},
    {"chan_unbuf_mpmc", 4, "go", 1.0, ">= Go"},
    {"chan_unbounded_mpmc", 1, "wfcq", 2.0, ">= 2x liburcu's wfcqueue"},
    {"chan_unbounded_mpmc", 8, "wfcq", 1.0, ">= liburcu's wfcqueue"},
    {"chan_select2_buf1024", 0, "go", 1.5, ">= 1.5x Go"},
    /* On the workload's floor row: the header's round trip by the same code, but run in rounds
     * interleaved with golf's, where the header's probe is 0.08 s at the start of a run on a
     * host whose vCPU placement can change its round trip by 1.3x within minutes. */
    {"chan_pingpong_rtt", 0, "floor", 1 / 1.3, "ns <= 1.3x the floor's round trip"},
    {"chan_recv_many64", 1, "go", 5.0, ">= 5x Go"},
    {"chan_*", 0, NULL, 0.15, "spread <= 15%"},
    {"ring_mpmc1024", 1, "ck", 2.0, ">= 2x ck_ring"},
    {"map_load99", 2, "ck", 1.0, ">= ck_ht"},
    {"map_load99", 2, "go", 2.0, ">= 2x Go"},
    {"map_load50", 2, "ref", 1.0, ">= the mutex reference"},
    {"map_load50", 2, "go", 3.0, ">= 3x Go"},
    {"map_loadorstore_hot", 2, "go", 3.0, ">= 3x Go"},
    {"pool_getput64", 1, "malloc", 2.0, ">= 2x malloc/free"},
    {"pool_getput64", 1, "go", 3.0, ">= 3x Go"},
    {"pool_getput64", 2, "malloc", 2.0, ">= 2x malloc/free"},
    {"pool_getput64", 2, "go", 3.0, ">= 3x Go"},
    {"mutex_inc", 1, "go", 0.95, ">= 0.95x Go"},
    {"mutex_inc", 8, "go", 1.0, ">= Go"},
    {"waitgroup_adddone", 2, "go", 1.0, ">= Go"},
};
#define NTARGETS (sizeof targets / sizeof targets[0])

static bool
target_covers(const target *t, const char *workload, int threads)
{
    size_t len = strlen(t->workload);
    bool name = t->workload[len - 1] == '*' ? strncmp(t->workload, workload, len - 1) == 0
                                            : strcmp(t->workload, workload) == 0;
    return name && (t->threads == 0 || t->threads == threads);
}

/* The target of impl's row in (workload, threads) (impl "golf": the spread target), or NULL. */
static const target *
find_target(const char *workload, int threads, const char *impl)
{
    for (size_t i = 0; i < NTARGETS; i++) {
        const target *t = &targets[i];
        if (target_covers(t, workload, threads) &&
            (t->vs ? strcmp(t->vs, impl) == 0 : strcmp(impl, "golf") == 0))
            return t;
    }
    return NULL;
}

typedef struct row {
    const char *impl;
    const char *workload;
    int threads;
    bool rtt;
    bool ok;
    double ops_per_sec;    /* median */
    double spread;         /* (max-min)/median over the rounds */
    uint64_t n;            /* operations per run (fewer than the workload's when over budget) */
    bool scaled;           /* n was cut to fit the time budget */
    int runs;              /* rounds measured */
    double reps[MAX_RUNS]; /* ops/s of each round, in the order they ran (when ok) */
    char why[160];
    bool host; /* the host's floor as a row (HOST_RTT): reps are its batches */
    /* Filled by judge(), after every measurement: */
    bool has_ratio;       /* golf's and this row's medians, both ok (not golf's own row) */
    double ratio;         /* golf's median / this row's */
    gb_interval ci;       /* the 95 % bootstrap interval of ratio */
    const target *target; /* what this row is judged against, or NULL */
    gb_verdict verdict;
} row;

static row *rows;
static size_t nrows, caprows;

static row *
add_row(void)
{
    if (nrows == caprows) {
        caprows = caprows ? caprows * 2 : 64;
        rows = realloc(rows, caprows * sizeof *rows);
        if (rows == NULL) {
            fprintf(stderr, "golf-bench: out of memory\n");
            exit(2);
        }
    }
    memset(&rows[nrows], 0, sizeof rows[0]);
    return &rows[nrows++];
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void
progress(const char *fmt, ...)
{
    if (opt.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    bool tty = isatty(2);
    if (tty)
        fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    if (!tty)
        fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
}

static int failures;      /* golf's, the reference's or the floor's check failed: exit 1 */
static int peer_failures; /* a third-party peer failed or gave up: reported, exit 0 */

/* Runs implementation i once with n operations; returns ops/s, or 0 with why[] filled. */
static double
run_once(const gb_workload *w, const impl_ref *impl, int threads, uint64_t n, char *why,
         size_t whylen)
{
    gb_result res;
    memset(&res, 0, sizeof res);
    res.ok = true;
    if (impl->run)
        impl->run(threads, n, &res);
    else
        run_go(w, threads, n, &res);
    if (!res.ok || res.seconds <= 0 || res.ops == 0) {
        snprintf(why, whylen, "%.150s", res.ok ? "no time measured" : res.why);
        return 0;
    }
    if (res.lat) /* not in the CSV or JSON: ops/s is what those compare */
        fprintf(stderr, "  %s %s T=%d: lateness p50 %.1f us, p99 %.1f us over %llu\n", w->name,
                impl->name, threads, res.lat_p50_us, res.lat_p99_us, (unsigned long long)res.ops);
    return (double)res.ops / res.seconds;
}

/* golf's, the reference's and the floor's failures are bugs in this repository; a peer's are
 * not. */
static bool
impl_is_ours(const char *name)
{
    return strncmp(name, "golf", 4) == 0 || strncmp(name, "ref", 3) == 0 ||
           strcmp(name, "floor") == 0;
}

/* Runs one (workload, threads): every implementation, `runs` rounds interleaved. */
static void
measure(const gb_workload *w, int threads, int index, int total)
{
    impl_ref impls[GB_MAX_IMPLS + 1];
    int nimpl = 0;
    for (int i = 0; i < GB_MAX_IMPLS && w->impls[i].name; i++)
        if (impl_wanted(w->impls[i].name))
            impls[nimpl++] = (impl_ref){w->impls[i].name, w->impls[i].run};
    if (w->go && impl_wanted("go") && go_available())
        impls[nimpl++] = (impl_ref){"go", NULL};

    uint64_t n = (uint64_t)llround((double)w->n * opt.scale);
    if (n < (uint64_t)threads * 16)
        n = (uint64_t)threads * 16;
    double samples[GB_MAX_IMPLS + 1][MAX_RUNS];
    bool ok[GB_MAX_IMPLS + 1];
    char why[GB_MAX_IMPLS + 1][160];
    uint64_t n_impl[GB_MAX_IMPLS + 1];
    for (int i = 0; i < nimpl; i++) {
        ok[i] = true;
        why[i][0] = 0;
        n_impl[i] = n;
    }
    /* The time budget: an untimed calibration run at 1/100 of the operations estimates each
     * implementation's rate; one whose full run would take longer than the budget (a mutex
     * reference at 0.03 Mops/s on an unbuffered channel would take 5 minutes a run) runs only
     * as many operations as fit in it. Throughput in ops/s stays comparable; the table marks
     * such rows with '*'. Every round (and the calibration) runs the implementations in a fresh
     * random order, so that none always runs first, on a cold cache or right after a peer that
     * heated the CPU or filled the allocator. */
    int order[GB_MAX_IMPLS + 1];
    for (int i = 0; i < nimpl; i++)
        order[i] = i;
    uint64_t min_n = (uint64_t)threads * 16;
    if (opt.budget > 0 && n / 100 >= min_n) {
        gb_shuffle(order, nimpl, &order_state);
        for (int k = 0; k < nimpl; k++) {
            int i = order[k];
            progress("[%d/%d] %s threads=%d %s calibration", index, total, w->name, threads,
                     impls[i].name);
            double rate = run_once(w, &impls[i], threads, n / 100, why[i], sizeof why[i]);
            if (rate <= 0) {
                ok[i] = false;
                continue;
            }
            if ((double)n / rate > opt.budget) {
                uint64_t fit = (uint64_t)(rate * opt.budget);
                n_impl[i] = fit > min_n ? fit : min_n;
            }
        }
    }
    for (int r = 0; r < opt.runs; r++) {
        gb_shuffle(order, nimpl, &order_state);
        for (int k = 0; k < nimpl; k++) {
            int i = order[k];
            /* On a terminal the line is rewritten for every run; in a log, one line for each
             * (workload, threads). */
            if (isatty(2) || (r == 0 && k == 0))
                progress("[%d/%d] %s threads=%d %s round %d/%d", index, total, w->name, threads,
                         impls[i].name, r + 1, opt.runs);
            if (!ok[i]) {
                samples[i][r] = 0;
                continue;
            }
            char w_why[160];
            samples[i][r] = run_once(w, &impls[i], threads, n_impl[i], w_why, sizeof w_why);
            if (samples[i][r] <= 0) {
                snprintf(why[i], sizeof why[i], "%s", w_why);
                ok[i] = false;
            }
        }
    }
    for (int i = 0; i < nimpl; i++) {
        row *rw = add_row();
        rw->impl = impls[i].name;
        rw->workload = w->name;
        rw->threads = threads;
        rw->rtt = w->rtt;
        rw->ok = ok[i];
        rw->n = n_impl[i];
        rw->scaled = n_impl[i] < n;
        rw->runs = opt.runs;
        if (ok[i]) {
            memcpy(rw->reps, samples[i], (size_t)opt.runs * sizeof(double));
            qsort(samples[i], (size_t)opt.runs, sizeof(double), cmp_double);
            /* An even number of rounds: the mean of the two middle ones. */
            rw->ops_per_sec = gb_median(samples[i], opt.runs);
            rw->spread = (samples[i][opt.runs - 1] - samples[i][0]) / rw->ops_per_sec;
        } else {
            snprintf(rw->why, sizeof rw->why, "%.150s", why[i]);
            if (impl_is_ours(impls[i].name))
                failures++;
            else
                peer_failures++;
        }
    }
    /* Where a target compares golf with the host's cache-line round trip, that floor is a row
     * of its own: its batches are the rounds the interval resamples. */
    const gb_stat *rtt = &host.floors.floor[GB_HOST_CACHELINE_RTT].st;
    if (find_target(w->name, threads, HOST_RTT) && rtt->ok && rtt->batches <= GB_STAT_BATCHES) {
        row *rw = add_row();
        *rw = (row){.impl = HOST_RTT,
                    .workload = w->name,
                    .threads = threads,
                    .rtt = w->rtt,
                    .ok = true,
                    .ops_per_sec = 1e9 / rtt->median,
                    .spread = rtt->spread,
                    .runs = rtt->batches,
                    .host = true};
        for (int b = 0; b < rtt->batches; b++)
            rw->reps[b] = 1e9 / rtt->batch[b];
    }
}

/* The row of impl for (workload, threads) when it succeeded. */
static const row *
find_ok(const char *workload, int threads, const char *impl)
{
    for (size_t i = 0; i < nrows; i++)
        if (rows[i].ok && rows[i].threads == threads && strcmp(rows[i].workload, workload) == 0 &&
            strcmp(rows[i].impl, impl) == 0)
            return &rows[i];
    return NULL;
}

/* For every row: golf's median over its, with the bootstrap interval, and the verdict on its
 * target. */
static void
judge(void)
{
    for (size_t i = 0; i < nrows; i++) {
        row *r = &rows[i];
        r->target = find_target(r->workload, r->threads, r->impl);
        r->verdict = GB_VERDICT_NONE;
        if (!r->ok)
            continue;
        if (strcmp(r->impl, "golf") == 0) {
            if (r->target && r->runs < 2) /* one round has no spread to judge */
                r->verdict = GB_WITHIN_NOISE;
            else if (r->target)
                r->verdict = r->spread <= r->target->bound ? GB_MET : GB_MISSED;
            continue;
        }
        const row *g = find_ok(r->workload, r->threads, "golf");
        if (g == NULL)
            continue;
        /* One round (--runs 1) says nothing of the noise: no interval, as if it were (0, inf),
         * so that no target is met or missed on it. */
        if (!gb_ratio_ci(g->reps, g->runs, r->reps, r->runs, GB_BOOT_RESAMPLES, GB_BOOT_LEVEL,
                         GB_BOOT_SEED, &r->ci))
            r->ci = (gb_interval){0, INFINITY};
        r->has_ratio = true;
        r->ratio = g->ops_per_sec / r->ops_per_sec;
        if (r->target)
            r->verdict = gb_verdict_of(r->ci, r->target->bound);
    }
}

/* Digits after the point for a ratio: 138, 13.8, 1.38, 0.14, 0.014, 0.0014. */
static int
ratio_digits(double v)
{
    return v >= 100 ? 0 : v >= 10 ? 1 : v >= 0.1 ? 2 : v >= 0.01 ? 3 : 4;
}

/* A ratio and its interval, "1.50x [1.32-1.71]" ("[n/a]": one round, no interval). */
static void
fmt_ratio(char *buf, size_t len, const row *r)
{
    if (!isfinite(r->ci.hi))
        snprintf(buf, len, "%.*fx [n/a]", ratio_digits(r->ratio), r->ratio);
    else
        snprintf(buf, len, "%.*fx [%.*f-%.*f]", ratio_digits(r->ratio), r->ratio,
                 ratio_digits(r->ci.lo), r->ci.lo, ratio_digits(r->ci.hi), r->ci.hi);
}

/* A target as the table's column says it: ">=2x", ">=0.77x", "spread<=15%". */
static void
fmt_target(char *buf, size_t len, const target *t)
{
    if (t->vs)
        snprintf(buf, len, ">=%.3gx", t->bound);
    else
        snprintf(buf, len, "spread<=%.0f%%", t->bound * 100);
}

/* The table: a row per implementation, grouped by (workload, threads); golf's speed over each
 * row's with its interval; the target and verdict of the rows that have one. */
static void
print_table(FILE *f)
{
    bool floors = false; /* a floor column only where some workload has a floor row */
    bool judged = false; /* target and verdict columns only where some row has a target */
    bool rtt = false;    /* a footnote on ns per round trip */
    bool hosts = false;  /* a footnote on host-rtt rows */
    for (size_t i = 0; i < nrows; i++) {
        floors = floors || strcmp(rows[i].impl, "floor") == 0;
        judged = judged || rows[i].target;
        rtt = rtt || rows[i].rtt;
        hosts = hosts || rows[i].host;
    }
    fprintf(f, "\n%-22s %7s %-8s %11s %11s %7s  %-22s", "workload", "threads", "impl", "Mops/s",
            "ns/op", "spread", "golf/impl [95% CI]");
    if (floors)
        fprintf(f, " %9s", "vs floor");
    if (judged)
        fprintf(f, "  %-12s %s", "target", "verdict");
    fputc('\n', f);
    const char *last = NULL;
    int last_t = -1;
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (last && (strcmp(last, r->workload) != 0 || last_t != r->threads))
            fputc('\n', f);
        last = r->workload;
        last_t = r->threads;
        if (!r->ok) {
            fprintf(f, "%-22s %7d %-8s  FAILED: %s\n", r->workload, r->threads, r->impl, r->why);
            continue;
        }
        const row *fl = find_ok(r->workload, r->threads, "floor");
        char ratio[48] = "", to_floor[32] = "", tgt[32] = "";
        if (r->has_ratio)
            fmt_ratio(ratio, sizeof ratio, r);
        if (fl && r != fl && !r->host)
            snprintf(to_floor, sizeof to_floor, "%.2fx", fl->ops_per_sec / r->ops_per_sec);
        if (r->target)
            fmt_target(tgt, sizeof tgt, r->target);
        fprintf(f, "%-22s %7d %-8s %10.2f%c %11.1f %6.0f%%  %-22s", r->workload, r->threads,
                r->impl, r->ops_per_sec / 1e6, r->scaled ? '*' : ' ', 1e9 / r->ops_per_sec,
                r->spread * 100, ratio);
        if (floors)
            fprintf(f, " %9s", to_floor);
        if (judged && r->target)
            fprintf(f, "  %-12s %s", tgt,
                    r->verdict ? gb_verdict_name(r->verdict) : "not measured");
        fputc('\n', f);
    }
    fprintf(f,
            "\ngolf/impl > 1: golf is faster. Medians of %d interleaved rounds; spread = "
            "(max-min)/median;\n[95%% CI]: percentile bootstrap of the ratio of medians (%d "
            "resamples of each side's rounds).\n* fewer operations per run than the "
            "workload's, to fit the %g s budget (--budget).\n",
            opt.runs, GB_BOOT_RESAMPLES, opt.budget);
    if (rtt)
        fprintf(f, "chan_pingpong_rtt: ops are round trips, ns/op is ns per round trip.\n");
    if (floors)
        fprintf(f, "vs floor: ns/op as a multiple of the floor row's, the same hand-offs done with "
                   "raw atomics\n(this host's physical minimum; 1.00x would be a perfect channel)."
                   "\n");
    if (judged)
        fprintf(f, "target: docs/BENCHMARKS.md's, on golf/impl (spread: golf's own). verdict: met "
                   "(the whole interval\nat or above the target), missed (wholly below), within "
                   "noise (the interval straddles it).\n");
    if (hosts)
        fprintf(f, "%s: the host's cache-line round trip (header), its batches as rounds.\n",
                HOST_RTT);
}

/* One target of a (workload, threads) that ran: golf's row g, and r, the row it is judged on
 * (g itself for a spread target; NULL where that implementation did not run). */
typedef struct outcome {
    const target *t;
    const row *g;
    const row *r;
} outcome;

/* Calls fn for every target of every (workload, threads) golf ran, in the table's order. */
static void
each_outcome(void (*fn)(const outcome *o, void *arg), void *arg)
{
    for (size_t i = 0; i < nrows; i++) {
        const row *g = &rows[i];
        if (strcmp(g->impl, "golf") != 0)
            continue;
        for (size_t k = 0; k < NTARGETS; k++) {
            outcome o = {&targets[k], g, targets[k].vs ? NULL : g};
            if (!target_covers(o.t, g->workload, g->threads))
                continue;
            for (size_t j = 0; o.t->vs && j < nrows; j++)
                if (rows[j].threads == g->threads && strcmp(rows[j].workload, g->workload) == 0 &&
                    strcmp(rows[j].impl, o.t->vs) == 0)
                    o.r = &rows[j];
            fn(&o, arg);
        }
    }
}

/* The outcome's verdict, "not measured" when a side did not run or failed. */
static const char *
outcome_verdict(const outcome *o)
{
    return o->r && o->r->verdict ? gb_verdict_name(o->r->verdict) : "not measured";
}

static void
count_outcome(const outcome *o, void *arg)
{
    int *count = arg; /* by gb_verdict; GB_VERDICT_NONE: not measured */
    count[o->r ? o->r->verdict : GB_VERDICT_NONE]++;
}

static void
print_outcome(const outcome *o, void *arg)
{
    char figure[48] = "";
    if (o->r && o->r->verdict && o->t->vs)
        fmt_ratio(figure, sizeof figure, o->r);
    else if (o->r && o->r->verdict)
        snprintf(figure, sizeof figure, "%.0f%%", o->r->spread * 100);
    fprintf(arg, "  %-22s %7d  %-34s %-22s %s\n", o->g->workload, o->g->threads, o->t->text, figure,
            outcome_verdict(o));
}

/* Each target of the workloads run, on one line: the doc's words, the measured ratio and
 * interval (or golf's spread), the verdict. */
static void
print_targets(FILE *f)
{
    int count[4] = {0};
    each_outcome(count_outcome, count);
    if (count[0] + count[GB_MET] + count[GB_MISSED] + count[GB_WITHIN_NOISE] == 0)
        return;
    fprintf(f,
            "\ntargets (docs/BENCHMARKS.md): %d met, %d missed, %d within noise, %d not "
            "measured\n",
            count[GB_MET], count[GB_MISSED], count[GB_WITHIN_NOISE], count[0]);
    if (opt.runs < 5)
        fprintf(f, "(targets are stated for 5 rounds or more; %s)\n",
                opt.runs == 1 ? "with 1 there is no interval, and no verdict but within noise"
                              : "with fewer the intervals are wide");
    each_outcome(print_outcome, f);
}

/* s between two q, a q inside written twice: a gnuplot single-quoted literal (q '\''; control
 * characters, which it cannot hold, are refused with the command line) or a CSV field (q '"'). */
static void
quote_doubled(FILE *f, const char *s, char q)
{
    fputc(q, f);
    for (; *s; s++) {
        if (*s == q)
            fputc(q, f);
        fputc(*s, f);
    }
    fputc(q, f);
}

static void
gp_quote(FILE *f, const char *s)
{
    quote_doubled(f, s, '\'');
}

static bool
gnuplot_installed(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* Draws one clustered bar per (workload, threads), one bar per implementation: the median
 * Mops/s on a log scale, with an error bar from the slowest round to the fastest. True when the
 * plot was drawn, or gnuplot is not installed (said at the start); false when gnuplot failed. */
static bool
write_plot(const char *path)
{
    if (!gnuplot_installed())
        return true;
    /* One column per implementation that has at least one result, in first-seen order. */
    const char *impl_cols[GB_MAX_IMPLS * 4 + 2];
    int ncols = 0;
    for (size_t i = 0; i < nrows; i++) {
        bool seen = false;
        for (int c = 0; c < ncols; c++)
            seen = seen || strcmp(impl_cols[c], rows[i].impl) == 0;
        if (!seen && rows[i].ok && ncols < GB_MAX_IMPLS * 4 + 1)
            impl_cols[ncols++] = rows[i].impl;
    }
    impl_cols[ncols] = NULL;
    if (ncols == 0) {
        fprintf(stderr, "golf-bench: nothing to plot\n");
        return false;
    }
    /* The data: a line per (workload, threads); median, min and max for each implementation
     * ("- - -" where it did not run or failed). */
    char data_path[] = "/tmp/golf-bench-plot-XXXXXX";
    int fd = mkstemp(data_path);
    FILE *d = fd < 0 ? NULL : fdopen(fd, "w");
    if (d == NULL) {
        fprintf(stderr, "golf-bench: no plot: cannot write a temporary file: %s\n",
                strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(data_path);
        }
        return false;
    }
    fprintf(d, "case");
    for (int c = 0; impl_cols[c]; c++)
        fprintf(d, " %s %s_min %s_max", impl_cols[c], impl_cols[c], impl_cols[c]);
    fputc('\n', d);
    double ymin = INFINITY, ymax = 0; /* Mops/s, over every bar and error bar */
    for (size_t i = 0; i < nrows; i++) {
        if (strcmp(rows[i].impl, "golf") != 0)
            continue;
        fprintf(d, "%s/%d", rows[i].workload, rows[i].threads);
        for (int c = 0; impl_cols[c]; c++) {
            const row *r = find_ok(rows[i].workload, rows[i].threads, impl_cols[c]);
            if (r == NULL) {
                fprintf(d, " - - -");
                continue;
            }
            double lo = r->reps[0], hi = r->reps[0];
            for (int k = 1; k < r->runs; k++) {
                lo = fmin(lo, r->reps[k]);
                hi = fmax(hi, r->reps[k]);
            }
            fprintf(d, " %.6g %.6g %.6g", r->ops_per_sec / 1e6, lo / 1e6, hi / 1e6);
            ymin = fmin(ymin, lo / 1e6);
            ymax = fmax(ymax, hi / 1e6);
        }
        fputc('\n', d);
    }
    bool ok = fclose(d) == 0;
    /* The script goes to gnuplot's stdin; its stdout (where it writes the PNG when it cannot
     * open the output) is dropped, its errors reach our stderr. */
    FILE *s = ok ? popen("gnuplot >/dev/null", "w") : NULL;
    if (s) {
        /* One colour each: gnuplot's default cycle repeats after 8 (malloc took golf's). */
        static const char *const colours[] = {"#9400d3", "#009e73", "#56b4e9", "#e69f00",
                                              "#f0e442", "#0072b2", "#e51e10", "#404040",
                                              "#cc79a7", "#8b4513", "#00ced1", "#a0a0a0"};
        fprintf(s, "set terminal pngcairo size 1600,800 noenhanced\n");
        for (size_t k = 0; k < sizeof colours / sizeof colours[0]; k++)
            fprintf(s, "set linetype %zu lc rgb '%s'\n", k + 1, colours[k]);
        fprintf(s, "set linetype cycle %zu\nset output ", sizeof colours / sizeof colours[0]);
        gp_quote(s, path);
        fprintf(s, "\nset title ");
        char title[512];
        snprintf(title, sizeof title,
                 "golf-bench %s, %s, %s (%ld CPUs), seed %llu: higher is better (ping-pong: "
                 "round trips/s)",
                 GOLF_BENCH_VERSION, host.date, host.hostname, host.cpus,
                 (unsigned long long)opt.seed);
        gp_quote(s, title);
        fprintf(s,
                "\nset xlabel 'workload/threads (the queues: P producers + P consumers)'\n"
                "set ylabel 'Mops/s, log scale (median of %d rounds; bar: min-max)'\n",
                opt.runs);
        fprintf(s,
                "set datafile missing '-'\nset style data histograms\n"
                "set style histogram errorbars gap 1 lw 1\nset style fill solid 0.8 border -1\n"
                "set logscale y\nset yrange [%g:%g]\nset xtics rotate by -45 font ',8'\n"
                "set key outside right top\nset grid ytics\n"
                "plot for [i=0:%d] ",
                ymin / 2, ymax * 2, ncols - 1);
        gp_quote(s, data_path);
        fprintf(s, " using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) "
                   "title columnheader(2+3*i)\n");
        ok = pclose(s) == 0;
    } else {
        ok = false;
    }
    unlink(data_path);
    struct stat st;
    if (ok && (stat(path, &st) != 0 || st.st_size == 0))
        ok = false;
    if (ok)
        fprintf(stderr, "golf-bench: plot written to %s\n", path);
    else
        fprintf(stderr, "golf-bench: gnuplot FAILED: no plot drawn to %s\n", path);
    return ok;
}

/* ---- footprint: heap bytes per channel, golf beside the reference and Go ---- */

#define FP_CHANS 10000
#define FP_REPS 3
#define FP_IMPLS 3

static const size_t fp_caps[2] = {0, 16}; /* unbuffered, and a small buffer */
static const char *const fp_names[2] = {"footprint_chan_unbuf", "footprint_chan_buf16"};

typedef struct fp_row {
    const char *impl;
    struct {
        bool ok;
        double bytes;  /* median bytes per channel */
        double spread; /* (max-min)/median */
        double reps[FP_REPS];
        char why[128];
    } cap[2];
} fp_row;

static fp_row fps[FP_IMPLS];
static int nfps;

/* One measurement of impl's bytes per channel of capacity cap. */
static bool
footprint_once(const char *impl, size_t cap, double *bytes, char *why, size_t whylen)
{
    if (strcmp(impl, "go") != 0)
        return gb_chan_footprint(impl, cap, FP_CHANS, bytes, why, whylen);
    char args[128], line[256];
    snprintf(args, sizeof args, "-footprint -cap %zu -n %d", cap, FP_CHANS);
    if (!go_line(args, line, sizeof line) || sscanf(line, "ok %lf", bytes) != 1) {
        snprintf(why, whylen, "go: %.100s", line[0] ? line : "no output");
        return false;
    }
    return true;
}

/* Measures FP_REPS times each of golf, the reference and Go (those wanted), both capacities. */
static void
measure_footprint(void)
{
    const char *impls[FP_IMPLS] = {"golf", "ref", "go"};
    for (int i = 0; i < FP_IMPLS; i++) {
        if (!impl_wanted(impls[i]) || (strcmp(impls[i], "go") == 0 && !go_available()))
            continue;
        fp_row *f = &fps[nfps++];
        f->impl = impls[i];
        for (int c = 0; c < 2; c++) {
            progress("footprint %s cap %zu", impls[i], fp_caps[c]);
            double v[FP_REPS];
            f->cap[c].ok = true;
            for (int r = 0; r < FP_REPS && f->cap[c].ok; r++)
                f->cap[c].ok = footprint_once(impls[i], fp_caps[c], &f->cap[c].reps[r],
                                              f->cap[c].why, sizeof f->cap[c].why);
            if (!f->cap[c].ok)
                continue;
            memcpy(v, f->cap[c].reps, sizeof v);
            qsort(v, FP_REPS, sizeof v[0], cmp_double);
            f->cap[c].bytes = gb_median(v, FP_REPS);
            f->cap[c].spread = f->cap[c].bytes > 0 ? (v[FP_REPS - 1] - v[0]) / f->cap[c].bytes : 0;
        }
    }
}

static void
print_footprint(FILE *f)
{
    if (nfps == 0)
        return;
    const fp_row *go = NULL;
    for (int i = 0; i < nfps; i++)
        if (strcmp(fps[i].impl, "go") == 0)
            go = &fps[i];
    fprintf(f,
            "\nfootprint: heap bytes per channel of int64 (%d made, then freed; median of %d)\n"
            "%-7s %12s %8s %12s %8s %12s %12s\n",
            FP_CHANS, FP_REPS, "impl", "unbuffered", "spread", "cap 16", "spread", "unbuf/go",
            "cap16/go");
    for (int i = 0; i < nfps; i++) {
        fprintf(f, "%-7s", fps[i].impl);
        for (int c = 0; c < 2; c++) {
            if (fps[i].cap[c].ok)
                fprintf(f, " %12.1f %7.0f%%", fps[i].cap[c].bytes, fps[i].cap[c].spread * 100);
            else
                fprintf(f, " %12s %8s", "n/a", "");
        }
        for (int c = 0; c < 2; c++) {
            char ratio[32] = "";
            if (go && go != &fps[i] && go->cap[c].ok && fps[i].cap[c].ok && go->cap[c].bytes > 0)
                snprintf(ratio, sizeof ratio, "%.2fx", fps[i].cap[c].bytes / go->cap[c].bytes);
            fprintf(f, " %12s", ratio);
        }
        fputc('\n', f);
        for (int c = 0; c < 2; c++)
            if (!fps[i].cap[c].ok)
                fprintf(f, "        %s cap %zu n/a: %s\n", fps[i].impl, fp_caps[c],
                        fps[i].cap[c].why);
    }
    fprintf(f, "C: malloc's in-use bytes (mallinfo2 uordblks + hblkhd): chunk headers count, the "
               "free holes an\naligned allocation leaves between chunks do not. Go: runtime "
               "HeapAlloc, GC off.\n");
}

static void
read_host_facts(void)
{
    snprintf(host.hostname, sizeof host.hostname, "?");
    gethostname(host.hostname, sizeof host.hostname);
    time_t now = time(NULL);
    strftime(host.date, sizeof host.date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    strftime(host.iso_date, sizeof host.iso_date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(host.kernel, sizeof host.kernel, "%s", u.release);
        snprintf(host.machine, sizeof host.machine, "%s", u.machine);
    }
    host.cpus = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(host.cpu_model, sizeof host.cpu_model, "?");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (colon && strncmp(line, "model name", 10) == 0) {
            colon += 1 + strspn(colon + 1, " \t");
            colon[strcspn(colon, "\n")] = 0;
            snprintf(host.cpu_model, sizeof host.cpu_model, "%s", colon);
            break;
        }
    }
    if (f)
        fclose(f);
}

static void
print_header(FILE *f)
{
    fprintf(f, "golf-bench %s, %s, %ld CPUs online, host %s (%s, Linux %s %s)\n",
            GOLF_BENCH_VERSION, host.date, host.cpus, host.hostname, host.cpu_model, host.kernel,
            host.machine);
    if (!opt.host_only)
        fprintf(f, "seed %llu (--seed %llu runs the implementations in the same order)\n",
                (unsigned long long)opt.seed, (unsigned long long)opt.seed);
    fprintf(f,
            "host floors, ns (median; spread = (max-min)/median of the batch medians; probed "
            "in %.2f s):\n",
            host.floors.probe_s);
    for (int i = 0; i < GB_HOST_NFLOORS; i++) {
        const gb_floor *fl = &host.floors.floor[i];
        if (!fl->st.ok) {
            fprintf(f, "  %-40s %9s  (%s)\n", fl->label, "n/a", fl->st.why);
            continue;
        }
        fprintf(f, "  %-40s %9.1f  spread %3.0f%% over %d batches", fl->label, fl->st.median,
                fl->st.spread * 100, fl->st.batches);
        if (fl->st.trials)
            fprintf(f, "; p90 %.1f, %d trials", fl->st.p90, fl->st.trials);
        fputc('\n', f);
    }
    fflush(f);
}

/* ---- machine-readable output ---- */

/* A CSV field: as it is, or in double quotes (doubled inside) when it has a comma, a quote or a
 * line break. */
static void
csv_str(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL)
        fputs(s, f);
    else
        quote_doubled(f, s, '"');
}

/* The columns after bytes_per_chan, for a workload row: ops_per_run, budget_cut, status, why,
 * golf_ratio, ratio_ci_lo, ratio_ci_hi, target, verdict. */
static void
csv_row_tail(FILE *f, const row *r)
{
    if (r->host) /* no operations of its own */
        fputs(",,,ok,", f);
    else
        fprintf(f, ",%llu,%d,%s,", (unsigned long long)r->n, r->scaled, r->ok ? "ok" : "failed");
    csv_str(f, r->ok ? "" : r->why);
    if (r->has_ratio && isfinite(r->ci.hi))
        fprintf(f, ",%.4f,%.4f,%.4f,", r->ratio, r->ci.lo, r->ci.hi);
    else if (r->has_ratio)
        fprintf(f, ",%.4f,,,", r->ratio);
    else
        fputs(",,,,", f);
    if (r->target) {
        char tgt[32];
        fmt_target(tgt, sizeof tgt, r->target);
        fputs(tgt, f);
    }
    fprintf(f, ",%s\n",
            !r->target   ? ""
            : r->verdict ? gb_verdict_name(r->verdict)
                         : "not measured");
}

/* The CSV (README, "Benchmark"): the first five columns are the workload rows' of old; spread,
 * runs, bytes_per_chan, then ops_per_run ... verdict (csv_row_tail()) follow. Host floors are
 * rows of impl "host", footprints rows named footprint_*; a failed row has status "failed", its
 * reason in why and no figures; a column that does not apply to a row is empty. */
static void
write_csv(FILE *f)
{
    fprintf(f, "impl,workload,threads,ops_per_sec,ns_per_op,spread,runs,bytes_per_chan,"
               "ops_per_run,budget_cut,status,why,golf_ratio,ratio_ci_lo,ratio_ci_hi,target,"
               "verdict\n");
    for (int i = 0; i < GB_HOST_NFLOORS; i++) {
        const gb_floor *fl = &host.floors.floor[i];
        if (!fl->st.ok)
            continue;
        fprintf(f, "host,host_%s,%d,%.0f,%.2f,%.4f,%d,,,,ok,,,,,,\n", fl->key, fl->threads,
                1e9 / fl->st.median, fl->st.median, fl->st.spread, fl->st.batches);
        if (fl->st.trials)
            fprintf(f, "host,host_%s_p90,%d,%.0f,%.2f,,%d,,,,ok,,,,,,\n", fl->key, fl->threads,
                    1e9 / fl->st.p90, fl->st.p90, fl->st.trials);
    }
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (r->ok)
            fprintf(f, "%s,%s,%d,%.0f,%.2f,%.4f,%d,", r->impl, r->workload, r->threads,
                    r->ops_per_sec, 1e9 / r->ops_per_sec, r->spread, r->runs);
        else
            fprintf(f, "%s,%s,%d,,,,%d,", r->impl, r->workload, r->threads, r->runs);
        csv_row_tail(f, r);
    }
    for (int i = 0; i < nfps; i++)
        for (int c = 0; c < 2; c++) {
            if (fps[i].cap[c].ok) {
                fprintf(f, "%s,%s,1,,,%.4f,%d,%.1f,,,ok,,,,,,\n", fps[i].impl, fp_names[c],
                        fps[i].cap[c].spread, FP_REPS, fps[i].cap[c].bytes);
            } else {
                fprintf(f, "%s,%s,1,,,,%d,,,,failed,", fps[i].impl, fp_names[c], FP_REPS);
                csv_str(f, fps[i].cap[c].why);
                fputs(",,,,,\n", f);
            }
        }
}

static void
json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* A number: whole numbers exactly (counts), others to 6 digits; null where it is not finite
 * (JSON has no NaN). */
static void
json_num(FILE *f, double v)
{
    if (!isfinite(v))
        fputs("null", f);
    else if (v == floor(v) && fabs(v) < 1e15)
        fprintf(f, "%.0f", v);
    else
        fprintf(f, "%.6g", v);
}

/* The members after an object's first: , "key": value */
static void
json_kstr(FILE *f, const char *key, const char *v)
{
    fprintf(f, ", \"%s\": ", key);
    json_str(f, v);
}
static void
json_knum(FILE *f, const char *key, double v)
{
    fprintf(f, ", \"%s\": ", key);
    json_num(f, v);
}
static void
json_kbool(FILE *f, const char *key, bool v)
{
    fprintf(f, ", \"%s\": %s", key, v ? "true" : "false");
}
static void
json_karray(FILE *f, const char *key, const double *v, int n)
{
    fprintf(f, ", \"%s\": [", key);
    for (int i = 0; i < n; i++) {
        fputs(i ? ", " : "", f);
        json_num(f, v[i]);
    }
    fputc(']', f);
}

/* , "ratio_ci": [lo, hi], or null where there is no interval (one round). */
static void
json_kci(FILE *f, const row *r)
{
    if (isfinite(r->ci.hi))
        json_karray(f, "ratio_ci", (const double[]){r->ci.lo, r->ci.hi}, 2);
    else
        fputs(", \"ratio_ci\": null", f);
}

/* A target: {"text", "vs" (null: golf's spread), "min_ratio" or "max_spread"}. */
static void
json_target(FILE *f, const target *t)
{
    fputs("{\"text\": ", f);
    json_str(f, t->text);
    if (t->vs) {
        json_kstr(f, "vs", t->vs);
        json_knum(f, "min_ratio", t->bound);
    } else {
        fputs(", \"vs\": null", f);
        json_knum(f, "max_spread", t->bound);
    }
    fputc('}', f);
}

typedef struct json_ctx {
    FILE *f;
    bool *first;
} json_ctx;

/* One member of "targets": {"workload", "threads", "target", "verdict" (or "not measured"),
 * "golf_ratio" and "ratio_ci", or "spread"}. */
static void
json_outcome(const outcome *o, void *arg)
{
    json_ctx *c = arg;
    fprintf(c->f, "%s\n    {\"workload\": ", *c->first ? "" : ",");
    *c->first = false;
    json_str(c->f, o->g->workload);
    json_knum(c->f, "threads", o->g->threads);
    fprintf(c->f, ", \"target\": ");
    json_target(c->f, o->t);
    json_kstr(c->f, "verdict", outcome_verdict(o));
    if (o->r && o->r->verdict && o->t->vs) {
        json_knum(c->f, "golf_ratio", o->r->ratio);
        json_kci(c->f, o->r);
    } else if (o->r && o->r->verdict) {
        json_knum(c->f, "spread", o->r->spread);
    }
    fputc('}', c->f);
}

/* One JSON object (README, "Benchmark"): golf_bench (version, date, options, seed, the
 * bootstrap), host (facts and floors), results (every workload/threads/impl row, each round's
 * ops/s in the order run, golf's ratio over it with its interval, its target and verdict),
 * targets (each target of the workloads run, with its verdict) and footprint. Figures are
 * medians; spread is (max-min)/median. */
static void
write_json(FILE *f)
{
    fprintf(f, "{\n  \"golf_bench\": {\"version\": ");
    json_str(f, GOLF_BENCH_VERSION);
    json_kstr(f, "date", host.iso_date);
    json_knum(f, "runs", opt.runs);
    json_knum(f, "scale", opt.scale);
    json_knum(f, "budget_s", opt.budget);
    json_knum(f, "seed", (double)opt.seed);
    json_knum(f, "elapsed_s", opt.elapsed_s);
    fprintf(f, ", \"bootstrap\": {\"resamples\": %d", GB_BOOT_RESAMPLES);
    json_knum(f, "level", GB_BOOT_LEVEL);
    json_knum(f, "seed", (double)GB_BOOT_SEED);
    fputc('}', f);
    fprintf(f, "},\n  \"host\": {\"hostname\": ");
    json_str(f, host.hostname);
    json_knum(f, "cpus_online", (double)host.cpus);
    json_kstr(f, "cpu_model", host.cpu_model);
    json_kstr(f, "kernel", host.kernel);
    json_kstr(f, "machine", host.machine);
    json_knum(f, "probe_s", host.floors.probe_s);
    fprintf(f, ",\n    \"floors\": {");
    for (int i = 0; i < GB_HOST_NFLOORS; i++) {
        const gb_floor *fl = &host.floors.floor[i];
        fprintf(f, "%s\n      \"%s\": {\"label\": ", i ? "," : "", fl->key);
        json_str(f, fl->label);
        json_knum(f, "threads", fl->threads);
        json_kbool(f, "ok", fl->st.ok);
        if (!fl->st.ok) {
            json_kstr(f, "why", fl->st.why);
        } else {
            json_knum(f, "median_ns", fl->st.median);
            json_knum(f, "spread", fl->st.spread);
            json_knum(f, "batches", fl->st.batches);
            if (fl->st.trials) {
                json_knum(f, "p90_ns", fl->st.p90);
                json_knum(f, "trials", fl->st.trials);
            }
        }
        fputc('}', f);
    }
    fprintf(f, "\n    }\n  },\n  \"results\": [");
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        fprintf(f, "%s\n    {\"workload\": ", i ? "," : "");
        json_str(f, r->workload);
        json_knum(f, "threads", r->threads);
        json_kstr(f, "impl", r->impl);
        json_kbool(f, "ok", r->ok);
        json_kbool(f, "rtt", r->rtt);
        if (r->host) {
            json_kbool(f, "host", true);
        } else {
            json_knum(f, "ops_per_run", (double)r->n);
            json_kbool(f, "budget_cut", r->scaled);
        }
        if (!r->ok) {
            json_kstr(f, "why", r->why);
        } else {
            json_knum(f, "ops_per_sec", r->ops_per_sec);
            json_knum(f, "ns_per_op", 1e9 / r->ops_per_sec);
            json_knum(f, "spread", r->spread);
            json_knum(f, "runs", r->runs);
            json_karray(f, "reps_ops_per_sec", r->reps, r->runs);
        }
        if (r->has_ratio) {
            json_knum(f, "golf_ratio", r->ratio);
            json_kci(f, r);
        }
        if (r->target) {
            fprintf(f, ", \"target\": ");
            json_target(f, r->target);
            json_kstr(f, "verdict", r->verdict ? gb_verdict_name(r->verdict) : "not measured");
        }
        fputc('}', f);
    }
    fprintf(f, "\n  ],\n  \"targets\": [");
    bool first = true;
    each_outcome(json_outcome, &(json_ctx){f, &first});
    fprintf(f, "\n  ],\n  \"footprint\": [");
    for (int i = 0; i < nfps; i++) {
        for (int c = 0; c < 2; c++) {
            fprintf(f, "%s\n    {\"impl\": ", i + c ? "," : "");
            json_str(f, fps[i].impl);
            json_knum(f, "cap", (double)fp_caps[c]);
            json_knum(f, "channels", FP_CHANS);
            json_kbool(f, "ok", fps[i].cap[c].ok);
            if (!fps[i].cap[c].ok) {
                json_kstr(f, "why", fps[i].cap[c].why);
            } else {
                json_knum(f, "bytes_per_chan", fps[i].cap[c].bytes);
                json_knum(f, "spread", fps[i].cap[c].spread);
                json_karray(f, "reps", fps[i].cap[c].reps, FP_REPS);
            }
            fputc('}', f);
        }
    }
    fprintf(f, "\n  ]\n}\n");
}

/* Opens an output named on the command line ('-': stdout) before anything runs, so that a
 * path that cannot be written fails at once, not after a long run. Exits 2 on failure. */
static FILE *
open_output(const char *path)
{
    if (path == NULL)
        return NULL;
    if (strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "golf-bench: cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return f;
}

/* Writes out (CSV or JSON) to f and closes it; false when the writes failed. */
static bool
finish_output(FILE *f, const char *path, void (*write)(FILE *))
{
    if (f == NULL)
        return true;
    if (f == stdout)
        putchar('\n');
    write(f);
    if (f == stdout ? fflush(f) != 0 : fclose(f) != 0) {
        fprintf(stderr, "golf-bench: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    return true;
}

static void
list_workloads(void)
{
    for (int i = 0; i < nworkloads; i++) {
        const gb_workload *w = workloads[i];
        printf("%-22s n=%-10llu threads=", w->name, (unsigned long long)w->n);
        for (int t = 0; t < GB_MAX_THREADS && w->threads[t]; t++)
            printf("%s%d", t ? "," : "", w->threads[t]);
        printf(" impls=");
        for (int k = 0; k < GB_MAX_IMPLS && w->impls[k].name; k++)
            printf("%s%s", k ? "," : "", w->impls[k].name);
        printf("%s\n", w->go ? ",go" : "");
    }
}

/* ---- the command line: every value checked before anything runs (exit 2) ---- */

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("golf-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(golf-bench --help lists the options, --list the workloads)\n", stderr);
    exit(2);
}

/* A whole number in [lo, hi], nothing else in s (no sign or space in front, nothing after). */
static long
parse_long(const char *what, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = isdigit((unsigned char)s[0]) ? strtol(s, &end, 10) : 0;
    if (!isdigit((unsigned char)s[0]) || *end || errno || v < lo || v > hi)
        usage_error("%s: '%s' is not a whole number from %ld to %ld", what, s, lo, hi);
    return v;
}

/* A finite number in [lo, hi] (above lo when lo_open), nothing else in s. */
static double
parse_double(const char *what, const char *s, double lo, bool lo_open, double hi)
{
    char *end;
    errno = 0;
    double v = s[0] && !isspace((unsigned char)s[0]) ? strtod(s, &end) : NAN;
    if (isnan(v) || *end || errno || !isfinite(v) || v < lo || (lo_open && v == lo) || v > hi)
        usage_error("%s: '%s' is not a number %s %g and <= %g", what, s, lo_open ? ">" : ">=", lo,
                    hi);
    return v;
}

/* An implementation name some workload has ("go" for the Go mirror). */
static bool
impl_known(const char *name, size_t len)
{
    if (len == 2 && strncmp(name, "go", 2) == 0)
        return true;
    for (int i = 0; i < nworkloads; i++)
        for (int k = 0; k < GB_MAX_IMPLS && workloads[i]->impls[k].name; k++)
            if (strlen(workloads[i]->impls[k].name) == len &&
                strncmp(workloads[i]->impls[k].name, name, len) == 0)
                return true;
    return false;
}

/* --impl A,B: every name known, none empty. */
static void
check_impls(const char *list)
{
    for (const char *p = list;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0)
            usage_error("--impl: '%s' has an empty name", list);
        if (!impl_known(p, len))
            usage_error("--impl: unknown implementation '%.*s' (golf-bench --list shows "
                        "each workload's)",
                        (int)len, p);
        if (e == NULL)
            return;
        p = e + 1;
    }
}

/* WORKLOAD or WORKLOAD:T1,T2,...: a known workload, thread counts 1..1024. */
static void
parse_selection(const char *a, selection *sel)
{
    const char *colon = strchr(a, ':');
    size_t len = colon ? (size_t)(colon - a) : strlen(a);
    sel->w = find_workload(a, len);
    if (sel->w == NULL)
        usage_error("unknown workload '%.*s'", (int)len, a);
    if (colon == NULL)
        return;
    int k = 0;
    for (const char *p = colon + 1;;) {
        char *end;
        long t = isdigit((unsigned char)*p) ? strtol(p, &end, 10) : 0;
        if (t < 1 || t > 1024 || (*end != ',' && *end != 0))
            usage_error("'%s': thread counts are numbers from 1 to 1024, separated by commas", a);
        if (k == GB_MAX_THREADS - 1)
            usage_error("'%s': at most %d thread counts", a, GB_MAX_THREADS - 1);
        sel->threads[k++] = (int)t;
        if (*end == 0)
            return;
        p = end + 1;
    }
}

/* An output file named on the command line: path is a file that can be written, or a new
 * file in a folder ("." when it names none) that can take one; "-" (stdout) where dash_ok.
 * Checked before anything runs, so that a long run never ends in "cannot write". */
static void
check_output(const char *what, const char *path, bool dash_ok)
{
    if (path[0] == 0 || (!dash_ok && strcmp(path, "-") == 0))
        usage_error("%s needs a file name", what);
    if (dash_ok && strcmp(path, "-") == 0)
        return;
    for (const char *p = path; *p; p++)
        if (iscntrl((unsigned char)*p))
            usage_error("%s: the file name has a control character", what);
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            usage_error("%s: %s is a folder", what, path);
        if (access(path, W_OK) != 0)
            usage_error("%s: cannot write %s: %s", what, path, strerror(errno));
        return;
    }
    if (errno != ENOENT)
        usage_error("%s: cannot write %s: %s", what, path, strerror(errno));
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (access(dir, W_OK | X_OK) != 0)
        usage_error("%s: cannot write %s: %s", what, path, strerror(errno));
}

enum {
    OPT_HOST = 256,
    OPT_LIST,
    OPT_RUNS,
    OPT_SCALE,
    OPT_IMPL,
    OPT_BUDGET,
    OPT_CSV,
    OPT_JSON,
    OPT_PLOT,
    OPT_GO,
    OPT_NO_GO,
    OPT_QUIET,
    OPT_SEED,
    OPT_VERSION,
};

static const struct option long_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"host", no_argument, NULL, OPT_HOST},
    {"list", no_argument, NULL, OPT_LIST},
    {"runs", required_argument, NULL, OPT_RUNS},
    {"scale", required_argument, NULL, OPT_SCALE},
    {"impl", required_argument, NULL, OPT_IMPL},
    {"budget", required_argument, NULL, OPT_BUDGET},
    {"csv", required_argument, NULL, OPT_CSV},
    {"json", required_argument, NULL, OPT_JSON},
    {"plot", required_argument, NULL, OPT_PLOT},
    {"go", required_argument, NULL, OPT_GO},
    {"no-go", no_argument, NULL, OPT_NO_GO},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"seed", required_argument, NULL, OPT_SEED},
    {NULL, 0, NULL, 0},
};

/* How many long options begin with what arg ("--na=v") names. */
static int
option_prefixes(const char *arg)
{
    if (strncmp(arg, "--", 2) != 0)
        return 0;
    size_t len = strcspn(arg + 2, "=");
    int n = 0;
    for (const struct option *o = long_options; o->name; o++)
        n += strncmp(o->name, arg + 2, len) == 0;
    return n;
}

/* Reads the command line into opt and sel[] (*nsel entries); exits 0 for --help and --version,
 * 2 for anything wrong. */
static void
parse_args(int argc, char **argv, selection *sel, int *nsel)
{
    opterr = 0; /* our own messages */
    int c;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            exit(0);
        case OPT_VERSION:
            printf("golf-bench %s\n", GOLF_BENCH_VERSION);
            exit(0);
        case OPT_HOST:
            opt.host_only = true;
            break;
        case OPT_LIST:
            opt.list = true;
            break;
        case OPT_RUNS:
            opt.runs = (int)parse_long("--runs", optarg, 1, MAX_RUNS);
            break;
        case OPT_SCALE:
            opt.scale = parse_double("--scale", optarg, 0, true, 1000);
            break;
        case OPT_IMPL:
            check_impls(optarg);
            opt.only_impls = optarg;
            break;
        case OPT_BUDGET:
            opt.budget = parse_double("--budget", optarg, 0, false, 86400);
            break;
        case OPT_CSV:
            opt.csv_path = optarg;
            break;
        case OPT_JSON:
            opt.json_path = optarg;
            break;
        case OPT_PLOT:
            opt.plot_path = optarg;
            break;
        case OPT_GO:
            opt.go_path = optarg;
            break;
        case OPT_NO_GO:
            opt.no_go = true;
            break;
        case OPT_QUIET:
            opt.quiet = true;
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            opt.seed = isdigit((unsigned char)optarg[0]) ? strtoull(optarg, &end, 0) : 0;
            if (!isdigit((unsigned char)optarg[0]) || *end || errno)
                usage_error("--seed: '%s' is not a whole number from 0 to 2^64-1", optarg);
            opt.seed_given = true;
            break;
        }
        case ':':
            usage_error("%s needs a value", argv[optind - 1]);
        default: /* '?' */
            if (optopt >= OPT_HOST)
                usage_error("%s takes no value", argv[optind - 1]);
            if (optopt)
                usage_error("unknown option -%c", optopt);
            usage_error("%s option %s",
                        option_prefixes(argv[optind - 1]) > 1 ? "ambiguous" : "unknown",
                        argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++)
        parse_selection(argv[i], &sel[(*nsel)++]);
    if (opt.csv_path && opt.json_path && strcmp(opt.csv_path, opt.json_path) == 0 &&
        strcmp(opt.csv_path, "-") != 0)
        usage_error("--csv and --json name the same file, %s", opt.csv_path);
    if (opt.csv_path)
        check_output("--csv", opt.csv_path, true);
    if (opt.json_path)
        check_output("--json", opt.json_path, true);
    if (opt.plot_path)
        check_output("--plot", opt.plot_path, false);
    if (opt.go_path && !opt.no_go && access(opt.go_path, X_OK) != 0)
        usage_error("--go: cannot run %s: %s", opt.go_path, strerror(errno));
}

int
main(int argc, char **argv)
{
    sort_workloads();
    selection *sel = calloc((size_t)argc + (size_t)nworkloads, sizeof *sel);
    if (sel == NULL) {
        fprintf(stderr, "golf-bench: out of memory\n");
        return 2;
    }
    int nsel = 0;
    parse_args(argc, argv, sel, &nsel);
    if (opt.list) {
        list_workloads();
        return 0;
    }
    if (!opt.seed_given) {
        /* A short number, easy to pass back with --seed. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t mix = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)getpid();
        opt.seed = gb_rand(&mix) % 1000000;
    }
    order_state = opt.seed;
    if (nsel == 0)
        for (int i = 0; i < nworkloads; i++)
            sel[nsel++].w = workloads[i];

    FILE *csv = open_output(opt.csv_path);
    FILE *json = open_output(opt.json_path);

    /* The floors first, while no other thread of ours runs. */
    opt.t0 = gb_now_s();
    read_host_facts();
    progress("host floors");
    gb_host_probe(&host.floors);
    if (!opt.quiet && isatty(2))
        fputs("\r\033[K", stderr);
    print_header(stdout);
    if (opt.host_only) {
        free(sel);
        bool written = finish_output(csv, opt.csv_path, write_csv);
        written = finish_output(json, opt.json_path, write_json) && written;
        return written ? 0 : 2;
    }

    if (opt.plot_path && !gnuplot_installed())
        fprintf(stderr,
                "golf-bench: gnuplot is not installed (Debian: gnuplot-nox): no plot will "
                "be drawn to %s; the CSV has the figures\n",
                opt.plot_path);
    if (!opt.no_go && !go_available())
        fprintf(stderr,
                "golf-bench: Go peer skipped: %s not found (install golang-go and "
                "rebuild, or pass --go PATH)\n",
                go_path());

    int total = 0;
    bool channels = false; /* a channel workload is selected: measure the footprint too */
    for (int s = 0; s < nsel; s++) {
        const int *ts = sel[s].threads[0] ? sel[s].threads : sel[s].w->threads;
        for (int t = 0; t < GB_MAX_THREADS && ts[t]; t++)
            total++;
        channels = channels || strncmp(sel[s].w->name, "chan_", 5) == 0;
    }
    /* Before the workloads, while the heap is fresh: afterwards the free chunks they leave
     * change which alignment remainders a channel's chunk absorbs (a few bytes either way). */
    if (channels)
        measure_footprint();
    int index = 0;
    for (int s = 0; s < nsel; s++) {
        const int *ts = sel[s].threads[0] ? sel[s].threads : sel[s].w->threads;
        for (int t = 0; t < GB_MAX_THREADS && ts[t]; t++)
            measure(sel[s].w, ts[t], ++index, total);
    }
    if (!opt.quiet && isatty(2))
        fputs("\r\033[K", stderr);

    opt.elapsed_s = gb_now_s() - opt.t0;
    judge();
    print_table(stdout);
    print_targets(stdout);
    print_footprint(stdout);
    long secs = lround(opt.elapsed_s);
    printf("\ngolf-bench took %ld min %02ld s (%d measurements, %d round%s each)\n", secs / 60,
           secs % 60, total, opt.runs, opt.runs == 1 ? "" : "s");
    bool written = finish_output(csv, opt.csv_path, write_csv);
    written = finish_output(json, opt.json_path, write_json) && written;
    if (opt.plot_path && !write_plot(opt.plot_path))
        written = false;
    free(sel);
    if (peer_failures)
        fprintf(stderr, "golf-bench: %d peer measurement(s) failed or gave up (see the table)\n",
                peer_failures);
    if (failures) {
        fprintf(stderr,
                "golf-bench: %d measurement(s) of golf, the reference or the floor "
                "FAILED their checks\n",
                failures);
        return 1;
    }
    return written ? 0 : 2; /* an output (CSV, JSON, plot) could not be written */
}
