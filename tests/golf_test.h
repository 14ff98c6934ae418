/* SPDX-License-Identifier: MIT */
/* Helpers shared by golf's Criterion tests. */
#ifndef GOLF_TEST_H
#define GOLF_TEST_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Runs fn(arg) in a forked child with stderr captured, and reports whether the child died of
 * SIGABRT having printed a line containing `msg`. This checks golf's fatal errors (Go's "fatal
 * error: sync: ...") without killing the test process. */
static inline bool
golf_test_dies_with(void (*fn)(void *arg), void *arg, const char *msg, char *got, size_t gotlen)
{
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        fn(arg);
        _exit(0); /* not dead: the caller's check fails */
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    char buf[1024];
    while ((r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0 && n < sizeof buf - 1)
        n += (size_t)r;
    buf[n] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got)
        snprintf(got, gotlen, "%.200s", buf);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(buf, msg) != NULL;
}

static inline void
golf_test_sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static inline double
golf_test_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: a small, fast, seedable PRNG for test schedules (state advanced in place). */
static inline uint64_t
golf_test_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

#endif
