/* SPDX-License-Identifier: MIT */
/* Helpers for the regression programs (tests/regress/): a thread stalled on purpose inside golf,
 * a watchdog, and a result line. Plain C, no Criterion, so the TSan build runs them too. */
#ifndef GOLF_REGRESS_H
#define GOLF_REGRESS_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "golf_test.h" /* the sleep and clock helpers the Criterion tests use (no Criterion) */
#include "lockfree/chaos.h"

#define regress_sleep_us golf_test_sleep_us

/* Forking a busy parent in a sanitizer build. GCC 12's sanitizer runtimes are not fork-safe
 * with busy threads: ASan takes no allocator lock across fork() (LLVM added a fork interceptor
 * in 2023), so a child whose parent had a thread inside malloc at the fork hangs at its first
 * allocation; and a child's copy of memory other threads were writing at the fork is not always
 * a state they passed through (seen with a 60-line lock-word program, no golf, in 4-14 of 300
 * children under ASan or TSan, none of 1000 without). In those builds the busy threads bracket
 * each unit of work with regress_busy_begin/end and the forking thread brackets fork() with
 * regress_fork_quiesce/resume, so nothing runs at the fork; the release build forks them busy.
 * Resume in the parent only: the child's copy of the lock is write-held by a thread it does
 * not have, and an unlock there is undefined (glibc treats it as a read unlock), so a child
 * must not use these helpers. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define REGRESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define REGRESS_SANITIZED 1
#endif
#endif
#ifndef REGRESS_SANITIZED
#define REGRESS_SANITIZED 0
#endif

/* Writer-preferring: glibc's default lets busy readers starve the forking writer. */
static pthread_rwlock_t regress_fork_rw __attribute__((unused)) =
    PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

static inline void
regress_busy_begin(void)
{
    if (REGRESS_SANITIZED)
        pthread_rwlock_rdlock(&regress_fork_rw);
}

static inline void
regress_busy_end(void)
{
    if (REGRESS_SANITIZED)
        pthread_rwlock_unlock(&regress_fork_rw);
}

static inline void
regress_fork_quiesce(void)
{
    if (REGRESS_SANITIZED)
        pthread_rwlock_wrlock(&regress_fork_rw);
}

static inline void
regress_fork_resume(void)
{
    if (REGRESS_SANITIZED)
        pthread_rwlock_unlock(&regress_fork_rw);
}
#define regress_now_s golf_test_now_s

#define REGRESS_FAIL(...)                                                                          \
    do {                                                                                           \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                       \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)

#define REGRESS_CHECK(cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond))                                                                               \
            REGRESS_FAIL(__VA_ARGS__);                                                             \
    } while (0)

/* Waits up to `seconds` for *flag to become nonzero; false on time-out. */
static inline bool
regress_wait_flag(atomic_int *flag, double seconds)
{
    double end = regress_now_s() + seconds;
    while (!atomic_load(flag)) {
        if (regress_now_s() > end)
            return false;
        regress_sleep_us(200);
    }
    return true;
}

/* ---- a thread stalled mid-copy inside golf ----
 * regress_stall_page() returns one page mapped PROT_NONE. A thread whose golf call copies from or
 * into it takes SIGSEGV; the handler marks the stall, waits for regress_stall_release(), makes
 * the page readable and writable, and returns, so the faulting copy resumes where it stopped.
 * One stall page at a time per process. */

static void *regress_stall_addr;
static size_t regress_stall_len;
static atomic_int regress_stalled;  /* a thread is stopped in the handler */
static atomic_int regress_released; /* let it go */

static void
regress_segv_handler(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    char *a = (char *)si->si_addr;
    char *base = (char *)regress_stall_addr;
    if (base == NULL || a < base || a >= base + regress_stall_len) {
        signal(sig, SIG_DFL); /* a real fault: die of it */
        return;
    }
    atomic_store(&regress_stalled, 1);
    while (!atomic_load(&regress_released)) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    mprotect(regress_stall_addr, regress_stall_len, PROT_READ | PROT_WRITE);
}

static inline void *
regress_stall_page(size_t len)
{
    long pg = sysconf(_SC_PAGESIZE);
    len = (len + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        REGRESS_FAIL("mmap");
    memset(p, 0, len);
    regress_stall_addr = p;
    regress_stall_len = len;
    atomic_store(&regress_stalled, 0);
    atomic_store(&regress_released, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = regress_segv_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    return p;
}

/* Arms the page: the next access stalls. Fill it (e.g. the value to send) before arming. */
static inline void
regress_stall_arm(void)
{
    atomic_store(&regress_stalled, 0);
    atomic_store(&regress_released, 0);
    mprotect(regress_stall_addr, regress_stall_len, PROT_NONE);
}

static inline bool
regress_stall_wait(double seconds)
{
    return regress_wait_flag(&regress_stalled, seconds);
}

static inline void
regress_stall_release(void)
{
    atomic_store(&regress_released, 1);
}

/* Chooses the pool front end for the pools created next: percpu "0" forces the per-thread one,
 * NULL leaves the default (per-CPU where rseq is usable). */
static inline void
regress_pool_front_end(const char *percpu)
{
    if (percpu)
        setenv("GOLF_POOL_PERCPU", percpu, 1);
    else
        unsetenv("GOLF_POOL_PERCPU");
}

/* Exits with a failure message if the process is still running after `seconds` (a hang is a
 * failure, not a ctest time-out). */
static void
regress_alarm_handler(int sig)
{
    (void)sig;
    static const char msg[] =
        "FAIL: watchdog: the program hung (a stranded waiter or a deadlock)\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

static inline void
regress_watchdog(unsigned seconds)
{
    signal(SIGALRM, regress_alarm_handler);
    alarm(seconds);
}

/* Turns chaos schedules on (seed 1, every site) unless GOLF_CHAOS chose them already; true when
 * chaos is on afterwards (off in a build without chaos points). */
static inline bool
regress_chaos_default_on(void)
{
    const char *env = getenv("GOLF_CHAOS");
    if (!atomic_load_explicit(&golf__chaos.on, memory_order_relaxed) && !(env && *env))
        golf__chaos_set(1, 1);
    return atomic_load_explicit(&golf__chaos.on, memory_order_relaxed);
}

#endif
