/* SPDX-License-Identifier: MIT */
/* The error table's strings and the fatal-error path (Go's "fatal error" for corrupted sync
 * state). */
#include "golf/error.h"
#include "fatal.h"

#include <stdio.h>
#include <stdlib.h>

GOLF_API const char *
golf_strerror(int code)
{
    /* clang-format off */
    switch (code) {
    case GOLF_OK: return "success";
#define GOLF__ERR_STR(name, value, msg) case GOLF_##name: return msg;
    GOLF_ERRNO_MAP(GOLF__ERR_STR)
#undef GOLF__ERR_STR
    default: return "unknown error";
    }
    /* clang-format on */
}

GOLF_API const char *
golf_errname(int code)
{
    /* clang-format off */
    switch (code) {
    case GOLF_OK: return "OK";
#define GOLF__ERR_NAME(name, value, msg) case GOLF_##name: return #name;
    GOLF_ERRNO_MAP(GOLF__ERR_NAME)
#undef GOLF__ERR_NAME
    default: return "UNKNOWN";
    }
    /* clang-format on */
}

void
golf__fatal(const char *msg)
{
    /* Go prints "fatal error: <msg>" and exits; we print the same words and abort() so a core
     * dump or a debugger shows where the corrupted state was found. */
    fprintf(stderr, "fatal error: %s\n", msg);
    fflush(stderr);
    abort();
}
