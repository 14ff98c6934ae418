/* SPDX-License-Identifier: MIT */
/* Futex parking on a 32-bit word (private futexes: the word never leaves the process).
 *
 * The contract that prevents lost wake-ups (see lockfree/README.md):
 *   waiter:  publish "I am waiting" -> full fence -> re-check the condition
 *            -> futex_wait(word, seen)
 *   waker:   change the condition -> change *word* -> futex_wake(word)
 * futex_wait sleeps only if *word still equals `expected` when the kernel looks, so a waker that
 * changed the word first is never missed. */
#ifndef GOLF_LOCKFREE_FUTEX_H
#define GOLF_LOCKFREE_FUTEX_H

#include <stdatomic.h>
#include <stdint.h>

#define GOLF__FOREVER UINT64_MAX

/* Sleeps while *word == expected, for at most timeout_ns (GOLF__FOREVER: no limit).
 * Returns 0 when woken, when *word != expected, or on a signal (callers re-check and loop: a
 * return is only a hint), GOLF_ETIMEDOUT when the timeout passed. */
int golf__futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t timeout_ns);

/* Like golf__futex_wait with an absolute CLOCK_MONOTONIC deadline in ns (GOLF__FOREVER: none),
 * so a loop of spurious wake-ups cannot stretch a timeout. */
int golf__futex_wait_until(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns);

/* Wakes up to n threads sleeping on word (INT32_MAX: all). Returns how many were woken. */
int golf__futex_wake(_Atomic uint32_t *word, int n);

/* CLOCK_MONOTONIC now, in ns (vDSO: no syscall). */
uint64_t golf__now_ns(void);

/* now + timeout_ns, saturating at GOLF__FOREVER. */
uint64_t golf__deadline(uint64_t timeout_ns);

#endif
