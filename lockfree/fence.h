/* SPDX-License-Identifier: MIT */
/* A full memory barrier for the store->load (Dekker) pattern: a thread that stores X then loads Y
 * and one that stores Y then loads X cannot both read the old value when each puts this between
 * its store and its load. chan/ uses it in its slow waker path, golf__buf_wake ([F3] in
 * chan/README.md), where two wakers must each see the other's published slot.
 *
 * On x86-64 a locked read-modify-write of a stack word orders exactly like MFENCE for ordinary
 * memory and costs less (the choice of the Linux kernel's smp_mb() since 4.10): about the price
 * of the CAS that every channel operation already makes. No IPI, no system call: its cost does
 * not depend on what the host charges for those. Elsewhere, and under ThreadSanitizer (which
 * models C11 fences but not inline assembly), it is a seq_cst fence. */
#ifndef GOLF_LOCKFREE_FENCE_H
#define GOLF_LOCKFREE_FENCE_H

#include <stdatomic.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GOLF__FENCE_PORTABLE 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define GOLF__FENCE_PORTABLE 1
#endif

static inline void
golf__fence_full(void)
{
#if defined(__x86_64__) && !defined(GOLF__FENCE_PORTABLE)
    /* Adds 0 to the word at the stack pointer: the value never changes, no other thread can see
     * it; the lock prefix is the barrier. "memory": the compiler may not move loads or stores
     * across it either. */
    __asm__ __volatile__("lock; orl $0, (%%rsp)" ::: "memory", "cc");
#else
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

#endif
