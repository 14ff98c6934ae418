/* golf/ring.h: Bounded lock-free MPMC queue of fixed-size elements (see lockfree/README.md).
 * The API is fixed by SPEC.md. */
#ifndef GOLF_RING_H
#define GOLF_RING_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "golf/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct golf_ring golf_ring;
GOLF_API golf_ring *golf_ring_new(size_t elem_size, size_t capacity);  /* elem_size, capacity >= 1, else NULL + EINVAL;
                                                                 exactly `capacity` elements fit */
GOLF_API void       golf_ring_free(golf_ring *r);
GOLF_API int        golf_ring_try_push(golf_ring *r, const void *elem);  /* GOLF_OK or GOLF_EAGAIN when full */
GOLF_API int        golf_ring_try_pop(golf_ring *r, void *out);          /* GOLF_OK or GOLF_EAGAIN when empty */
GOLF_API size_t     golf_ring_len(const golf_ring *r);                   /* a snapshot under concurrency */
GOLF_API size_t     golf_ring_cap(const golf_ring *r);                   /* the capacity asked for */

#ifdef __cplusplus
}
#endif

#endif /* GOLF_RING_H */
