/* SPDX-License-Identifier: MIT */
/* golf's locks across fork(), callbacks that re-enter golf, and golf_waitgroup_go's allocation
 * failure (include/golf/sync.h's rules; issue 8a's follow-up checks).
 *
 * fork: as with pthread mutexes, a lock that some other thread held (or was queued on) at the
 * fork is unusable in the child, whose copy of that thread does not exist; but a lock that was
 * idle at the fork, and any new lock, must work in the child, threads and waiting included. The
 * parent keeps threads hammering other locks across the forks, so the child inherits them
 * mid-operation. Every child runs under an alarm() watchdog: a hang fails, it does not stall. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "golf/sync.h"
#include "golf_test.h"
#include "lockfree/alloc.h"

/* ---- fork with busy parent threads ---- */

static golf_mutex hot_mu;     /* hammered by the parent's threads across the forks */
static golf_rwmutex hot_rw;   /* likewise */
static golf_waitgroup hot_wg; /* likewise (add/done pairs) */
static golf_mutex idle_mu;    /* used before the forks, idle at every fork */
static golf_rwmutex idle_rw;  /* likewise */
static long hot_counter;      /* protected by hot_mu */
static atomic_bool hammer_stop;
static atomic_int hammers_running;

static void *
hammer(void *arg)
{
    long id = (long)arg;
    unsigned i = 0;
    atomic_fetch_add(&hammers_running, 1);
    while (!atomic_load_explicit(&hammer_stop, memory_order_relaxed)) {
        switch ((i++ + (unsigned)id) % 4) {
        case 0:
            golf_mutex_lock(&hot_mu);
            hot_counter++;
            golf_mutex_unlock(&hot_mu);
            break;
        case 1:
            golf_rwmutex_rlock(&hot_rw);
            golf_rwmutex_runlock(&hot_rw);
            break;
        case 2:
            golf_rwmutex_lock(&hot_rw);
            golf_rwmutex_unlock(&hot_rw);
            break;
        default:
            golf_waitgroup_add(&hot_wg, 1);
            golf_waitgroup_done(&hot_wg);
            break;
        }
    }
    return NULL;
}

typedef struct child_ctx {
    golf_mutex mu;
    golf_rwmutex rw;
    long n_mu; /* protected by mu */
    long n_rw; /* protected by rw (write) */
} child_ctx;

static void
child_task(void *arg)
{
    child_ctx *c = arg;
    for (int i = 0; i < 2000; i++) {
        golf_mutex_lock(&c->mu);
        c->n_mu++;
        golf_mutex_unlock(&c->mu);
        golf_rwmutex_lock(&c->rw);
        c->n_rw++;
        golf_rwmutex_unlock(&c->rw);
        golf_rwmutex_rlock(&c->rw);
        golf_rwmutex_runlock(&c->rw);
        golf_mutex_lock(&idle_mu);
        golf_mutex_unlock(&idle_mu);
    }
}

static void
child_once_fn(void *arg)
{
    ++*(int *)arg;
}

/* Exit codes: 0 ok, 3.. a failed check; the watchdog exits 9. */
static void
child_watchdog(int sig)
{
    (void)sig;
    _exit(9);
}

static void
child_main(void)
{
    signal(SIGALRM, child_watchdog);
    alarm(20);
    /* The idle inherited locks. */
    for (int i = 0; i < 1000; i++) {
        golf_mutex_lock(&idle_mu);
        golf_mutex_unlock(&idle_mu);
        golf_rwmutex_rlock(&idle_rw);
        golf_rwmutex_runlock(&idle_rw);
        golf_rwmutex_lock(&idle_rw);
        golf_rwmutex_unlock(&idle_rw);
    }
    if (!golf_mutex_trylock(&idle_mu))
        _exit(3);
    golf_mutex_unlock(&idle_mu);
    /* New locks, with threads contending and parking in the child. */
    static child_ctx c; /* zeroed: a fresh mutex and rwmutex */
    golf_waitgroup wg = {0};
    for (int i = 0; i < 4; i++)
        if (golf_waitgroup_go(&wg, child_task, &c) != GOLF_OK)
            _exit(4);
    golf_waitgroup_wait(&wg);
    if (c.n_mu != 4 * 2000 || c.n_rw != 4 * 2000)
        _exit(5);
    golf_once once = {0};
    int runs = 0;
    golf_once_do(&once, child_once_fn, &runs);
    golf_once_do(&once, child_once_fn, &runs);
    if (runs != 1)
        _exit(6);
    _exit(0);
}

Test(sync_fork, idle_and_new_locks_work_in_the_child_of_a_busy_parent, .timeout = 120)
{
    golf_mutex_lock(&idle_mu);
    golf_mutex_unlock(&idle_mu);
    golf_rwmutex_lock(&idle_rw);
    golf_rwmutex_unlock(&idle_rw);
    golf_rwmutex_rlock(&idle_rw);
    golf_rwmutex_runlock(&idle_rw);
    atomic_store(&hammer_stop, false);
    atomic_store(&hammers_running, 0);
    enum { HAMMERS = 4, FORKS = 16 };
    pthread_t t[HAMMERS];
    for (long i = 0; i < HAMMERS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
    /* Fork only once every hammer runs its loop, which never allocates: a thread still starting
     * may hold the allocator's lock (ASan's thread set-up callocs; GCC 12's libasan, unlike
     * glibc's malloc, takes no lock around fork), and the child, whose pthread_create allocates,
     * would hang on a lock no thread of its own holds. */
    while (atomic_load(&hammers_running) < HAMMERS)
        golf_test_sleep_us(100);
    for (int f = 0; f < FORKS; f++) {
        golf_test_sleep_us(2000);
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_neq(pid, -1, "fork");
        if (pid == 0)
            child_main();
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child %d: %s %d (9: watchdog, the child hung)", f,
                  WIFEXITED(status) ? "exit" : "signal",
                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    atomic_store(&hammer_stop, true);
    for (int i = 0; i < HAMMERS; i++)
        pthread_join(t[i], NULL);
    /* The parent's locks are unharmed by the forks. */
    golf_mutex_lock(&hot_mu);
    golf_mutex_unlock(&hot_mu);
    golf_rwmutex_lock(&hot_rw);
    golf_rwmutex_unlock(&hot_rw);
    golf_waitgroup_wait(&hot_wg);
}

/* ---- callbacks that re-enter golf ---- */

typedef struct reentry_ctx {
    golf_once outer;
    golf_once inner;
    golf_mutex mu;
    long guarded; /* protected by mu */
    atomic_int outer_runs;
    atomic_int inner_runs;
    atomic_int inner_seen_by_outer;
    atomic_int early; /* callers that returned before the fns (no cr_assert off the main thread) */
} reentry_ctx;

static void
inner_fn(void *arg)
{
    reentry_ctx *c = arg;
    golf_mutex_lock(&c->mu);
    c->guarded += 100;
    golf_mutex_unlock(&c->mu);
    atomic_fetch_add(&c->inner_runs, 1);
}

static void
outer_fn(void *arg)
{
    reentry_ctx *c = arg;
    /* A once fn that locks a mutex other threads use, and runs another once. */
    golf_mutex_lock(&c->mu);
    c->guarded += 1;
    golf_mutex_unlock(&c->mu);
    golf_once_do(&c->inner, inner_fn, c);
    if (atomic_load(&c->inner_runs) == 1)
        atomic_fetch_add(&c->inner_seen_by_outer, 1);
    atomic_fetch_add(&c->outer_runs, 1);
}

static void *
reentry_caller(void *arg)
{
    reentry_ctx *c = arg;
    static atomic_int turn;
    int me = atomic_fetch_add(&turn, 1);
    for (int i = 0; i < 100; i++) {
        golf_mutex_lock(&c->mu);
        c->guarded += 0;
        golf_mutex_unlock(&c->mu);
    }
    /* Half the callers go straight for the inner once, racing the outer fn's nested call. */
    if (me % 2)
        golf_once_do(&c->inner, inner_fn, c);
    golf_once_do(&c->outer, outer_fn, c);
    if (atomic_load(&c->outer_runs) != 1 || atomic_load(&c->inner_runs) != 1)
        atomic_fetch_add(&c->early, 1);
    return NULL;
}

Test(sync_reentry, once_fn_uses_a_mutex_and_a_nested_once, .timeout = 60)
{
    for (int round = 0; round < 20; round++) {
        reentry_ctx *c = calloc(1, sizeof *c);
        cr_assert_not_null(c);
        enum { N = 8 };
        pthread_t t[N];
        for (int i = 0; i < N; i++)
            cr_assert_eq(pthread_create(&t[i], NULL, reentry_caller, c), 0);
        for (int i = 0; i < N; i++)
            pthread_join(t[i], NULL);
        cr_assert_eq(atomic_load(&c->outer_runs), 1);
        cr_assert_eq(atomic_load(&c->inner_runs), 1);
        cr_assert_eq(atomic_load(&c->early), 0, "a golf_once_do returned before its fn");
        cr_assert_eq(atomic_load(&c->inner_seen_by_outer), 1,
                     "the nested once returned before its fn");
        cr_assert_eq(c->guarded, 101);
        free(c);
    }
}

typedef struct wg_reentry_ctx {
    golf_waitgroup wg;
    atomic_int leaves;
    atomic_int spawners;
    atomic_int go_failed;
} wg_reentry_ctx;

static void
wg_leaf(void *arg)
{
    wg_reentry_ctx *c = arg;
    atomic_fetch_add(&c->leaves, 1);
}

static void
wg_spawner(void *arg)
{
    wg_reentry_ctx *c = arg;
    /* Add/Done on the wg we run under (its counter is > 0 while we run, so this is Go's legal
     * "Add while counting"), and golf_waitgroup_go on it too. */
    for (int i = 0; i < 3; i++) {
        golf_waitgroup_add(&c->wg, 1);
        atomic_fetch_add(&c->leaves, 1);
        golf_waitgroup_done(&c->wg);
    }
    golf_waitgroup_add(&c->wg, 2);
    golf_waitgroup_done(&c->wg);
    if (golf_waitgroup_go(&c->wg, wg_leaf, c) != GOLF_OK)
        atomic_fetch_add(&c->go_failed, 1);
    golf_waitgroup_done(&c->wg);
    atomic_fetch_add(&c->spawners, 1);
}

Test(sync_reentry, waitgroup_go_fn_adds_and_dones_on_its_own_wg, .timeout = 60)
{
    for (int round = 0; round < 20; round++) {
        wg_reentry_ctx *c = calloc(1, sizeof *c);
        cr_assert_not_null(c);
        enum { N = 8 };
        for (int i = 0; i < N; i++)
            cr_assert_eq(golf_waitgroup_go(&c->wg, wg_spawner, c), GOLF_OK);
        golf_waitgroup_wait(&c->wg);
        cr_assert_eq(atomic_load(&c->go_failed), 0, "a nested golf_waitgroup_go failed");
        cr_assert_eq(atomic_load(&c->spawners), N);
        cr_assert_eq(atomic_load(&c->leaves), N * 4, "wait returned before a nested task ended");
        /* Freed right after wait returns: the lifetime rule (sync/README.md L1). */
        free(c);
    }
}

/* ---- allocation failure ---- */

static void
never_runs(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
}

Test(waitgroup, go_allocation_failure_returns_enomem_and_leaves_the_counter, .timeout = 20)
{
    static atomic_int ran;
    golf_waitgroup wg = {0};
    golf__alloc_set_fail(0);
    int rc = golf_waitgroup_go(&wg, never_runs, &ran);
    golf__alloc_set_fail(-1);
    cr_assert_eq(rc, GOLF_ENOMEM);
    /* The counter is unchanged (0): wait returns at once; the word is still the zero value. */
    cr_assert_eq(wg.state_, 0, "golf_waitgroup_go changed the wait group on failure");
    golf_waitgroup_wait(&wg);

    /* And with work outstanding: the counter stays at 1, one done releases the wait. */
    golf_waitgroup_add(&wg, 1);
    golf__alloc_set_fail(0);
    rc = golf_waitgroup_go(&wg, never_runs, &ran);
    golf__alloc_set_fail(-1);
    cr_assert_eq(rc, GOLF_ENOMEM);
    cr_assert_eq(wg.state_ >> 32, 1, "counter changed by a failed golf_waitgroup_go");
    golf_waitgroup_done(&wg);
    golf_waitgroup_wait(&wg);
    cr_assert_eq(atomic_load(&ran), 0);

    /* The hook reset: it works again. */
    cr_assert_eq(golf_waitgroup_go(&wg, never_runs, &ran), GOLF_OK);
    golf_waitgroup_wait(&wg);
    cr_assert_eq(atomic_load(&ran), 1);
}
