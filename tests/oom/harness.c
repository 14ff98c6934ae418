/* SPDX-License-Identifier: MIT */
/* golf_oom's driver: for each scenario of a module, forks one child per k from a parent that
 * has never called golf, and sweeps k until a run's countdown is never reached (oom.h). */
#include "oom.h"

#include <pthread.h>
#include <string.h>
#include <sys/wait.h>

long oom_k = -1;

void
oom_start(void)
{
    oom_arm(oom_k);
}

/* Child exit codes besides 0 (completed, a failure was injected) and 1 (a check failed). */
enum { EXIT_UNREACHED = 10 };
/* A hang is a failure: each child's own alarm. */
enum { CHILD_SECONDS = 10 };
/* No scenario has nearly this many allocations; more means the sweep cannot end. */
enum { MAX_K = 20000 };

bool
oom_rc_check(int rc, const char *what, const char *file, int line)
{
    if (rc == GOLF_OK)
        return true;
    if (rc == GOLF_ENOMEM && oom_injected() > 0)
        return false;
    oom_disarm();
    fprintf(stderr, "FAIL k=%ld %s:%d: %s returned %d (%s) with %ld allocations failed\n", oom_k,
            file, line, what, rc, golf_strerror(rc), oom_injected());
    _exit(1);
}

bool
oom_ptr_check(bool ok, int err, const char *what, const char *file, int line)
{
    if (ok)
        return true;
    if (err == ENOMEM && oom_injected() > 0)
        return false;
    oom_disarm();
    fprintf(stderr, "FAIL k=%ld %s:%d: %s returned NULL, errno %d, with %ld allocations failed\n",
            oom_k, file, line, what, err, oom_injected());
    _exit(1);
}

_Noreturn void
oom_recovered(bool (*retry)(void))
{
    oom_disarm();
    OOM_CHECK(retry(), "still failing once allocation works again");
    exit(0);
}

void
oom_fill_keys(void)
{
    for (int i = 0; i < 40; i++) {
        pthread_key_t k;
        if (pthread_key_create(&k, NULL) != 0) {
            perror("pthread_key_create");
            exit(1);
        }
    }
}

static void
no_handler(void)
{
}

void
oom_fill_atfork(void)
{
    /* How many registrations fit without an allocation: counted in a child, which registers
     * until one allocates. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        for (int n = 0; n < 200; n++) {
            long before = oom_calls();
            if (pthread_atfork(no_handler, no_handler, no_handler) != 0)
                _exit(255);
            if (oom_calls() != before)
                _exit(n); /* the n+1-th allocated: n fit */
        }
        _exit(255);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) == 255) {
        fprintf(stderr, "oom_fill_atfork: cannot measure glibc's fork-handler table\n");
        exit(1);
    }
    for (int i = 0; i < WEXITSTATUS(st); i++)
        pthread_atfork(no_handler, no_handler, no_handler);
}

/* The sweep of one scenario: the number of allocation points injected, or -1 on failure. */
static long
sweep(const oom_scenario *s)
{
    if (s->parent_setup)
        s->parent_setup();
    for (long k = 0; k < MAX_K; k++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return -1;
        }
        if (pid == 0) {
            oom_k = k;
            regress_watchdog(CHILD_SECONDS);
            s->run();
            long hit = oom_injected();
            oom_disarm();
            exit(hit > 0 ? 0 : EXIT_UNREACHED);
        }
        int st = 0;
        if (waitpid(pid, &st, 0) != pid) {
            perror("waitpid");
            return -1;
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == EXIT_UNREACHED)
            return k;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            continue;
        if (WIFSIGNALED(st))
            fprintf(stderr, "FAIL %s: k=%ld: the child died of signal %d (%s)\n", s->name, k,
                    WTERMSIG(st), strsignal(WTERMSIG(st)));
        else
            fprintf(stderr, "FAIL %s: k=%ld: the child exited with %d\n", s->name, k,
                    WEXITSTATUS(st));
        return -1;
    }
    fprintf(stderr, "FAIL %s: more than %d allocations\n", s->name, MAX_K);
    return -1;
}

/* One module a line (clang-format 14 would pack five entries into rows). */
/* clang-format off */
static const struct {
    const char *module;
    const oom_scenario *scenarios;
} modules[] = {
    {"map", oom_map_scenarios},
    {"chan", oom_chan_scenarios},
    {"pool", oom_pool_scenarios},
    {"sync", oom_sync_scenarios},
    {"timer", oom_timer_scenarios},
};
/* clang-format on */

int
main(int argc, char **argv)
{
    const oom_scenario *list = NULL;
    for (size_t i = 0; argc == 2 && i < sizeof modules / sizeof modules[0]; i++)
        if (strcmp(argv[1], modules[i].module) == 0)
            list = modules[i].scenarios;
    if (list == NULL) {
        fprintf(stderr, "usage: golf_oom map|chan|pool|sync|timer\n");
        return 2;
    }
    int failed = 0;
    for (const oom_scenario *s = list; s->name != NULL; s++) {
        /* Each scenario from its own cold parent: a setup must not leak into the next. */
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            double t0 = regress_now_s();
            long n = sweep(s);
            if (n < 0)
                _exit(1);
            printf("oom %-24s %5ld allocation points, each failed in turn: ok (%.2f s)\n", s->name,
                   n, regress_now_s() - t0);
            fflush(stdout);
            _exit(0);
        }
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed++;
    }
    return failed ? 1 : 0;
}
