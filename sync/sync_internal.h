/* Shared inside sync/: the atomic views of the public structs' private words. */
#ifndef GOLF_SYNC_INTERNAL_H
#define GOLF_SYNC_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "golf/sync.h"

/* The public structs hold plain integers so that sync.h compiles as C++ and a zeroed struct is
 * valid; golf accesses them only through these atomic views (same size and alignment on every
 * platform golf builds on; checked below). */
_Static_assert(sizeof(_Atomic int32_t) == sizeof(int32_t), "atomic int32 layout");
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "atomic uint32 layout");
_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "atomic uint64 layout");

#define GOLF__A32(p) ((_Atomic int32_t *)(p))
#define GOLF__AU32(p) ((_Atomic uint32_t *)(p))
#define GOLF__AU64(p) ((_Atomic uint64_t *)(p))

#endif
