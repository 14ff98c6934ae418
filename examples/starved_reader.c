/* SPDX-License-Identifier: MIT */
/* Finding a thread that waits too long: with GOLF_BLOCK_REPORT=MS, any golf wait longer than MS
 * milliseconds is reported as it goes on, at MS, 2*MS, 4*MS..., with the thread, the time blocked
 * so far, what it waits on and the object: for starvation, a lock held across slow work, or a
 * livelock, where nothing deadlocks and the program is only slow.
 *
 * The bug: a configuration cache whose refresher does its slow work (here a 300 ms sleep,
 * standing for I/O) while holding the write lock, so every reader stalls behind it:
 *
 *     func refresh() {
 *         cfg.mu.Lock(); defer cfg.mu.Unlock()
 *         cfg.data = load()             // slow, under the lock: the bug
 *     }
 *
 * The fix is to load first and only swap under the lock. This program runs itself with
 * GOLF_BLOCK_REPORT=50, shows the reports and checks them. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "golf/golf.h"

static struct {
    golf_rwmutex mu;
    int version;
} cfg;

static golf_chan *refreshing; /* the refresher holds the lock: readers may start */

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void
refresh(void *arg)
{
    (void)arg;
    golf_rwmutex_lock(&cfg.mu);
    golf_chan_close(refreshing);
    sleep_ms(300); /* slow work under the write lock: the bug */
    cfg.version++;
    golf_rwmutex_unlock(&cfg.mu);
}

static int
child(void)
{
    refreshing = golf_chan_new(0, 0);
    fprintf(stderr, "the cache's lock: %p\n", (void *)&cfg.mu);
    golf_waitgroup wg = {0};
    golf_waitgroup_go(&wg, refresh, NULL);
    golf_chan_recv(refreshing, NULL);
    golf_rwmutex_rlock(&cfg.mu); /* a reader, stuck behind the refresh */
    int v = cfg.version;
    golf_rwmutex_runlock(&cfg.mu);
    golf_waitgroup_wait(&wg);
    golf_chan_free(refreshing);
    fprintf(stderr, "read version %d\n", v);
    return v == 1 ? 0 : 1;
}

/* Runs this program again with GOLF_BLOCK_REPORT=50; returns what it wrote on stderr. */
static const char *
run_child(int *status)
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
        setenv("GOLF_BLOCK_REPORT", "50", 1);
        execl("/proc/self/exe", "starved_reader", "child", (char *)NULL);
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

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child();
    int status;
    const char *out = run_child(&status);
    if (!out)
        return 1;
    printf("with GOLF_BLOCK_REPORT=50:\n%s", out);
    /* Reports at 50, 100 and 200 ms of the reader's ~300 ms wait, naming the lock. */
    char lock[64] = "", want[128];
    sscanf(out, "the cache's lock: %63s", lock);
    snprintf(want, sizeof want, " ms in sync.RWMutex.RLock on %s\n", lock);
    int reports = 0;
    for (const char *p = out; (p = strstr(p, want)) != NULL; p++)
        reports++;
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && lock[0] && reports >= 2 &&
              strstr(out, "golf: thread ");
    printf("%s\n", ok ? "as expected: the stalled reader was reported" : "UNEXPECTED");
    return ok ? 0 : 1;
}
