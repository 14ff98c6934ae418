/* SPDX-License-Identifier: MIT */
/* What map.c and the white-box tests see of the module: the layout (layout.h), the table
 * operations (table.h) and reclamation (reclaim.h), and the tests' allocation hook. Only map.c
 * and tests include it: table.c and reclaim.c sit below map.c and include their own headers.
 * Never installed. */
#ifndef GOLF_MAP_MAP_INTERNAL_H
#define GOLF_MAP_MAP_INTERNAL_H

#include "layout.h"
#include "lockfree/alloc.h"
#include "reclaim.h"
#include "table.h"

/* Test hook: the next n allocations of every map succeed, the ones after fail, until called
 * again; n < 0 (the default) turns failures off. golf's one failure-injection hook
 * (lockfree/alloc.h) under the name the map tests use. */
static inline void
golf__map_set_alloc_fail(long n)
{
    golf__alloc_set_fail(n);
}

/* Test hook: how many chains the calling thread's golf_map_range calls have walked since it
 * started (a range's work, whatever the clock says). */
size_t golf__map_range_chains(void);

#endif
