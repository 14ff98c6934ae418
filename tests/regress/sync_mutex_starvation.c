/* SPDX-License-Identifier: MIT */
/* Regression (audit fair2): starvation mode must hand the mutex to the waiter that starves.
 *
 * Go's Mutex (and golf/sync.h): once a waiter has waited over 1 ms the mutex switches to starvation
 * mode, unlock hands it directly to the waiter at the front of the queue, and newcomers queue at
 * the tail; a waiter leaves starvation mode only if it is the last one or waited under 1 ms. So a
 * thread competing with hogs that re-lock at once is overtaken only a handful of times: the hogs
 * queued ahead of it, plus what they get in the first millisecond, in normal mode.
 *
 * Before the fix an unlocker that re-locked at once took its own hand-off: registering as a waiter
 * it saw the SIGNAL it had just granted and took it on its first look (the woken head had not run
 * yet); having waited ~0 ms it left starvation mode while the starving waiter was still queued,
 * and that waiter, finding no SIGNAL, parked again at the back. Measured: victim waits of 60-420
 * ms and hundreds of overtakes, where Go's bound is ~1 ms plus a few hold times.
 *
 * 3 hogs: lock, hold ~HOLD_US (asleep: the test needs little CPU on a loaded machine), unlock, and
 * at once lock again. The victim: ROUNDS times { sleep 100 us; lock; unlock }, counting the hog
 * critical sections that completed during each of its waits (overtakes). The assertion is a
 * fairness property, not a speed one: the overtake count does not depend on how fast the machine
 * is. Its bound is generous (a fair mutex gives ~20 + 3, up to ~50 seen with the victim's
 * wake-ups delayed on a loaded machine; the bug gives thousands); the wait time is reported too,
 * with a bound far above Go's. The hogs stop after BUDGET_S, so a starved victim ends too.
 *
 * Where two CPUs are allowed, the hogs run on one and the victim on the other. On a shared CPU the
 * scheduler often lets a woken waiter preempt the unlocker before it can lock again, which hides
 * the bug (before the fix: failed 1 run in 5 unpinned on a quiet machine; pinned, 4 in 4, the
 * victim starved until the hogs stopped).
 *
 *   regress_sync_mutex_starvation [rounds=300]
 *
 * Exit 0 on success, 1 with a message on failure. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "golf/sync.h"
#include "lockfree/chaos.h"
#include "regress/regress.h"

#define HOGS 3
#define HOLD_US 50
#define MAX_OVERTAKES 300 /* per victim acquisition */
#define MAX_WAIT_S 0.25   /* per victim acquisition: only against a stranded waiter */
#define BUDGET_S 10.0     /* the hogs stop after this */

static golf_mutex mu;
static atomic_bool stop;
static atomic_long hog_sections; /* hog critical sections completed (written under mu) */
static atomic_int hogs_running;
static double deadline;
static int cpus[2] = {-1, -1}; /* hogs' CPU, victim's CPU; -1: not pinned */

static void
pin_to(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort */
}

static void *
hog(void *arg)
{
    (void)arg;
    pin_to(cpus[0]);
    atomic_fetch_add_explicit(&hogs_running, 1, memory_order_relaxed);
    while (!atomic_load_explicit(&stop, memory_order_relaxed) && regress_now_s() < deadline) {
        golf_mutex_lock(&mu);
        regress_sleep_us(HOLD_US);
        /* relaxed: the victim reads it under mu, which orders it. */
        atomic_fetch_add_explicit(&hog_sections, 1, memory_order_relaxed);
        golf_mutex_unlock(&mu);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 300;
    regress_watchdog(120);
    /* A bound on waiting time: chaos sleeps inside the critical sections would break it, not
     * golf (the debug tier turns chaos on by default). */
    golf__chaos_set(0, 0);
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        int n = 0;
        for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
            if (CPU_ISSET(c, &allowed))
                cpus[n++] = c;
        if (n < 2)
            cpus[0] = cpus[1] = -1;
    }
    deadline = regress_now_s() + BUDGET_S;
    pthread_t t[HOGS];
    for (int i = 0; i < HOGS; i++)
        REGRESS_CHECK(pthread_create(&t[i], NULL, hog, NULL) == 0, "pthread_create");
    while (atomic_load_explicit(&hogs_running, memory_order_relaxed) < HOGS)
        regress_sleep_us(1000);
    pin_to(cpus[1]);
    regress_sleep_us(20000); /* let the hogs get into their loop */

    long max_overtakes = 0;
    double max_wait = 0, sum_wait = 0;
    int worst = -1, done = 0;
    for (int i = 0; i < rounds && regress_now_s() < deadline; i++, done++) {
        regress_sleep_us(100);
        long before = atomic_load_explicit(&hog_sections, memory_order_relaxed);
        double t0 = regress_now_s();
        golf_mutex_lock(&mu);
        double w = regress_now_s() - t0;
        long overtakes = atomic_load_explicit(&hog_sections, memory_order_relaxed) - before;
        golf_mutex_unlock(&mu);
        sum_wait += w;
        if (w > max_wait)
            max_wait = w;
        if (overtakes > max_overtakes) {
            max_overtakes = overtakes;
            worst = i;
        }
    }
    atomic_store_explicit(&stop, true, memory_order_relaxed);
    for (int i = 0; i < HOGS; i++)
        pthread_join(t[i], NULL);

    printf("regress_sync_mutex_starvation: %d rounds%s, max overtakes %ld (round %d), max wait "
           "%.2f ms, mean wait %.3f ms, hog sections %ld\n",
           done, cpus[0] >= 0 ? " (pinned)" : "", max_overtakes, worst, max_wait * 1e3,
           sum_wait / (done > 0 ? done : 1) * 1e3,
           atomic_load_explicit(&hog_sections, memory_order_relaxed));
    REGRESS_CHECK(max_overtakes <= MAX_OVERTAKES,
                  "a waiter was overtaken %ld times (bound %d): starvation mode did not hand the "
                  "mutex to it",
                  max_overtakes, MAX_OVERTAKES);
    REGRESS_CHECK(max_wait <= MAX_WAIT_S, "a waiter waited %.1f ms (bound %.0f ms)", max_wait * 1e3,
                  MAX_WAIT_S * 1e3);
    printf("regress_sync_mutex_starvation: ok\n");
    return 0;
}
