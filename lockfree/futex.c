/* SPDX-License-Identifier: MIT */
/* Futex parking. Linux only: the raw syscall, private futexes, CLOCK_MONOTONIC deadlines. */
#include "futex.h"
#include "golf/error.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t
golf__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
golf__deadline(uint64_t timeout_ns)
{
    if (timeout_ns == GOLF__FOREVER)
        return GOLF__FOREVER;
    uint64_t now = golf__now_ns();
    return timeout_ns > GOLF__FOREVER - now ? GOLF__FOREVER : now + timeout_ns;
}

int
golf__futex_wait_until(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns)
{
    struct timespec ts, *tsp = NULL;
    if (deadline_ns != GOLF__FOREVER) {
        /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. */
        ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
        ts.tv_nsec = (long)(deadline_ns % 1000000000u);
        tsp = &ts;
    }
    long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected,
                      tsp, NULL, FUTEX_BITSET_MATCH_ANY);
    if (rc == -1 && errno == ETIMEDOUT)
        return GOLF_ETIMEDOUT;
    /* 0, EAGAIN (the word had changed) or EINTR: the caller re-checks its condition. */
    return 0;
}

int
golf__futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    return golf__futex_wait_until(word, expected, golf__deadline(timeout_ns));
}

int
golf__futex_wake(_Atomic uint32_t *word, int n)
{
    long rc =
        syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL, NULL, 0);
    return rc < 0 ? 0 : (int)rc;
}
