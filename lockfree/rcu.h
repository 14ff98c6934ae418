/* SPDX-License-Identifier: MIT */
/* RCU glue: golf's only door to liburcu (the urcu-memb flavour). Nothing else includes liburcu.
 *
 * Readers: liburcu-memb's read sections. Threads are registered lazily, on their first read
 * section or deferred call, and unregistered by a thread-exit destructor, so no user ever calls
 * a registration function. A thread the application registered with liburcu-memb itself is used
 * as it is and never unregistered by golf.
 *
 * Deferred work: golf's own worker thread, not liburcu's call_rcu. golf__rcu_call queues a
 * callback; the worker takes the whole queue as one batch, waits for one grace period
 * (urcu_memb_synchronize_rcu) and runs the batch in queue order. The design, the invariants, the
 * ordering tags [U1]..[U4] and the fork() behaviour are in lockfree/README.md.
 *
 * Rules (checked, fatal when broken, because breaking them deadlocks or frees memory in use):
 *   - golf__rcu_synchronize() and golf__rcu_barrier() must not run inside a read section.
 *   - read sections nest. */
#ifndef GOLF_LOCKFREE_RCU_H
#define GOLF_LOCKFREE_RCU_H

#include <stdbool.h>
#include <stddef.h>

/* Embed it in the object to free; recover the object with offsetof in the callback. The fields
 * belong to the queue from golf__rcu_call until the callback starts. */
typedef struct golf__rcu_head {
    struct golf__rcu_head *next;
    void (*fn)(struct golf__rcu_head *head);
} golf__rcu_head;

void golf__rcu_read_lock(void);
void golf__rcu_read_unlock(void);
bool golf__rcu_in_read_section(void);

/* Starts the deferred-work worker if it is not running. GOLF_OK, or GOLF_ENOMEM (nothing
 * changed) when the thread cannot be created. Idempotent and thread-safe. An object whose
 * teardown depends on golf__rcu_call calls it when it is created, so the failure is reported
 * there (golf_map_new: NULL + ENOMEM) and never in a path that cannot fail. */
int golf__rcu_start(void);

/* Queues fn(head) to run on the worker after a grace period. Never blocks (except for the
 * moment another thread spends inside fork()); may be called inside a read section and from a
 * callback. Callbacks run one at a time, in the order of their golf__rcu_call. */
void golf__rcu_call(golf__rcu_head *head, void (*fn)(golf__rcu_head *head));

/* Waits for a grace period. Fatal inside a read section. */
void golf__rcu_synchronize(void);

/* Waits until every callback queued before it has run. Fatal inside a read section. Called from
 * a callback (on the worker), it runs the rest of the current batch and everything queued since,
 * after a grace period, itself, then returns: it never waits for its own thread. */
void golf__rcu_barrier(void);

#endif
