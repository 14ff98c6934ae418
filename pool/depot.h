/* SPDX-License-Identifier: MIT */
/* The magazine depot behind both front ends of a pool (the rseq per-CPU slots in pool.c and
 * the per-thread caches in pool_thread.c): `primary`, magazines of up to GOLF__POOL_MAG_CAP
 * objects, capped; `victim`, the previous generation (trim); and spare empty magazines. The
 * front ends move objects in and out a magazine at a time and never touch the depot's fields.
 *
 * Locking: every call but golf__depot_init, _free_objs, _free_mags and _destroy needs the
 * depot's mutex (golf__depot_lock). A front end holds it for a whole transfer, from before it
 * touches its own cache until the objects are where they go, and trim holds it from start to
 * end (pool_struct.h I3): so a transfer is entirely before or after a trim. Uses only
 * lockfree/. Never installed. */
#ifndef GOLF_POOL_DEPOT_H
#define GOLF_POOL_DEPOT_H

#include "lockfree/cacheline.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Objects one per-CPU slot or per-thread cache holds at most (the front-end cap). 62 makes a
 * slot 16 + 62*8 = 512 bytes, four 128-byte lines. */
#define GOLF__POOL_SLOT_CAP 62
/* Objects moved per depot transfer, and the size of a magazine. */
#define GOLF__POOL_MAG_CAP (GOLF__POOL_SLOT_CAP / 2)

/* A bundle of up to GOLF__POOL_MAG_CAP objects: objs[0..n). Under the depot's mutex while in
 * the depot; owned by the one thread that took it otherwise. */
typedef struct golf__pool_mag {
    struct golf__pool_mag *next;
    size_t n;
    void *objs[GOLF__POOL_MAG_CAP];
} golf__pool_mag;

/* A list of magazines with a count of the objects they hold. */
typedef struct golf__pool_maglist {
    golf__pool_mag *head;
    size_t objs;
} golf__pool_maglist;

typedef struct golf__pool_depot {
    GOLF__CACHE_ALIGNED pthread_mutex_t mu;
    golf__pool_maglist primary; /* full and partial magazines of the current generation */
    golf__pool_maglist victim;  /* the previous generation: get serves it, the next trim frees it */
    golf__pool_mag *spare;      /* empty magazines for reuse (I5: n == 0) */
    size_t nspare;
    size_t cap; /* objects primary may hold before the excess is freed; immutable */
    /* How objects leave the pool (NULL: free()); immutable. */
    void (*free_object)(void *obj, void *ctx);
    void *ctx;
} golf__pool_depot;

/* GOLF_OK, or GOLF_ENOMEM (the mutex could not be made). */
int golf__depot_init(golf__pool_depot *d, size_t cap, void (*free_object)(void *, void *),
                     void *ctx);
void golf__depot_lock(golf__pool_depot *d);
void golf__depot_unlock(golf__pool_depot *d);

/* ---- with the mutex held ---- */

/* The head magazine of primary (full or partial, n > 0), detached; NULL when primary is empty. */
golf__pool_mag *golf__depot_take_full(golf__pool_depot *d);
/* A magazine with n > 0 (a full one, or the rest of a taken one) to the head of primary. */
void golf__depot_give_full(golf__pool_depot *d, golf__pool_mag *m);
/* Whether primary has room under its cap for one more full magazine. */
bool golf__depot_has_room(const golf__pool_depot *d);
/* An empty magazine (a spare, or a new one); NULL out of memory. */
golf__pool_mag *golf__depot_take_empty(golf__pool_depot *d);
/* An emptied magazine back: it becomes a spare (n set to 0, I5) or is freed. */
void golf__depot_give_empty(golf__pool_depot *d, golf__pool_mag *m);
/* One object from primary, else from victim; NULL when both are empty. */
void *golf__depot_take_one(golf__pool_depot *d);
/* Adds objs[0..n) to primary while under its cap. Returns how many did not fit, moved to the
 * front of objs for the caller to free (with golf__depot_free_objs, after unlocking). */
size_t golf__depot_add(golf__pool_depot *d, void **objs, size_t n);
/* Adds objs[0..n) to victim; returns how many could not be (out of memory only), moved to the
 * front of objs. */
size_t golf__depot_add_victim(golf__pool_depot *d, void **objs, size_t n);
/* Trim: primary becomes victim; returns the old victim, detached, for golf__depot_free_mags. */
golf__pool_mag *golf__depot_age(golf__pool_depot *d);

/* ---- with no lock held ---- */

/* free_object(obj, ctx) on each of objs[0..n) (free() when the pool has none). */
void golf__depot_free_objs(golf__pool_depot *d, void **objs, size_t n);
/* Frees a detached list of magazines and the objects in them. */
void golf__depot_free_mags(golf__pool_depot *d, golf__pool_mag *m);
/* golf_pool_free, no other user: frees every object and magazine, and the mutex. */
void golf__depot_destroy(golf__pool_depot *d);

#endif
