/* SPDX-License-Identifier: MIT */
/* The deadlock detector never reports a program that can still move (lockfree/watch.h).
 *
 * Every phase parks all threads but one in golf, untimed, while that one is somewhere the
 * detector must count as awake: blocked in read() on a pipe (written later by a child process),
 * in nanosleep, in pthread_join, in poll(), or in a golf wait with a deadline. Then that thread
 * releases the others. A false report aborts the program. The detector's confirmation delay is
 * cut to 20 us (golf__watch_test_confirm_ns), so the thread that parks last confirms all the
 * time, including in the window where a thread golf has just woken is not running yet.
 *
 * The busy phases then pass values through channels and a mutex with many threads (producers
 * and consumers on an unbuffered and a one-slot channel, a ping-pong pair, lockers) while the
 * main thread parks in golf, and no thread is ever outside golf for long: at every moment
 * nearly every thread is parked, and the rest were just woken. Values are checked (count and
 * sum).
 *
 * The exit phases hand one value per round from a short-lived thread to the parked main thread
 * (an unbuffered send, a WaitGroup's done) and the thread then exits; the hand-off lands near
 * the main thread's confirmation, so a peer may complete the candidate's own wait and be gone
 * (no live task left awake) by the time the candidate scans.
 *
 * golf-regress: one-cpu (also run under taskset -c 0)
 * Usage: regress_detect_quiet [scale]  (exit 0: pass; scale multiplies the busy phases' work) */
#include "regress.h"

#include <poll.h>
#include <sys/wait.h>

#include "golf/golf.h"
#include "lockfree/watch.h"

enum { PARKERS = 6 };

static golf_chan *release_ch;
static golf_waitgroup parked_wg;

/* A thread parked untimed in golf until released. */
static void *
parker(void *arg)
{
    (void)arg;
    int v;
    REGRESS_CHECK(golf_chan_recv(release_ch, &v) == GOLF_OK, "recv");
    golf_waitgroup_done(&parked_wg);
    return NULL;
}

static void
release_all(void)
{
    int v = 1;
    for (int i = 0; i < PARKERS; i++)
        REGRESS_CHECK(golf_chan_send(release_ch, &v) == GOLF_OK, "send");
}

/* What the one awake thread does before it releases the parkers. */
typedef enum { OUT_READ, OUT_SLEEP, OUT_JOIN, OUT_POLL, OUT_DEADLINE } outside;

static const char *const outside_name[] = {"read", "nanosleep", "pthread_join", "poll",
                                           "golf wait with a deadline"};

static int pipe_fds[2];

static void *
sleeper(void *arg)
{
    (void)arg;
    regress_sleep_us(300000);
    return NULL;
}

static void *
awake_one(void *arg)
{
    outside how = (outside)(intptr_t)arg;
    char c;
    switch (how) {
    case OUT_READ:
        REGRESS_CHECK(read(pipe_fds[0], &c, 1) == 1, "read");
        break;
    case OUT_SLEEP:
        regress_sleep_us(300000);
        break;
    case OUT_JOIN: {
        pthread_t t;
        pthread_create(&t, NULL, sleeper, NULL);
        pthread_join(t, NULL);
        break;
    }
    case OUT_POLL: {
        struct pollfd p = {pipe_fds[0], POLLIN, 0};
        REGRESS_CHECK(poll(&p, 1, 300) == 0, "poll");
        break;
    }
    case OUT_DEADLINE: {
        golf_chan *never = golf_chan_new(sizeof(int), 0);
        int v;
        REGRESS_CHECK(golf_chan_recv_timeout(never, &v, 300 * 1000000ull) == GOLF_ETIMEDOUT,
                      "timeout");
        golf_chan_free(never);
        break;
    }
    }
    release_all();
    return NULL;
}

static void
phase_outside(outside how)
{
    printf("  one thread in %s, the others parked in golf\n", outside_name[how]);
    fflush(stdout);
    REGRESS_CHECK(pipe(pipe_fds) == 0, "pipe");
    pid_t writer = -1;
    if (how == OUT_READ) {
        /* The pipe's writer is another process: nothing in this one can wake the reader. */
        fflush(NULL);
        writer = fork();
        REGRESS_CHECK(writer >= 0, "fork");
        if (writer == 0) {
            regress_sleep_us(300000);
            (void)!write(pipe_fds[1], "x", 1);
            _exit(0);
        }
    }
    golf_waitgroup_add(&parked_wg, PARKERS);
    pthread_t t[PARKERS], a;
    for (int i = 0; i < PARKERS; i++)
        pthread_create(&t[i], NULL, parker, NULL);
    pthread_create(&a, NULL, awake_one, (void *)(intptr_t)how);
    golf_waitgroup_wait(&parked_wg); /* the main thread parks in golf too */
    for (int i = 0; i < PARKERS; i++)
        pthread_join(t[i], NULL);
    pthread_join(a, NULL);
    if (writer > 0)
        waitpid(writer, NULL, 0);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}

/* ---- exit phases --------------------------------------------------------------------------- */

enum { EXIT_ROUNDS = 3000 };

static uint64_t exit_spin_ns;

static void
spin_then(void)
{
    uint64_t end = golf_now_ns() + exit_spin_ns;
    while (golf_now_ns() < end)
        ;
}

static void *
send_then_exit(void *arg)
{
    spin_then();
    int v = 1;
    REGRESS_CHECK(golf_chan_send(arg, &v) == GOLF_OK, "send");
    return NULL;
}

static void
work_then_exit(void *arg)
{
    (void)arg;
    spin_then();
}

/* Spins of half to one and a half confirmation delays. */
static void
pick_spin(void)
{
    uint64_t d = golf__watch_test_confirm_ns;
    exit_spin_ns = d / 2 + (uint64_t)rand() % (d + 1);
}

static void
phase_exit(long rounds)
{
    printf("  %ld rounds: a thread sends to the parked main thread and exits\n", rounds);
    fflush(stdout);
    golf_chan *c = golf_chan_new(sizeof(int), 0);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    srand(1);
    for (long i = 0; i < rounds; i++) {
        pick_spin();
        pthread_t t;
        REGRESS_CHECK(pthread_create(&t, &a, send_then_exit, c) == 0, "pthread_create");
        int v;
        REGRESS_CHECK(golf_chan_recv(c, &v) == GOLF_OK && v == 1, "recv");
    }
    pthread_attr_destroy(&a);
    golf_chan_free(c);
    printf("  %ld rounds: a WaitGroup's thread is done and exits\n", rounds);
    fflush(stdout);
    for (long i = 0; i < rounds; i++) {
        golf_waitgroup wg = {0};
        pick_spin();
        REGRESS_CHECK(golf_waitgroup_go(&wg, work_then_exit, NULL) == GOLF_OK, "waitgroup_go");
        golf_waitgroup_wait(&wg);
    }
}

/* ---- busy phases ---------------------------------------------------------------------------- */

enum { PRODUCERS = 4, CONSUMERS = 4, LOCKERS = 4 };

static golf_chan *work;
static long long per_thread; /* values per producer, locks per locker, round trips */
static atomic_llong sent_sum, got_sum, got_n;
static golf_mutex mu;
static long long counter;
static golf_waitgroup producers_wg, busy_wg;

static void *
producer(void *arg)
{
    long long id = (intptr_t)arg;
    for (long long n = 1; n <= per_thread; n++) {
        long long v = id * 1000000000ll + n;
        REGRESS_CHECK(golf_chan_send(work, &v) == GOLF_OK, "send");
        atomic_fetch_add(&sent_sum, v);
    }
    golf_waitgroup_done(&producers_wg);
    return NULL;
}

static void *
consumer(void *arg)
{
    (void)arg;
    long long v;
    while (golf_chan_recv(work, &v) == GOLF_OK) {
        atomic_fetch_add(&got_sum, v);
        atomic_fetch_add(&got_n, 1);
    }
    golf_waitgroup_done(&busy_wg);
    return NULL;
}

static void *
locker(void *arg)
{
    (void)arg;
    for (long long i = 0; i < per_thread; i++) {
        golf_mutex_lock(&mu);
        counter++;
        golf_mutex_unlock(&mu);
    }
    golf_waitgroup_done(&busy_wg);
    return NULL;
}

static golf_chan *ping, *pong;

static void *
ping_side(void *arg)
{
    (void)arg;
    long long v = 0;
    for (long long i = 0; i < per_thread; i++) {
        REGRESS_CHECK(golf_chan_send(ping, &v) == GOLF_OK, "ping");
        REGRESS_CHECK(golf_chan_recv(pong, &v) == GOLF_OK && v % 2 == 1, "pong");
        v++;
    }
    v = -1;
    golf_chan_send(ping, &v);
    golf_waitgroup_done(&busy_wg);
    return NULL;
}

static void *
pong_side(void *arg)
{
    (void)arg;
    long long v;
    for (;;) {
        REGRESS_CHECK(golf_chan_recv(ping, &v) == GOLF_OK, "ping recv");
        if (v < 0)
            break;
        v++;
        REGRESS_CHECK(golf_chan_send(pong, &v) == GOLF_OK, "pong send");
    }
    golf_waitgroup_done(&busy_wg);
    return NULL;
}

static void
phase_busy(size_t cap, long long n)
{
    printf("  %d producers, %d consumers (cap %zu), %d lockers, a ping-pong pair\n", PRODUCERS,
           CONSUMERS, cap, LOCKERS);
    fflush(stdout);
    work = golf_chan_new(sizeof(long long), cap);
    ping = golf_chan_new(sizeof(long long), 0);
    pong = golf_chan_new(sizeof(long long), 0);
    per_thread = n;
    atomic_store(&sent_sum, 0);
    atomic_store(&got_n, 0);
    atomic_store(&got_sum, 0);
    counter = 0;
    golf_waitgroup_add(&producers_wg, PRODUCERS);
    golf_waitgroup_add(&busy_wg, CONSUMERS + LOCKERS + 2);
    pthread_t p[PRODUCERS], other[CONSUMERS + LOCKERS + 2];
    int k = 0;
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&p[i], NULL, producer, (void *)(intptr_t)(i + 1));
    for (int i = 0; i < CONSUMERS; i++)
        pthread_create(&other[k++], NULL, consumer, NULL);
    for (int i = 0; i < LOCKERS; i++)
        pthread_create(&other[k++], NULL, locker, NULL);
    pthread_create(&other[k++], NULL, ping_side, NULL);
    pthread_create(&other[k++], NULL, pong_side, NULL);
    /* The main thread waits in golf, not in pthread_join (which is outside golf). */
    golf_waitgroup_wait(&producers_wg);
    golf_chan_close(work);
    golf_waitgroup_wait(&busy_wg);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(p[i], NULL);
    for (int i = 0; i < k; i++)
        pthread_join(other[i], NULL);
    REGRESS_CHECK(atomic_load(&sent_sum) == atomic_load(&got_sum) &&
                      atomic_load(&got_n) == PRODUCERS * n && counter == LOCKERS * n,
                  "values or locks lost or duplicated");
    printf("    %lld values, %lld locks\n", (long long)atomic_load(&got_n), counter);
    golf_chan_free(work);
    golf_chan_free(ping);
    golf_chan_free(pong);
}

int
main(int argc, char **argv)
{
    long long n = (long long)((argc > 1 ? atof(argv[1]) : 1.0) * 20000);
    /* Confirm all the time (before any thread starts: a plain variable). */
    golf__watch_test_confirm_ns = 20000;
    release_ch = golf_chan_new(sizeof(int), 0);
    for (outside how = OUT_READ; how <= OUT_DEADLINE; how++)
        phase_outside(how);
    phase_exit((long)(EXIT_ROUNDS * (argc > 1 ? atof(argv[1]) : 1.0)));
    phase_busy(0, n);
    phase_busy(1, n);
    golf_chan_free(release_ch);
    printf("PASS detect_quiet\n");
    return 0;
}
