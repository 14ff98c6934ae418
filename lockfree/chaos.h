/* SPDX-License-Identifier: MIT */
/* Chaos schedules: random yields, spins and short sleeps at golf's named synchronisation points,
 * reproducible from a seed (GOLF_CHAOS=SEED; lockfree/README.md, "chaos.h").
 *
 * A site is one line, GOLF__POINT(NAME), in a window a module README argues about (a slot
 * reserved but not yet stamped, a waiter registered but not yet re-checked, a lock released but
 * its waiter not yet woken). Off, a site costs one load of a read-mostly flag on its own cache
 * line and a branch predicted not taken; on, it draws the next decision of the calling thread's
 * generator and acts on it (golf__chaos_point, out of line). */
#ifndef GOLF_LOCKFREE_CHAOS_H
#define GOLF_LOCKFREE_CHAOS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cacheline.h"

/* Every site: its name and the window it widens. Add a site here, place GOLF__POINT(NAME) in
 * the window, and list it in the module's README. */
/* clang-format off */
#define GOLF__CHAOS_SITES(X)                                                                      \
    X(RING_PUSH_RESERVED,  "ring: push won its position, slot not yet written and stamped")       \
    X(RING_POP_RESERVED,   "ring: pop won its position, slot not yet read and stamped")           \
    X(BUF_AFTER_OP,        "chan: buffered push/pop stamped, waiter counts not yet loaded")       \
    X(BUF_WAKE,            "chan: waker past its fence, readiness not yet checked")               \
    X(BUF_WAKE_IN_FLIGHT,  "chan: a waker found the head slot mid-copy: the holder wakes")        \
    X(WAITQ_REGISTERED,    "chan: nodes linked and counted, cases not yet re-checked")            \
    X(WAITQ_CLAIMED,       "chan: waiter claimed (CLAIMED), not yet finished (DONE)")             \
    X(WAITQ_NOTIFY,        "chan: hint claimed and lock released, sleeper not yet woken")         \
    X(PARK_SLEEP,          "chan: SLEEPING set, futex_wait not yet entered")                      \
    X(SELECT_IN_FLIGHT,    "chan: registered, a case waits on a slot another thread holds")       \
    X(SELECT_ROUND,        "chan: a blocking round's first try failed, not yet registered")       \
    X(ZERO_SLOT_ENTER,     "chan: unbuffered tries failed, hand-off slot not yet entered")       \
    X(ZERO_SLOT,           "chan: unbuffered waiter in the hand-off slot, peers not yet checked") \
    X(CHAN_CLOSE,          "chan: closed mark set, waiters not yet woken")                        \
    X(UNB_BLOCK_STEP,      "chan: unbounded tail left its block step, next block not yet linked") \
    X(SEMA_RELEASE,        "sync: semaphore count raised, sleeper not yet woken")                 \
    X(SEMA_ACQUIRE,        "sync: semaphore found empty, futex_wait not yet entered")             \
    X(MUTEX_UNLOCK,        "sync: mutex released by its CAS, waiter not yet woken")               \
    X(MUTEX_WAIT,          "sync: mutex waiter counted, futex_wait not yet entered")              \
    X(RWMUTEX_UNLOCK,      "sync: writer released, readers not yet woken")                        \
    X(RWMUTEX_RUNLOCK,     "sync: reader departed, writer not yet told")                          \
    X(ONCE_DONE,           "sync: once function returned, done not yet stored")                   \
    X(WG_ADD,              "sync: waitgroup counter changed, waiters not yet woken")              \
    X(WG_WAIT,             "sync: waitgroup waiter counted, futex_wait not yet entered")          \
    X(COND_WAIT,           "sync: cond ticket taken and mutex unlocked, node not yet listed")     \
    X(MAP_BUCKET_LOCKED,   "map: bucket lock held, chain not yet changed")                        \
    X(MAP_RESIZE_MOVE,     "map: chain copied to the next table, not yet marked MOVED")           \
    X(MAP_RANGE_WALK,      "map: range between two chains")                                      \
    X(POOL_DEPOT,          "pool: magazine exchange with the depot, lock not yet taken")          \
    X(POOL_THREAD,         "pool: per-thread cache (the rseq fallback), cache lock not yet taken")\
    X(TIMER_FIRE,          "timer: deadline reached, fire not yet delivered")
/* clang-format on */

typedef enum golf__site {
#define GOLF__CHAOS_ENUM(name, what) GOLF__SITE_##name,
    GOLF__CHAOS_SITES(GOLF__CHAOS_ENUM)
#undef GOLF__CHAOS_ENUM
        GOLF__SITE_COUNT
} golf__site;

/* The flag every site loads: read-mostly, alone on its cache line so no written word shares it.
 * Set once at load time from GOLF_CHAOS (or by the test hook below, before threads start). */
typedef struct golf__chaos_flag {
    GOLF__CACHE_ALIGNED _Atomic int on;
} golf__chaos_flag;
extern golf__chaos_flag golf__chaos;

/* What a site does on its turn, drawn from the thread's generator. */
enum {
    GOLF__CHAOS_NOTHING = 0,
    GOLF__CHAOS_SPIN = 1,  /* arg pauses */
    GOLF__CHAOS_YIELD = 2, /* sched_yield() */
    GOLF__CHAOS_SLEEP = 3, /* arg microseconds */
};

/* One decision, as the test hook records it. */
typedef struct golf__chaos_step {
    uint16_t site;
    uint16_t action;
    uint32_t arg;
} golf__chaos_step;

/* Acts on the calling thread's next decision at `site`. Only reached while chaos is on. */
__attribute__((cold, noinline)) void golf__chaos_point(golf__site site);

/* relaxed: the flag is written before any thread that reads it starts (at load time). */
#define GOLF__POINT(name)                                                                          \
    do {                                                                                           \
        if (GOLF__UNLIKELY(atomic_load_explicit(&golf__chaos.on, memory_order_relaxed)))           \
            golf__chaos_point(GOLF__SITE_##name);                                                  \
    } while (0)

/* The site's name ("RING_PUSH_RESERVED"), NULL out of range. */
const char *golf__chaos_site_name(int site);

/* ---- test hooks (tests only) ---- */

/* Turns chaos on with `seed` (quietly: only a seed from GOLF_CHAOS is printed) or off (on ==
 * 0), and restarts the thread numbering: the next thread to reach a site is thread 0 again.
 * Call it while no other thread uses golf. */
void golf__chaos_set(int on, uint64_t seed);

/* Records the calling thread's next decisions into buf (cap entries; NULL stops). Returns the
 * number recorded since the previous call. */
size_t golf__chaos_record(golf__chaos_step *buf, size_t cap);

/* How many times `site` was reached while chaos was on, since the process started. */
uint64_t golf__chaos_hits(golf__site site);

#endif
