/* SPDX-License-Identifier: MIT */
/* Fatal errors: corrupted synchronisation state, reported in Go's words, then abort(). */
#ifndef GOLF_LOCKFREE_FATAL_H
#define GOLF_LOCKFREE_FATAL_H

/* Prints "fatal error: <msg>" to stderr and aborts. Kept out of line and cold so the callers'
 * fast paths stay small. */
__attribute__((noreturn, cold, noinline)) void golf__fatal(const char *msg);

#endif
