/* SPDX-License-Identifier: MIT */
/* What golf's threads wait on: the deadlock detector, GOLF_BLOCK_REPORT and GOLF_STATS
 * (lockfree/README.md, "watch.h").
 *
 * Every park of a golf operation (a channel's waiter, a mutex, an RWMutex, a WaitGroup, a
 * Cond) sleeps through golf__wait_until() instead of golf__futex_wait_until(), naming what it
 * waits on; the operation calls golf__wait_end() once it stops waiting (after the loop that
 * may park several times). Everything here runs only on those park paths: the fast paths of
 * the operations never reach it. The environment is read once, by a constructor:
 *   GOLF_DEADLOCK=0         turns the deadlock detector off (on by default)
 *   GOLF_BLOCK_REPORT=MS    report every wait longer than MS ms, again at each doubling
 *   GOLF_STATS=1            per-kind wait statistics at exit
 *   GOLF_LOCKORDER=1|warn   lock-order checking (sync/lockorder.c reads golf__debug.lockorder) */
#ifndef GOLF_LOCKFREE_WATCH_H
#define GOLF_LOCKFREE_WATCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cacheline.h"

/* What a parked thread waits on (the deadlock report says it in Go's words). */
typedef enum golf__wait_kind {
    GOLF__WAIT_CHAN_RECV_NIL,   /* chan receive (nil chan) */
    GOLF__WAIT_CHAN_RECV,       /* chan receive */
    GOLF__WAIT_CHAN_SEND_NIL,   /* chan send (nil chan) */
    GOLF__WAIT_CHAN_SEND,       /* chan send */
    GOLF__WAIT_SELECT,          /* select */
    GOLF__WAIT_SELECT_NO_CASES, /* select (no cases) */
    GOLF__WAIT_MUTEX_LOCK,      /* sync.Mutex.Lock */
    GOLF__WAIT_RWMUTEX_RLOCK,   /* sync.RWMutex.RLock */
    GOLF__WAIT_RWMUTEX_LOCK,    /* sync.RWMutex.Lock */
    GOLF__WAIT_WAITGROUP_WAIT,  /* sync.WaitGroup.Wait */
    GOLF__WAIT_COND_WAIT,       /* sync.Cond.Wait */
    GOLF__WAIT_IDLE,            /* a golf service thread with no work: counted asleep, never
                                   reported, no statistics */
    GOLF__WAIT_KINDS
} golf__wait_kind;

/* GOLF__DEBUG_* bits of golf__debug.watch. */
enum {
    GOLF__DEBUG_DEADLOCK = 1,                                   /* the detector is on */
    GOLF__DEBUG_REPORT = 2,                                     /* GOLF_BLOCK_REPORT is set */
    GOLF__DEBUG_STATS = 4,                                      /* GOLF_STATS=1 */
    GOLF__DEBUG_TIMED = GOLF__DEBUG_REPORT | GOLF__DEBUG_STATS, /* waits are timed */
};

/* GOLF_LOCKORDER: golf__debug.lockorder. */
enum { GOLF__LOCKORDER_OFF = 0, GOLF__LOCKORDER_ABORT = 1, GOLF__LOCKORDER_WARN = 2 };

/* The settings, written once by the constructor (before main, before any golf call of a
 * thread the program starts) and only read afterwards: plain fields, on a line of their own so
 * the fast paths that test `lockorder` never share it with a written word. */
typedef struct golf__debug_settings {
    GOLF__CACHE_ALIGNED uint8_t watch; /* GOLF__DEBUG_* */
    uint8_t lockorder;                 /* GOLF__LOCKORDER_* */
    uint64_t report_ns;                /* GOLF_BLOCK_REPORT in ns */
} golf__debug_settings;

/* Hidden in the declaration too, so the fast paths address it directly (no GOT load). */
extern __attribute__((visibility("hidden"))) golf__debug_settings golf__debug;

/* Parks like golf__futex_wait_until(word, expected, deadline_ns), accounted as a wait of
 * `kind` on `obj`. Returns 0 (woken, word changed, signal, or an internal timeout: callers
 * re-check and loop, as for any futex wait) or GOLF_ETIMEDOUT once deadline_ns has passed.
 * An untimed wait (GOLF__FOREVER) counts the thread as asleep for the deadlock detector; a
 * wait with a deadline counts it as awake. */
int golf__wait_until(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns,
                     golf__wait_kind kind, const void *obj);

/* golf__wait_until for a channel operation or a select: the kind and the object come from the
 * cases (cases points to golf_case[n]; n == 1 is a single send or receive). */
int golf__wait_cases(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns,
                     const void *cases, size_t n);

void golf__wait_end_timed(void);

/* Test hook: the first confirmation delay of the deadlock detector (5 ms). A test sets it
 * tiny, before it starts threads, so that confirmations run all the time and any race in them
 * shows up as a false report. Hidden (tests link golf_internal). */
extern uint64_t golf__watch_test_confirm_ns;

/* The operation stopped waiting (it parked zero or more times): closes its blocked time for
 * GOLF_STATS and GOLF_BLOCK_REPORT. A load and a branch when neither is set. */
static inline void
golf__wait_end(void)
{
    if (GOLF__UNLIKELY(golf__debug.watch & GOLF__DEBUG_TIMED))
        golf__wait_end_timed();
}

#endif
