/* RCU glue: golf's only door to liburcu (the urcu-memb flavour). Nothing else includes liburcu.
 *
 * Threads are registered lazily, on their first read-side section or call_rcu, and unregistered
 * by a thread-exit destructor, so no user ever calls a registration function.
 *
 * Rules (checked, fatal when broken, because breaking them deadlocks or frees memory in use):
 *   - golf__rcu_synchronize() and golf__rcu_barrier() must not run inside a read-side section.
 *   - read sections nest. */
#ifndef GOLF_LOCKFREE_RCU_H
#define GOLF_LOCKFREE_RCU_H

#include <stdbool.h>
#include <stddef.h>

/* Layout-compatible with liburcu's struct rcu_head (checked by a static assert in rcu.c). Embed
 * it in the object to free; recover the object with offsetof in the callback. */
typedef struct golf__rcu_head {
    void *opaque_[2];
} golf__rcu_head;

void golf__rcu_read_lock(void);
void golf__rcu_read_unlock(void);
bool golf__rcu_in_read_section(void);

/* Runs fn(head) on liburcu's call_rcu thread after a grace period. Never blocks. */
void golf__rcu_call(golf__rcu_head *head, void (*fn)(golf__rcu_head *head));

/* Waits for a grace period. Fatal inside a read section. */
void golf__rcu_synchronize(void);

/* Waits until every golf__rcu_call callback queued before it has run. Fatal inside a read
 * section. */
void golf__rcu_barrier(void);

#endif
