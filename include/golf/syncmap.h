/* golf/syncmap.h: Go's sync.Map (see syncmap/README.md).
 * The API is fixed by SPEC.md. */
#ifndef GOLF_SYNCMAP_H
#define GOLF_SYNCMAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "golf/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct golf_map golf_map;
GOLF_API golf_map *golf_map_new(void);
GOLF_API void  golf_map_free(golf_map *m);
GOLF_API bool  golf_map_load(golf_map *m, const void *key, size_t klen, void **value);
GOLF_API int   golf_map_store(golf_map *m, const void *key, size_t klen, void *value);
GOLF_API int   golf_map_load_or_store(golf_map *m, const void *key, size_t klen, void *value,
                             void **actual, bool *loaded);
GOLF_API bool  golf_map_load_and_delete(golf_map *m, const void *key, size_t klen, void **value);
GOLF_API void  golf_map_delete(golf_map *m, const void *key, size_t klen);
GOLF_API int   golf_map_swap(golf_map *m, const void *key, size_t klen, void *value,
                    void **previous, bool *loaded);
GOLF_API bool  golf_map_compare_and_swap(golf_map *m, const void *key, size_t klen, void *old, void *new_value);
GOLF_API bool  golf_map_compare_and_delete(golf_map *m, const void *key, size_t klen, void *old);
GOLF_API void  golf_map_range(golf_map *m, bool (*fn)(const void *key, size_t klen, void *value, void *arg), void *arg);
GOLF_API void  golf_map_clear(golf_map *m);
GOLF_API size_t golf_map_len(golf_map *m);                      /* exact when quiescent */
GOLF_API void  golf_map_read_lock(void);
GOLF_API void  golf_map_read_unlock(void);
GOLF_API void  golf_map_retire(golf_map *m, void *value, void (*fn)(void *value));

#ifdef __cplusplus
}
#endif

#endif /* GOLF_SYNCMAP_H */
