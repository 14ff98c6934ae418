/* SPDX-License-Identifier: MIT */
/* The pause-cost measurement behind golf__spin_pauses (lockfree/spin.h). */
#include "lockfree/spin.h"

#include <stdatomic.h>

#include "lockfree/cacheline.h"
#include "lockfree/futex.h"

/* Picoseconds per pause; 0 until measured. Several threads may measure at once: each stores a
 * valid figure, any of them will do. */
static _Atomic uint32_t pause_ps;

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
golf__spin_pause_ps(void)
{
    /* relaxed: a standalone figure; nothing else is published with it. */
    uint32_t ps = atomic_load_explicit(&pause_ps, memory_order_relaxed);
    if (GOLF__UNLIKELY(ps == 0)) {
        ps = measure();
        atomic_store_explicit(&pause_ps, ps, memory_order_relaxed);
    }
    return ps;
}

uint32_t
golf__spin_pauses(uint32_t ns)
{
    uint64_t n = (uint64_t)ns * 1000u / golf__spin_pause_ps();
    return n == 0 ? 1 : n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}
