/* SPDX-License-Identifier: MIT */
/* The text of every report of the deadlock detector, GOLF_BLOCK_REPORT, GOLF_STATS and
 * GOLF_LOCKORDER (lockfree/watch.h, sync/lockorder.c).
 *
 * Each scenario runs in a child: this program executes itself (/proc/self/exe SCENARIO) with
 * the scenario's environment (golf reads it once, at start), captures the child's stdout (the
 * addresses of its objects) and stderr (golf's reports), and checks the text and how the child
 * ended (abort, exit 0, or still blocked when the detector is off). In the ThreadSanitizer
 * build the detector cannot fire (TSan's own background thread is a thread outside golf), so
 * the scenarios that need it are skipped there.
 *
 * Usage: regress_detect_reports  (exit 0: pass; regress_detect_reports SCENARIO runs one child) */
#include "regress.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/wait.h>

#include "golf/golf.h"

/* ---- the scenarios (child side) -------------------------------------------------------------- */

static void
say_addr(const char *name, const void *p)
{
    printf("%s=%p\n", name, p);
    fflush(stdout);
}

static void
say_tid(void)
{
    printf("tid=%d\n", (int)gettid());
    fflush(stdout);
}

static void
note(const char *msg)
{
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
}

static void
sc_nil_recv(void)
{
    int v;
    golf_chan_recv(NULL, &v);
}

static void
sc_nil_send(void)
{
    int v = 1;
    golf_chan_send(NULL, &v);
}

static void
sc_recv(void)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    say_addr("ch", ch);
    int v;
    golf_chan_recv(ch, &v);
}

static void
sc_send(void)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    say_addr("ch", ch);
    int v = 1;
    golf_chan_send(ch, &v);
}

static void
sc_send_full(void)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 1);
    say_addr("ch", ch);
    int v = 1;
    golf_chan_send(ch, &v);
    golf_chan_send(ch, &v);
}

static void
sc_select(void)
{
    golf_chan *a = golf_chan_new(sizeof(int), 0), *b = golf_chan_new(sizeof(int), 4);
    say_addr("a", a);
    say_addr("b", b);
    int x, y, z;
    golf_case cases[3] = {{a, GOLF_RECV, &x, 0}, {NULL, GOLF_RECV, &y, 0}, {b, GOLF_RECV, &z, 0}};
    golf_select(cases, 3);
}

static void
sc_select_none(void)
{
    golf_select(NULL, 0);
}

static golf_mutex mu_a, mu_b;
static pthread_barrier_t barrier;

static void *
abba_other(void *arg)
{
    (void)arg;
    golf_mutex_lock(&mu_b);
    pthread_barrier_wait(&barrier);
    golf_mutex_lock(&mu_a);
    return NULL;
}

static void
sc_mutex_abba(void)
{
    say_addr("a", &mu_a);
    say_addr("b", &mu_b);
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, abba_other, NULL);
    golf_mutex_lock(&mu_a);
    pthread_barrier_wait(&barrier);
    golf_mutex_lock(&mu_b);
}

static golf_rwmutex rw;
static golf_chan *ready, *never;

static void *
writer_then_wait(void *arg)
{
    (void)arg;
    golf_rwmutex_lock(&rw);
    int v = 1;
    golf_chan_send(ready, &v);
    golf_chan_recv(never, &v);
    return NULL;
}

static void
sc_rlock(void)
{
    ready = golf_chan_new(sizeof(int), 0);
    never = golf_chan_new(sizeof(int), 0);
    say_addr("rw", &rw);
    say_addr("never", never);
    pthread_t t;
    pthread_create(&t, NULL, writer_then_wait, NULL);
    int v;
    golf_chan_recv(ready, &v);
    golf_rwmutex_rlock(&rw);
}

static void
sc_rwlock(void)
{
    say_addr("rw", &rw);
    golf_rwmutex_rlock(&rw);
    golf_rwmutex_lock(&rw); /* waits for its own read lock */
}

static void
sc_waitgroup(void)
{
    static golf_waitgroup wg;
    say_addr("wg", &wg);
    golf_waitgroup_add(&wg, 1);
    golf_waitgroup_wait(&wg);
}

enum { MANY = 8 };
static golf_chan *many_ch;

static void *
many_recv(void *arg)
{
    (void)arg;
    int v;
    golf_chan_recv(many_ch, &v);
    return NULL;
}

static void
sc_many(void)
{
    static golf_waitgroup wg;
    many_ch = golf_chan_new(sizeof(int), 0);
    say_addr("ch", many_ch);
    say_addr("wg", &wg);
    pthread_t t;
    for (int i = 0; i < MANY; i++)
        pthread_create(&t, NULL, many_recv, NULL);
    golf_waitgroup_add(&wg, 1);
    golf_waitgroup_wait(&wg);
}

static void
sc_cond(void)
{
    static golf_mutex mu;
    static golf_cond cv;
    say_addr("cv", &cv);
    golf_mutex_lock(&mu);
    golf_cond_wait(&cv, &mu); /* nobody signals */
}

/* The timer thread is a golf service thread: idle (nothing armed) it counts asleep and is not
 * listed; with a timer armed its deadline keeps it awake, so the report waits for the fire. */
static void
sc_timer_idle(void)
{
    golf_timer *t = golf_timer_new(1000000, 0);
    uint64_t v;
    golf_chan_recv(golf_timer_chan(t), &v); /* the fire: the timer thread goes idle */
    note("fired");
    golf_chan_recv(NULL, &v);
}

static void
sc_timer_armed(void)
{
    golf_timer *t = golf_timer_new(300 * 1000000ull, 0);
    golf_chan *ch = golf_chan_new(sizeof(uint64_t), 0);
    golf_case cases[2] = {{golf_timer_chan(t), GOLF_RECV, NULL, 0}, {ch, GOLF_RECV, NULL, 0}};
    golf_select(cases, 2); /* the timer's case wakes it */
    note("timer case");
    uint64_t v;
    golf_chan_recv(ch, &v);
}

/* golf's deferred-work thread is a golf thread too: parked idle, it counts asleep and is not
 * listed. */
static void
sc_map_worker(void)
{
    golf_map *m = golf_map_new();
    uint64_t k = 1;
    golf_map_store(m, &k, sizeof k, (void *)1);
    golf_map_delete(m, &k, sizeof k); /* retires the entry: the worker runs a batch */
    int v;
    golf_chan_recv(NULL, &v);
}

/* A thread waiting with a deadline is awake: no report until its wait is untimed. */
static golf_waitgroup forever_wg;

static void *
wait_forever(void *arg)
{
    (void)arg;
    golf_waitgroup_wait(&forever_wg);
    return NULL;
}

static void
sc_deadline_then_block(void)
{
    golf_waitgroup_add(&forever_wg, 1);
    pthread_t t;
    pthread_create(&t, NULL, wait_forever, NULL);
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    int v;
    if (golf_chan_recv_timeout(ch, &v, 300 * 1000000ull) == GOLF_ETIMEDOUT)
        note("timed out");
    golf_chan_recv(ch, &v);
}

/* A thread outside golf (asleep in nanosleep) keeps the report back until it exits. */
static void *
sleep_then_exit(void *arg)
{
    (void)arg;
    regress_sleep_us(300000);
    note("outside done");
    return NULL;
}

static void
sc_outside_exit(void)
{
    pthread_t t;
    pthread_create(&t, NULL, sleep_then_exit, NULL);
    pthread_detach(t);
    int v;
    golf_chan_recv(NULL, &v);
}

/* A thread golf knows (it parked once) exits while the others are parked: the last of them
 * parked while it was still there, and must be woken to look again. */
static golf_chan *hello;

static void *
park_once_then_exit(void *arg)
{
    (void)arg;
    int v;
    golf_chan_recv(hello, &v);
    regress_sleep_us(200000);
    note("registered thread exits");
    return NULL;
}

static void
sc_registered_exit(void)
{
    hello = golf_chan_new(sizeof(int), 0);
    pthread_t t;
    pthread_create(&t, NULL, park_once_then_exit, NULL);
    pthread_detach(t);
    regress_sleep_us(50000); /* it parks */
    int v = 1;
    golf_chan_send(hello, &v);
    golf_chan_recv(NULL, &v);
}

static void
sc_block_report_chan(void)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    say_tid();
    say_addr("ch", ch);
    int v;
    golf_chan_recv_timeout(ch, &v, 250 * 1000000ull);
    golf_chan_free(ch);
    note("finished");
}

static void *
hold_mutex(void *arg)
{
    (void)arg;
    golf_mutex_lock(&mu_a);
    pthread_barrier_wait(&barrier);
    regress_sleep_us(150000);
    golf_mutex_unlock(&mu_a);
    return NULL;
}

static void
sc_block_report_mutex(void)
{
    say_tid();
    say_addr("m", &mu_a);
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, hold_mutex, NULL);
    pthread_barrier_wait(&barrier);
    golf_mutex_lock(&mu_a);
    golf_mutex_unlock(&mu_a);
    pthread_join(t, NULL);
    note("finished");
}

/* GOLF_STATS: one blocking wait of each kind, each ~20 ms behind a helper thread. */
static golf_chan *st_a, *st_b;
static golf_waitgroup st_wg;

static void *
stats_helper(void *arg)
{
    (void)arg;
    int v = 1;
    regress_sleep_us(20000);
    golf_chan_send(st_a, &v); /* main: chan receive */
    regress_sleep_us(20000);
    golf_chan_recv(st_a, &v); /* main: chan send */
    regress_sleep_us(20000);
    golf_chan_send(st_b, &v); /* main: select */
    golf_mutex_lock(&mu_a);
    pthread_barrier_wait(&barrier);
    regress_sleep_us(20000);
    golf_mutex_unlock(&mu_a); /* main: mutex */
    golf_rwmutex_lock(&rw);
    pthread_barrier_wait(&barrier);
    regress_sleep_us(20000);
    golf_rwmutex_unlock(&rw); /* main: rwmutex */
    regress_sleep_us(20000);
    golf_waitgroup_done(&st_wg); /* main: waitgroup */
    return NULL;
}

static void
sc_stats(void)
{
    st_a = golf_chan_new(sizeof(int), 0);
    st_b = golf_chan_new(sizeof(int), 0);
    say_addr("a", st_a);
    say_addr("m", &mu_a);
    pthread_barrier_init(&barrier, NULL, 2);
    golf_waitgroup_add(&st_wg, 1);
    pthread_t t;
    pthread_create(&t, NULL, stats_helper, NULL);
    int v = 2, w;
    golf_chan_recv(st_a, &w);
    golf_chan_send(st_a, &v);
    golf_case cases[2] = {{st_a, GOLF_RECV, &w, 0}, {st_b, GOLF_RECV, &w, 0}};
    golf_select(cases, 2);
    pthread_barrier_wait(&barrier);
    golf_mutex_lock(&mu_a);
    golf_mutex_unlock(&mu_a);
    pthread_barrier_wait(&barrier);
    golf_rwmutex_rlock(&rw);
    golf_rwmutex_runlock(&rw);
    golf_waitgroup_wait(&st_wg);
    pthread_join(t, NULL);
    golf_chan_free(st_a);
    golf_chan_free(st_b);
    note("finished");
}

static golf_mutex mu_c;

static void
lock_pair(golf_mutex *x, golf_mutex *y)
{
    golf_mutex_lock(x);
    golf_mutex_lock(y);
    golf_mutex_unlock(y);
    golf_mutex_unlock(x);
}

/* An inversion in one thread, in sequence: it never deadlocks, and it is still reported. */
static void
sc_lockorder(void)
{
    say_addr("a", &mu_a);
    say_addr("b", &mu_b);
    say_addr("c", &mu_c);
    lock_pair(&mu_a, &mu_b);
    lock_pair(&mu_b, &mu_a); /* closes a -> b -> a */
    lock_pair(&mu_b, &mu_a); /* the same cycle again: not reported again */
    lock_pair(&mu_a, &mu_b);
    lock_pair(&mu_b, &mu_c);
    lock_pair(&mu_c, &mu_a); /* closes a -> b -> c -> a */
    note("finished");
}

static void
sc_lockorder_rw(void)
{
    say_addr("rw", &rw);
    say_addr("a", &mu_a);
    golf_rwmutex_rlock(&rw);
    golf_mutex_lock(&mu_a);
    golf_mutex_unlock(&mu_a);
    golf_rwmutex_runlock(&rw);
    golf_mutex_lock(&mu_a);
    golf_rwmutex_lock(&rw); /* closes rw -> a -> rw */
    golf_rwmutex_unlock(&rw);
    golf_mutex_unlock(&mu_a);
    note("finished");
}

/* A trylock cannot block, so it forms no edge; what it holds does. */
static void
sc_lockorder_trylock(void)
{
    golf_mutex_lock(&mu_a);
    if (!golf_mutex_trylock(&mu_b))
        abort();
    golf_mutex_unlock(&mu_b);
    golf_mutex_unlock(&mu_a);
    lock_pair(&mu_b, &mu_a); /* b -> a: no cycle, a -> b was a trylock */
    if (!golf_mutex_trylock(&mu_b))
        abort();
    golf_mutex_lock(&mu_c); /* b -> c */
    golf_mutex_unlock(&mu_c);
    golf_mutex_unlock(&mu_b);
    note("finished");
}

static void
sc_nothing(void)
{
    note("finished");
}

typedef struct scenario {
    const char *name;
    void (*fn)(void);
} scenario;

static const scenario scenarios[] = {
    {"nil_recv", sc_nil_recv},
    {"nil_send", sc_nil_send},
    {"recv", sc_recv},
    {"send", sc_send},
    {"send_full", sc_send_full},
    {"select", sc_select},
    {"select_none", sc_select_none},
    {"mutex_abba", sc_mutex_abba},
    {"rlock", sc_rlock},
    {"rwlock", sc_rwlock},
    {"waitgroup", sc_waitgroup},
    {"cond", sc_cond},
    {"timer_idle", sc_timer_idle},
    {"timer_armed", sc_timer_armed},
    {"many", sc_many},
    {"map_worker", sc_map_worker},
    {"deadline_then_block", sc_deadline_then_block},
    {"outside_exit", sc_outside_exit},
    {"registered_exit", sc_registered_exit},
    {"block_report_chan", sc_block_report_chan},
    {"block_report_mutex", sc_block_report_mutex},
    {"stats", sc_stats},
    {"lockorder", sc_lockorder},
    {"lockorder_rw", sc_lockorder_rw},
    {"lockorder_trylock", sc_lockorder_trylock},
    {"nothing", sc_nothing},
};

/* ---- the parent: run a child, check what it said ----------------------------------------------
 */

typedef struct child {
    int status;
    bool killed; /* still running at the limit: we killed it */
    char out[4096];
    char err[1 << 16];
} child;

static const char *const golf_vars[] = {"GOLF_DEADLOCK", "GOLF_BLOCK_REPORT", "GOLF_STATS",
                                        "GOLF_LOCKORDER"};

/* Runs scenario `name` with the environment entries `env` ("NAME=VALUE", NULL-terminated) for
 * at most limit_ms. */
static void
run_child(const char *name, const char *const *env, int limit_ms, child *c)
{
    int out[2], err[2];
    REGRESS_CHECK(pipe(out) == 0 && pipe(err) == 0, "pipe");
    fflush(NULL);
    pid_t pid = fork();
    REGRESS_CHECK(pid >= 0, "fork");
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        for (size_t i = 0; i < sizeof golf_vars / sizeof golf_vars[0]; i++)
            unsetenv(golf_vars[i]);
        for (; env && *env; env++)
            putenv((char *)*env);
        execl("/proc/self/exe", "regress_detect_reports", name, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    memset(c, 0, sizeof *c);
    size_t nout = 0, nerr = 0;
    double end = regress_now_s() + limit_ms / 1000.0;
    struct pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        int left = (int)((end - regress_now_s()) * 1000);
        if (left <= 0) {
            kill(pid, SIGKILL);
            c->killed = true;
            break;
        }
        if (poll(p, 2, left) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char *buf = i == 0 ? c->out : c->err;
            size_t *n = i == 0 ? &nout : &nerr;
            size_t cap = i == 0 ? sizeof c->out : sizeof c->err;
            ssize_t r = read(p[i].fd, buf + *n, cap - 1 - *n);
            if (r <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
            } else {
                *n += (size_t)r;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
    waitpid(pid, &c->status, 0);
}

/* The value the child printed as "key=value" on stdout. */
static const char *
child_value(const child *c, const char *key)
{
    static char v[8][64];
    static int next;
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", key);
    for (const char *p = c->out; (p = strstr(p, pat)) != NULL; p++) {
        if (p != c->out && p[-1] != '\n')
            continue;
        p += strlen(pat);
        char *dst = v[next++ % 8];
        size_t n = strcspn(p, "\n");
        snprintf(dst, 64, "%.*s", (int)n, p);
        return dst;
    }
    REGRESS_FAIL("the child did not say %s (stdout: %s)", key, c->out);
}

static int
count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void
expect_text(const child *c, const char *what)
{
    REGRESS_CHECK(strstr(c->err, what), "expected \"%s\" in the report; stderr:\n%s", what, c->err);
}

static void
expect_aborted(const child *c)
{
    REGRESS_CHECK(!c->killed && WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGABRT,
                  "expected an abort (killed %d, status %#x); stderr:\n%s", c->killed, c->status,
                  c->err);
}

static void
expect_exit0(const child *c)
{
    REGRESS_CHECK(!c->killed && WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0,
                  "expected exit 0 (killed %d, status %#x); stderr:\n%s", c->killed, c->status,
                  c->err);
}

static const char deadlock_head[] = "fatal error: all threads are asleep - deadlock!\n\n";

/* A deadlock report: the header first, and `nthreads` thread lines. */
static void
expect_deadlock(const child *c, int nthreads)
{
    expect_aborted(c);
    const char *h = strstr(c->err, deadlock_head);
    REGRESS_CHECK(h, "no deadlock report; stderr:\n%s", c->err);
    REGRESS_CHECK(count_of(h, "\nthread ") == nthreads, "expected %d thread lines; stderr:\n%s",
                  nthreads, c->err);
}

static char *
fmt(const char *f, const char *a, const char *b)
{
    static char bufs[4][256];
    static int next;
    char *s = bufs[next++ % 4];
    snprintf(s, 256, f, a, b);
    return s;
}

#if defined(__SANITIZE_THREAD__)
#define DETECTOR_USABLE 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DETECTOR_USABLE 0
#endif
#endif
#ifndef DETECTOR_USABLE
#define DETECTOR_USABLE 1
#endif

/* Runs scenario `name` in a child (when the build can) and says whether it did. */
static bool
run_case(const char *name, const char *const *env, int limit_ms, bool needs_detector, child *c)
{
    if (needs_detector && !DETECTOR_USABLE)
        return false;
    printf("  %s\n", name);
    fflush(stdout);
    run_child(name, env, limit_ms, c);
    return true;
}

int
main(int argc, char **argv)
{
    /* A child: run the scenario. */
    if (argc == 2) {
        for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
            if (strcmp(argv[1], scenarios[i].name) == 0) {
                scenarios[i].fn();
                return 0;
            }
        }
    }
    static child the_child;
    child *c = &the_child;
    const char *none[] = {NULL};

    if (run_case("nil_recv", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        expect_text(c, " (main) [chan receive (nil chan)]\n");
    }
    if (run_case("nil_send", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        expect_text(c, " (main) [chan send (nil chan)]\n");
    }
    if (run_case("recv", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        expect_text(c, fmt(" (main) [chan receive]: %s\n", child_value(c, "ch"), ""));
    }
    if (run_case("send", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        expect_text(c, fmt(" (main) [chan send]: %s\n", child_value(c, "ch"), ""));
    }
    if (run_case("send_full", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        expect_text(c, fmt(" (main) [chan send]: %s\n", child_value(c, "ch"), ""));
    }
    if (run_case("select", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        expect_text(c, fmt(" (main) [select]: %s %s\n", child_value(c, "a"), child_value(c, "b")));
    }
    if (run_case("select_none", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        expect_text(c, " (main) [select (no cases)]\n");
    }
    if (run_case("mutex_abba", none, 20000, true, c)) {
        expect_deadlock(c, 2);
        expect_text(c, fmt(" (main) [sync.Mutex.Lock]: %s\n", child_value(c, "b"), ""));
        expect_text(c, fmt(" [sync.Mutex.Lock]: %s\n", child_value(c, "a"), ""));
    }
    if (run_case("rlock", none, 20000, true, c)) {
        expect_deadlock(c, 2);
        expect_text(c, fmt(" (main) [sync.RWMutex.RLock]: %s\n", child_value(c, "rw"), ""));
        expect_text(c, fmt(" [chan receive]: %s\n", child_value(c, "never"), ""));
    }
    if (run_case("rwlock", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        expect_text(c, fmt(" (main) [sync.RWMutex.Lock]: %s\n", child_value(c, "rw"), ""));
    }
    if (run_case("waitgroup", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        expect_text(c, fmt(" (main) [sync.WaitGroup.Wait]: %s\n", child_value(c, "wg"), ""));
    }
    if (run_case("cond", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        expect_text(c, fmt(" (main) [sync.Cond.Wait]: %s\n", child_value(c, "cv"), ""));
    }
    if (run_case("timer_idle", none, 20000, true, c)) {
        expect_deadlock(c, 1); /* the idle timer thread is not listed */
        expect_text(c, " (main) [chan receive (nil chan)]\n");
    }
    if (run_case("timer_armed", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        const char *t = strstr(c->err, "timer case\n"), *f = strstr(c->err, "fatal error");
        REGRESS_CHECK(t && f && t < f, "reported while a timer was armed:\n%s", c->err);
    }
    if (run_case("many", none, 20000, true, c)) {
        expect_deadlock(c, MANY + 1);
        REGRESS_CHECK(count_of(c->err, fmt("[chan receive]: %s\n", child_value(c, "ch"), "")) ==
                          MANY,
                      "expected %d receivers; stderr:\n%s", MANY, c->err);
        expect_text(c, fmt(" (main) [sync.WaitGroup.Wait]: %s\n", child_value(c, "wg"), ""));
    }
    if (run_case("map_worker", none, 20000, true, c)) {
        expect_deadlock(c, 1); /* the idle worker is not listed */
        expect_text(c, " (main) [chan receive (nil chan)]\n");
    }
    if (run_case("deadline_then_block", none, 20000, true, c)) {
        expect_deadlock(c, 2);
        const char *t = strstr(c->err, "timed out\n"), *f = strstr(c->err, "fatal error");
        REGRESS_CHECK(t && f && t < f, "reported while a thread waited with a deadline:\n%s",
                      c->err);
    }
    if (run_case("outside_exit", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        const char *t = strstr(c->err, "outside done\n"), *f = strstr(c->err, "fatal error");
        REGRESS_CHECK(t && f && t < f, "reported while a thread was outside golf:\n%s", c->err);
    }
    if (run_case("registered_exit", none, 20000, true, c)) {
        expect_deadlock(c, 1);
        const char *t = strstr(c->err, "registered thread exits\n");
        const char *f = strstr(c->err, "fatal error");
        REGRESS_CHECK(t && f && t < f, "reported before the thread exited:\n%s", c->err);
    }
    /* Off: the child stays blocked, silently, until we kill it. */
    const char *off[] = {"GOLF_DEADLOCK=0", NULL};
    if (run_case("nil_recv", off, 400, false, c)) {
        REGRESS_CHECK(c->killed && c->err[0] == '\0', "GOLF_DEADLOCK=0 reported:\n%s", c->err);
    }
    /* With every other setting on too: the lock-order report comes first (the check runs
     * before the acquisition blocks), then the deadlock. */
    const char *all[] = {"GOLF_BLOCK_REPORT=1", "GOLF_STATS=1", "GOLF_LOCKORDER=warn", NULL};
    if (run_case("mutex_abba", all, 20000, true, c)) {
        expect_deadlock(c, 2);
        const char *lo = strstr(c->err, "golf: potential deadlock: lock order inversion\n");
        REGRESS_CHECK(lo && lo < strstr(c->err, "fatal error"), "stderr:\n%s", c->err);
    }

    const char *report40[] = {"GOLF_BLOCK_REPORT=40", NULL};
    if (run_case("block_report_chan", report40, 20000, false, c)) {
        expect_exit0(c);
        const char *tid = child_value(c, "tid"), *ch = child_value(c, "ch");
        /* Reports at 40, 80 and 160 ms of the 250 ms wait, each with the time blocked so far. */
        char want[128];
        snprintf(want, sizeof want, "golf: thread %s blocked ", tid);
        REGRESS_CHECK(count_of(c->err, want) == 3, "expected 3 reports; stderr:\n%s", c->err);
        unsigned prev = 0, k = 0;
        for (const char *p = c->err; (p = strstr(p, want)) != NULL; p++, k++) {
            unsigned ms;
            char rest[128];
            REGRESS_CHECK(sscanf(p + strlen(want), "%u ms in %127[^\n]", &ms, rest) == 2,
                          "bad report line: %s", p);
            REGRESS_CHECK(ms >= (40u << k) && ms > prev, "report %u at %u ms:\n%s", k, ms, c->err);
            REGRESS_CHECK(strcmp(rest, fmt("chan receive on %s", ch, "")) == 0,
                          "report says \"%s\"", rest);
            prev = ms;
        }
    }
    const char *report30[] = {"GOLF_BLOCK_REPORT=30", NULL};
    if (run_case("block_report_mutex", report30, 20000, false, c)) {
        expect_exit0(c);
        char want[160];
        snprintf(want, sizeof want, "golf: thread %s blocked ", child_value(c, "tid"));
        const char *p = strstr(c->err, want);
        REGRESS_CHECK(p, "no report; stderr:\n%s", c->err);
        expect_text(c, fmt(" ms in sync.Mutex.Lock on %s\n", child_value(c, "m"), ""));
    }
    const char *stats[] = {"GOLF_STATS=1", NULL};
    if (run_case("stats", stats, 20000, false, c)) {
        expect_exit0(c);
        expect_text(c, "golf: wait statistics (GOLF_STATS=1)\n");
        const char *rows[] = {"chan send", "chan receive", "select", "mutex",
                              "rwmutex",   "waitgroup",    "cond"};
        for (int i = 0; i < 7; i++) {
            char pat[32];
            snprintf(pat, sizeof pat, "\n%-14s ", rows[i]);
            const char *p = strstr(c->err, pat);
            REGRESS_CHECK(p, "no row %s; stderr:\n%s", rows[i], c->err);
            unsigned long long waits, parks;
            double total, max;
            REGRESS_CHECK(
                sscanf(p + strlen(pat), "%llu %llu %lf %lf", &waits, &parks, &total, &max) == 4,
                "bad row %s", rows[i]);
            if (i < 6)
                REGRESS_CHECK(waits >= 1 && parks >= waits && total >= max && max > 1.0,
                              "row %s: %llu waits %llu parks %.3f %.3f ms\n%s", rows[i], waits,
                              parks, total, max, c->err);
            else
                REGRESS_CHECK(waits == 0 && parks == 0, "row cond is not empty");
        }
        expect_text(c, "golf: objects with the most blocked time");
        expect_text(c, fmt("\n  %-18s mutex ", child_value(c, "m"), ""));
        expect_text(c, fmt("\n  %-18s chan receive ", child_value(c, "a"), ""));
        expect_text(c, fmt("\n  %-18s chan send ", child_value(c, "a"), ""));
        expect_text(c, fmt("\n  %-18s select ", child_value(c, "a"), ""));
    }
    const char *lo_abort[] = {"GOLF_LOCKORDER=1", NULL};
    if (run_case("lockorder", lo_abort, 20000, false, c)) {
        expect_aborted(c);
        REGRESS_CHECK(count_of(c->err, "golf: potential deadlock: lock order inversion\n") == 1,
                      "expected one report; stderr:\n%s", c->err);
        const char *a = child_value(c, "a"), *b = child_value(c, "b");
        expect_text(c, fmt(" acquires sync.Mutex %s while holding sync.Mutex %s, at:\n", a, b));
        expect_text(c, fmt(" acquired sync.Mutex %s while holding sync.Mutex %s, at:\n", b, a));
        REGRESS_CHECK(!strstr(c->err, "finished"), "went on after the report");
    }
    const char *lo_warn[] = {"GOLF_LOCKORDER=warn", NULL};
    if (run_case("lockorder", lo_warn, 20000, false, c)) {
        expect_exit0(c);
        expect_text(c, "finished\n");
        REGRESS_CHECK(count_of(c->err, "golf: potential deadlock: lock order inversion\n") == 2,
                      "expected two reports (one per cycle); stderr:\n%s", c->err);
        const char *a = child_value(c, "a"), *b = child_value(c, "b"), *cc = child_value(c, "c");
        /* The second cycle: the new edge c -> a, then a -> b and b -> c. */
        const char *second = strstr(strstr(c->err, "inversion\n") + 1, "inversion\n");
        REGRESS_CHECK(
            strstr(second, fmt(" acquires sync.Mutex %s while holding sync.Mutex %s", a, cc)) &&
                strstr(second, fmt(" acquired sync.Mutex %s while holding sync.Mutex "
                                   "%s",
                                   b, a)) &&
                strstr(second, fmt(" acquired sync.Mutex %s while holding sync.Mutex "
                                   "%s",
                                   cc, b)),
            "the three-lock cycle:\n%s", second);
    }
    if (run_case("lockorder", none, 20000, false, c)) {
        expect_exit0(c);
        REGRESS_CHECK(!strstr(c->err, "golf:"), "reported with GOLF_LOCKORDER unset:\n%s", c->err);
    }
    if (run_case("lockorder_rw", lo_abort, 20000, false, c)) {
        expect_aborted(c);
        const char *rwa = child_value(c, "rw"), *a = child_value(c, "a");
        expect_text(c, fmt(" acquires sync.RWMutex %s while holding sync.Mutex %s, at:\n", rwa, a));
        expect_text(
            c, fmt(" acquired sync.Mutex %s while holding sync.RWMutex (read) %s, at:\n", a, rwa));
    }
    if (run_case("lockorder_trylock", lo_abort, 20000, false, c)) {
        expect_exit0(c);
        REGRESS_CHECK(!strstr(c->err, "golf:"), "a trylock formed an edge:\n%s", c->err);
    }
    const char *bad[] = {"GOLF_STATS=yes", "GOLF_BLOCK_REPORT=soon", "GOLF_LOCKORDER=2", NULL};
    if (run_case("nothing", bad, 20000, false, c)) {
        expect_exit0(c);
        expect_text(c, "golf: GOLF_BLOCK_REPORT=soon not understood, ignored\n");
        expect_text(c, "golf: GOLF_STATS=yes not understood, ignored\n");
        expect_text(c, "golf: GOLF_LOCKORDER=2 not understood, ignored\n");
    }
    printf("PASS detect_reports%s\n", DETECTOR_USABLE ? "" : " (detector scenarios skipped: TSan)");
    return 0;
}
