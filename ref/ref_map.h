/* SPDX-License-Identifier: MIT */
/* The lock-based reference of golf_map (syncmap.h): the same API under the prefix ref_map_, a
 * plain chained hash table behind one lock. Two flavours, chosen at creation:
 *   ref_map_new()        one pthread rwlock (loads and range share it), Go's RWMutexMap;
 *   ref_map_new_mutex()  one pthread mutex (golf-bench's "ref", docs/BENCHMARKS.md).
 * Tests cross-check golf_map against it; golf-bench runs it as the baseline peer.
 *
 * Range works like Go's map_reference_test.go RWMutexMap: it copies the pairs under the lock and
 * calls fn with the lock released, so fn may call any operation. Retire keeps (value, fn) pairs
 * and runs them at ref_map_free (nothing is freed under a reader); read_lock/unlock do nothing. */
#ifndef GOLF_REF_MAP_H
#define GOLF_REF_MAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ref_map ref_map;

ref_map *ref_map_new(void);
ref_map *ref_map_new_mutex(void);
void ref_map_free(ref_map *m);
bool ref_map_load(ref_map *m, const void *key, size_t klen, void **value);
int ref_map_store(ref_map *m, const void *key, size_t klen, void *value);
int ref_map_load_or_store(ref_map *m, const void *key, size_t klen, void *value, void **actual,
                          bool *loaded);
bool ref_map_load_and_delete(ref_map *m, const void *key, size_t klen, void **value);
void ref_map_delete(ref_map *m, const void *key, size_t klen);
int ref_map_swap(ref_map *m, const void *key, size_t klen, void *value, void **previous,
                 bool *loaded);
bool ref_map_compare_and_swap(ref_map *m, const void *key, size_t klen, void *old, void *new_value);
bool ref_map_compare_and_delete(ref_map *m, const void *key, size_t klen, void *old);
void ref_map_range(ref_map *m, bool (*fn)(const void *key, size_t klen, void *value, void *arg),
                   void *arg);
void ref_map_clear(ref_map *m);
size_t ref_map_len(ref_map *m);
void ref_map_read_lock(void);
void ref_map_read_unlock(void);
void ref_map_retire(ref_map *m, void *value, void (*fn)(void *value));

#endif
