/* SPDX-License-Identifier: MIT */
/* The replacement malloc family of golf_oom: glibc's allocator behind a countdown. Defining
 * these in the executable interposes them for the whole process, glibc's and ld.so's internal
 * allocations included (glibc supports replacing malloc this way; the functions below are the
 * set its manual says a replacement must provide). AddressSanitizer and ThreadSanitizer
 * intercept the same symbols, which is why tests/CMakeLists.txt builds this program only
 * without sanitizers. */
#include "oom.h"

#include <malloc.h> /* memalign, pvalloc: glibc declares them here, not in <stdlib.h> */
#include <stdatomic.h>
#include <stdint.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

/* Allocations left before failures start; < 0: never fail. seq_cst throughout: a test
 * program, and the golf worker allocates on its own thread. */
static _Atomic long left = -1;
static _Atomic long injected;
static _Atomic long calls;

void
oom_arm(long k)
{
    atomic_store(&injected, 0);
    atomic_store(&left, k);
}

void
oom_disarm(void)
{
    atomic_store(&left, -1);
}

long
oom_injected(void)
{
    return atomic_load(&injected);
}

long
oom_calls(void)
{
    return atomic_load(&calls);
}

static bool
allowed(void)
{
    atomic_fetch_add(&calls, 1);
    long b = atomic_load(&left);
    while (b > 0)
        if (atomic_compare_exchange_weak(&left, &b, b - 1))
            return true;
    if (b < 0)
        return true;
    atomic_fetch_add(&injected, 1);
    errno = ENOMEM;
    return false;
}

void *
malloc(size_t size)
{
    return allowed() ? __libc_malloc(size) : NULL;
}

void *
calloc(size_t n, size_t size)
{
    return allowed() ? __libc_calloc(n, size) : NULL;
}

void *
realloc(void *p, size_t size)
{
    if (p != NULL && size == 0)
        return __libc_realloc(p, 0); /* a free */
    return allowed() ? __libc_realloc(p, size) : NULL;
}

void
free(void *p)
{
    __libc_free(p);
}

void *
memalign(size_t align, size_t size)
{
    return allowed() ? __libc_memalign(align, size) : NULL;
}

void *
aligned_alloc(size_t align, size_t size)
{
    return memalign(align, size);
}

int
posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    void *p = memalign(align, size);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

void *
valloc(size_t size)
{
    return allowed() ? __libc_valloc(size) : NULL;
}

void *
pvalloc(size_t size)
{
    return allowed() ? __libc_pvalloc(size) : NULL;
}
