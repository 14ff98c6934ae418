/* SPDX-License-Identifier: MIT */
/* A module's process-wide setup that glibc can refuse out of memory: a thread-exit key and
 * fork handlers, made at load time and retried on use until they exist (lockfree/README.md,
 * "setup.h"). */
#ifndef GOLF_LOCKFREE_SETUP_H
#define GOLF_LOCKFREE_SETUP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct golf__setup {
    pthread_mutex_t lock; /* serialises the attempts */
    bool key_made;        /* under lock */
    _Atomic bool ready;   /* [S1] the key and the handlers exist */
    pthread_key_t key;    /* valid once ready */
} golf__setup;

#define GOLF__SETUP_INIT                                                                           \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, false, false, 0                                                 \
    }

/* Makes s->key (destructor exit_fn) and registers the fork handlers, once. GOLF_OK, or
 * GOLF_ENOMEM (no key left, or glibc's fork-handler table could not grow); a later call tries
 * again. Call it from a constructor too: at load time the table has room, so a module's first
 * use never has to grow it (a failed growth drops every handler of the process in glibc 2.36,
 * docs/DEVIATIONS.md). */
int golf__setup_run(golf__setup *s, void (*exit_fn)(void *), void (*prepare)(void),
                    void (*parent)(void), void (*child)(void));

#endif
