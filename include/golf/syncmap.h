/* SPDX-License-Identifier: MIT */
/* golf/syncmap.h: Go's sync.Map for C (design: map/README.md).
 *
 * Keys are byte strings (key, klen) copied into the map: any length, 0 included, binary safe;
 * key may be NULL only when klen is 0. Values are opaque void * words the map never dereferences
 * or frees; NULL is a value like any other (a stored NULL is present).
 *
 * Concurrency: every function may be called from any number of threads at once, except
 * golf_map_free (no other thread may still use the map). Single-key operations are atomic
 * (linearizable). In Go's memory-model words: a store (Store, Swap, LoadOrStore that stores, a
 * successful CompareAndSwap) synchronizes before any load that observes its value (Load,
 * LoadOrStore, LoadAndDelete, Swap, Range, CompareAndSwap, CompareAndDelete).
 *
 * Progress: loads, and the "absent" answers of delete/compare operations, are lock-free and
 * write no shared memory. Writers lock one bucket of the table, never the whole map; the table
 * grows online without stopping readers.
 *
 * Lifetime of values: a value that another thread may delete and free must be used inside
 * golf_map_read_lock()/golf_map_read_unlock(), and freed with golf_map_retire(), which calls
 * fn(value) once every reader that might still see it is done. No thread registration, init or
 * teardown call is ever needed.
 *
 * Errors: GOLF_EINVAL for a NULL map or a NULL key with klen > 0 (bool functions return false,
 * void ones do nothing); GOLF_ENOMEM when a store cannot allocate (the map is then unchanged).
 * On an error return the out-parameters are left untouched. Out-parameters may be NULL. */
#ifndef GOLF_SYNCMAP_H
#define GOLF_SYNCMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "golf/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct golf_map golf_map;

/* A new empty map, or NULL with errno = ENOMEM (out of memory, or golf's one deferred-work
 * thread, started by the first map of the process, could not be created). */
GOLF_API golf_map *golf_map_new(void);

/* Frees the map (NULL: nothing). Returns only after every fn retired through it has run. Must
 * not be called inside a read section or a range callback (fatal: it would deadlock), nor from
 * a retired fn. No other thread may use the map any more. */
GOLF_API void golf_map_free(golf_map *m);

/* Go's Load: true and *value when key is present; false (and *value untouched) otherwise. */
GOLF_API bool golf_map_load(golf_map *m, const void *key, size_t klen, void **value);

/* Go's Store: sets key's value. GOLF_OK, GOLF_EINVAL, or GOLF_ENOMEM (a new key could not be
 * allocated; the map is unchanged). Overwriting a present key never allocates. */
GOLF_API int golf_map_store(golf_map *m, const void *key, size_t klen, void *value);

/* Go's LoadOrStore: if key is present, *actual = its value and *loaded = true; else stores
 * value, *actual = value, *loaded = false. GOLF_OK / GOLF_EINVAL / GOLF_ENOMEM. */
GOLF_API int golf_map_load_or_store(golf_map *m, const void *key, size_t klen, void *value,
                                    void **actual, bool *loaded);

/* Go's LoadAndDelete: removes key; true and *value = the removed value if it was present. */
GOLF_API bool golf_map_load_and_delete(golf_map *m, const void *key, size_t klen, void **value);

/* Go's Delete. */
GOLF_API void golf_map_delete(golf_map *m, const void *key, size_t klen);

/* Go's Swap: stores value; *previous = the value replaced (NULL when nothing was loaded),
 * *loaded = whether key was present. GOLF_OK / GOLF_EINVAL / GOLF_ENOMEM. */
GOLF_API int golf_map_swap(golf_map *m, const void *key, size_t klen, void *value, void **previous,
                           bool *loaded);

/* Go's CompareAndSwap: if key is present with value == old (word equality), sets new_value and
 * returns true. An absent key gives false and stores nothing. */
GOLF_API bool golf_map_compare_and_swap(golf_map *m, const void *key, size_t klen, void *old,
                                        void *new_value);

/* Go's CompareAndDelete: removes key if present with value == old; true if it did. */
GOLF_API bool golf_map_compare_and_delete(golf_map *m, const void *key, size_t klen, void *old);

/* Go's Range: calls fn(key, klen, value, arg) for the keys of the map until fn returns false.
 * Takes no lock and takes no snapshot: each key is visited at most once; a key present for the
 * whole call is visited; the value given is one the key had during the call. fn may call any
 * operation on the same map (clear and range included, free excepted). The key bytes given to
 * fn are valid until fn returns. The walk holds one read section: memory retired meanwhile is
 * freed only after it ends. */
GOLF_API void golf_map_range(golf_map *m,
                             bool (*fn)(const void *key, size_t klen, void *value, void *arg),
                             void *arg);

/* Go's Clear: removes every key; the table shrinks back to its initial size. Atomic per key, not
 * for the whole map at once: a store running concurrently may survive it (docs/DEVIATIONS.md). */
GOLF_API void golf_map_clear(golf_map *m);

/* The number of keys: exact when quiescent, an estimate while writers run (per-CPU counters,
 * so it never serializes writers). Go's sync.Map has no Len. */
GOLF_API size_t golf_map_len(golf_map *m);

/* A read section (RCU): values loaded inside it stay valid until the matching unlock even if
 * another thread deletes and retires them. Sections nest. Unlock without lock is fatal. Keep
 * sections short: they delay every retired fn. */
GOLF_API void golf_map_read_lock(void);
GOLF_API void golf_map_read_unlock(void);

/* Defers fn(value) until every read section that might still see value has ended (a grace
 * period); fn runs once, later, possibly on another thread. Never blocks (except out of memory
 * outside a read section, see docs/DEVIATIONS.md); may be called inside a read section or a
 * range callback. A NULL map or fn is ignored. */
GOLF_API void golf_map_retire(golf_map *m, void *value, void (*fn)(void *value));

#ifdef __cplusplus
}
#endif

#endif /* GOLF_SYNCMAP_H */
