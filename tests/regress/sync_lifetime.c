/* SPDX-License-Identifier: MIT */
/* Regression (issue 8a): the last user of a heap object frees it right after its last golf
 * operation on the lock inside it returns; golf must be done with that memory by then.
 *
 * The rule (include/golf/sync.h, sync/README.md invariant L1): once an operation has returned in
 * one thread, and that thread learns through golf that every other user is done, it may free the
 * object. Before the fix golf_rwmutex_unlock released the reader count, then released the readers'
 * semaphore and unlocked its writer mutex: a reader woken (or let in) by the first store could
 * runlock and free the object while the writer was still in the unlock (ASan:
 * heap-use-after-free in golf_rwmutex_unlock / golf_mutex_unlock). golf_mutex_unlock had the same
 * shape (release, then a CAS on the state and a semaphore release).
 *
 * Every scenario below runs rounds on a fresh calloc'ed object, the freeing thread chosen by what
 * golf told it (it acquired the lock after everyone else's critical section, its wait returned,
 * ...), never by a side channel that orders after the other threads' unlock returned. Each
 * scenario runs with 8 threads on every CPU, then again with the whole process pinned to one CPU
 * (many threads on one core: a thread preempted inside an unlock is the widest window).
 *
 * The window is a few instructions wide (between an unlock's releasing RMW and its return), too
 * narrow to hit by chance: the program sets golf's test hook golf__sync_test_after_release
 * (sync/sync_internal.h) to a sched_yield, which golf calls right after the releasing RMW of
 * every unlock slow path and of the add that zeroes a WaitGroup. The yield lets the thread that
 * frees run inside the window; the pinned one-CPU pass makes that the rule rather than the
 * exception. (Checked: with 72143de's mutex, which released and then touched the state and its
 * semaphore, ASan reported heap-use-after-free in mutex_unlock_slow in the "mutex: last locker
 * frees" scenario in 4 runs of 4; this program without the hook passed 3 runs of 3.)
 *
 * The cond scenario was added with golf_cond (not a bug fix): the same rule for a signal or a
 * broadcast made after the mutex is released, which the last waiter it wakes may outlive.
 *
 * Run under ASan (the asan preset) to catch the use-after-free; under TSan a missing
 * happens-before between the last unlock and the free shows as a race on the freed memory.
 *
 *   regress_sync_lifetime [seconds per scenario=0.75] [scenario name prefix, e.g. mutex]
 *
 * Exit 0 on success, 1 with a message (or the sanitizer's report) on failure. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "golf/sync.h"
#include "regress/regress.h"
#include "sync/sync_internal.h"

#define THREADS 8
#define GROUP 4 /* threads per object: 2 groups of 4 run side by side */

static double budget_s = 0.75; /* per scenario and CPU setting */

/* golf__sync_test_after_release: widen the window after each release. A yield lets a thread
 * waiting for this CPU run (the one-CPU pass); every fourth call sleeps ~20 us instead, long
 * enough for a thread on another CPU that is spinning for the lock (trylock) to lock, unlock
 * and free. */
static void
yield_after_release(void)
{
    static _Thread_local unsigned calls;
    if (++calls % 4 == 0)
        regress_sleep_us(20);
    else
        sched_yield();
}

static inline void
spin_yield(unsigned *n)
{
    if (++*n % 64 == 0)
        sched_yield();
}

/* A small per-thread random delay: moves the unlocker's critical window around. */
static inline void
jitter(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    unsigned n = (*seed >> 16) % 64;
    for (volatile unsigned i = 0; i < n; i++) {
    }
    if (((*seed >> 8) & 15) == 0)
        sched_yield();
}

/* One group: a leader allocates the round's object, the others join it; the freeing thread bumps
 * `freed` after free(), which is the only thing the leader waits on before the next round. */
typedef struct group {
    _Atomic(void *) cur;
    atomic_long round; /* the round whose object `cur` is */
    atomic_long freed; /* rounds whose object was freed */
    atomic_bool stop;
    long rounds_done;
} group;

static bool
group_next(group *g, long *seen, void **obj)
{
    unsigned n = 0;
    while (atomic_load_explicit(&g->round, memory_order_acquire) == *seen) {
        if (atomic_load_explicit(&g->stop, memory_order_acquire))
            return false;
        spin_yield(&n);
    }
    *seen = atomic_load_explicit(&g->round, memory_order_acquire);
    *obj = atomic_load_explicit(&g->cur, memory_order_acquire);
    return *obj != NULL;
}

static void
group_publish(group *g, void *obj, long r)
{
    atomic_store_explicit(&g->cur, obj, memory_order_release);
    atomic_store_explicit(&g->round, r, memory_order_release);
}

static void
group_wait_freed(group *g, long r)
{
    unsigned n = 0;
    while (atomic_load_explicit(&g->freed, memory_order_acquire) < r)
        spin_yield(&n);
}

/* ---- RWMutex: a writer holds it, readers queue behind it; the last reader out frees. ---- */

typedef struct rw_obj {
    golf_rwmutex rw;
    int written;       /* set by the writer inside its critical section */
    atomic_int joined; /* readers that arrived */
    atomic_int left;   /* readers that have not yet returned from runlock */
    long round;
} rw_obj;

typedef struct worker_arg {
    group *g;
    int id;
    int (*body)(group *g, int id, void *obj, unsigned *seed);
} worker_arg;

static int
rw_leader(group *g, long r, unsigned *seed)
{
    rw_obj *o = calloc(1, sizeof *o);
    REGRESS_CHECK(o != NULL, "calloc");
    o->round = r;
    atomic_store_explicit(&o->left, GROUP - 1, memory_order_relaxed);
    golf_rwmutex_lock(&o->rw);
    group_publish(g, o, r);
    /* Let the readers reach rlock (some park, some spin on tryrlock). */
    unsigned n = 0;
    while (atomic_load_explicit(&o->joined, memory_order_acquire) < GROUP - 1)
        spin_yield(&n);
    jitter(seed);
    o->written = 1;
    golf_rwmutex_unlock(&o->rw);
    /* o may be gone now: not touched again. */
    return 0;
}

static int
rw_follower(group *g, int id, void *p, unsigned *seed)
{
    rw_obj *o = p;
    long r = o->round;
    atomic_fetch_add_explicit(&o->joined, 1, memory_order_release);
    /* Odd rounds: every reader parks (the woken reader that preempts the unlocking writer on its
     * CPU frees first); even rounds: one reader spins on tryrlock instead. */
    if (r % 2 == 1 || id != GROUP - 1) {
        golf_rwmutex_rlock(&o->rw);
    } else {
        /* Spinning on tryrlock gets in the instant the writer's unlock lets readers in. */
        unsigned n = 0;
        while (!golf_rwmutex_tryrlock(&o->rw))
            spin_yield(&n);
    }
    REGRESS_CHECK(o->written == 1, "rwmutex: reader entered before the writer's unlock");
    jitter(seed);
    golf_rwmutex_runlock(&o->rw);
    /* Every reader's runlock returned before its decrement; the writer's unlock completed before
     * our rlock returned: the last one out owns the object. */
    if (atomic_fetch_sub_explicit(&o->left, 1, memory_order_acq_rel) == 1) {
        free(o);
        atomic_store_explicit(&g->freed, r, memory_order_release);
    }
    return 0;
}

/* ---- RWMutex, the other way: readers hold it, a writer waits; the writer frees. ---- */

typedef struct rw2_obj {
    golf_rwmutex rw;
    atomic_int readers_in;
    int readers_done; /* plain: read by the writer after lock, written by readers under rlock */
    atomic_int rd_scratch;
    long round;
} rw2_obj;

static int
rw2_leader(group *g, long r, unsigned *seed)
{
    rw2_obj *o = calloc(1, sizeof *o);
    REGRESS_CHECK(o != NULL, "calloc");
    o->round = r;
    group_publish(g, o, r);
    unsigned n = 0;
    while (atomic_load_explicit(&o->readers_in, memory_order_acquire) < GROUP - 1)
        spin_yield(&n);
    jitter(seed);
    /* Every reader took its read lock (readers_in), so lock() returns only after all of them
     * ran runlock: the writer is the last user. */
    golf_rwmutex_lock(&o->rw);
    REGRESS_CHECK(atomic_load_explicit(&o->rd_scratch, memory_order_relaxed) == GROUP - 1,
                  "rwmutex: writer entered while readers were inside");
    golf_rwmutex_unlock(&o->rw);
    free(o);
    atomic_store_explicit(&g->freed, r, memory_order_release);
    return 0;
}

static int
rw2_follower(group *g, int id, void *p, unsigned *seed)
{
    (void)g;
    (void)id;
    rw2_obj *o = p;
    golf_rwmutex_rlock(&o->rw);
    atomic_fetch_add_explicit(&o->readers_in, 1, memory_order_release);
    jitter(seed);
    atomic_fetch_add_explicit(&o->rd_scratch, 1, memory_order_relaxed);
    golf_rwmutex_runlock(&o->rw);
    return 0;
}

/* ---- Mutex: the leader holds it, the others queue; the last one to lock frees. ---- */

typedef struct mu_obj {
    golf_mutex mu;
    int count; /* protected by mu */
    atomic_int joined;
    long round;
} mu_obj;

static int
mu_leader(group *g, long r, unsigned *seed)
{
    mu_obj *o = calloc(1, sizeof *o);
    REGRESS_CHECK(o != NULL, "calloc");
    o->round = r;
    golf_mutex_lock(&o->mu);
    group_publish(g, o, r);
    unsigned n = 0;
    while (atomic_load_explicit(&o->joined, memory_order_acquire) < GROUP - 1)
        spin_yield(&n);
    jitter(seed);
    /* Now and then hold it past the 1 ms starvation threshold (and the followers hold it a while
     * too), so that the waiters switch the mutex to starvation mode and the frees also follow
     * direct hand-offs. */
    if (r % 16 == 0)
        regress_sleep_us(1500);
    golf_mutex_unlock(&o->mu);
    return 0;
}

static int
mu_follower(group *g, int id, void *p, unsigned *seed)
{
    mu_obj *o = p;
    long r = o->round;
    atomic_fetch_add_explicit(&o->joined, 1, memory_order_release);
    if (id % 2 == 0) {
        golf_mutex_lock(&o->mu);
    } else {
        unsigned n = 0;
        while (!golf_mutex_trylock(&o->mu))
            spin_yield(&n);
    }
    int c = ++o->count;
    jitter(seed);
    if (r % 16 == 0)
        regress_sleep_us(300); /* a woken waiter that already waited 1 ms loses: starvation */
    golf_mutex_unlock(&o->mu);
    /* The last locker saw every other critical section end: the POSIX "unlock, then the last
     * user destroys" pattern (glibc bug 13690). */
    if (c == GROUP - 1) {
        free(o);
        atomic_store_explicit(&g->freed, r, memory_order_release);
    }
    return 0;
}

/* ---- WaitGroup: workers call done; the waiter frees as soon as wait returns. ---- */

typedef struct wg_obj {
    golf_waitgroup wg;
    atomic_int work;
    long round;
} wg_obj;

static int
wg_leader(group *g, long r, unsigned *seed)
{
    wg_obj *o = calloc(1, sizeof *o);
    REGRESS_CHECK(o != NULL, "calloc");
    o->round = r;
    golf_waitgroup_add(&o->wg, GROUP - 1);
    group_publish(g, o, r);
    jitter(seed);
    golf_waitgroup_wait(&o->wg);
    REGRESS_CHECK(atomic_load_explicit(&o->work, memory_order_relaxed) == GROUP - 1,
                  "waitgroup: wait returned before every done");
    free(o);
    atomic_store_explicit(&g->freed, r, memory_order_release);
    return 0;
}

static int
wg_follower(group *g, int id, void *p, unsigned *seed)
{
    (void)g;
    (void)id;
    wg_obj *o = p;
    jitter(seed);
    atomic_fetch_add_explicit(&o->work, 1, memory_order_relaxed);
    golf_waitgroup_done(&o->wg);
    return 0;
}

/* ---- Once: fn re-enters golf (a mutex in the object); the last caller out frees. ---- */

typedef struct once_obj {
    golf_once once;
    golf_mutex mu;
    int value; /* written by fn under mu */
    atomic_int runs;
    atomic_int left;
    long round;
} once_obj;

static void
once_fn(void *p)
{
    once_obj *o = p;
    golf_mutex_lock(&o->mu);
    o->value = 42;
    golf_mutex_unlock(&o->mu);
    atomic_fetch_add_explicit(&o->runs, 1, memory_order_relaxed);
}

static void
once_use(group *g, once_obj *o, unsigned *seed)
{
    long r = o->round;
    jitter(seed);
    golf_once_do(&o->once, once_fn, o);
    REGRESS_CHECK(o->value == 42, "once: returned before fn");
    if (atomic_fetch_sub_explicit(&o->left, 1, memory_order_acq_rel) == 1) {
        REGRESS_CHECK(atomic_load_explicit(&o->runs, memory_order_relaxed) == 1,
                      "once: fn ran %d times",
                      atomic_load_explicit(&o->runs, memory_order_relaxed));
        free(o);
        atomic_store_explicit(&g->freed, r, memory_order_release);
    }
}

static int
once_leader(group *g, long r, unsigned *seed)
{
    once_obj *o = calloc(1, sizeof *o);
    REGRESS_CHECK(o != NULL, "calloc");
    o->round = r;
    atomic_store_explicit(&o->left, GROUP, memory_order_relaxed);
    group_publish(g, o, r);
    once_use(g, o, seed);
    return 0;
}

static int
once_follower(group *g, int id, void *p, unsigned *seed)
{
    (void)id;
    once_use(g, p, seed);
    return 0;
}

/* ---- Cond: waiters park, the leader signals (odd rounds) or broadcasts (even rounds) after
 * unlocking; the last woken waiter frees, possibly while the leader is still in the call. ---- */

typedef struct cond_obj {
    golf_mutex mu;
    golf_cond cond;
    int waiting; /* under mu: followers that took their ticket */
    int go;      /* under mu */
    int woke;    /* under mu */
    long round;
} cond_obj;

static int
cond_leader(group *g, long r, unsigned *seed)
{
    cond_obj *o = calloc(1, sizeof *o);
    REGRESS_CHECK(o != NULL, "calloc");
    o->round = r;
    group_publish(g, o, r);
    unsigned n = 0;
    for (;;) {
        golf_mutex_lock(&o->mu);
        if (o->waiting == GROUP - 1)
            break; /* every follower is inside golf_cond_wait (it unlocked mu there) */
        golf_mutex_unlock(&o->mu);
        spin_yield(&n);
    }
    o->go = 1;
    golf_mutex_unlock(&o->mu);
    jitter(seed);
    /* The followers return only once notified, so the last one is woken by our last call,
     * whose access to the cond must be over by then. o is not touched after it. */
    if (r % 2 == 1) {
        for (int i = 0; i < GROUP - 1; i++)
            golf_cond_signal(&o->cond);
    } else {
        golf_cond_broadcast(&o->cond);
    }
    return 0;
}

static int
cond_follower(group *g, int id, void *p, unsigned *seed)
{
    (void)id;
    cond_obj *o = p;
    long r = o->round;
    golf_mutex_lock(&o->mu);
    o->waiting++;
    while (!o->go)
        golf_cond_wait(&o->cond, &o->mu);
    int c = ++o->woke;
    jitter(seed);
    golf_mutex_unlock(&o->mu);
    if (c == GROUP - 1) {
        free(o);
        atomic_store_explicit(&g->freed, r, memory_order_release);
    }
    return 0;
}

/* ---- driver ---- */

typedef struct scenario {
    const char *name;
    int (*leader)(group *g, long r, unsigned *seed);
    int (*follower)(group *g, int id, void *obj, unsigned *seed);
} scenario;

typedef struct thread_arg {
    group *g;
    const scenario *sc;
    int id; /* 0: the leader */
} thread_arg;

static void *
thread_main(void *p)
{
    thread_arg *a = p;
    group *g = a->g;
    unsigned seed = (unsigned)a->id * 2654435761u + 17u;
    if (a->id == 0) {
        double end = regress_now_s() + budget_s;
        long r = 0;
        while (regress_now_s() < end) {
            r++;
            a->sc->leader(g, r, &seed);
            group_wait_freed(g, r);
        }
        g->rounds_done = r;
        atomic_store_explicit(&g->stop, true, memory_order_release);
    } else {
        long seen = 0;
        void *obj;
        while (group_next(g, &seen, &obj))
            a->sc->follower(g, a->id, obj, &seed);
    }
    return NULL;
}

static long
run_scenario(const scenario *sc)
{
    group groups[THREADS / GROUP];
    thread_arg args[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS / GROUP; i++) {
        memset(&groups[i], 0, sizeof groups[i]);
        atomic_init(&groups[i].cur, NULL);
    }
    for (int i = 0; i < THREADS; i++) {
        args[i] = (thread_arg){&groups[i / GROUP], sc, i % GROUP};
        REGRESS_CHECK(pthread_create(&t[i], NULL, thread_main, &args[i]) == 0, "pthread_create");
    }
    long rounds = 0;
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS / GROUP; i++)
        rounds += groups[i].rounds_done;
    return rounds;
}

static const scenario scenarios[] = {
    {"rwmutex: writer unlock wakes readers, last reader frees", rw_leader, rw_follower},
    {"rwmutex: readers runlock, waiting writer frees", rw2_leader, rw2_follower},
    {"mutex: last locker frees", mu_leader, mu_follower},
    {"waitgroup: wait returns, waiter frees", wg_leader, wg_follower},
    {"once: fn locks a mutex, last caller frees", once_leader, once_follower},
    {"cond: signal or broadcast, last woken waiter frees", cond_leader, cond_follower},
};

static const char *only; /* argv[2]: run the scenarios whose name starts with this */

static void
run_all(const char *cpus)
{
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        if (only != NULL && strncmp(scenarios[i].name, only, strlen(only)) != 0)
            continue;
        long rounds = run_scenario(&scenarios[i]);
        printf("  [%s] %-58s %ld rounds\n", cpus, scenarios[i].name, rounds);
        fflush(stdout);
    }
}

int
main(int argc, char **argv)
{
    if (argc > 1)
        budget_s = atof(argv[1]);
    if (argc > 2)
        only = argv[2];
    regress_watchdog(300);
    /* Before any thread starts: the hook is a plain pointer. */
    golf__sync_test_after_release = yield_after_release;
    run_all("all CPUs");
    /* Many threads on one core: pin the process (threads inherit it) to its first allowed CPU. */
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int cpu = 0;
        while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set))
            cpu++;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (cpu < CPU_SETSIZE && sched_setaffinity(0, sizeof set, &set) == 0)
            run_all("one CPU");
    }
    printf("regress_sync_lifetime: ok\n");
    return 0;
}
