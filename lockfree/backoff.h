/* SPDX-License-Identifier: MIT */
/* golf__backoff: every spin loop in golf, under a named budget.
 *
 *     golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_LOCK);
 *     while (golf__backoff_wait(&b))
 *         if (try_again())
 *             return;
 *     block(); // the budget is spent
 *
 * A budget is the longest a waiter spins, in nanoseconds, converted to pause instructions with
 * the pause cost this process measured once: a `pause` costs 10 ns on one CPU and 140 ns on
 * another, so a count of pauses would mean a different wait on every host. A budget also names
 * the shape of its steps and what happens once it is spent; the table is golf__budget_policy()
 * in backoff.c, and lockfree/README.md ("backoff.h") says why each value. */
#ifndef GOLF_LOCKFREE_BACKOFF_H
#define GOLF_LOCKFREE_BACKOFF_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "cacheline.h"

/* The budgets, in ns, each with its reason in one line (lockfree/README.md has the argument and
 * the measurements). */
/* clang-format off */
enum {
    GOLF__BUDGET_PARK_NS   = 10000, /* chan waiter, then futex: ~ the cheap end of sleep + wake */
    GOLF__BUDGET_RETRY_NS  =  3000, /* buffered chan op, then register: several registrations */
    GOLF__BUDGET_MUTEX_NS  =  2500, /* golf_mutex: Go's 4 rounds of 30 pauses, as a time */
    GOLF__BUDGET_LOCK_NS   =  2000, /* sections of tens of ns: a holder busy past this is off-CPU */
    GOLF__BUDGET_HOLDER_NS =  2000, /* as LOCK, nothing to sleep on: then yield to its holder */
    GOLF__BUDGET_SLOT_NS   =  2000, /* as HOLDER, then a few yields, then park on the slot */
    GOLF__BUDGET_CAS_NS    =  2000, /* a lost CAS: steps double while it lasts, then stay */
    GOLF__BUDGET_COLD_NS   =     0, /* cold paths whose holder may be blocked: yield at once */
};
/* clang-format on */

/* The named budgets; GOLF__BACKOFF(id) starts a wait under one. */
typedef enum golf__budget {
    GOLF__BUDGET_PARK,
    GOLF__BUDGET_RETRY,
    GOLF__BUDGET_MUTEX,
    GOLF__BUDGET_LOCK,
    GOLF__BUDGET_HOLDER,
    GOLF__BUDGET_SLOT,
    GOLF__BUDGET_CAS,
    GOLF__BUDGET_COLD,
} golf__budget;

/* What golf__backoff_wait does once the budget is spent. */
enum {
    GOLF__SPENT_STOP,   /* returns false: the caller blocks (futex) */
    GOLF__SPENT_YIELD,  /* sched_yield (lets a peer on this CPU run) `yields` times, then STOP */
    GOLF__SPENT_REPEAT, /* the largest step again at every call: a lock-free retry loop */
};
#define GOLF__YIELD_FOREVER 255 /* yields: the caller has nothing to block on */

/* One wait. All zero but the budget until the first step fills it in (golf__backoff_start),
 * so declaring one on a fast path that never waits costs nothing. */
typedef struct golf__backoff {
    uint32_t spent;    /* pauses spent so far */
    uint32_t limit;    /* the budget in pauses */
    uint16_t step;     /* pauses in the next step; 0: not started */
    uint16_t max_step; /* the step doubles up to this */
    uint8_t budget;    /* golf__budget */
    uint8_t spent_do;  /* GOLF__SPENT_* */
    uint8_t yields;    /* GOLF__SPENT_YIELD: yields left, or GOLF__YIELD_FOREVER */
} golf__backoff;

#define GOLF__BACKOFF(id) ((golf__backoff){.budget = (id)})

/* Fills in b's policy and its budget in pauses (out of line: once per wait). A budget flagged
 * multi-CPU (the mutex's) is 0 when this process can run on one CPU only. */
void golf__backoff_start(golf__backoff *b);

/* How many pause instructions take about `ns` nanoseconds here (at least 1). The first call
 * measures a pause (a few microseconds, once per process); later calls are one relaxed load. */
uint32_t golf__backoff_pauses(uint32_t ns);

/* The CPUs this process may run on, read once (sched_getaffinity). */
uint32_t golf__backoff_ncpu(void);

__attribute__((noinline, cold)) bool golf__backoff_spent(golf__backoff *b);

/* One step of waiting: spins the step's pauses and returns true while the budget lasts; then
 * does what the budget says (GOLF__SPENT_*), returning false only for STOP. */
static inline bool
golf__backoff_wait(golf__backoff *b)
{
    if (GOLF__UNLIKELY(b->step == 0))
        golf__backoff_start(b);
    if (b->spent >= b->limit)
        return golf__backoff_spent(b);
    for (uint32_t i = 0; i < b->step; i++)
        golf__cpu_relax();
    b->spent += b->step;
    if (b->step < b->max_step)
        b->step = (uint16_t)(b->step * 2 < b->max_step ? b->step * 2 : b->max_step);
    return true;
}

/* True once the spin budget is spent (whatever comes after it). */
static inline bool
golf__backoff_done(golf__backoff *b)
{
    if (GOLF__UNLIKELY(b->step == 0))
        golf__backoff_start(b);
    return b->spent >= b->limit;
}

/* Starts the wait over, under the same budget. */
static inline void
golf__backoff_reset(golf__backoff *b)
{
    *b = GOLF__BACKOFF(b->budget);
}

#endif
