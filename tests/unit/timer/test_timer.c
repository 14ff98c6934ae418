/* SPDX-License-Identifier: MIT */
/* golf_timer and golf_now_ns: golf/time.h's rules (Go's time/sleep_test.go is ported in
 * tests/go/test_time_sleep.c). No assertion on how late a timer fires, only that it fires, never
 * before its deadline, and the counts Go's semantics fix. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "golf/chan.h"
#include "golf/time.h"
#include "golf_test.h"

#define MS 1000000ull

Test(timer, now_is_monotonic_and_matches_clock_monotonic, .timeout = 10)
{
    uint64_t prev = golf_now_ns();
    for (int i = 0; i < 100000; i++) {
        uint64_t t = golf_now_ns();
        cr_assert_geq(t, prev, "golf_now_ns went back");
        prev = t;
    }
    struct timespec ts;
    uint64_t a = golf_now_ns();
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t b = golf_now_ns();
    uint64_t m = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    cr_assert(a <= m && m <= b, "not CLOCK_MONOTONIC");
}

Test(timer, one_shot_fires_once_not_before_its_deadline, .timeout = 30)
{
    uint64_t start = golf_now_ns();
    golf_timer *t = golf_timer_new(5 * MS, 0);
    cr_assert_not_null(t);
    golf_chan *ch = golf_timer_chan(t);
    cr_assert_not_null(ch);
    cr_assert_eq(golf_chan_cap(ch), 1u);
    uint64_t fired = 0;
    cr_assert_eq(golf_chan_recv(ch, &fired), GOLF_OK);
    uint64_t after = golf_now_ns();
    cr_assert_geq(fired, start + 5 * MS, "fired %llu ns before its deadline",
                  (unsigned long long)(start + 5 * MS - fired));
    cr_assert_leq(fired, after, "fire time from the future");
    cr_assert_not(golf_timer_stop(t), "stop after the fire must report nothing pending");
    /* Once only: nothing more after a while. */
    cr_assert_eq(golf_chan_recv_timeout(ch, &fired, 20 * MS), GOLF_ETIMEDOUT);
    golf_timer_free(t);
}

Test(timer, zero_delay_fires, .timeout = 30)
{
    golf_timer *t = golf_timer_new(0, 0);
    cr_assert_not_null(t);
    uint64_t v;
    cr_assert_eq(golf_chan_recv(golf_timer_chan(t), &v), GOLF_OK);
    golf_timer_free(t);
}

Test(timer, far_deadline_never_fires_and_is_pending, .timeout = 30)
{
    golf_timer *t = golf_timer_new(UINT64_MAX, 0);
    cr_assert_not_null(t);
    cr_assert_eq(golf_chan_try_recv(golf_timer_chan(t), NULL), GOLF_EAGAIN);
    cr_assert(golf_timer_stop(t));
    golf_timer_free(t);
    /* A ticker whose next deadline overflows: fires once, then never. */
    golf_timer *k = golf_timer_new(0, UINT64_MAX - 1);
    uint64_t v;
    cr_assert_eq(golf_chan_recv(golf_timer_chan(k), &v), GOLF_OK);
    cr_assert_eq(golf_chan_recv_timeout(golf_timer_chan(k), &v, 20 * MS), GOLF_ETIMEDOUT);
    cr_assert(golf_timer_stop(k), "an armed ticker is pending");
    golf_timer_free(k);
}

/* Reset to a later deadline of a timer due soon: it must not fire at the old deadline. */
Test(timer, reset_later_moves_the_deadline, .timeout = 30)
{
    for (int i = 0; i < 3; i++) {
        golf_timer *t = golf_timer_new(20 * MS, 0);
        uint64_t start = golf_now_ns();
        cr_assert_eq(golf_timer_reset(t, 60 * MS, 0), GOLF_OK);
        uint64_t v = 0;
        cr_assert_eq(golf_chan_recv(golf_timer_chan(t), &v), GOLF_OK);
        cr_assert_geq(v, start + 60 * MS, "fired at the deadline before the reset");
        golf_timer_free(t);
    }
}

/* A slow receiver: ticks are dropped while one is unread (capacity 1), never queued; the next
 * one comes from a later deadline. */
Test(timer, ticker_drops_ticks_for_a_slow_receiver, .timeout = 30)
{
    golf_timer *t = golf_timer_new(1 * MS, 1 * MS);
    golf_test_sleep_us(30000); /* ~30 deadlines pass */
    cr_assert_leq(golf_chan_len(golf_timer_chan(t)), 1u);
    uint64_t v1 = 0, v2 = 0;
    cr_assert_eq(golf_chan_recv(golf_timer_chan(t), &v1), GOLF_OK);
    cr_assert_eq(golf_chan_recv(golf_timer_chan(t), &v2), GOLF_OK);
    cr_assert_gt(v2, v1, "the second tick must come from a later deadline");
    golf_timer_free(t);
}

/* The timer channel in a select with another channel and in the timeout form. */
Test(timer, channel_works_in_select, .timeout = 30)
{
    golf_chan *other = golf_chan_new(sizeof(int), 0);
    golf_timer *t = golf_timer_new(5 * MS, 0);
    uint64_t v = 0;
    int x = 0;
    golf_case cases[2] = {
        {.ch = other, .op = GOLF_RECV, .elem = &x},
        {.ch = golf_timer_chan(t), .op = GOLF_RECV, .elem = &v},
    };
    cr_assert_eq(golf_select(cases, 2), 1, "the timer case must win");
    cr_assert_neq(v, 0u);
    golf_timer_free(t);
    golf_chan_free(other);
}

/* Many timers with staggered deadlines: every one fires exactly once, at or after its deadline
 * (heap order). */
Test(timer, many_timers_each_fire_once_after_deadline, .timeout = 60)
{
    enum { N = 500 };
    static golf_timer *t[N];
    static uint64_t deadline[N];
    uint64_t seed = 42;
    for (int i = 0; i < N; i++) {
        uint64_t d = (golf_test_rand(&seed) % 50) * MS / 2;
        deadline[i] = golf_now_ns() + d;
        t[i] = golf_timer_new(d, 0);
        cr_assert_not_null(t[i]);
    }
    for (int i = 0; i < N; i++) {
        uint64_t v = 0;
        cr_assert_eq(golf_chan_recv(golf_timer_chan(t[i]), &v), GOLF_OK);
        cr_assert_geq(v, deadline[i], "timer %d fired early", i);
        cr_assert_eq(golf_chan_try_recv(golf_timer_chan(t[i]), &v), GOLF_EAGAIN);
        golf_timer_free(t[i]);
    }
}

static int
count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

Test(timer, ten_thousand_live_timers_add_no_threads, .timeout = 60)
{
    enum { N = 10000 };
    golf_timer *first = golf_timer_new(UINT64_MAX, 0); /* starts the timer thread */
    int before = count_threads();
    static golf_timer *t[N];
    for (int i = 0; i < N; i++) {
        t[i] = golf_timer_new((uint64_t)(i % 100 + 1) * 1000 * MS, i % 2 ? 1000 * MS : 0);
        cr_assert_not_null(t[i]);
    }
    cr_assert_eq(count_threads(), before, "%d threads with %d timers, %d before", count_threads(),
                 N, before);
    for (int i = 0; i < N; i++)
        golf_timer_free(t[i]);
    golf_timer_free(first);
}

Test(timer, free_null_and_chan_null, .timeout = 10)
{
    golf_timer_free(NULL);
    cr_assert_null(golf_timer_chan(NULL));
}

/* fork: the child has no timer thread; its armed timers must still fire, and new ones too. */
Test(timer, fork_child_timers_fire, .timeout = 60)
{
    golf_timer *t = golf_timer_new(30 * MS, 0);
    golf_timer *k = golf_timer_new(1 * MS, 1 * MS);
    uint64_t v;
    cr_assert_eq(golf_chan_recv(golf_timer_chan(k), &v), GOLF_OK);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        bad |= golf_chan_recv(golf_timer_chan(t), &v) != GOLF_OK;
        bad |= golf_chan_recv(golf_timer_chan(k), &v) != GOLF_OK;
        golf_timer_free(k);
        golf_timer *n = golf_timer_new(1 * MS, 0);
        bad |= n == NULL || golf_chan_recv(golf_timer_chan(n), &v) != GOLF_OK;
        golf_timer_free(n);
        golf_timer_free(t);
        _exit(bad);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %d", status);
    cr_assert_eq(golf_chan_recv(golf_timer_chan(t), &v), GOLF_OK, "parent's timer");
    golf_timer_free(t);
    golf_timer_free(k);
}

/* Free right after the fire, from many threads on one CPU: the timer thread may still be inside
 * the fire's try_send when the receiver frees (ASan sees a use-after-free otherwise). */
static void *
free_after_fire(void *p)
{
    (void)p;
    for (int i = 0; i < 300; i++) {
        golf_timer *t = golf_timer_new(0, i % 3 == 0 ? 1000 : 0);
        uint64_t v;
        if (golf_chan_recv(golf_timer_chan(t), &v) != GOLF_OK)
            abort();
        golf_timer_free(t);
    }
    return NULL;
}

Test(timer, free_right_after_fire_many_threads_one_cpu, .timeout = 120)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &set);
    cr_assert_eq(sched_setaffinity(0, sizeof set, &set), 0);
    pthread_t th[16];
    for (int i = 0; i < 16; i++)
        pthread_create(&th[i], NULL, free_after_fire, NULL);
    for (int i = 0; i < 16; i++)
        pthread_join(th[i], NULL);
}
