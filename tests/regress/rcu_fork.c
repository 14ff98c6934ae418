/* SPDX-License-Identifier: MIT */
/* Regression (issue bug 4): fork() of a multi-threaded parent that has caused deferred frees.
 *
 * Before the fix the child hung: golf_map_free waited in liburcu's rcu_barrier for a call_rcu
 * worker thread that a fork does not copy, and retired functions never ran in the child; a
 * parent thread frozen inside a read section also stalled every grace period of the child.
 *
 * The parent runs threads that hammer golf while it forks several times: a map that grows, drops
 * long keys and retires values; a channel pair; a mutex and an rwmutex. Each child, under a
 * watchdog, uses the inherited objects no parent thread was using (a map, a buffered channel, a
 * mutex, an rwmutex, a wait group), creates a new map, grows it, deletes long keys, retires
 * values, clears, frees maps, and checks that every retired function ran exactly once. A hang
 * is a failure (watchdog in the child, a deadline in the parent). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "golf/chan.h"
#include "golf/sync.h"
#include "golf/syncmap.h"
#include "regress/regress.h"

enum { N_FORKS = 6, IDLE_KEYS = 3000, CHILD_KEYS = 20000 };

/* GCC 12's sanitizer runtimes are not fork-safe for a child that starts threads: ASan does not
 * take its allocator's locks across fork() (no fork interceptor; LLVM added one in 2023), and
 * TSan leaves its internal slab allocators' locks to whichever parent thread held them (TSan
 * says so itself: "starting new threads after multi-threaded fork is not supported", hence
 * die_after_fork=0 in the test environment). A parent thread inside malloc or TSan's runtime at
 * the fork leaves the child's next thread (golf's worker) hung in the runtime's own code. Under
 * a sanitizer the busy threads therefore pause around each fork (each operation under a read
 * lock the forking thread write-locks), and golf's worker is left idle (a barrier, then a
 * moment) before it. golf's fork handling with a parent busy inside golf is
 * exercised by the release build; the sanitizers check the child's memory use and races. */
#if REGRESS_SANITIZED
#define SANITIZER_QUIESCE 1
#endif
#define BUSY_BEGIN() regress_busy_begin()
#define BUSY_END() regress_busy_end()

static atomic_int stop;
static golf_map *busy_map;
static golf_chan *busy_ch;
static golf_mutex busy_mu;
static golf_rwmutex busy_rw;

/* Inherited, idle at every fork. */
static golf_map *idle_map;
static golf_chan *idle_ch;
static golf_mutex idle_mu;
static golf_rwmutex idle_rw;
static golf_waitgroup idle_wg;

static atomic_long parent_retired;

static void
count_parent(void *v)
{
    (void)v;
    atomic_fetch_add_explicit(&parent_retired, 1, memory_order_relaxed);
}

static void
long_key(char *buf, size_t len, unsigned tag, uint64_t i)
{
    memset(buf, 'k', len);
    snprintf(buf, len, "long-key-%u-%llu", tag, (unsigned long long)i);
}

static void *
map_hammer(void *arg)
{
    unsigned tag = (unsigned)(uintptr_t)arg;
    char key[48];
    uint64_t i = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        BUSY_BEGIN();
        long_key(key, sizeof key, tag, i % 4096);
        void *v = (void *)(uintptr_t)i;
        void *prev = NULL;
        bool loaded = false;
        golf_map_swap(busy_map, key, sizeof key, v, &prev, &loaded);
        if (loaded)
            golf_map_retire(busy_map, prev, count_parent);
        uint64_t k = i;
        golf_map_store(busy_map, &k, 8, (void *)(uintptr_t)(i + 1)); /* grows the table */
        if (i % 3 == 0) {
            long_key(key, sizeof key, tag, (i * 7) % 4096);
            void *old;
            if (golf_map_load_and_delete(busy_map, key, sizeof key, &old))
                golf_map_retire(busy_map, old, count_parent); /* a long key dropped: garbage */
        }
        if (i % 20000 == 19999)
            golf_map_clear(busy_map); /* retires whole tables */
        BUSY_END();
        i++;
    }
    return NULL;
}

static void *
chan_sender(void *arg)
{
    (void)arg;
    uint64_t i = 0;
#ifdef SANITIZER_QUIESCE
    for (;;) { /* non-blocking, so a pause never waits for the other end */
        BUSY_BEGIN();
        int rc = golf_chan_try_send(busy_ch, &i);
        BUSY_END();
        if (rc == GOLF_ECLOSED)
            break;
        if (rc == GOLF_OK)
            i++;
        else
            sched_yield();
    }
#else
    while (golf_chan_send(busy_ch, &i) == GOLF_OK)
        i++;
#endif
    return NULL;
}

static void *
chan_receiver(void *arg)
{
    (void)arg;
    uint64_t v;
#ifdef SANITIZER_QUIESCE
    for (;;) {
        BUSY_BEGIN();
        int rc = golf_chan_try_recv(busy_ch, &v);
        BUSY_END();
        if (rc == GOLF_ECLOSED)
            break;
        if (rc != GOLF_OK)
            sched_yield();
    }
#else
    while (golf_chan_recv(busy_ch, &v) == GOLF_OK) {
    }
#endif
    return NULL;
}

static void *
lock_hammer(void *arg)
{
    (void)arg;
    unsigned long n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        BUSY_BEGIN();
        golf_mutex_lock(&busy_mu);
        n++;
        golf_mutex_unlock(&busy_mu);
        golf_rwmutex_rlock(&busy_rw);
        golf_rwmutex_runlock(&busy_rw);
        golf_rwmutex_lock(&busy_rw);
        golf_rwmutex_unlock(&busy_rw);
        BUSY_END();
    }
    return (void *)n;
}

static atomic_int child_retired;

static void
count_retired(void *v)
{
    (void)v;
    atomic_fetch_add(&child_retired, 1);
}

static int
child_main(void)
{
    regress_watchdog(30);
    /* Inherited idle objects. */
    for (uint64_t k = 0; k < IDLE_KEYS; k++) {
        void *v;
        REGRESS_CHECK(golf_map_load(idle_map, &k, 8, &v) && (uintptr_t)v == k + 1,
                      "child: idle map lost key %llu", (unsigned long long)k);
    }
    for (uint64_t k = IDLE_KEYS; k < 4 * IDLE_KEYS; k++) /* grows the inherited map */
        REGRESS_CHECK(golf_map_store(idle_map, &k, 8, (void *)(uintptr_t)(k + 1)) == GOLF_OK,
                      "child: store");
    REGRESS_CHECK(golf_map_len(idle_map) == 4 * IDLE_KEYS, "child: idle map len");
    uint64_t x;
    for (uint64_t i = 0; i < 4; i++) {
        REGRESS_CHECK(golf_chan_try_recv(idle_ch, &x) == GOLF_OK && x == 100 + i,
                      "child: idle channel");
        REGRESS_CHECK(golf_chan_try_send(idle_ch, &i) == GOLF_OK, "child: idle channel send");
    }
    golf_mutex_lock(&idle_mu);
    golf_mutex_unlock(&idle_mu);
    golf_rwmutex_rlock(&idle_rw);
    golf_rwmutex_runlock(&idle_rw);
    golf_rwmutex_lock(&idle_rw);
    golf_rwmutex_unlock(&idle_rw);
    golf_waitgroup_add(&idle_wg, 1);
    golf_waitgroup_done(&idle_wg);
    golf_waitgroup_wait(&idle_wg);

    /* A new map: grow it, drop long keys, retire, clear, free. */
    golf_map *m = golf_map_new();
    REGRESS_CHECK(m != NULL, "child: golf_map_new");
    char key[40];
    int retired = 0;
    for (uint64_t i = 0; i < CHILD_KEYS; i++) {
        long_key(key, sizeof key, 99, i);
        REGRESS_CHECK(golf_map_store(m, key, sizeof key, (void *)(uintptr_t)i) == GOLF_OK,
                      "child: store");
    }
    for (uint64_t i = 0; i < CHILD_KEYS; i += 2) {
        long_key(key, sizeof key, 99, i);
        void *v;
        REGRESS_CHECK(golf_map_load_and_delete(m, key, sizeof key, &v), "child: delete");
        golf_map_retire(m, v, count_retired);
        retired++;
    }
    golf_map_clear(m); /* retires the tables, with the odd keys' blocks */
    golf_map_free(m);
    REGRESS_CHECK(atomic_load(&child_retired) == retired,
                  "child: %d of %d retired functions ran by golf_map_free",
                  atomic_load(&child_retired), retired);
    /* Retire through the inherited map, then free it: it must return, having run them. */
    for (int i = 0; i < 100; i++)
        golf_map_retire(idle_map, NULL, count_retired);
    golf_map_free(idle_map);
    REGRESS_CHECK(atomic_load(&child_retired) == retired + 100, "child: retire on inherited map");
    return 0;
}

int
main(void)
{
    regress_watchdog(240);
    setvbuf(stdout, NULL, _IONBF, 0);
    busy_map = golf_map_new();
    idle_map = golf_map_new();
    busy_ch = golf_chan_new(sizeof(uint64_t), 16);
    idle_ch = golf_chan_new(sizeof(uint64_t), 8);
    REGRESS_CHECK(busy_map && idle_map && busy_ch && idle_ch, "setup");
    for (uint64_t k = 0; k < IDLE_KEYS; k++)
        golf_map_store(idle_map, &k, 8, (void *)(uintptr_t)(k + 1));
    for (uint64_t i = 0; i < 4; i++) {
        uint64_t v = 100 + i;
        golf_chan_send(idle_ch, &v);
    }

    pthread_t th[6];
    pthread_create(&th[0], NULL, map_hammer, (void *)1);
    pthread_create(&th[1], NULL, map_hammer, (void *)2);
    pthread_create(&th[2], NULL, chan_sender, NULL);
    pthread_create(&th[3], NULL, chan_receiver, NULL);
    pthread_create(&th[4], NULL, lock_hammer, NULL);
    pthread_create(&th[5], NULL, lock_hammer, NULL);

    int failures = 0;
    for (int f = 0; f < N_FORKS; f++) {
        regress_sleep_us(50000); /* let the busy threads cause deferred frees */
#ifdef SANITIZER_QUIESCE
        regress_fork_quiesce();
        /* golf's worker is a parent thread too: let it finish what is queued (a barrier) and
         * go back to sleep before the fork. */
        golf_map_free(golf_map_new());
        regress_sleep_us(20000);
#endif
        pid_t pid = fork();
        REGRESS_CHECK(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0)
            _exit(child_main());
#ifdef SANITIZER_QUIESCE
        regress_fork_resume();
#endif
        int status = 0;
        double end = regress_now_s() + 40;
        pid_t r;
        while ((r = waitpid(pid, &status, WNOHANG)) == 0 && regress_now_s() < end)
            regress_sleep_us(2000);
        if (r == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fprintf(stderr, "fork %d: the child hung (killed)\n", f);
            failures++;
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "fork %d: the child failed (status 0x%x)\n", f, status);
            failures++;
        }
        if (failures)
            break;
    }
    atomic_store(&stop, 1);
    golf_chan_close(busy_ch);
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    /* A fork inside a read section, with no grace period in flight (the worker idle): the
     * child has grace periods and deferred frees as usual. */
    golf_map_free(golf_map_new());
    regress_sleep_us(20000);
    golf_map_read_lock();
    pid_t pid = fork();
    REGRESS_CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        golf_map_read_unlock();
        regress_watchdog(30);
        golf_map *m = golf_map_new();
        for (uint64_t k = 0; k < 5000; k++)
            golf_map_store(m, &k, 8, (void *)(uintptr_t)(k + 1));
        golf_map_retire(m, NULL, count_retired);
        golf_map_free(m);
        _exit(atomic_load(&child_retired) == 1 ? 0 : 1);
    }
    golf_map_read_unlock();
    int status = 0;
    waitpid(pid, &status, 0);
    REGRESS_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child of a fork inside a read section failed (status 0x%x)", status);
    golf_chan_free(busy_ch);
    golf_chan_free(idle_ch);
    golf_map_free(busy_map);
    golf_map_free(idle_map);
    REGRESS_CHECK(failures == 0, "%d of %d forked children failed", failures, N_FORKS);
    printf("ok: %d forks of a busy parent, every child finished\n", N_FORKS);
    return 0;
}
