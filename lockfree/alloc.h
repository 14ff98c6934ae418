/* SPDX-License-Identifier: MIT */
/* Every allocation golf makes goes through these, so a test can make the n-th one fail
 * (allocation failure at every site: tests/regress/, tests/unit/). Free with free(). */
#ifndef GOLF_LOCKFREE_ALLOC_H
#define GOLF_LOCKFREE_ALLOC_H

#include <stddef.h>

/* malloc / calloc; NULL (errno ENOMEM) when the test hook says fail. */
void *golf__malloc(size_t size);
void *golf__calloc(size_t n, size_t size);
/* Aligned allocation: align a power of two, any size (no multiple-of-align rule). */
void *golf__aligned_alloc(size_t align, size_t size);

/* Test hook: the next n allocations succeed, then every one fails until it is reset;
 * n < 0: never fail (the default). Process-wide. Hidden like every golf__ symbol: the tests
 * link the static golf_internal, and the installed shared library does not export it. */
void golf__alloc_set_fail(long n);
/* Allocations made through golf since the process started (a test counts a call's sites). */
unsigned long golf__alloc_count(void);

#endif
