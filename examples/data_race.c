/* SPDX-License-Identifier: MIT */
/* Finding a data race with golf's race-detector flavour (README.md, "Race detector").
 *
 * The bug: a producer sends a pointer to a message through a channel and then keeps writing to
 * the message. In Go the race detector reports it; in C, build the program with
 * -fsanitize=thread against libgolf_tsan (pkg-config golf-tsan, or CMake golf::golf_tsan):
 *
 *     msg->len = n;
 *     golf_chan_send(ch, &msg);     // ownership passes to the receiver here
 *     msg->retries++;               // the bug: a write after the hand-off
 *
 * The fixed program, which stops touching the message once it is sent, gets no report: what
 * golf passes between threads is visible to ThreadSanitizer in that flavour.
 *
 * Built with ThreadSanitizer (ctest example_data_race_tsan), this program runs the buggy and
 * the fixed version each in a child, shows the report and checks that the bug, and only the
 * bug, was reported. Built without it (example_data_race), it runs the fixed version and says
 * how to see the report. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "golf/golf.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

typedef struct msg {
    int len;
    int retries;
    char body[32];
} msg;

enum { N = 200 };
static golf_chan *ch;
static int buggy;
static msg *received[N]; /* the consumer keeps what it got; main frees it at the end */

static void
consume(void *arg)
{
    (void)arg;
    msg *m;
    for (int n = 0; golf_chan_recv(ch, &m) == GOLF_OK; n++) {
        if (m->len != (int)strlen(m->body) || m->retries < 0)
            abort();
        received[n] = m;
    }
}

static __attribute__((noinline)) void
produce(int n)
{
    for (int i = 0; i < n; i++) {
        msg *m = calloc(1, sizeof *m);
        if (m == NULL)
            abort();
        snprintf(m->body, sizeof m->body, "message %d", i);
        m->len = (int)strlen(m->body);
        golf_chan_send(ch, &m);
        if (buggy)
            m->retries++; /* the bug: the receiver owns m now */
    }
}

static int
run(void)
{
    ch = golf_chan_new(sizeof(msg *), 0);
    golf_waitgroup wg = {0};
    golf_waitgroup_go(&wg, consume, NULL);
    produce(N);
    golf_chan_close(ch);
    golf_waitgroup_wait(&wg);
    golf_chan_free(ch);
    for (int i = 0; i < N; i++)
        free(received[i]);
    return 0;
}

/* Runs this program as `self mode` with stderr captured into buf; returns its exit status. */
static int
run_child(const char *self, const char *mode, char *buf, size_t cap)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        /* Keep going after the first report, and let the exit status say whether there was one. */
        setenv("TSAN_OPTIONS", "halt_on_error=0:exitcode=66", 1);
        execl(self, self, mode, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd[0], buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int
main(int argc, char **argv)
{
    if (argc == 2) { /* a child */
        buggy = strcmp(argv[1], "buggy") == 0;
        return run();
    }
    if (!UNDER_TSAN) {
        run();
        printf("data_race: built without ThreadSanitizer, so only the fixed version ran.\n"
               "Build it with -fsanitize=thread against golf-tsan to see the race reported:\n"
               "  cc -g data_race.c $(pkg-config --static --cflags --libs golf-tsan)\n");
        return 0;
    }
    static char out[1 << 16];
    int rc = run_child("/proc/self/exe", "buggy", out, sizeof out);
    printf("--- the buggy version (exit %d) ---\n%s", rc, out);
    const char *race = strstr(out, "WARNING: ThreadSanitizer: data race");
    if (rc != 66 || race == NULL || strstr(race, "produce") == NULL) {
        printf("data_race: FAIL: the write after the send was not reported\n");
        return 1;
    }
    rc = run_child("/proc/self/exe", "fixed", out, sizeof out);
    printf("--- the fixed version (exit %d) ---\n%s", rc, out);
    if (rc != 0 || strstr(out, "ThreadSanitizer") != NULL) {
        printf("data_race: FAIL: the correct program got a report\n");
        return 1;
    }
    printf("data_race: the race was reported, the fixed program was clean\n");
    return 0;
}
