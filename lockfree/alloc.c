/* SPDX-License-Identifier: MIT */
/* golf's allocation functions and the failure-injection hook (alloc.h). */
#include "alloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* Allocations left before failures start; < 0: never fail. Relaxed: a test sets it from the
 * thread that then calls golf, and concurrent users only need some count, not an order. */
static _Atomic long alloc_budget = -1;
/* Relaxed: a statistic for tests. */
static _Atomic unsigned long alloc_total;

void
golf__alloc_set_fail(long n)
{
    atomic_store_explicit(&alloc_budget, n < 0 ? -1 : n, memory_order_relaxed);
}

unsigned long
golf__alloc_count(void)
{
    return atomic_load_explicit(&alloc_total, memory_order_relaxed);
}

static bool
alloc_allowed(void)
{
    atomic_fetch_add_explicit(&alloc_total, 1, memory_order_relaxed);
    long b = atomic_load_explicit(&alloc_budget, memory_order_relaxed);
    while (b >= 0) {
        if (b == 0) {
            errno = ENOMEM;
            return false;
        }
        if (atomic_compare_exchange_weak_explicit(&alloc_budget, &b, b - 1, memory_order_relaxed,
                                                  memory_order_relaxed))
            return true;
    }
    return true;
}

void *
golf__malloc(size_t size)
{
    return alloc_allowed() ? malloc(size) : NULL;
}

void *
golf__calloc(size_t n, size_t size)
{
    return alloc_allowed() ? calloc(n, size) : NULL;
}

void *
golf__aligned_alloc(size_t align, size_t size)
{
    void *p;
    if (!alloc_allowed())
        return NULL;
    int rc = posix_memalign(&p, align, size);
    if (rc != 0) {
        errno = rc;
        return NULL;
    }
    return p;
}
