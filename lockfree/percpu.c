/* Per-CPU helpers. */
#define _GNU_SOURCE
#include "lockfree/percpu.h"

#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

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
    /* glibc >= 2.35 implements sched_getcpu() by reading rseq->cpu_id when rseq is registered,
     * so this is a plain load on such systems and a vDSO call elsewhere. */
    int c = sched_getcpu();
    unsigned n = golf__ncpu_slots();
    return c < 0 ? 0u : (unsigned)c % n;
}
