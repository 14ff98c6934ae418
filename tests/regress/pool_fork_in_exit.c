/* SPDX-License-Identifier: MIT */
/* Bug (found by review): a free_object that forks while a thread-exit destructor frees a pool's
 * excess. The child reset the pool's `exiting` count to 0, then its copy of the exiting thread
 * decremented it (wrapping to UINT_MAX), so golf_pool_free in the child waited forever. Here the
 * child's last thread exits, which runs exit() and an atexit handler that frees the pool.
 * Per-thread front end (the exit destructor is where the excess is freed).
 * Usage: regress_pool_fork_in_exit */
#include "regress.h"

#include <pthread.h>
#include <sys/wait.h>

#include "golf/pool.h"

static golf_pool *pool;
static __thread int in_exit_thread;
static atomic_int forked;
static pid_t child_pid;
static int is_child;

static void
free_obj(void *o, void *ctx)
{
    (void)ctx;
    if (in_exit_thread && !atomic_exchange(&forked, 1)) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            is_child = 1;
            regress_watchdog(20);
        } else {
            child_pid = pid;
        }
    }
    free(o);
}

static void
cleanup(void)
{
    golf_pool_free(pool); /* in the child: must return */
    if (is_child)
        _exit(0);
}

static void *
filler(void *a)
{
    (void)a;
    for (int i = 0; i < 62; i++)
        golf_pool_put(pool, malloc(16));
    in_exit_thread = 1; /* still set when the key destructor runs */
    return NULL;
}

int
main(void)
{
    regress_watchdog(60);
    regress_pool_front_end("0");
    golf_pool_options o = {0};
    o.free_object = free_obj;
    pool = golf_pool_new(&o);
    REGRESS_CHECK(pool, "golf_pool_new");
    atexit(cleanup);
    /* Fill the depot to its cap, so the filler's exit has excess to free. */
    for (int i = 0; i < 5000; i++)
        golf_pool_put(pool, malloc(16));
    pthread_t t;
    pthread_create(&t, NULL, filler, NULL);
    pthread_join(t, NULL);
    REGRESS_CHECK(atomic_load(&forked), "no fork happened (no excess at the filler's exit)");
    int ws = 0;
    waitpid(child_pid, &ws, 0);
    REGRESS_CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
                  "the child's golf_pool_free hung or failed (status 0x%x)", ws);
    printf("pool_fork_in_exit: the child's golf_pool_free returned\n");
    return 0;
}
