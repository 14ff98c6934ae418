/* SPDX-License-Identifier: MIT */
/* The budget table and the pause-cost measurement behind golf__backoff (lockfree/backoff.h). */
#include "backoff.h"

#include <stdatomic.h>

#include "futex.h"

typedef struct budget_policy {
    uint32_t ns;
    uint16_t first_step, max_step; /* pauses; first == max: linear */
    uint8_t spent_do;              /* GOLF__SPENT_* */
    uint8_t yields;                /* GOLF__SPENT_YIELD: how many, or GOLF__YIELD_FOREVER */
    bool multi_cpu;                /* spin only if this process can run on two CPUs or more */
} budget_policy;

#define FOREVER GOLF__YIELD_FOREVER

/* clang-format off */
static const budget_policy policies[] = {
    /* A channel waiter watches its own word after every pause: it sees a peer's answer within
     * one pause of its store. */
    [GOLF__BUDGET_PARK]   = {GOLF__BUDGET_PARK_NS,   1,  1,  GOLF__SPENT_STOP,   0, false},
    /* Each step retries the operation, which touches shared lines: doubling spaces them out. */
    [GOLF__BUDGET_RETRY]  = {GOLF__BUDGET_RETRY_NS,  1,  64, GOLF__SPENT_YIELD,  1, false},
    /* Go's procyield(30) rounds, between which the mutex word is read again; Go spins only
     * where another CPU can run the holder, and so does golf. */
    [GOLF__BUDGET_MUTEX]  = {GOLF__BUDGET_MUTEX_NS,  30, 30, GOLF__SPENT_STOP,   0, true},
    /* A read of the lock word after every pause, a CAS only when it looks free. */
    [GOLF__BUDGET_LOCK]   = {GOLF__BUDGET_LOCK_NS,   1,  1,  GOLF__SPENT_STOP,   0, false},
    [GOLF__BUDGET_HOLDER] = {GOLF__BUDGET_HOLDER_NS, 1,  64, GOLF__SPENT_YIELD,  FOREVER, false},
    [GOLF__BUDGET_SLOT]   = {GOLF__BUDGET_SLOT_NS,   1,  64, GOLF__SPENT_YIELD,  4, false},
    [GOLF__BUDGET_CAS]    = {GOLF__BUDGET_CAS_NS,    1,  64, GOLF__SPENT_REPEAT, 0, false},
    [GOLF__BUDGET_COLD]   = {GOLF__BUDGET_COLD_NS,   1,  1,  GOLF__SPENT_YIELD,  FOREVER, false},
};
/* clang-format on */

/* Picoseconds per pause and the CPUs of this process; 0 until measured. Several threads may
 * measure at once: each stores a valid figure, any of them will do. */
static _Atomic uint32_t pause_ps;
static _Atomic uint32_t ncpu;

enum {
    PAUSES_PER_SAMPLE = 128,
    SAMPLES = 3,
    /* Bounds on a believable figure: below 0.5 ns the clock is coarser than the sample; above
     * 500 ns something preempted every sample (then a budget at least stays finite). */
    MIN_PS = 500,
    MAX_PS = 500000,
};

static uint32_t
measure(void)
{
    uint64_t best = UINT64_MAX;
    /* The fastest of a few samples: preemption only ever makes a sample slower. */
    for (int s = 0; s < SAMPLES; s++) {
        uint64_t t0 = golf__now_ns();
        for (int i = 0; i < PAUSES_PER_SAMPLE; i++)
            golf__cpu_relax();
        uint64_t dt = golf__now_ns() - t0;
        if (dt < best)
            best = dt;
    }
    uint64_t ps = best * 1000u / PAUSES_PER_SAMPLE;
    if (ps < MIN_PS)
        ps = MIN_PS;
    if (ps > MAX_PS)
        ps = MAX_PS;
    return (uint32_t)ps;
}

uint32_t
golf__backoff_pauses(uint32_t ns)
{
    /* relaxed: a standalone figure; nothing else is published with it. */
    uint32_t ps = atomic_load_explicit(&pause_ps, memory_order_relaxed);
    if (GOLF__UNLIKELY(ps == 0)) {
        ps = measure();
        atomic_store_explicit(&pause_ps, ps, memory_order_relaxed);
    }
    uint64_t n = (uint64_t)ns * 1000u / ps;
    return n == 0 ? 1 : n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

uint32_t
golf__backoff_ncpu(void)
{
    /* relaxed: as pause_ps. Read once, like Go's ncpu: a later change of the affinity mask is
     * not seen. */
    uint32_t n = atomic_load_explicit(&ncpu, memory_order_relaxed);
    if (GOLF__UNLIKELY(n == 0)) {
        cpu_set_t set;
        n = sched_getaffinity(0, sizeof set, &set) == 0 ? (uint32_t)CPU_COUNT(&set) : 0;
        if (n == 0)
            n = 2; /* unknown (more CPUs than the mask holds): assume a spin can help */
        atomic_store_explicit(&ncpu, n, memory_order_relaxed);
    }
    return n;
}

void
golf__backoff_start(golf__backoff *b)
{
    const budget_policy *p = &policies[b->budget];
    b->spent = 0;
    b->step = p->first_step;
    b->max_step = p->max_step;
    b->spent_do = p->spent_do;
    b->yields = p->yields;
    if (p->ns == 0 || (p->multi_cpu && golf__backoff_ncpu() < 2))
        b->limit = 0;
    else
        b->limit = golf__backoff_pauses(p->ns);
}

bool
golf__backoff_spent(golf__backoff *b)
{
    switch (b->spent_do) {
    case GOLF__SPENT_YIELD:
        if (b->yields == 0)
            return false;
        if (b->yields != GOLF__YIELD_FOREVER)
            b->yields--;
        sched_yield();
        return true;
    case GOLF__SPENT_REPEAT:
        for (uint32_t i = 0; i < b->step; i++)
            golf__cpu_relax();
        return true;
    default:
        return false;
    }
}
