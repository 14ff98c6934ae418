/* SPDX-License-Identifier: MIT */
/* Chaos schedules (lockfree/chaos.h) and the debug tier's invariant checks (lockfree/debug.h):
 * GOLF_CHAOS is read at load time and its seed printed; the same seed gives each thread the same
 * decisions; a broken invariant stops the process with its id. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan/chan_struct.h"
#include "golf/chan.h"
#include "golf/error.h"
#include "lockfree/chaos.h"

/* Runs fn in a forked child with its stderr on a pipe; returns what the child wrote (at most
 * cap - 1 bytes, NUL-terminated) and its wait status in *status. */
static void
run_child(void (*fn)(void *), void *arg, char *out, size_t cap, int *status)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        fn(arg);
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(p[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(p[0]);
    cr_assert_eq(waitpid(pid, status, 0), pid);
}

static void
exec_self_listing(void *seed)
{
    /* The constructor reads GOLF_CHAOS before main; Criterion's --list runs no test. A clean
     * environment (the sanitizers' options aside): this worker's own variables would make the
     * new process a Criterion worker too. */
    static char chaos[64], *envp[8];
    snprintf(chaos, sizeof chaos, "GOLF_CHAOS=%s", (const char *)seed);
    size_t n = 0;
    envp[n++] = chaos;
    const char *keep[] = {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"};
    for (size_t i = 0; i < 3; i++) {
        static char buf[3][1024];
        const char *v = getenv(keep[i]);
        if (v) {
            snprintf(buf[i], sizeof buf[i], "%s=%s", keep[i], v);
            envp[n++] = buf[i];
        }
    }
    envp[n] = NULL;
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    char *argv[] = {"test_lockfree", "--list", NULL};
    execve("/proc/self/exe", argv, envp);
    _exit(127);
}

Test(chaos, seed_from_the_environment_is_printed_at_start, .timeout = 30)
{
    char out[4096];
    int st;
    run_child(exec_self_listing, "4242", out, sizeof out, &st);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d: %s", st, out);
    cr_assert(strstr(out, "golf: chaos seed 4242\n") != NULL, "stderr: %s", out);
    run_child(exec_self_listing, "off", out, sizeof out, &st);
    cr_assert(strstr(out, "golf: chaos seed") == NULL, "GOLF_CHAOS=off printed: %s", out);
    run_child(exec_self_listing, "12x", out, sizeof out, &st);
    cr_assert(strstr(out, "GOLF_CHAOS=12x is not a seed") != NULL, "stderr: %s", out);
}

/* ---- the same seed, the same sequence per thread ---- */

enum { STEPS = 400 };

typedef struct {
    golf__chaos_step steps[STEPS];
    size_t n;
    bool bad;
} trace;

/* Buffered send/receive pairs on a channel of its own: single-threaded, so the sites it passes
 * are the same every time; what changes with the seed is only the decisions. */
static void *
traced_worker(void *arg)
{
    trace *t = arg;
    golf_chan *ch = golf_chan_new(sizeof(int), 8);
    if (!ch)
        return NULL; /* t->n stays 0: the test fails */
    golf__chaos_record(t->steps, STEPS);
    for (int i = 0; i < STEPS; i++) {
        int v = i, w = -1;
        if (golf_chan_send(ch, &v) != GOLF_OK || golf_chan_recv(ch, &w) != GOLF_OK || w != i)
            t->bad = true;
    }
    t->n = golf__chaos_record(NULL, 0);
    golf_chan_free(ch);
    return NULL;
}

/* Thread 0 then thread 1 (each starts after the other ended: their order of first use is fixed). */
static void
two_threads(uint64_t seed, trace *t0, trace *t1)
{
    golf__chaos_set(1, seed);
    pthread_t th;
    pthread_create(&th, NULL, traced_worker, t0);
    pthread_join(th, NULL);
    pthread_create(&th, NULL, traced_worker, t1);
    pthread_join(th, NULL);
    golf__chaos_set(0, 0);
}

static bool
same_trace(const trace *a, const trace *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        if (a->steps[i].site != b->steps[i].site || a->steps[i].action != b->steps[i].action ||
            a->steps[i].arg != b->steps[i].arg)
            return false;
    }
    return true;
}

Test(chaos, same_seed_same_decisions_per_thread, .timeout = 60)
{
    static trace a0, a1, b0, b1, c0, c1;
    two_threads(42, &a0, &a1);
    two_threads(42, &b0, &b1);
    two_threads(43, &c0, &c1);
    cr_assert_eq(a0.n, STEPS, "recorded %zu decisions", a0.n);
    cr_assert(!a0.bad && !a1.bad && !b0.bad && !b1.bad && !c0.bad && !c1.bad, "a value was lost");
    cr_assert(same_trace(&a0, &b0), "seed 42, thread 0: two runs differ");
    cr_assert(same_trace(&a1, &b1), "seed 42, thread 1: two runs differ");
    cr_assert(!same_trace(&a0, &a1), "threads 0 and 1 drew the same sequence");
    cr_assert(!same_trace(&a0, &c0), "seeds 42 and 43 drew the same sequence");
    /* The trace names real sites, and every kind of decision appears. */
    int kinds[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < a0.n; i++) {
        cr_assert_lt(a0.steps[i].site, GOLF__SITE_COUNT);
        kinds[a0.steps[i].action]++;
    }
    cr_assert_str_eq(golf__chaos_site_name(a0.steps[0].site), "RING_PUSH_RESERVED");
    for (int k = 0; k < 4; k++)
        cr_assert_gt(kinds[k], 0, "no decision of kind %d in %zu", k, a0.n);
    cr_assert_gt(golf__chaos_hits(GOLF__SITE_RING_PUSH_RESERVED), 0);
}

static void
set_seed_in_child(void *arg)
{
    (void)arg;
    golf__chaos_set(1, 99);
}

/* The test hook is quiet: only a seed the user chose (GOLF_CHAOS) is printed, so the debug
 * tier's default seed leaves programs' output alone. */
Test(chaos, set_is_quiet, .timeout = 10)
{
    char out[256];
    int st;
    run_child(set_seed_in_child, NULL, out, sizeof out, &st);
    cr_assert_str_eq(out, "");
}

/* ---- GOLF__ASSERT ---- */

/* Breaks C4 (a waiter count equals its list's length) by hand, then registers a waiter: the
 * registration's check under the lock sees a count of 6 and a list of one. */
static void
break_c4(void *arg)
{
    (void)arg;
    golf__chaos_set(0, 0); /* no stray output in this child: the debug tier's chaos is on */
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    atomic_store_explicit(&ch->wq.nrecv, 5, memory_order_relaxed);
    int v = 1;
    (void)golf_chan_send_timeout(ch, &v, 1000000);
    fprintf(stderr, "still running\n");
}

Test(debug_tier, a_broken_invariant_aborts_with_its_id, .timeout = 30)
{
    char out[4096];
    int st;
    run_child(break_c4, NULL, out, sizeof out, &st);
#ifdef GOLF_DEBUG
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status %d, stderr: %s", st, out);
    cr_assert(strstr(out, "golf: invariant broken: C4 chan: nrecv/nsend differ") != NULL,
              "stderr: %s", out);
#else
    /* Compiled out: the condition is never evaluated, the child goes on. */
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d, stderr: %s", st, out);
    cr_assert(strstr(out, "still running") != NULL, "stderr: %s", out);
#endif
}
