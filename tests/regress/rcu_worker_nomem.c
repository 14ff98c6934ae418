/* SPDX-License-Identifier: MIT */
/* Regression (related to issue bug 7): the deferred-work thread cannot be created.
 *
 * Before the fix liburcu created its call_rcu thread lazily, inside the first deferred free (a
 * map that grew), and aborted the process when it could not ("Unrecoverable error: Cannot
 * allocate memory"). golf's worker is created by golf_map_new, which reports the failure:
 * NULL + ENOMEM, and nothing else changes. Two ways to fail: the allocation failure hook (the
 * worker's control block is a golf allocation), and an address-space limit under which no
 * thread stack fits (release build only: the sanitizers' shadow memory does not mix with
 * RLIMIT_AS). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

#include "golf/syncmap.h"
#include "lockfree/alloc.h"
#include "regress/regress.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

static int ran;

static void
count(void *v)
{
    (void)v;
    ran++;
}

static void
use_map(golf_map *m)
{
    for (uint64_t k = 0; k < 5000; k++) /* grows: retired tables */
        REGRESS_CHECK(golf_map_store(m, &k, 8, (void *)(uintptr_t)(k + 1)) == GOLF_OK, "store");
    golf_map_retire(m, NULL, count);
}

#ifndef SANITIZED
/* Bytes of address space in use now (from /proc/self/statm, in pages). */
static unsigned long
vm_size(void)
{
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return pages * (unsigned long)sysconf(_SC_PAGESIZE);
}
#endif

int
main(void)
{
    regress_watchdog(60);
#ifndef SANITIZED
    /* No room for a thread stack (8 MiB by default); small allocations still fit. */
    struct rlimit old, lim;
    getrlimit(RLIMIT_AS, &old);
    lim = old;
    lim.rlim_cur = vm_size() + (2ul << 20);
    REGRESS_CHECK(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit");
    errno = 0;
    golf_map *m0 = golf_map_new();
    if (m0 != NULL) {
        use_map(m0); /* the unfixed code aborts in here, in liburcu's lazy thread creation */
        golf_map_free(m0);
    }
    setrlimit(RLIMIT_AS, &old);
    REGRESS_CHECK(m0 == NULL && errno == ENOMEM,
                  "golf_map_new with no room for a thread: %p, errno %d", (void *)m0, errno);
#endif
    /* The allocation failure hook: the worker's control block is the first allocation. */
    golf__alloc_set_fail(0);
    errno = 0;
    golf_map *m1 = golf_map_new();
    golf__alloc_set_fail(-1);
    REGRESS_CHECK(m1 == NULL && errno == ENOMEM, "golf_map_new with allocations failing");
    /* Nothing was left half-done: the next map works, deferred frees included. */
    golf_map *m = golf_map_new();
    REGRESS_CHECK(m != NULL, "golf_map_new after the failures");
    use_map(m);
    golf_map_free(m);
    REGRESS_CHECK(ran == 1, "retired fn ran %d times", ran);
    printf("ok: worker creation failures reported by golf_map_new\n");
    return 0;
}
