/* SPDX-License-Identifier: MIT */
/* A stand-in for <criterion/criterion.h>, used only by the ThreadSanitizer build: Criterion's
 * sandbox maps its shared arena at a fixed address inside TSan's reserved range and aborts at
 * start-up ("Could not initialize inheritable arena"). This provides exactly what golf's unit
 * tests and Go ports use: Test(suite, name, .timeout = S, .signal = SIG), the cr_assert and
 * cr_expect families, cr_assert_fail and cr_skip_test. tests/tsan_shim/runner.c is the main().
 *
 * A failed cr_assert ends the test from any thread (message, then _exit from the test's forked
 * child), so an assertion in a helper thread fails the test as it would under Criterion; a failed
 * cr_expect marks the test failed and lets it go on. */
#ifndef GOLF_TSAN_SHIM_CRITERION_H
#define GOLF_TSAN_SHIM_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct golf_shim_test {
    const char *suite;
    const char *name;
    void (*fn)(void);
    double timeout; /* seconds; 0: none */
    int signal;     /* the test passes only if it dies of this signal; 0: must not die */
    struct golf_shim_test *next;
};

/* runner.c */
void golf_shim_register(struct golf_shim_test *t);
void golf_shim_fail(bool fatal, const char *file, int line, const char *expr, const char *values,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void golf_shim_skip(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
void golf_shim_value(char *buf, size_t len, const char *kind, ...);

/* Test(suite, name, .timeout = S, .signal = SIG) { body } */
#define Test(s_, n_, ...)                                                                          \
    static void golf_shim_fn_##s_##_##n_(void);                                                    \
    static struct golf_shim_test golf_shim_t_##s_##_##n_ = {                                       \
        .suite = #s_, .name = #n_, .fn = golf_shim_fn_##s_##_##n_, __VA_ARGS__};                   \
    __attribute__((constructor)) static void golf_shim_reg_##s_##_##n_(void)                       \
    {                                                                                              \
        golf_shim_register(&golf_shim_t_##s_##_##n_);                                              \
    }                                                                                              \
    static void golf_shim_fn_##s_##_##n_(void)

/* The message: an optional printf format and its arguments after the checked operands. The
 * leading "" makes an absent message an empty format. */
#define GOLF_SHIM_MSG(...) "" __VA_ARGS__

#define GOLF_SHIM_CHECK(fatal, cond, expr, ...)                                                    \
    do {                                                                                           \
        if (!(cond))                                                                               \
            golf_shim_fail(fatal, __FILE__, __LINE__, expr, NULL, GOLF_SHIM_MSG(__VA_ARGS__));     \
    } while (0)

/* Prints a scalar operand into a buffer: integers, floating point, pointers. Each kind names the
 * type golf_shim_value reads after the default argument promotions. */
/* clang-format off */
#define GOLF_SHIM_KIND(x)                                                                          \
    _Generic((x),                                                                                  \
             _Bool: "i", char: "i", signed char: "i", unsigned char: "i", short: "i",              \
             unsigned short: "i", int: "i", unsigned: "u", long: "l", unsigned long: "ul",         \
             long long: "ll", unsigned long long: "ull", float: "d", double: "d",                  \
             long double: "ld", default: "p")
/* clang-format on */

/* Evaluates each operand once, compares them with `op`, and on failure prints both. sa and sb
 * are the operands as written (stringized before macro expansion). */
#define GOLF_SHIM_CMP(fatal, a, sa, op, b, sb, ...)                                                \
    do {                                                                                           \
        __typeof__(a) golf_shim_a_ = (a);                                                          \
        __typeof__(b) golf_shim_b_ = (b);                                                          \
        if (!(golf_shim_a_ op golf_shim_b_)) {                                                     \
            char golf_shim_va_[64], golf_shim_vb_[64], golf_shim_v_[160];                          \
            golf_shim_value(golf_shim_va_, sizeof golf_shim_va_, GOLF_SHIM_KIND(golf_shim_a_),     \
                            golf_shim_a_);                                                         \
            golf_shim_value(golf_shim_vb_, sizeof golf_shim_vb_, GOLF_SHIM_KIND(golf_shim_b_),     \
                            golf_shim_b_);                                                         \
            strcpy(golf_shim_v_, golf_shim_va_);                                                   \
            strcat(golf_shim_v_, " " #op " ");                                                     \
            strcat(golf_shim_v_, golf_shim_vb_);                                                   \
            golf_shim_fail(fatal, __FILE__, __LINE__, sa " " #op " " sb, golf_shim_v_,             \
                           GOLF_SHIM_MSG(__VA_ARGS__));                                            \
        }                                                                                          \
    } while (0)

#define GOLF_SHIM_STR(fatal, a, sa, want, op, b, sb, ...)                                          \
    do {                                                                                           \
        const char *golf_shim_a_ = (a), *golf_shim_b_ = (b);                                       \
        if ((strcmp(golf_shim_a_, golf_shim_b_) == 0) != (want))                                   \
            golf_shim_fail(fatal, __FILE__, __LINE__, sa " " op " " sb, NULL,                      \
                           GOLF_SHIM_MSG(__VA_ARGS__));                                            \
    } while (0)

#define cr_assert(cond, ...) GOLF_SHIM_CHECK(true, (cond), #cond, __VA_ARGS__)
#define cr_expect(cond, ...) GOLF_SHIM_CHECK(false, (cond), #cond, __VA_ARGS__)
#define cr_assert_not(cond, ...) GOLF_SHIM_CHECK(true, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_expect_not(cond, ...) GOLF_SHIM_CHECK(false, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_assert_null(p, ...) GOLF_SHIM_CHECK(true, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_null(p, ...) GOLF_SHIM_CHECK(false, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) GOLF_SHIM_CHECK(true, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) GOLF_SHIM_CHECK(false, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_fail(...)                                                                        \
    golf_shim_fail(true, __FILE__, __LINE__, "cr_assert_fail", NULL, GOLF_SHIM_MSG(__VA_ARGS__))
#define cr_skip_test(...) golf_shim_skip(__FILE__, __LINE__, GOLF_SHIM_MSG(__VA_ARGS__))

#define cr_assert_eq(a, b, ...) GOLF_SHIM_CMP(true, a, #a, ==, b, #b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) GOLF_SHIM_CMP(false, a, #a, ==, b, #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) GOLF_SHIM_CMP(true, a, #a, !=, b, #b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) GOLF_SHIM_CMP(false, a, #a, !=, b, #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) GOLF_SHIM_CMP(true, a, #a, <, b, #b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) GOLF_SHIM_CMP(false, a, #a, <, b, #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) GOLF_SHIM_CMP(true, a, #a, <=, b, #b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) GOLF_SHIM_CMP(false, a, #a, <=, b, #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) GOLF_SHIM_CMP(true, a, #a, >, b, #b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) GOLF_SHIM_CMP(false, a, #a, >, b, #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) GOLF_SHIM_CMP(true, a, #a, >=, b, #b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) GOLF_SHIM_CMP(false, a, #a, >=, b, #b, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) GOLF_SHIM_STR(true, a, #a, true, "==", b, #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) GOLF_SHIM_STR(false, a, #a, true, "==", b, #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) GOLF_SHIM_STR(true, a, #a, false, "!=", b, #b, __VA_ARGS__)
#define cr_expect_str_neq(a, b, ...) GOLF_SHIM_STR(false, a, #a, false, "!=", b, #b, __VA_ARGS__)

#endif
