/* SPDX-License-Identifier: MIT */
/* sync under a failing malloc, from a cold process: golf_waitgroup_go, whose thread (stack,
 * TLS, argument block) may not be had (oom.h). GOLF_ENOMEM must leave the counter unchanged:
 * the wait returns once the threads that did start are done, and exactly those ran. */
#include "oom.h"

#include <stdatomic.h>

#include "golf/sync.h"

enum { NGO = 8 };

static golf_mutex mu;
static golf_waitgroup wg;
static int ran; /* under mu */
static _Atomic int ran_atomic;

static void
work(void *arg)
{
    (void)arg;
    golf_mutex_lock(&mu);
    ran++;
    golf_mutex_unlock(&mu);
    atomic_fetch_add(&ran_atomic, 1);
}

static void
waitgroup_go(void)
{
    oom_start();
    int started = 0;
    for (int i = 0; i < NGO; i++)
        started += OOM_RC(golf_waitgroup_go(&wg, work, NULL), "golf_waitgroup_go");
    golf_waitgroup_wait(&wg);
    OOM_CHECK(atomic_load(&ran_atomic) == started, "%d threads ran, %d started",
              atomic_load(&ran_atomic), started);
    golf_mutex_lock(&mu);
    OOM_CHECK(ran == started, "ran %d under the mutex, %d started", ran, started);
    golf_mutex_unlock(&mu);
    oom_disarm();
    OOM_CHECK(golf_waitgroup_go(&wg, work, NULL) == GOLF_OK, "go after recovery");
    golf_waitgroup_wait(&wg);
    OOM_CHECK(atomic_load(&ran_atomic) == started + 1, "the thread after recovery did not run");
}

const oom_scenario oom_sync_scenarios[] = {
    {"sync_waitgroup_go", NULL, waitgroup_go},
    {NULL, NULL, NULL},
};
