/* SPDX-License-Identifier: MIT */
/* Finding a deadlock: golf's detector, like Go's runtime, notices when every thread of the
 * process is blocked in golf and nothing can wake any of them, and says what each one waits on
 * instead of hanging.
 *
 * The bug: the results channel is never made (in Go, `var results chan int` without `make`), so
 * it is a nil channel. Sends and receives on a nil channel block forever, in Go and in golf:
 *
 *     var results chan int          // forgot: results = make(chan int)
 *     for i := 0; i < 2; i++ {
 *         go func(n int) { results <- n * n }(i + 2)
 *     }
 *     fmt.Println(<-results + <-results)
 *
 * Go stops such a program with "fatal error: all goroutines are asleep - deadlock!"; golf prints
 * the same kind of report, one line per thread with what it waits on, and aborts. The detector
 * is on by default (GOLF_DEADLOCK=0 turns it off). This program runs the buggy part in a child
 * (itself, with the argument "child"), shows the report it died with, and checks it. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "golf/golf.h"

static golf_chan *results; /* the bug: never golf_chan_new'd, so a nil channel */

static void
square(void *arg)
{
    int n = (int)(intptr_t)arg * (int)(intptr_t)arg;
    golf_chan_send(results, &n); /* blocks forever: nil channel */
}

static int
buggy(void)
{
    static golf_waitgroup wg;
    for (int i = 0; i < 2; i++)
        golf_waitgroup_go(&wg, square, (void *)(intptr_t)(i + 2));
    int a, b;
    golf_chan_recv(results, &a); /* blocks forever: nil channel */
    golf_chan_recv(results, &b);
    printf("%d\n", a + b);
    return 0;
}

/* Runs this program again with the argument "child"; returns what it wrote on stderr. */
static const char *
run_child(const char *self, int *status)
{
    static char out[8192];
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(self, self, "child", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n < sizeof out - 1 && (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    waitpid(pid, status, 0);
    return out;
}

static int
count(const char *s, const char *what)
{
    int n = 0;
    for (; (s = strstr(s, what)) != NULL; s += strlen(what))
        n++;
    return n;
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return buggy();
    int status;
    const char *report = run_child("/proc/self/exe", &status);
    if (!report)
        return 1;
    printf("the child said:\n%s", report);
    bool ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
              strstr(report, "fatal error: all threads are asleep - deadlock!\n") &&
              count(report, "(main) [chan receive (nil chan)]\n") == 1 &&
              count(report, " [chan send (nil chan)]\n") == 2;
    printf("%s\n", ok ? "as expected: the deadlock was found" : "UNEXPECTED");
    return ok ? 0 : 1;
}
