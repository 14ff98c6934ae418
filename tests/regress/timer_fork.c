/* SPDX-License-Identifier: MIT */
/* Regression: a fork child's timer thread stuck for good on the deadlock detector's list lock.
 *
 * fork() runs the detector's prepare handler (it takes its list lock) and, in the child, the
 * timer's child handler before the detector's: with a timer armed at the fork the timer's handler
 * starts the child's timer thread, which fires the due timer, parks and, registering with the
 * detector, blocks on the list lock the child still holds. The detector's child handler used to
 * re-initialise that lock instead of unlocking it, so the blocked thread was never woken and no
 * timer of the child fired again.
 *
 * The window is narrow (the new thread must reach the lock before the forking thread runs the
 * detector's handler, a few microseconds later), hence many rounds: before the fix about one
 * child in a thousand lost its timer thread on a loaded two-core host.
 *
 * Each round arms a due timer, forks, and the child waits (with a deadline) for a new 1 ms timer
 * to fire; a watchdog ends a child that hangs otherwise. Any child that does not see its timer
 * fails the test.
 *
 * Usage: regress_timer_fork [rounds]  (exit 0: pass) */
#include "regress.h"

#include <sys/wait.h>

#include "golf/golf.h"

enum { ROUNDS = 1000 };

static int
child(void)
{
    alarm(10); /* watchdog: SIGALRM ends a child hung anywhere else */
    golf_timer *u = golf_timer_new(1000000, 0);
    if (u == NULL)
        return 2;
    uint64_t v;
    /* Generous: the timer is due in 1 ms. */
    int rc = golf_chan_recv_timeout(golf_timer_chan(u), &v, 3000000000ull);
    return rc == GOLF_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
    /* The sanitizer builds fork slowly; they check the child's memory use, not the race. */
    int rounds = argc > 1 ? atoi(argv[1]) : REGRESS_SANITIZED ? ROUNDS / 5 : ROUNDS;
    int bad = 0;
    if (REGRESS_SANITIZED) {
        /* The sanitizer runtimes are not fork-safe while a thread is starting (regress.h): let
         * the parent's timer thread start and go idle before the first fork. */
        golf_timer *w = golf_timer_new(0, 0);
        uint64_t v;
        REGRESS_CHECK(w && golf_chan_recv(golf_timer_chan(w), &v) == GOLF_OK, "warm-up");
        golf_timer_free(w);
    }
    for (int i = 0; i < rounds && bad == 0; i++) {
        golf_timer *t = golf_timer_new(0, 0);
        REGRESS_CHECK(t != NULL, "golf_timer_new");
        fflush(NULL);
        pid_t pid = fork();
        REGRESS_CHECK(pid >= 0, "fork");
        if (pid == 0)
            _exit(child());
        int st;
        REGRESS_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "round %d: the child's timer did not fire (status %#x)\n", i, st);
            bad++;
        }
        golf_timer_free(t);
    }
    REGRESS_CHECK(bad == 0, "a fork child lost its timer thread");
    printf("PASS timer_fork (%d rounds)\n", rounds);
    return 0;
}
