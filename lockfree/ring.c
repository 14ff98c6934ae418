/* SPDX-License-Identifier: MIT */
/* golf_ring: the bounded lock-free MPMC ring of fixed-size elements (include/golf/ring.h).
 *
 * The algorithm lives in lockfree/ring_internal.h (shared with the buffered channel); this file
 * is the public face: argument checks, one allocation, and the thin try wrappers.
 *
 * Why it is safe (the derivation, in short; invariants I1-I4 are in ring_internal.h):
 *   - A producer may write slot i only after reading stamp == tail (acquire, [R1]) and winning
 *     the CAS tail -> tail+1. The stamp equals tail only after the previous lap's consumer
 *     released it, so the overwrite never races a read. Two producers cannot both win the CAS
 *     from the same tail value (one modification order), so each position has one writer.
 *   - A consumer reads slot i only after reading stamp == head + 1 (acquire, [R2]), which only
 *     the producer of that position stores, after its write. It wins the CAS head -> head+1, so
 *     each position has one reader.
 *   - The lap bits make every position distinct for 2^64 / one_lap laps, so a stale head or
 *     tail never matches a stamp of another lap (no ABA within any realistic run).
 *   - "Full" is reported only when the slot at tail still holds last lap's value. Our tail was
 *     current at that stamp load (a reserved position's slot stamp is at least the position),
 *     so at that instant the ring was full, or that value's consumer had taken its position but
 *     not finished copying (then EAGAIN is the documented stall answer). "Empty" only when the
 *     slot at head is unwritten: no consumer passed head, and its producer (if any) has not
 *     finished. In a quiescent ring both answers are exact. No fence and no load of the other
 *     index is needed (crossbeam uses a seq_cst fence and loads it). */
#include "golf/ring.h"
#include "alloc.h"
#include "ring_internal.h"

#include <errno.h>
#include <stdlib.h>

struct golf_ring {
    golf__ring_core core;
};

GOLF_API golf_ring *
golf_ring_new(size_t elem_size, size_t capacity)
{
    size_t slot_size = 0;
    if (elem_size == 0 || capacity == 0) {
        errno = EINVAL;
        return NULL;
    }
    size_t bytes = golf__ring_slots_bytes(elem_size, capacity, &slot_size);
    if (bytes == 0) {
        errno = EINVAL;
        return NULL;
    }
    size_t head_bytes = (sizeof(golf_ring) + GOLF_CACHELINE - 1) & ~(size_t)(GOLF_CACHELINE - 1);
    size_t total = (head_bytes + bytes + GOLF_CACHELINE - 1) & ~(size_t)(GOLF_CACHELINE - 1);
    golf_ring *r = golf__aligned_alloc(GOLF_CACHELINE, total);
    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    golf__ring_init(&r->core, elem_size, capacity, slot_size, (unsigned char *)r + head_bytes);
    return r;
}

GOLF_API void
golf_ring_free(golf_ring *r)
{
    free(r);
}

GOLF_API int
golf_ring_try_push(golf_ring *r, const void *elem)
{
    if (GOLF__UNLIKELY(!r || !elem))
        return GOLF_EINVAL;
    return golf__ring_try_push(&r->core, elem);
}

GOLF_API int
golf_ring_try_pop(golf_ring *r, void *out)
{
    if (GOLF__UNLIKELY(!r))
        return GOLF_EINVAL;
    return golf__ring_try_pop(&r->core, out, NULL);
}

GOLF_API size_t
golf_ring_len(const golf_ring *r)
{
    return r ? golf__ring_len(&r->core) : 0;
}

GOLF_API size_t
golf_ring_cap(const golf_ring *r)
{
    return r ? r->core.prod.cap : 0;
}
