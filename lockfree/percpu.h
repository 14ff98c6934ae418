/* Per-CPU helpers: which CPU this thread runs on, cheaply, and how many slots to allocate.
 *
 * golf__cpu_id() is a hint: the thread may migrate right after reading it. Code that indexes
 * per-CPU data with it must stay correct when two threads use the same slot at once (atomic
 * updates, or a restartable sequence, see pool/README.md). */
#ifndef GOLF_LOCKFREE_PERCPU_H
#define GOLF_LOCKFREE_PERCPU_H

#include <stdint.h>

/* The CPU this thread last ran on, in [0, golf__ncpu_slots()). Reads the rseq area that glibc
 * (2.35+) registers for every thread when there is one, else sched_getcpu(). */
unsigned golf__cpu_id(void);

/* How many per-CPU slots to allocate: the number of configured CPUs (at least 1). Constant for
 * the life of the process. */
unsigned golf__ncpu_slots(void);

#endif
