/* SPDX-License-Identifier: MIT */
/* Per-CPU helpers: which CPU this thread runs on, cheaply, how many slots to allocate, and the
 * Linux restartable-sequence (rseq) plumbing that per-CPU data without atomics needs.
 *
 * golf__cpu_id() is a hint: the thread may migrate right after reading it. Code that indexes
 * per-CPU data with it must stay correct when two threads use the same slot at once (atomic
 * updates, or a restartable sequence, see pool/README.md).
 *
 * rseq in one paragraph: glibc (2.35+) registers a `struct rseq` area for every thread it
 * creates, at thread pointer + __rseq_offset. The kernel keeps `cpu_id_start`/`cpu_id` current,
 * and when a thread that has set `rseq_cs` to a critical-section descriptor is preempted,
 * migrated or signalled while its instruction pointer is inside [start_ip, start_ip +
 * post_commit_offset), the kernel moves it to `abort_ip` before it runs user code again. A
 * critical section that ends with one committing store therefore either happens entirely on
 * one CPU with no other thread of that CPU interleaved, or has no visible effect. The
 * sections themselves are asm (pool/pool_rseq.h); this file finds the area and fences. */
#ifndef GOLF_LOCKFREE_PERCPU_H
#define GOLF_LOCKFREE_PERCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CPU this thread last ran on, in [0, golf__ncpu_slots()). Reads the rseq area that glibc
 * (2.35+) registers for every thread when there is one, else sched_getcpu(). */
unsigned golf__cpu_id(void);

/* How many per-CPU slots to allocate: the number of configured CPUs (at least 1). Constant for
 * the life of the process. */
unsigned golf__ncpu_slots(void);

/* ---- rseq ---- */

/* GOLF__HAVE_RSEQ is 1 where this build can run rseq critical sections at all: x86-64 Linux
 * with a glibc that exports __rseq_offset (2.35+), and not under ThreadSanitizer (TSan cannot
 * see the asm's loads and stores, so it would report every object handed over through a
 * per-CPU slot as a race; the TSan build uses the per-thread fallback, see pool/README.md). */
#if defined(__x86_64__) && defined(__linux__) && defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#if defined(RSEQ_SIG)
#define GOLF__RSEQ_HEADER 1
#endif
#endif
#endif
#include "tsan.h" /* GOLF__TSAN */
#if defined(GOLF__RSEQ_HEADER) && !defined(GOLF__TSAN)
#define GOLF__HAVE_RSEQ 1
#else
#define GOLF__HAVE_RSEQ 0
#endif

#if GOLF__HAVE_RSEQ
/* This thread's rseq area (never NULL: glibc reserves it in every thread's TCB, registered or
 * not; an unregistered thread reads cpu_id < 0 there). */
static inline struct rseq *
golf__rseq_area(void)
{
    return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

/* True when this thread's rseq area is registered with the kernel. A plain volatile read: the
 * kernel writes cpu_id only on this thread's own return to user space. */
static inline bool
golf__rseq_registered(void)
{
    return (int32_t)((volatile struct rseq *)golf__rseq_area())->cpu_id >= 0;
}
#endif

/* True when per-CPU data may be driven by rseq critical sections in this process: the build
 * has GOLF__HAVE_RSEQ, glibc registered rseq (__rseq_size >= 20: it is 0 when disabled, e.g.
 * GLIBC_TUNABLES=glibc.pthread.rseq=0), the calling thread is registered, and
 * membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ) succeeded, so that
 * golf__rseq_fence() works. Computed once; later calls are one relaxed load. */
bool golf__rseq_usable(void);

/* Restarts every rseq critical section that is running right now in a thread of this process
 * on any CPU, and orders memory like a full barrier executed on each of those CPUs: stores the
 * caller made before the call are visible to any critical section that starts afterwards, and
 * stores those CPUs made before are visible to the caller after it returns.
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ). Only when golf__rseq_usable(). */
void golf__rseq_fence(void);

#endif
