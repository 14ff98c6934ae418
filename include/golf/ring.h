/* SPDX-License-Identifier: MIT */
/* golf/ring.h: a bounded lock-free MPMC queue of fixed-size elements (design:
 * lockfree/README.md, "ring.h").
 *
 * Dmitry Vyukov's bounded MPMC queue in crossbeam-channel's array shape: a push is one CAS on
 * the tail position, a copy into the slot and one release store of the slot's stamp; a pop is
 * the mirror image on the head. It is the buffered channel's core, without the channel's
 * blocking, close and select: both operations are try operations that never wait, and a caller
 * that wants to wait retries (with a backoff) or uses a golf_chan instead.
 *
 * Elements are elem_size bytes, copied in by a push and out by a pop: the ring owns its copies
 * and never looks inside them.
 *
 * Return codes: GOLF_OK, GOLF_EAGAIN (full, or empty: try again later), GOLF_EINVAL (a NULL
 * ring, or a NULL element to push; nothing happened).
 *
 * Thread safety: any number of threads may push and pop on the same ring at once
 * (multi-producer, multi-consumer); only golf_ring_free needs that no other thread still uses
 * the ring. No function here is promised to be async-signal-safe.
 *
 * Progress: lock-free, with one caveat shared by every ring of this design: a thread
 * descheduled between its CAS and its stamp store holds its slot until it runs again. Other
 * operations never wait for it: a push or pop that needs that slot returns GOLF_EAGAIN at once,
 * even though the ring is then neither full nor empty (docs/DEVIATIONS.md). Without concurrent
 * operations in flight the answers are exact.
 *
 * Memory model: a push synchronizes before the pop that returns its element; the pop that
 * frees a slot synchronizes before the push that reuses it. Elements come out in the order
 * their pushes took their positions (FIFO), so one producer's elements stay in order.
 *
 * Lifetime: when golf_ring_free may be called is up to the caller (after joining the threads
 * that use the ring, typically); a thread still inside a push or pop while the ring is freed is
 * a use-after-free. Elements still in the ring are dropped with it, bytes only. */
#ifndef GOLF_RING_H
#define GOLF_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "golf/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct golf_ring golf_ring;

/* A new empty ring that holds exactly `capacity` elements of elem_size bytes. NULL with errno =
 * EINVAL when elem_size or capacity is 0 or the ring would be too large to allocate (slot bytes
 * x capacity beyond SIZE_MAX / 4, or capacity beyond 2^40); errno = ENOMEM when out of
 * memory. */
GOLF_API golf_ring *golf_ring_new(size_t elem_size, size_t capacity);

/* Frees r (NULL: nothing) and the elements still in it. No other thread may be inside a call on
 * r. Never blocks. */
GOLF_API void golf_ring_free(golf_ring *r);

/* Copies elem_size bytes from elem into the ring, at the tail. GOLF_OK: pushed. GOLF_EAGAIN:
 * full (or, rarely, the slot at the tail is still being emptied by a descheduled consumer);
 * nothing was pushed. GOLF_EINVAL: r or elem is NULL. Never blocks. */
GOLF_API int golf_ring_try_push(golf_ring *r, const void *elem);

/* Takes the element at the head and copies its elem_size bytes to out (out NULL: the element is
 * dropped). GOLF_OK: popped. GOLF_EAGAIN: empty (or, rarely, the element at the head is still
 * being copied in by a descheduled producer); *out is untouched. GOLF_EINVAL: r is NULL. Never
 * blocks. */
GOLF_API int golf_ring_try_pop(golf_ring *r, void *out);

/* The number of elements in the ring: exact when no push or pop is running, otherwise a snapshot
 * that may be stale at once. 0 for NULL. */
GOLF_API size_t golf_ring_len(const golf_ring *r);

/* The capacity given to golf_ring_new; 0 for NULL. */
GOLF_API size_t golf_ring_cap(const golf_ring *r);

#ifdef __cplusplus
}
#endif

#endif /* GOLF_RING_H */
