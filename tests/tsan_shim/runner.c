/* SPDX-License-Identifier: MIT */
/* main() of the Criterion stand-in (criterion/criterion.h here) for the ThreadSanitizer build.
 *
 *   test_<module> [--filter PATTERN | PATTERN] [-j N] [--list]
 *
 * runs every registered test (or those whose "suite/name" matches the fnmatch PATTERN), each in
 * a forked child in its own process group, at most N at a time (default 1). A child's stdout and
 * stderr go to a file, printed when it ends, so that the reports of tests run side by side do
 * not interleave. A test passes if its child exits 0, or, for a test with .signal = SIG, if it
 * dies of SIG; one that outlives its .timeout (times 5 in a ThreadSanitizer build, which slows
 * golf's tests down 5 to 20 times) is killed, its whole process group with it, and fails.
 * Other Criterion options are accepted and ignored. Exits 1 if any test failed. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define GOLF_SHIM_TIMEOUT_SCALE 5.0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GOLF_SHIM_TIMEOUT_SCALE 5.0
#endif
#endif
#ifndef GOLF_SHIM_TIMEOUT_SCALE
#define GOLF_SHIM_TIMEOUT_SCALE 1.0
#endif
#define GOLF_SHIM_SKIP_EXIT 77 /* a child's exit code for cr_skip_test */

static struct golf_shim_test *tests;
static size_t n_tests;
static atomic_bool expect_failed; /* in a test's child: a cr_expect failed */

void
golf_shim_register(struct golf_shim_test *t)
{
    t->next = tests;
    tests = t;
    n_tests++;
}

/* One write(2) per message, so that threads' messages do not interleave mid-line. */
static void
say(const char *prefix, const char *file, int line, const char *what, const char *fmt, va_list ap)
{
    char buf[2048];
    int n = snprintf(buf, sizeof buf, "%s:%d: %s%s", file, line, prefix, what ? what : "");
    if (n < 0)
        return;
    if ((size_t)n < sizeof buf && fmt[0]) {
        n += snprintf(buf + n, sizeof buf - (size_t)n, ": ");
        if ((size_t)n < sizeof buf)
            n += vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    }
    if ((size_t)n >= sizeof buf - 1)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    fflush(stdout);
    ssize_t w = write(2, buf, (size_t)n);
    (void)w;
}

void
golf_shim_fail(bool fatal, const char *file, int line, const char *expr, const char *values,
               const char *fmt, ...)
{
    char what[1024];
    snprintf(what, sizeof what, "%s%s%s%s", expr, values ? " (" : "", values ? values : "",
             values ? ")" : "");
    va_list ap;
    va_start(ap, fmt);
    say(fatal ? "assertion failed: " : "expectation failed: ", file, line, what, fmt, ap);
    va_end(ap);
    if (fatal) {
        /* From whichever thread failed: the test's child ends here, as Criterion's would. */
        fflush(NULL);
        _exit(1);
    }
    atomic_store_explicit(&expect_failed, true, memory_order_relaxed); /* read after the test */
}

void
golf_shim_skip(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("skipped", file, line, NULL, fmt, ap);
    va_end(ap);
    fflush(NULL);
    _exit(GOLF_SHIM_SKIP_EXIT);
}

void
golf_shim_value(char *buf, size_t len, const char *kind, ...)
{
    va_list ap;
    va_start(ap, kind);
    if (!strcmp(kind, "i"))
        snprintf(buf, len, "%d", va_arg(ap, int));
    else if (!strcmp(kind, "u"))
        snprintf(buf, len, "%u", va_arg(ap, unsigned));
    else if (!strcmp(kind, "l"))
        snprintf(buf, len, "%ld", va_arg(ap, long));
    else if (!strcmp(kind, "ul"))
        snprintf(buf, len, "%lu", va_arg(ap, unsigned long));
    else if (!strcmp(kind, "ll"))
        snprintf(buf, len, "%lld", va_arg(ap, long long));
    else if (!strcmp(kind, "ull"))
        snprintf(buf, len, "%llu", va_arg(ap, unsigned long long));
    else if (!strcmp(kind, "d"))
        snprintf(buf, len, "%g", va_arg(ap, double));
    else if (!strcmp(kind, "ld"))
        snprintf(buf, len, "%Lg", va_arg(ap, long double));
    else
        snprintf(buf, len, "%p", va_arg(ap, void *));
    va_end(ap);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct running {
    struct golf_shim_test *t;
    pid_t pid;
    FILE *out; /* the child's stdout and stderr */
    double start;
    bool timed_out;
};

static int
by_name(const void *a, const void *b)
{
    const struct golf_shim_test *x = *(struct golf_shim_test *const *)a;
    const struct golf_shim_test *y = *(struct golf_shim_test *const *)b;
    int c = strcmp(x->suite, y->suite);
    return c ? c : strcmp(x->name, y->name);
}

static void
run_child(struct golf_shim_test *t, FILE *out)
{
    setpgid(0, 0); /* the runner kills the whole group on a timeout */
    dup2(fileno(out), 1);
    dup2(fileno(out), 2);
    setvbuf(stdout, NULL, _IOLBF, 0);
    t->fn();
    fflush(NULL);
    /* exit(), not _exit(): ThreadSanitizer's exit code (66 after a report) applies. */
    exit(atomic_load_explicit(&expect_failed, memory_order_relaxed) ? 1 : 0);
}

/* Reports a finished test; returns 1 if it failed, 0 otherwise; counts skips in *skipped. */
static int
finish(struct running *r, int status, size_t *skipped)
{
    char verdict[160];
    int failed = 1;
    const struct golf_shim_test *t = r->t;
    if (r->timed_out)
        snprintf(verdict, sizeof verdict, "FAIL (timed out after %g s)",
                 t->timeout * GOLF_SHIM_TIMEOUT_SCALE);
    else if (WIFSIGNALED(status) && t->signal && WTERMSIG(status) == t->signal)
        failed = 0,
        snprintf(verdict, sizeof verdict, "PASS (died of signal %d, as expected)", t->signal);
    else if (WIFSIGNALED(status))
        snprintf(verdict, sizeof verdict, "FAIL (killed by signal %d: %s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (WEXITSTATUS(status) == GOLF_SHIM_SKIP_EXIT)
        failed = 0, (*skipped)++, snprintf(verdict, sizeof verdict, "SKIP");
    else if (t->signal)
        snprintf(verdict, sizeof verdict, "FAIL (exited %d; expected signal %d)",
                 WEXITSTATUS(status), t->signal);
    else if (WEXITSTATUS(status) != 0)
        snprintf(verdict, sizeof verdict, "FAIL (exit code %d)", WEXITSTATUS(status));
    else
        failed = 0, snprintf(verdict, sizeof verdict, "PASS");

    /* The child's output, then the verdict. */
    char buf[4096];
    size_t n;
    rewind(r->out);
    while ((n = fread(buf, 1, sizeof buf, r->out)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(r->out);
    printf("[%s] %s/%s (%.2f s)\n", verdict, t->suite, t->name, now_s() - r->start);
    fflush(stdout);
    return failed;
}

int
main(int argc, char **argv)
{
    const char *filter = NULL;
    long jobs = 1;
    bool list = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--filter") && i + 1 < argc)
            filter = argv[++i];
        else if (!strncmp(a, "--filter=", 9))
            filter = a + 9;
        else if ((!strcmp(a, "-j") || !strcmp(a, "--jobs")) && i + 1 < argc)
            jobs = strtol(argv[++i], NULL, 10);
        else if (!strncmp(a, "-j", 2))
            jobs = strtol(a + 2, NULL, 10);
        else if (!strncmp(a, "--jobs=", 7))
            jobs = strtol(a + 7, NULL, 10);
        else if (!strcmp(a, "--list"))
            list = true;
        else if (a[0] != '-')
            filter = a;
        /* any other option: Criterion's, ignored */
    }
    if (jobs < 1)
        jobs = 1;

    struct golf_shim_test **all = calloc(n_tests ? n_tests : 1, sizeof *all);
    struct running *run = calloc((size_t)jobs, sizeof *run);
    if (!all || !run) {
        perror("golf test runner");
        return 2;
    }
    size_t n = 0;
    for (struct golf_shim_test *t = tests; t; t = t->next) {
        char full[512];
        snprintf(full, sizeof full, "%s/%s", t->suite, t->name);
        if (!filter || fnmatch(filter, full, 0) == 0)
            all[n++] = t;
    }
    qsort(all, n, sizeof *all, by_name);
    if (list) {
        for (size_t i = 0; i < n; i++)
            printf("%s/%s\n", all[i]->suite, all[i]->name);
        return 0;
    }

    size_t next = 0, active = 0, failed = 0, skipped = 0;
    double t0 = now_s();
    while (next < n || active > 0) {
        /* Start tests while slots are free. */
        while (next < n && active < (size_t)jobs) {
            struct running *r = NULL;
            for (long j = 0; j < jobs; j++)
                if (!run[j].t) {
                    r = &run[j];
                    break;
                }
            FILE *out = tmpfile();
            if (!out) {
                perror("golf test runner: tmpfile");
                return 2;
            }
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0) {
                perror("golf test runner: fork");
                return 2;
            }
            if (pid == 0)
                run_child(all[next], out);
            setpgid(pid, pid); /* also here: no race with a kill right after the fork */
            *r = (struct running){.t = all[next], .pid = pid, .out = out, .start = now_s()};
            next++;
            active++;
        }
        /* Reap what ended; kill what overran. */
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno != EINTR && errno != ECHILD) {
            perror("golf test runner: waitpid");
            return 2;
        }
        if (pid > 0) {
            for (long j = 0; j < jobs; j++)
                if (run[j].t && run[j].pid == pid) {
                    kill(-pid, SIGKILL); /* anything the test left running in its group */
                    failed += (size_t)finish(&run[j], status, &skipped);
                    run[j].t = NULL;
                    active--;
                }
            continue;
        }
        double now = now_s();
        for (long j = 0; j < jobs; j++) {
            struct running *r = &run[j];
            if (r->t && !r->timed_out && r->t->timeout > 0 &&
                now - r->start > r->t->timeout * GOLF_SHIM_TIMEOUT_SCALE) {
                r->timed_out = true;
                kill(-r->pid, SIGKILL);
            }
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    printf("[====] Synthesis: Tested: %zu | Passing: %zu | Failing: %zu | Skipped: %zu (%.1f s)\n",
           n, n - failed - skipped, failed, skipped, now_s() - t0);
    free(all);
    free(run);
    return failed ? 1 : 0;
}
