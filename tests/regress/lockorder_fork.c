/* SPDX-License-Identifier: MIT */
/* Regression: with GOLF_LOCKORDER on, a fork child's lock-order graph lock held for good.
 *
 * The checker used to register its fork handlers lazily, on the first lock-order edge, while
 * holding its graph lock (after allocating the graph). A fork by another thread inside that
 * window copied the lock held, with no handler to release it in the child, so the child's first
 * nested lock hung.
 *
 * Each round runs in a fresh process P (no edge recorded yet): a thread of P takes two golf
 * mutexes nested (P's first edge) while P's main thread forks children as fast as it can; each
 * child takes two other mutexes nested (it needs the graph lock) under a watchdog. A child that
 * hangs fails the test. The sanitizer builds fork only once the thread is done (their runtimes
 * are not fork-safe with a thread inside malloc, tests/regress/regress.h), which checks that a
 * child can use the checker at all.
 *
 * The program runs itself again with GOLF_LOCKORDER=warn (the variable is read at load time).
 *
 * Usage: regress_lockorder_fork [rounds]  (exit 0: pass) */
#include "regress.h"

#include <sys/wait.h>

#include "golf/golf.h"

enum { ROUNDS = 60, FORKS_MAX = 64 };

static golf_mutex a, b, c, d;
static atomic_int edge_done;

static void *
nester(void *arg)
{
    (void)arg;
    golf_mutex_lock(&a);
    golf_mutex_lock(&b); /* the process's first edge */
    golf_mutex_unlock(&b);
    golf_mutex_unlock(&a);
    atomic_store(&edge_done, 1);
    return NULL;
}

/* The grandchild: one nested lock, which takes the graph lock. */
static void
grandchild(void)
{
    alarm(5);
    golf_mutex_lock(&c);
    golf_mutex_lock(&d);
    golf_mutex_unlock(&d);
    golf_mutex_unlock(&c);
    _exit(0);
}

/* One round, in a fresh process: 0 when every child finished. */
static int
round_process(void)
{
    pthread_t t;
    if (REGRESS_SANITIZED) {
        REGRESS_CHECK(pthread_create(&t, NULL, nester, NULL) == 0, "pthread_create");
        pthread_join(t, NULL);
    } else {
        REGRESS_CHECK(pthread_create(&t, NULL, nester, NULL) == 0, "pthread_create");
    }
    pid_t kids[FORKS_MAX];
    int n = 0;
    do {
        pid_t pid = fork();
        REGRESS_CHECK(pid >= 0, "fork");
        if (pid == 0)
            grandchild();
        kids[n++] = pid;
    } while (n < FORKS_MAX && !atomic_load(&edge_done));
    if (!REGRESS_SANITIZED)
        pthread_join(t, NULL);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int st;
        REGRESS_CHECK(waitpid(kids[i], &st, 0) == kids[i], "waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad++;
    }
    if (bad)
        fprintf(stderr, "%d of %d children hung on a nested lock\n", bad, n);
    return bad != 0;
}

int
main(int argc, char **argv)
{
    const char *lo = getenv("GOLF_LOCKORDER");
    if (!lo || strcmp(lo, "warn") != 0) {
        setenv("GOLF_LOCKORDER", "warn", 1);
        execv("/proc/self/exe", argv);
        REGRESS_FAIL("execv");
    }
    int rounds = argc > 1 ? atoi(argv[1]) : ROUNDS;
    for (int i = 0; i < rounds; i++) {
        fflush(NULL);
        pid_t p = fork();
        REGRESS_CHECK(p >= 0, "fork");
        if (p == 0)
            _exit(round_process());
        int st;
        REGRESS_CHECK(waitpid(p, &st, 0) == p, "waitpid");
        REGRESS_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "round %d: a fork child hung", i);
    }
    printf("PASS lockorder_fork (%d rounds)\n", rounds);
    return 0;
}
