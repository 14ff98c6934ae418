/* SPDX-License-Identifier: MIT */
/* The engine behind every blocking channel operation and every select (chan/select.c). */
#ifndef GOLF_CHAN_SELECT_H
#define GOLF_CHAN_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golf/chan.h"
#include "waitq.h"

/* Tries the cases in random order, then registers on all, re-checks and parks, until one case
 * is done. `nodes` and `perm` have n entries; nodes == NULL (only with n == 1) uses the calling
 * thread's waiter node (and its inline value buffer). Returns the index of the case done (its
 * status set), GOLF_EAGAIN (nonblocking and nothing ready) or GOLF_ETIMEDOUT. */
int golf__select_run(golf_case *cases, size_t n, golf__wnode *nodes, uint32_t *perm,
                     uint64_t deadline, bool nonblocking);

#endif
