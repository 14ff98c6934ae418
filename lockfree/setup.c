/* SPDX-License-Identifier: MIT */
/* golf__setup_run: a pthread_once that can fail and be retried (setup.h). */
#include "setup.h"

#include "golf/error.h"

int
golf__setup_run(golf__setup *s, void (*exit_fn)(void *), void (*prepare)(void),
                void (*parent)(void), void (*child)(void))
{
    /* [S1] acquire: pairs with the [S1] release below: s->key is made. */
    if (atomic_load_explicit(&s->ready, memory_order_acquire))
        return GOLF_OK;
    int rc = GOLF_ENOMEM;
    pthread_mutex_lock(&s->lock);
    if (!s->key_made)
        s->key_made = pthread_key_create(&s->key, exit_fn) == 0;
    if (atomic_load_explicit(&s->ready, memory_order_relaxed)) /* relaxed: under s->lock */
        rc = GOLF_OK;
    else if (s->key_made && pthread_atfork(prepare, parent, child) == 0) {
        /* [S1] release: publishes s->key. */
        atomic_store_explicit(&s->ready, true, memory_order_release);
        rc = GOLF_OK;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}
