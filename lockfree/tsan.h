/* SPDX-License-Identifier: MIT */
/* ThreadSanitizer support: GOLF__TSAN is defined when this file is compiled with
 * -fsanitize=thread (golf's TSan build and the installed libgolf_tsan flavour), and
 * GOLF__TSAN_RELEASE/ACQUIRE(addr) tell the TSan runtime about an ordering it cannot see (one
 * made by uninstrumented code, liburcu's grace periods: lockfree/README.md, "ThreadSanitizer").
 * Elsewhere they compile to nothing. */
#ifndef GOLF_LOCKFREE_TSAN_H
#define GOLF_LOCKFREE_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define GOLF__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GOLF__TSAN 1
#endif
#endif

#if defined(GOLF__TSAN)
/* The TSan runtime's annotation entry points (<sanitizer/tsan_interface.h> declares them; that
 * header is not installed with every compiler, the functions are). A release on addr
 * happens-before every later acquire on addr, as for a mutex. */
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define GOLF__TSAN_RELEASE(addr) __tsan_release((void *)(addr))
#define GOLF__TSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
/* Between these, the calling thread's atomic operations and locks order nothing for TSan: for
 * golf's own bookkeeping, whose orderings are not the user's (the deadlock detector's count of
 * parked threads would otherwise order a sender's write after its send before the receiver's
 * read, and hide that race). */
void AnnotateIgnoreSyncBegin(const char *file, int line);
void AnnotateIgnoreSyncEnd(const char *file, int line);
#define GOLF__TSAN_IGNORE_SYNC_BEGIN() AnnotateIgnoreSyncBegin(__FILE__, __LINE__)
#define GOLF__TSAN_IGNORE_SYNC_END() AnnotateIgnoreSyncEnd(__FILE__, __LINE__)
#else
#define GOLF__TSAN_RELEASE(addr) ((void)0)
#define GOLF__TSAN_ACQUIRE(addr) ((void)0)
#define GOLF__TSAN_IGNORE_SYNC_BEGIN() ((void)0)
#define GOLF__TSAN_IGNORE_SYNC_END() ((void)0)
#endif

#endif
