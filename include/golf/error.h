/* SPDX-License-Identifier: MIT */
/* golf/error.h: the error model.
 *
 * Every golf function that returns int returns GOLF_OK (0) or one of the negative codes below.
 * The table is an X-macro so the enum, golf_strerror() and golf_errname() can never disagree. */
#ifndef GOLF_ERROR_H
#define GOLF_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols the library exports; everything else is hidden (-fvisibility=hidden). */
#if defined(GOLF_BUILDING) && defined(__GNUC__)
#define GOLF_API __attribute__((visibility("default")))
#else
#define GOLF_API
#endif

/* clang-format off */
/*  name       value  message */
#define GOLF_ERRNO_MAP(X)                                                     \
    X(ECLOSED,   -1, "channel closed")                                       \
    X(EAGAIN,    -2, "operation would block")                                \
    X(ETIMEDOUT, -3, "timed out")                                            \
    X(EINVAL,    -4, "invalid argument")                                     \
    X(ENOMEM,    -5, "out of memory")
/* clang-format on */

enum {
    GOLF_OK = 0,
#define GOLF__ERR_ENUM(name, value, msg) GOLF_##name = (value),
    GOLF_ERRNO_MAP(GOLF__ERR_ENUM)
#undef GOLF__ERR_ENUM
};

/* The message for a code ("success" for GOLF_OK, "unknown error" for anything else).
 * Never NULL; the string is static. */
GOLF_API const char *golf_strerror(int code);

/* The code's name without the prefix ("OK", "ECLOSED", ...), "UNKNOWN" otherwise. */
GOLF_API const char *golf_errname(int code);

#ifdef __cplusplus
}
#endif

#endif /* GOLF_ERROR_H */
