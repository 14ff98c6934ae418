/* SPDX-License-Identifier: MIT */
/* Spin budgets in time, not in pause counts.
 *
 * A `pause` costs 10 ns on one CPU and 140 ns on the next (Intel raised it ~14x in Skylake;
 * AMD's varies by generation and under a hypervisor), so "spin 512 pauses" means 5 us on one
 * host and 70 us on another. golf states every spin budget in nanoseconds and converts it with
 * the pause cost this process measured once (golf__spin_pauses), so a budget means the same
 * wait on every host. */
#ifndef GOLF_LOCKFREE_SPIN_H
#define GOLF_LOCKFREE_SPIN_H

#include <stdint.h>

/* The named budgets. Each is the longest a waiter spins before it blocks, and each is chosen
 * against the cost of blocking, not tuned to one machine (lockfree/README.md, "Spin budgets"). */
enum {
    /* A parked channel waiter (chan/): a futex sleep plus the wake-up costs the waker a system
     * call (0.1-1.3 us on the hosts we measured) and the sleeper a wake-to-run latency of a few
     * to tens of us. Spinning about as long as the cheap end of that, then sleeping, is within
     * 2x of the best choice made in hindsight whichever way the wait turns out (the classic
     * spin-then-block argument), and it covers one cross-CPU round trip (0.1-0.5 us) many
     * times over, so a peer that is running answers before we sleep. */
    GOLF__SPIN_PARK_NS = 10000,
    /* golf__lock (lockfree/lock.h; a channel's waiter lists): critical sections of tens of ns; a
     * holder that is not done after this is off its CPU, and sleeping is the better bet. */
    GOLF__SPIN_LOCK_NS = 2000,
    /* A buffered channel operation that found nothing, retrying before it registers: a
     * registration and its undoing cost a lock and a few read-modify-writes (~0.5 us), so a
     * few us of retrying wins whenever the peer is active on another CPU, and costs little
     * when it is not. */
    GOLF__SPIN_RETRY_NS = 3000,
};

/* How many pause instructions take about `ns` nanoseconds here (at least 1). The first call
 * measures a pause (about 10 us, once per process); later calls are one relaxed load. */
uint32_t golf__spin_pauses(uint32_t ns);

/* The measured cost of one pause, in picoseconds (measures on first use). */
uint32_t golf__spin_pause_ps(void);

#endif
