/* SPDX-License-Identifier: MIT */
/* The mutex reference of golf_pool: one pthread mutex around a LIFO free list with Go's two
 * generations (primary and victim). The baseline golf-bench compares against and the model the
 * tests cross-check: same API and semantics as golf/pool.h under the prefix ref_pool_. */
#ifndef GOLF_REF_POOL_H
#define GOLF_REF_POOL_H

#include "golf/pool.h"

typedef struct ref_pool ref_pool;

ref_pool *ref_pool_new(const golf_pool_options *opts); /* opts may be NULL; NULL + ENOMEM */
void ref_pool_free(ref_pool *p);                       /* NULL: nothing */
void *ref_pool_get(ref_pool *p); /* newest primary object, else newest victim, else new_object */
void ref_pool_put(ref_pool *p, void *obj); /* NULL is ignored */
void ref_pool_trim(ref_pool *p);           /* free victim; primary becomes victim */
size_t ref_pool_len(ref_pool *p);          /* objects cached (primary + victim) */

#endif
