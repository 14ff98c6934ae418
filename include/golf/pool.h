/* golf/pool.h: Go's sync.Pool (see pool/README.md).
 * The API is fixed by SPEC.md. */
#ifndef GOLF_POOL_H
#define GOLF_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "golf/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct golf_pool_options {
    void  *(*new_object)(void *ctx);            /* NULL: get returns NULL when the pool is empty */
    void   (*free_object)(void *obj, void *ctx);/* NULL: free() */
    void   *ctx;
} golf_pool_options;
typedef struct golf_pool golf_pool;
GOLF_API golf_pool *golf_pool_new(const golf_pool_options *opts);   /* opts may be NULL */
GOLF_API void  golf_pool_free(golf_pool *p);     /* frees every cached object with free_object */
GOLF_API void *golf_pool_get(golf_pool *p);      /* a cached object, else new_object(ctx) */
GOLF_API void  golf_pool_put(golf_pool *p, void *obj);  /* NULL is ignored */
GOLF_API void  golf_pool_trim(golf_pool *p);     /* Go's GC cycle, see below */

#ifdef __cplusplus
}
#endif

#endif /* GOLF_POOL_H */
