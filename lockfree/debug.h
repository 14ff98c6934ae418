/* SPDX-License-Identifier: MIT */
/* GOLF__ASSERT: a module README's numbered invariant checked where the README says it holds,
 * in the GOLF_DEBUG build tier only (docs/CONTRIBUTING.md, "The debug tier"). Elsewhere the
 * condition is compiled out: it is type-checked, never evaluated. */
#ifndef GOLF_LOCKFREE_DEBUG_H
#define GOLF_LOCKFREE_DEBUG_H

/* Prints "golf: invariant broken: <what> (<file>:<line>: <cond>)" to stderr and aborts. */
__attribute__((noreturn, cold, noinline)) void golf__assert_fail(const char *what, const char *file,
                                                                 int line, const char *cond);

#ifdef GOLF_DEBUG
/* `what` starts with the invariant's id as its README numbers it: "I3 ring: ...". */
#define GOLF__ASSERT(cond, what)                                                                   \
    do {                                                                                           \
        if (__builtin_expect(!(cond), 0))                                                          \
            golf__assert_fail(what, __FILE__, __LINE__, #cond);                                    \
    } while (0)
#else
#define GOLF__ASSERT(cond, what)                                                                   \
    do {                                                                                           \
        (void)sizeof(!(cond));                                                                     \
    } while (0)
#endif

#endif
