/* SPDX-License-Identifier: MIT */
/* Per-CPU helpers. */
#include "percpu.h"

#include "cacheline.h"
#include "fatal.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>
#if GOLF__HAVE_RSEQ
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

static _Atomic unsigned ncpu_cache; /* 0 until first computed; relaxed: the value is idempotent */

unsigned
golf__ncpu_slots(void)
{
    unsigned n = atomic_load_explicit(&ncpu_cache, memory_order_relaxed);
    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_CONF);
        n = c < 1 ? 1u : (unsigned)c;
        atomic_store_explicit(&ncpu_cache, n, memory_order_relaxed);
    }
    return n;
}

unsigned
golf__cpu_id(void)
{
    unsigned n = golf__ncpu_slots();
#if GOLF__HAVE_RSEQ
    /* A registered thread's cpu_id is kept current by the kernel: one load, no syscall. */
    int32_t rc = (int32_t)((volatile struct rseq *)golf__rseq_area())->cpu_id;
    if (rc >= 0)
        return (unsigned)rc % n;
#endif
    int c = sched_getcpu();
    return c < 0 ? 0u : (unsigned)c % n;
}

#if GOLF__HAVE_RSEQ

/* 0: not computed yet, 1: usable, 2: not usable. Written once under rseq_once. Readers load it
 * relaxed and fall into pthread_once when it is 0; pthread_once gives the happens-before for
 * the first reader, later ones only need the value, which is all this word carries. */
static _Atomic int rseq_state;
static pthread_once_t rseq_once = PTHREAD_ONCE_INIT;

static void
rseq_probe(void)
{
    int ok = __rseq_size >= 20 && golf__rseq_registered() &&
             syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0;
    atomic_store_explicit(&rseq_state, ok ? 1 : 2, memory_order_relaxed);
}

bool
golf__rseq_usable(void)
{
    int s = atomic_load_explicit(&rseq_state, memory_order_relaxed);
    if (GOLF__UNLIKELY(s == 0)) {
        pthread_once(&rseq_once, rseq_probe);
        s = atomic_load_explicit(&rseq_state, memory_order_relaxed);
    }
    return s == 1 && golf__rseq_registered();
}

#ifndef MEMBARRIER_CMD_FLAG_CPU
#define MEMBARRIER_CMD_FLAG_CPU (1 << 0) /* Linux 5.10 */
#endif

/* The fence one CPU at a time. The all-CPU form fails with ENOMEM when the kernel cannot
 * allocate its CPU mask; this one allocates nothing. A thread that moves from a CPU not yet
 * visited to one already visited is preempted on the way, which aborts its section too. */
static bool
rseq_fence_each_cpu(void)
{
    unsigned n = golf__ncpu_slots();
    for (unsigned c = 0; c < n; c++)
        if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU,
                    (int)c) != 0)
            return false;
    return true;
}

void
golf__rseq_fence(void)
{
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0)
        return;
    /* EPERM: this mm is not registered, e.g. in the child of a fork(). Register and retry. */
    if (errno == EPERM &&
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0 &&
        syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0)
        return;
    if (errno == ENOMEM && rseq_fence_each_cpu())
        return;
    /* Going on would let a section that missed the lock commit into a slot being emptied. */
    golf__fatal("golf: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) failed");
}

#else

bool
golf__rseq_usable(void)
{
    return false;
}

void
golf__rseq_fence(void)
{
}

#endif
