/* SPDX-License-Identifier: MIT */
/* The per-thread state of golf__rand_below (lockfree/rand.h). */
#include "rand.h"

_Thread_local uint64_t golf__rand_state;
