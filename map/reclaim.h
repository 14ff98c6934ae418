/* SPDX-License-Identifier: MIT */
/* What map/reclaim.c frees, now or after a grace period: tables, long-key blocks (the per-CPU
 * garbage batches) and retired values. Uses only layout.h and lockfree/. Never installed. */
#ifndef GOLF_MAP_RECLAIM_H
#define GOLF_MAP_RECLAIM_H

#include "layout.h"

/* Frees a table no reader can reach: its overflow buckets and the key blocks it owns (those
 * of buckets not MOVED, or DROPPED). */
void golf__map_table_destroy(golf__map_table *t);
/* Destroys t after a grace period (it was unlinked by a resize or clear). */
void golf__map_table_retire(golf__map_table *t);

/* Queues an unlinked key block for freeing after a grace period. Must run inside a read
 * section (the push reads the previous head's depth, which the section keeps alive). */
void golf__map_garbage(golf_map *m, golf__map_key *k);

/* golf_map_free: waits until nothing deferred can touch m any more (its garbage batches freed,
 * every fn retired through m returned, save those running on this thread, which called it).
 * Not inside a read section. */
void golf__map_reclaim_drain(golf_map *m);

#endif
