/* SPDX-License-Identifier: MIT */
/* Cache-line helpers: keep independently written words on separate lines (no false sharing). */
#ifndef GOLF_LOCKFREE_CACHELINE_H
#define GOLF_LOCKFREE_CACHELINE_H

#include <stdalign.h>

/* 128, not 64: adjacent-line prefetch on x86 pulls lines in pairs (crossbeam's CachePadded and
 * Go's poolLocal pad to 128 for the same reason). */
#define GOLF_CACHELINE 128
#define GOLF__CACHE_ALIGNED alignas(GOLF_CACHELINE)

/* One 64-byte line, for objects a program may make by the million (a channel and its ring):
 * there the pair padding would double the footprint; chan/README.md measures what each line
 * buys. */
#define GOLF__LINE 64
#define GOLF__LINE_ALIGNED alignas(GOLF__LINE)

/* A pause hint for spin loops: lets the sibling hyper-thread run and saves power. */
static inline void
golf__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

#define GOLF__LIKELY(x) __builtin_expect(!!(x), 1)
#define GOLF__UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif
