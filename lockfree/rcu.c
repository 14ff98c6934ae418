/* The RCU glue: lazy per-thread registration with liburcu's memb flavour, and unregistration at
 * thread exit through a pthread key destructor. The only file in golf that includes liburcu. */
#include "lockfree/rcu.h"
#include "lockfree/cacheline.h"
#include "lockfree/fatal.h"

#include <pthread.h>

/* _LGPL_SOURCE: liburcu's read-side fast path (urcu_memb_read_lock/unlock: a few TLS loads and
 * stores and a compiler barrier) is compiled inline here instead of a PLT call into
 * liburcu-memb.so per lock and per unlock; that halves a map load's RCU cost (syncmap/README.md
 * has the measurement). Those static inline functions are LGPL-2.1 code compiled into golf;
 * define GOLF_RCU_NO_LGPL_INLINE to call the library functions instead. */
#ifndef GOLF_RCU_NO_LGPL_INLINE
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-memb.h>

_Static_assert(sizeof(golf__rcu_head) == sizeof(struct rcu_head), "golf__rcu_head layout");
_Static_assert(_Alignof(golf__rcu_head) == _Alignof(struct rcu_head), "golf__rcu_head alignment");

/* Per thread: registered with liburcu? Thread-local, so plain (non-atomic) accesses are
 * enough. How deep the thread is in read sections is liburcu's own nesting count
 * (urcu_memb_read_ongoing), so a lock/unlock pair touches no golf-side TLS counter. */
static _Thread_local bool rcu_registered;

static pthread_key_t rcu_exit_key;
static pthread_once_t rcu_key_once = PTHREAD_ONCE_INIT;

static void
rcu_thread_exit(void *unused)
{
    (void)unused;
    if (rcu_registered) {
        urcu_memb_unregister_thread();
        rcu_registered = false;
    }
}

static void
rcu_make_key(void)
{
    if (pthread_key_create(&rcu_exit_key, rcu_thread_exit) != 0)
        golf__fatal("golf: cannot create the RCU thread-exit key");
}

__attribute__((noinline, cold)) static void
rcu_register_slow(void)
{
    pthread_once(&rcu_key_once, rcu_make_key);
    urcu_memb_register_thread();
    rcu_registered = true;
    /* Any non-NULL value makes the destructor run at thread exit. */
    pthread_setspecific(rcu_exit_key, (void *)1);
}

static inline void
rcu_ensure_registered(void)
{
    if (__builtin_expect(!rcu_registered, 0))
        rcu_register_slow();
}

void
golf__rcu_read_lock(void)
{
    rcu_ensure_registered();
    urcu_memb_read_lock();
}

void
golf__rcu_read_unlock(void)
{
    if (GOLF__UNLIKELY(!rcu_registered || !urcu_memb_read_ongoing()))
        golf__fatal("golf: RCU read unlock without a read lock");
    urcu_memb_read_unlock();
}

bool
golf__rcu_in_read_section(void)
{
    return rcu_registered && urcu_memb_read_ongoing();
}

void
golf__rcu_call(golf__rcu_head *head, void (*fn)(golf__rcu_head *head))
{
    rcu_ensure_registered();
    urcu_memb_call_rcu((struct rcu_head *)head, (void (*)(struct rcu_head *))fn);
}

void
golf__rcu_synchronize(void)
{
    if (golf__rcu_in_read_section())
        golf__fatal("golf: RCU grace period awaited inside a read section (deadlock)");
    urcu_memb_synchronize_rcu();
}

void
golf__rcu_barrier(void)
{
    if (golf__rcu_in_read_section())
        golf__fatal("golf: RCU barrier inside a read section (deadlock)");
    rcu_ensure_registered();
    urcu_memb_barrier();
}
