/* SPDX-License-Identifier: MIT */
/* The host's floors: what this machine charges for the things a channel is built of (a system
 * call, a futex wake-up, a membarrier, a cache line's trip between two CPUs, a pause), so that
 * every channel figure can be read against the host's own minimum. Hosts differ by several
 * times in each of them (a system call costs ~1 us on some 2-vCPU VMs, far less on bare metal),
 * and a channel cannot beat its host's floor.
 *
 * Each figure is the median of a few short batches (or of many single trials, grouped into
 * batches for the spread), so a noisy neighbour spoils a batch, not the figure; the spread
 * (max-min)/median of the batch medians says how noisy the host was. What one thread does alone
 * (a system call, a pause) is timed on that thread's CPU-time clock, so that time slices given to
 * the other processes of a shared host do not count; what passes between threads is timed on the
 * wall clock, in batches short enough that most escape a time slice. Every batch ends at a count
 * or at a time limit, whichever comes first, so that the whole probe stays well under 1.5 s even
 * on a host ten times slower than expected. */
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "lockfree/cacheline.h"

#define BATCHES 5
#define BATCH_S 0.02        /* a batch's time limit, CPU time */
#define RTT_BATCH_S 0.005   /* a cache-line batch's time limit, wall clock */
#define TRIALS 300          /* valid single trials wanted (futex, busy membarrier) */
#define MAX_TRIALS 900      /* futex attempts at most (a wake can find no sleeper) */
#define TRIALS_LIMIT_S 0.15 /* a trial probe's time limit */
#define FUTEX_STOP UINT32_MAX
_Static_assert(BATCHES <= GB_STAT_BATCHES, "a gb_stat keeps every batch median");

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n) and fills st: the median, the p90 and the spread (max-min)/median; the values
 * themselves when they are few (batch medians). */
static void
set_stat(gb_stat *st, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    st->ok = true;
    st->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    st->p90 = v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1];
    st->spread = st->median > 0 ? (v[n - 1] - v[0]) / st->median : 0;
    st->batches = n;
    if (n <= GB_STAT_BATCHES)
        memcpy(st->batch, v, (size_t)n * sizeof *v);
}

/* Median and p90 of n single trials; the spread over the medians of BATCHES consecutive groups
 * of them (a noisy stretch of time lands in one group). Sorts v. */
static void
set_trials_stat(gb_stat *st, double *v, int n)
{
    double group[BATCHES];
    for (int b = 0; b < BATCHES; b++) {
        gb_stat g;
        int lo = n * b / BATCHES, hi = n * (b + 1) / BATCHES;
        double part[MAX_TRIALS];
        memcpy(part, v + lo, (size_t)(hi - lo) * sizeof *part);
        set_stat(&g, part, hi - lo);
        group[b] = g.median;
    }
    gb_stat groups;
    set_stat(&groups, group, BATCHES);
    set_stat(st, v, n);
    st->spread = groups.spread;
    st->batches = BATCHES;
    memcpy(st->batch, groups.batch, sizeof st->batch);
    st->trials = n;
}

static void
not_available(gb_stat *st, const char *why)
{
    st->ok = false;
    snprintf(st->why, sizeof st->why, "%s", why);
}

void
gb_pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

bool
gb_two_cpus(int cpu[2])
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return false;
    int k = 0;
    for (int c = 0; c < CPU_SETSIZE && k < 2; c++)
        if (CPU_ISSET(c, &set))
            cpu[k++] = c;
    return k == 2;
}

/* This thread's CPU time (user + system), in seconds. */
static double
cpu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* BATCHES batches of op(arg, chunk) calls, each ending after max_ops operations or BATCH_S of
 * CPU time; st gets the median ns per operation. The clock (itself a system call) is read once
 * per chunk, and a chunk is tens of microseconds of work, so that its cost stays out of the
 * figure (~1% where a system call costs 100 ns). */
static void
time_batches(gb_stat *st, void (*op)(void *arg, int k), void *arg, int chunk, int max_ops)
{
    double ns[BATCHES];
    for (int b = 0; b < BATCHES; b++) {
        int ops = 0;
        double t0 = cpu_now_s(), t;
        do {
            op(arg, chunk);
            ops += chunk;
            t = cpu_now_s();
        } while (ops < max_ops && t - t0 < BATCH_S);
        ns[b] = (t - t0) * 1e9 / ops;
    }
    set_stat(st, ns, BATCHES);
}

/* ---- a plain system call: the entry/exit toll every futex and membarrier pays too ---- */

static void
op_syscall(void *arg, int k)
{
    (void)arg;
    for (int i = 0; i < k; i++)
        syscall(SYS_getppid); /* no vDSO shortcut, no libc cache: a real kernel entry */
}

/* ---- futex wake-to-run: what a parked channel peer costs to wake ----
 * A sleeps in FUTEX_WAIT on the trial number; B stamps the clock, changes the word and
 * FUTEX_WAKEs; A stamps on return. The latency is the wake system call plus the scheduler
 * getting A onto a CPU, as a channel's parked receiver sees it. B sleeps (rather than spins)
 * before each wake so that A has gone to sleep even if both share one CPU; a wake that found no
 * sleeper (returned 0) measured a non-sleep and is dropped. The threads are not pinned: the
 * scheduler places them as it places a channel's two ends. */

typedef struct futex_probe {
    _Alignas(128) _Atomic uint32_t word;  /* the trial A sleeps on; B moves it on; FUTEX_STOP */
    _Alignas(128) _Atomic uint32_t ready; /* A: about to sleep on trial ready-1 */
    _Atomic double wake_s;                /* B's stamp just before the wake */
    int attempts;
    double lat_ns[MAX_TRIALS];
    bool woke[MAX_TRIALS];
} futex_probe;

static long
futex(_Atomic uint32_t *word, int op, uint32_t val)
{
    return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void
futex_sleeper(futex_probe *p)
{
    for (uint32_t i = 0;; i++) {
        /* [H2] release: A's previous lat_ns[] store happens before B's next stamp; pairs with
         * [H2] acquire in futex_waker(). */
        atomic_store_explicit(&p->ready, i + 1, memory_order_release);
        uint32_t w;
        /* [H1] acquire: B's stamp is visible once the word moved; pairs with [H1] release. */
        while ((w = atomic_load_explicit(&p->word, memory_order_acquire)) == i)
            futex(&p->word, FUTEX_WAIT_PRIVATE, i);
        double now = gb_now_s();
        if (w == FUTEX_STOP)
            return;
        /* relaxed: ordered by [H1]. */
        p->lat_ns[i] = (now - atomic_load_explicit(&p->wake_s, memory_order_relaxed)) * 1e9;
    }
}

static void
futex_waker(futex_probe *p)
{
    double deadline = gb_now_s() + TRIALS_LIMIT_S;
    int valid = 0;
    uint32_t i = 0;
    unsigned spins = 0;
    for (;; i++) {
        /* [H2] acquire: A is on its way into FUTEX_WAIT on trial i; pairs with [H2] release. */
        while (atomic_load_explicit(&p->ready, memory_order_acquire) != i + 1)
            gb_spin_step(&spins);
        if (valid == TRIALS || i == MAX_TRIALS || gb_now_s() > deadline)
            break;
        nanosleep(&(struct timespec){0, 50000}, NULL); /* A gets into the kernel and sleeps */
        /* relaxed: published by the [H1] release below. */
        atomic_store_explicit(&p->wake_s, gb_now_s(), memory_order_relaxed);
        /* [H1] release: publishes the stamp; pairs with [H1] acquire in futex_sleeper(). */
        atomic_store_explicit(&p->word, i + 1, memory_order_release);
        p->woke[i] = futex(&p->word, FUTEX_WAKE_PRIVATE, 1) == 1;
        valid += p->woke[i];
    }
    p->attempts = (int)i;
    atomic_store_explicit(&p->word, FUTEX_STOP, memory_order_release);
    futex(&p->word, FUTEX_WAKE_PRIVATE, 1);
}

static void
futex_worker(void *arg, int id)
{
    if (id == 0)
        futex_sleeper(arg);
    else
        futex_waker(arg);
}

static void
probe_futex(gb_stat *st)
{
    futex_probe *p = calloc(1, sizeof *p);
    if (p == NULL) {
        not_available(st, "out of memory");
        return;
    }
    gb_run_workers(2, futex_worker, p);
    double lat[MAX_TRIALS];
    int n = 0;
    for (int i = 0; i < p->attempts; i++)
        if (p->woke[i])
            lat[n++] = p->lat_ns[i];
    free(p);
    if (n < BATCHES)
        not_available(st, "no wake found a sleeper");
    else
        set_trials_stat(st, lat, n);
}

/* ---- membarrier(PRIVATE_EXPEDITED): the price of a fence forced onto other threads ----
 * It interrupts every CPU now running a thread of this process; alone, there is none and the
 * figure is the system call; with one thread spinning on another CPU it adds an IPI and the wait
 * for it, which on a VM is a hypervisor round trip. The caller and the spinner are pinned to two
 * different CPUs. On a shared host the spinner is often off its CPU, and a call then costs no
 * IPI: so each call waits until the spinner's counter moves (it is running now), is timed alone,
 * and is kept only if the counter moved during the call too. */

static void
op_membarrier(void *arg, int k)
{
    (void)arg;
    for (int i = 0; i < k; i++)
        syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

typedef struct membarrier_probe {
    _Alignas(128) _Atomic uint64_t spins; /* the spinner's progress; 0: not started */
    _Alignas(128) _Atomic int stop;
    int cpu[2];
    gb_stat *st;
} membarrier_probe;

/* The spinner's counter once it has moved past `seen` (it is on its CPU), or `seen` when the
 * deadline passes first. */
static uint64_t
spinner_moved(membarrier_probe *p, uint64_t seen, double deadline)
{
    uint64_t now;
    unsigned waits = 0;
    /* relaxed, the counter and the flag: they carry no data, only progress. */
    while ((now = atomic_load_explicit(&p->spins, memory_order_relaxed)) == seen) {
        gb_spin_step(&waits);
        if (waits % 1024 == 0 && gb_now_s() > deadline)
            break;
    }
    return now;
}

static void
membarrier_caller(membarrier_probe *p)
{
    double ns[TRIALS], deadline = gb_now_s() + TRIALS_LIMIT_S;
    int n = 0;
    uint64_t seen = 0;
    while (n < TRIALS && gb_now_s() < deadline) {
        seen = spinner_moved(p, seen, deadline);
        double t0 = gb_now_s();
        op_membarrier(NULL, 1);
        double t = gb_now_s() - t0;
        uint64_t after = atomic_load_explicit(&p->spins, memory_order_relaxed);
        if (after != seen)
            ns[n++] = t * 1e9;
        seen = after;
    }
    if (n < BATCHES)
        not_available(p->st, "the spinning thread never got a CPU");
    else
        set_trials_stat(p->st, ns, n);
    atomic_store_explicit(&p->stop, 1, memory_order_relaxed);
}

static void
membarrier_worker(void *arg, int id)
{
    membarrier_probe *p = arg;
    gb_pin_self(p->cpu[id]);
    if (id == 0) {
        membarrier_caller(p);
        return;
    }
    while (!atomic_load_explicit(&p->stop, memory_order_relaxed))
        atomic_fetch_add_explicit(&p->spins, 1, memory_order_relaxed);
}

static void
probe_membarrier(gb_stat *alone, gb_stat *busy)
{
    long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0) {
        not_available(alone, "membarrier PRIVATE_EXPEDITED unsupported by this kernel");
        not_available(busy, alone->why);
        return;
    }
    time_batches(alone, op_membarrier, NULL, 64, 1024);
    membarrier_probe p = {.st = busy};
    if (!gb_two_cpus(p.cpu)) {
        not_available(busy, "this process may run on one CPU only");
        return;
    }
    gb_run_workers(2, membarrier_worker, &p);
}

/* ---- the raw cross-CPU round trip: a token through one atomic word ----
 * The line goes to the other CPU and back, nothing else: the minimum of any hand-off between
 * two threads. Pinned to two CPUs so that it is a trip between caches, never two threads
 * taking turns on one CPU. */

void
gb_bounce_worker(void *arg, int id)
{
    gb_bounce *c = arg;
    if (c->cpu[id] >= 0)
        gb_pin_self(c->cpu[id]);
    unsigned spins = 0;
    uint64_t t;
    if (id == 1) {
        /* Answers token t with t + 1 until told to stop. */
        for (uint64_t last = 0;; c->answered++) {
            /* [H3] acquire: thread 0's token; pairs with [H3] release in thread 0. */
            while ((t = atomic_load_explicit(&c->word, memory_order_acquire)) == last)
                gb_spin_step(&spins);
            if (t == GB_BOUNCE_STOP)
                return;
            last = t + 1;
            /* [H4] release: the answer; pairs with [H4] acquire in thread 0. */
            atomic_store_explicit(&c->word, last, memory_order_release);
        }
    }
    double t0 = 0;
    uint64_t i = 0;
    while (i < c->n) {
        uint64_t token = 2 * i + 1;
        /* [H3] release: the token; pairs with [H3] acquire in thread 1. */
        atomic_store_explicit(&c->word, token, memory_order_release);
        /* [H4] acquire: thread 1's answer; pairs with [H4] release. */
        while ((t = atomic_load_explicit(&c->word, memory_order_acquire)) == token)
            gb_spin_step(&spins);
        c->bad += t != token + 1;
        i++;
        if (i == 1)
            t0 = gb_now_s(); /* the first trip waits for thread 1 to start: not timed */
        else if (c->limit_s > 0 && i % 256 == 0 && gb_now_s() - t0 > c->limit_s)
            break;
    }
    c->seconds = gb_now_s() - t0;
    c->done = i;
    /* relaxed: carries no data; thread 1's count reaches the reader through the join. */
    atomic_store_explicit(&c->word, GB_BOUNCE_STOP, memory_order_relaxed);
}

static void
probe_cacheline(gb_stat *st)
{
    int cpu[2];
    if (!gb_two_cpus(cpu)) {
        not_available(st, "this process may run on one CPU only");
        return;
    }
    double ns[BATCHES];
    for (int b = 0; b < BATCHES; b++) {
        gb_bounce c = {.n = 1u << 20, .limit_s = RTT_BATCH_S, .cpu = {cpu[0], cpu[1]}};
        gb_run_workers(2, gb_bounce_worker, &c);
        if (c.bad || c.done < 2) {
            not_available(st, "the token came back wrong");
            return;
        }
        ns[b] = c.seconds * 1e9 / (double)(c.done - 1);
    }
    set_stat(st, ns, BATCHES);
}

/* ---- pause: what one spin-loop relax costs (golf's spin loops are counted in them; it is
 * ~140 cycles on recent Intel, a few on older or AMD cores) ---- */

static void
op_pause(void *arg, int k)
{
    (void)arg;
    for (int i = 0; i < k; i++)
        golf__cpu_relax();
}

static void
probe_pause(gb_stat *st)
{
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)
    time_batches(st, op_pause, NULL, 4096, 1 << 16);
#else
    (void)op_pause;
    not_available(st, "no spin-loop relax instruction on this architecture");
#endif
}

void
gb_host_probe(gb_host *h)
{
    static const struct {
        const char *key, *label;
        int threads;
    } names[GB_HOST_NFLOORS] = {
        [GB_HOST_SYSCALL] = {"syscall", "system call (getppid)", 1},
        [GB_HOST_FUTEX_WAKE] = {"futex_wake", "futex wake-to-run", 2},
        [GB_HOST_MEMBARRIER] = {"membarrier", "membarrier expedited, alone", 1},
        [GB_HOST_MEMBARRIER_BUSY] = {"membarrier_busy", "membarrier expedited, 1 thread spinning",
                                     2},
        [GB_HOST_CACHELINE_RTT] = {"cacheline_rtt", "cache-line round trip", 2},
        [GB_HOST_PAUSE] = {"pause", "pause (one instruction)", 1},
    };
    memset(h, 0, sizeof *h);
    for (int i = 0; i < GB_HOST_NFLOORS; i++)
        h->floor[i] = (gb_floor){names[i].key, names[i].label, names[i].threads, {0}};
    double t0 = gb_now_s();
    time_batches(&h->floor[GB_HOST_SYSCALL].st, op_syscall, NULL, 256, 8192);
    probe_futex(&h->floor[GB_HOST_FUTEX_WAKE].st);
    probe_membarrier(&h->floor[GB_HOST_MEMBARRIER].st, &h->floor[GB_HOST_MEMBARRIER_BUSY].st);
    probe_cacheline(&h->floor[GB_HOST_CACHELINE_RTT].st);
    probe_pause(&h->floor[GB_HOST_PAUSE].st);
    h->probe_s = gb_now_s() - t0;
}
