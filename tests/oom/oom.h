/* SPDX-License-Identifier: MIT */
/* Cold-process out-of-memory sweeps (tests/oom/): the harness, the replacement malloc family's
 * countdown, and the scenarios of each module.
 *
 * The program replaces malloc and its family for the whole process (malloc.c), so a failure
 * reaches every allocation the scenario causes: golf's, liburcu's, and glibc's own (thread
 * stacks' TLS blocks, pthread_setspecific's second-level arrays, fork-handler tables). For
 * k = 0, 1, 2, ... the parent, which never calls golf, forks a child; the child arms the
 * countdown so that every allocation after the k-th fails, runs the scenario and checks each
 * answer. The sweep ends with the first run whose countdown was never reached.
 *
 * Usage: golf_oom <module>   (one ctest entry per module: oom_map, oom_chan, ...) */
#ifndef GOLF_OOM_H
#define GOLF_OOM_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "golf/error.h"
#include "regress/regress.h" /* REGRESS_FAIL, regress_watchdog */

/* ---- the countdown (malloc.c) ---- */

/* The next k allocations succeed, then every one fails; k < 0: none fails. Process-wide. */
void oom_arm(long k);
void oom_disarm(void);
/* Starts the sweep's countdown in a child: oom_arm(oom_k). A scenario calls it first thing for
 * a cold start, or after a setup it does not want swept (helper threads, an object to free). */
void oom_start(void);
/* Allocations failed on purpose since the last arm. */
long oom_injected(void);
/* Allocations (successful or not) since the process started. */
long oom_calls(void);

/* ---- checks (a failing check disarms first, so its message can be printed) ---- */

extern long oom_k; /* the countdown of this child, for messages */

#define OOM_FAIL(...)                                                                              \
    do {                                                                                           \
        oom_disarm();                                                                              \
        fprintf(stderr, "k=%ld: ", oom_k);                                                         \
        REGRESS_FAIL(__VA_ARGS__);                                                                 \
    } while (0)

#define OOM_CHECK(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond))                                                                               \
            OOM_FAIL(__VA_ARGS__);                                                                 \
    } while (0)

/* An int answer that may be out of memory: GOLF_OK (true) or GOLF_ENOMEM (false), and
 * GOLF_ENOMEM only once an allocation has failed. Anything else fails the check. */
#define OOM_RC(rc, what) oom_rc_check((rc), (what), __FILE__, __LINE__)

/* A constructor's answer: non-NULL, or NULL with errno ENOMEM once an allocation has failed. */
#define OOM_PTR(p, what) oom_ptr_check((p) != NULL, errno, (what), __FILE__, __LINE__)

bool oom_rc_check(int rc, const char *what, const char *file, int line);
bool oom_ptr_check(bool ok, int err, const char *what, const char *file, int line);

/* Ends the child once a constructor said "out of memory": with allocation back, the same
 * constructor works (`retry` returns true), and the scenario has nothing more to check. */
_Noreturn void oom_recovered(bool (*retry)(void));

/* ---- scenarios ---- */

typedef struct oom_scenario {
    const char *name;
    /* In the parent, before the sweep (may be NULL): state an application could have made
     * without golf, e.g. many pthread keys. Runs once; every child inherits it. */
    void (*parent_setup)(void);
    /* In the child; calls oom_start() where the sweep begins. Returns to report success; fails
     * with OOM_FAIL. */
    void (*run)(void);
} oom_scenario;

/* Parent setups shared by modules. oom_fill_keys: create 40 pthread keys, so golf's keys land
 * past glibc's first 32, whose per-thread values pthread_setspecific must allocate.
 * oom_fill_atfork: register fork handlers until the next registration (golf's first) has to
 * grow glibc's table, an allocation. */
void oom_fill_keys(void);
void oom_fill_atfork(void);

/* Each module file defines one table, ended by a {NULL} entry. */
extern const oom_scenario oom_map_scenarios[];
extern const oom_scenario oom_chan_scenarios[];
extern const oom_scenario oom_pool_scenarios[];
extern const oom_scenario oom_sync_scenarios[];
extern const oom_scenario oom_timer_scenarios[];

#endif
