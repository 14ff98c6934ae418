/* SPDX-License-Identifier: MIT */
/* The RCU glue: lazy per-thread registration with liburcu's memb flavour, golf's deferred-work
 * worker over liburcu's grace periods, and the fork() handlers. The only file in golf that
 * includes liburcu. The design, the invariants (1..7) and the tags [U1]..[U4] are in
 * lockfree/README.md ("rcu.h").
 *
 * Why golf runs its own worker instead of liburcu's call_rcu thread:
 *   - a callback may call map operations: the worker registers through golf's lazy registration
 *     like any thread (liburcu's thread is registered by liburcu, and a second registration
 *     aborts);
 *   - its creation can fail where failure is reported (golf__rcu_start, from golf_map_new);
 *     liburcu creates its thread lazily in call_rcu and aborts the process when it cannot;
 *   - fork(): liburcu's barrier waits in the child for a worker that fork did not copy. Here
 *     the child starts a new worker on demand, and a barrier with no worker drains the queue
 *     itself.
 *
 * Why the queue is safe, in short: it is a Treiber stack with one consumer that always takes the
 * whole stack (an exchange), so there is no pop and no ABA. A node's links are written before
 * its push ([U1] release) and read after the take ([U1] acquire). A batch taken before a grace
 * period starts holds only callbacks queued before it started, so every reader that could see
 * their objects has left its section when synchronize returns. Batches run one at a time under
 * the drain lock, each reversed into queue order, so a barrier's node runs after every node
 * queued before it. */
#include "rcu.h"
#include "alloc.h"
#include "cacheline.h"
#include "fatal.h"
#include "futex.h"
#include "golf/error.h"
#include "setup.h"
#include "tsan.h"
#include "watch.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

/* _LGPL_SOURCE: liburcu's read-side fast path (urcu_memb_read_lock/unlock: a few TLS loads and
 * stores and a compiler barrier) is compiled inline here instead of a PLT call into
 * liburcu-memb.so per lock and per unlock; that halves a map load's RCU cost (map/README.md
 * has the measurement). Those static inline functions are LGPL-2.1 code compiled into golf;
 * define GOLF_RCU_NO_LGPL_INLINE to call the library functions instead. Never under TSan: inline,
 * liburcu's plain accesses to its own words (the reader counters, the grace-period futex) would be
 * instrumented and reported; out of line they are liburcu's, which TSan does not see. */
#if !defined(GOLF_RCU_NO_LGPL_INLINE) && !defined(GOLF__TSAN)
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-memb.h>
/* Only for the layout of liburcu's per-thread reader record (struct urcu_reader: its
 * `registered` flag and its registry `node`) and the declaration of the exported TLS variable
 * urcu_memb_reader. golf reads `registered` to leave an application's own registration alone,
 * and unlinks the records of threads a fork() did not copy (see rcu_atfork_child). With
 * GOLF_RCU_NO_LGPL_INLINE no function of this header is used. */
#include <urcu/static/urcu-memb.h>

/* liburcu is not instrumented, so ThreadSanitizer cannot see that a grace period orders every
 * read section that ended before it before the callbacks run after it. Each read unlock releases
 * rcu_tsan_gp, each completed grace period acquires it (nothing outside a TSan build). */
#if defined(GOLF__TSAN)
static char rcu_tsan_gp;
#endif
#define RCU_TSAN_READ_UNLOCK() GOLF__TSAN_RELEASE(&rcu_tsan_gp)
#define RCU_TSAN_GRACE_PERIOD() GOLF__TSAN_ACQUIRE(&rcu_tsan_gp)

/* ==== registration ============================================================================ */

/* One record per thread golf registered (not those the application registered itself): the
 * list is how the fork child finds the liburcu records of threads it does not have. */
typedef struct rcu_thread {
    struct rcu_thread *next, *prev; /* reg_list, under reg_lock */
    struct urcu_reader *reader;     /* this thread's liburcu record */
} rcu_thread;

/* Per thread, plain: only the thread itself touches them (and the fork child, single-threaded).
 * rcu_owned: golf registered this thread and unregisters it at exit. rcu_transient: it
 * unregisters it at the outermost read unlock instead, the exit hook being out of memory (see
 * rcu_register_slow). */
static _Thread_local bool rcu_owned;
static _Thread_local bool rcu_transient;
static _Thread_local rcu_thread rcu_self;
/* rcu_draining: this thread holds the drain lock (it is running a batch); rcu_is_worker: this
 * thread is the worker. */
static _Thread_local bool rcu_draining;
static _Thread_local bool rcu_is_worker;

/* reg_lock: golf's registrations and unregistrations, and reg_list. Held across fork() so no
 * golf thread is inside liburcu's registry at the fork. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static rcu_thread reg_list = {&reg_list, &reg_list, NULL};

/* The thread-exit key and the fork handlers: made at load time (rcu_load), retried by the first
 * registration or worker start if that failed (setup.h). */
static golf__setup rcu_setup = GOLF__SETUP_INIT;

static void rcu_atfork_prepare(void);
static void rcu_atfork_parent(void);
static void rcu_atfork_child(void);

static inline bool
rcu_thread_registered(void)
{
    return URCU_TLS(urcu_memb_reader).registered;
}

/* Undoes golf's registration of this thread: at its exit, or at the outermost read unlock of a
 * transient registration. */
static void
rcu_unregister_owned(void)
{
    pthread_mutex_lock(&reg_lock);
    /* Registered by us; the application may have unregistered it since (then it is not ours to
     * unregister again). */
    if (rcu_thread_registered())
        urcu_memb_unregister_thread();
    rcu_self.prev->next = rcu_self.next;
    rcu_self.next->prev = rcu_self.prev;
    rcu_owned = false;
    rcu_transient = false;
    pthread_mutex_unlock(&reg_lock);
}

static void
rcu_thread_exit(void *unused)
{
    (void)unused;
    if (rcu_owned)
        rcu_unregister_owned();
}

static int
rcu_init(void)
{
    return golf__setup_run(&rcu_setup, rcu_thread_exit, rcu_atfork_prepare, rcu_atfork_parent,
                           rcu_atfork_child);
}

__attribute__((constructor)) static void
rcu_load(void)
{
    (void)rcu_init();
}

/* A read lock cannot fail, so neither can this; but arming the thread-exit hook that undoes the
 * registration can: pthread_setspecific allocates for keys past glibc's first 32, and
 * rcu_init can be out of memory. A thread that exited still registered would leave its record,
 * in TLS that glibc recycles for the next thread, linked in liburcu's registry (a later grace
 * period then walks a corrupted list). So without the hook the registration is transient: the
 * outermost read unlock undoes it, and the next read section tries again. */
__attribute__((noinline, cold)) static void
rcu_register_slow(void)
{
    bool hooked = rcu_init() == GOLF_OK &&
                  /* Any non-NULL value makes the destructor run at thread exit. */
                  pthread_setspecific(rcu_setup.key, (void *)1) == 0;
    pthread_mutex_lock(&reg_lock);
    urcu_memb_register_thread();
    /* On reg_list already if golf registered this thread before and the application has
     * unregistered it since. */
    if (!rcu_owned) {
        rcu_owned = true;
        rcu_self.reader = &URCU_TLS(urcu_memb_reader);
        rcu_self.next = reg_list.next;
        rcu_self.prev = &reg_list;
        reg_list.next->prev = &rcu_self;
        reg_list.next = &rcu_self;
    }
    rcu_transient = !hooked;
    pthread_mutex_unlock(&reg_lock);
}

/* liburcu's own flag, not a golf copy of it: a thread the application registered is used as
 * it is, and one the application unregistered since is registered again, by golf. */
static inline void
rcu_ensure_registered(void)
{
    if (GOLF__UNLIKELY(!rcu_thread_registered()))
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
    if (GOLF__UNLIKELY(!rcu_thread_registered() || !urcu_memb_read_ongoing()))
        golf__fatal("golf: RCU read unlock without a read lock");
    RCU_TSAN_READ_UNLOCK();
    urcu_memb_read_unlock();
    if (GOLF__UNLIKELY(rcu_transient) && !urcu_memb_read_ongoing())
        rcu_unregister_owned();
}

bool
golf__rcu_in_read_section(void)
{
    return rcu_thread_registered() && urcu_memb_read_ongoing();
}

/* ==== grace periods =========================================================================== */

/* gp_lock: held around every urcu_memb_synchronize_rcu golf makes (and, by the drainer, around
 * taking a batch and its grace period). Held across fork() so no golf thread is inside
 * liburcu's grace period (holding liburcu's locks) at the fork. */
static pthread_mutex_t gp_lock = PTHREAD_MUTEX_INITIALIZER;
/* Set in a fork child whose parent forked inside a read section while a grace period was in
 * progress: liburcu's grace-period lock is held by a thread the child does not have. */
static bool gp_broken;

static void
rcu_synchronize_locked(void)
{
    if (gp_broken)
        golf__fatal("golf: this process was forked inside an RCU read section while a grace "
                    "period was in progress; it cannot wait for a grace period");
    urcu_memb_synchronize_rcu();
    RCU_TSAN_GRACE_PERIOD();
}

void
golf__rcu_synchronize(void)
{
    if (golf__rcu_in_read_section())
        golf__fatal("golf: RCU grace period awaited inside a read section (deadlock)");
    pthread_mutex_lock(&gp_lock);
    rcu_synchronize_locked();
    pthread_mutex_unlock(&gp_lock);
}

/* ==== the deferred-work queue ================================================================= */

/* pending: a Treiber stack of golf__rcu_head, newest first, as a word; bit 0 (Q_CLOSED) is set
 * by the fork prepare handler while the fork runs (pushers wait, see queue_push). */
#define Q_CLOSED ((uintptr_t)1)
static GOLF__CACHE_ALIGNED _Atomic uintptr_t pending; /* [U1] */
/* Futex words, each on the queue's line: they change at most once per batch or per fork. */
static _Atomic uint32_t worker_idle; /* 1 while the worker sleeps waiting for work */
static _Atomic uint32_t urgent;      /* barriers waiting: the worker skips the batching delay */
static _Atomic uint32_t fork_gen;    /* [U4] +1 when a fork ends: pushers waiting on it go on */

/* The worker waits this long after it wakes before it takes a batch, so a stream of deferred
 * calls costs one wake-up and one grace period per interval (liburcu's call_rcu thread waits
 * 10 ms the same way). A barrier cuts the wait short. */
#define RCU_BATCH_DELAY_NS UINT64_C(10000000)

static uintptr_t
queue_wait_fork_end(void)
{
    /* [U4] acquire: pairs with the [U4] release bump in rcu_fork_reopen(): if we see the new
     * generation we see the queue reopened. */
    uint32_t gen = atomic_load_explicit(&fork_gen, memory_order_acquire);
    uintptr_t v = atomic_load_explicit(&pending, memory_order_relaxed);
    if (v & Q_CLOSED)
        golf__futex_wait(&fork_gen, gen, GOLF__FOREVER);
    return atomic_load_explicit(&pending, memory_order_relaxed);
}

static inline bool
queue_empty(void)
{
    /* Relaxed: a hint for the worker's sleep decision; the take that follows acquires. */
    return (atomic_load_explicit(&pending, memory_order_relaxed) & ~Q_CLOSED) == 0;
}

static void
worker_wake_if_idle(void)
{
    /* seq_cst fence: forbids the reordering of our push (the CAS's store) with the load of
     * worker_idle below, against the same fence in worker_wait_for_work() between its store
     * of worker_idle and its load of the queue (Dekker): the worker sees our node, or we see it
     * idle. */
    atomic_thread_fence(memory_order_seq_cst);
    /* Relaxed: ordered by the fence above. */
    if (atomic_load_explicit(&worker_idle, memory_order_relaxed)) {
        /* Relaxed: the futex word only; the kernel's compare makes the wake-up unlosable. */
        atomic_store_explicit(&worker_idle, 0, memory_order_relaxed);
        golf__futex_wake(&worker_idle, 1);
    }
}

static void
queue_push(golf__rcu_head *head)
{
    uintptr_t old = atomic_load_explicit(&pending, memory_order_relaxed);
    for (;;) {
        if (GOLF__UNLIKELY(old & Q_CLOSED)) {
            old = queue_wait_fork_end();
            continue;
        }
        head->next = (golf__rcu_head *)old;
        /* [U1] release: head->next and head->fn are written before the node is reachable;
         * pairs with the [U1] acquire of queue_take_all() and of the fork prepare handler. */
        if (atomic_compare_exchange_weak_explicit(&pending, &old, (uintptr_t)head,
                                                  memory_order_release, memory_order_relaxed))
            break;
    }
    /* Only a push onto an empty queue can find the worker asleep: it sleeps only after it saw
     * the queue empty (with the fence), and then the first push after that is this one. */
    if (old == 0)
        worker_wake_if_idle();
}

/* Everything queued, newest first. The caller holds gp_lock, so no fork is in progress
 * (prepare takes gp_lock before closing the queue) and Q_CLOSED is clear. */
static golf__rcu_head *
queue_take_all(void)
{
    /* [U1] acquire: pairs with the [U1] release of each push: the nodes' links are visible. */
    return (golf__rcu_head *)atomic_exchange_explicit(&pending, 0, memory_order_acquire);
}

/* ==== the drain: taking a batch, its grace period, running it ================================= */

/* The drain lock: whoever runs callbacks holds it (the worker, or a barrier with no worker), so
 * batches run one at a time, in queue order. 0 free, 1 held, 2 held with sleepers. A futex
 * word, not a pthread mutex, so the fork child can reset it whatever state it was copied in. */
static _Atomic uint32_t drain_word;
/* The batch whose grace period has passed, in queue order, not yet started. Only the drain
 * lock's holder touches it ([U3]). */
static golf__rcu_head *ready;

static bool
drain_trylock(void)
{
    uint32_t expected = 0;
    /* [U3] acquire: pairs with the [U3] release in drain_unlock(): the previous holder's ready
     * list and the effects of the callbacks it ran. */
    return atomic_compare_exchange_strong_explicit(&drain_word, &expected, 1, memory_order_acquire,
                                                   memory_order_relaxed);
}

static void
drain_lock(void)
{
    if (drain_trylock())
        return;
    /* [U3] acquire: as in drain_trylock(). 2: the holder's unlock must wake us. */
    while (atomic_exchange_explicit(&drain_word, 2, memory_order_acquire) != 0)
        golf__futex_wait(&drain_word, 2, GOLF__FOREVER);
}

static void
drain_unlock(void)
{
    /* [U3] release: see drain_trylock(). */
    if (atomic_exchange_explicit(&drain_word, 0, memory_order_release) == 2)
        golf__futex_wake(&drain_word, 1);
}

/* Runs the ready list. Re-entrant: a callback that calls golf__rcu_barrier() continues the
 * same list (see golf__rcu_barrier), so the loop reloads `ready` each time. */
static void
run_ready(void)
{
    golf__rcu_head *h;
    while ((h = ready) != NULL) {
        ready = h->next; /* before fn, which may free h or queue it again */
        h->fn(h);
    }
}

/* One batch: take the queue, wait a grace period, run it. Holding the drain lock. */
static void
drain_batch(void)
{
    pthread_mutex_lock(&gp_lock);
    golf__rcu_head *batch = queue_take_all();
    if (batch != NULL)
        rcu_synchronize_locked();
    pthread_mutex_unlock(&gp_lock);
    /* Reverse into queue order. `ready` is empty: every caller ran it out first. */
    golf__rcu_head *fifo = NULL;
    while (batch != NULL) {
        golf__rcu_head *next = batch->next;
        batch->next = fifo;
        fifo = batch;
        batch = next;
    }
    ready = fifo;
    run_ready();
}

/* ==== the worker ============================================================================== */

enum { WORKER_NONE = 0, WORKER_RUNNING = 1 };
/* Written under start_lock (and by the fork child). Relaxed everywhere: it publishes no data,
 * only "a thread will take the queue"; the queue carries its own ordering ([U1]). */
static _Atomic int worker_state;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

/* The worker's control block: allocated through golf's allocator so allocation-failure tests
 * reach this site too (a thread is memory). Kept for the process's life. */
typedef struct rcu_worker {
    pthread_t tid;
} rcu_worker;
static rcu_worker *worker;

static void
worker_wait_for_work(void)
{
    while (queue_empty()) {
        /* Relaxed: ordered by the fence below. */
        atomic_store_explicit(&worker_idle, 1, memory_order_relaxed);
        /* seq_cst fence: forbids the store(worker_idle) -> load(pending) reordering, against
         * the fence in worker_wake_if_idle() (Dekker). */
        atomic_thread_fence(memory_order_seq_cst);
        if (!queue_empty())
            break;
        /* Counted asleep by the deadlock detector, never reported (watch.h). */
        golf__wait_until(&worker_idle, 1, GOLF__FOREVER, GOLF__WAIT_IDLE, NULL);
    }
    atomic_store_explicit(&worker_idle, 0, memory_order_relaxed); /* relaxed: a futex word */
}

static void
worker_batching_delay(void)
{
    uint64_t deadline = golf__now_ns() + RCU_BATCH_DELAY_NS;
    /* Relaxed: a hint; a barrier bumps urgent and wakes us, and the kernel's compare means the
     * wake-up is not lost if it comes before we sleep. */
    while (atomic_load_explicit(&urgent, memory_order_relaxed) == 0)
        if (golf__futex_wait_until(&urgent, 0, deadline) == GOLF_ETIMEDOUT)
            break;
}

static void *
worker_main(void *arg)
{
    (void)arg;
    rcu_is_worker = true;
    for (;;) {
        worker_wait_for_work();
        worker_batching_delay();
        drain_lock();
        rcu_draining = true;
        drain_batch();
        rcu_draining = false;
        drain_unlock();
    }
    return NULL;
}

__attribute__((noinline, cold)) static int
rcu_start_slow(void)
{
    if (rcu_init() != GOLF_OK)
        return GOLF_ENOMEM;
    int rc = GOLF_OK;
    pthread_mutex_lock(&start_lock);
    if (atomic_load_explicit(&worker_state, memory_order_relaxed) == WORKER_RUNNING)
        goto out;
    if (worker == NULL)
        worker = golf__malloc(sizeof *worker);
    if (worker == NULL) {
        rc = GOLF_ENOMEM;
        goto out;
    }
    /* The worker takes no signal: the application's handlers run on its own threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&worker->tid, &attr, worker_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        rc = GOLF_ENOMEM;
        goto out;
    }
    atomic_store_explicit(&worker_state, WORKER_RUNNING, memory_order_relaxed);
out:
    pthread_mutex_unlock(&start_lock);
    return rc;
}

int
golf__rcu_start(void)
{
    if (GOLF__UNLIKELY(atomic_load_explicit(&worker_state, memory_order_relaxed) != WORKER_RUNNING))
        return rcu_start_slow();
    return GOLF_OK;
}

void
golf__rcu_call(golf__rcu_head *head, void (*fn)(golf__rcu_head *head))
{
    /* The worker registers itself when a callback first needs it; callers need not be
     * registered (nothing here reads under RCU). */
    head->fn = fn;
    queue_push(head);
    /* No worker: never started (an object that did not call golf__rcu_start), or this is a fork
     * child. Start one; if that fails the callback stays queued for the next start or for a
     * barrier, which drains the queue itself when there is no worker. */
    if (GOLF__UNLIKELY(atomic_load_explicit(&worker_state, memory_order_relaxed) != WORKER_RUNNING))
        (void)rcu_start_slow();
}

/* ==== the barrier ============================================================================= */

typedef struct rcu_barrier_node {
    golf__rcu_head head; /* first: the callback gets its address */
    _Atomic uint32_t done;
} rcu_barrier_node;

static void
barrier_done(golf__rcu_head *head)
{
    rcu_barrier_node *b = (rcu_barrier_node *)(void *)head;
    /* [U2] release: every callback that ran before this one (all of those queued before the
     * barrier) happens before the barrier returns; pairs with the [U2] acquire in
     * golf__rcu_barrier(). After this store b may be gone (it lives on the waiter's stack): the
     * wake-up only uses its address (a stale wake-up is a spurious one, which every futex
     * waiter tolerates). */
    atomic_store_explicit(&b->done, 1, memory_order_release);
    golf__futex_wake(&b->done, 1);
}

void
golf__rcu_barrier(void)
{
    if (golf__rcu_in_read_section())
        golf__fatal("golf: RCU barrier inside a read section (deadlock)");
    if (rcu_draining) {
        /* Called by a callback: waiting for the drainer would wait for ourselves. Everything
         * queued before us is the rest of the current batch (its grace period has passed) and
         * the queue: run both here, in that order. */
        run_ready();
        drain_batch();
        return;
    }
    rcu_barrier_node b;
    atomic_init(&b.done, 0);
    /* Relaxed: a hint that cuts the worker's batching delay short; the wake makes it look. */
    atomic_fetch_add_explicit(&urgent, 1, memory_order_relaxed);
    golf__futex_wake(&urgent, 1);
    b.head.fn = barrier_done;
    queue_push(&b.head);
    if (atomic_load_explicit(&worker_state, memory_order_relaxed) != WORKER_RUNNING)
        (void)rcu_start_slow();
    /* [U2] acquire: pairs with the [U2] release in barrier_done(). */
    while (!atomic_load_explicit(&b.done, memory_order_acquire)) {
        if (atomic_load_explicit(&worker_state, memory_order_relaxed) == WORKER_RUNNING) {
            golf__futex_wait(&b.done, 0, GOLF__FOREVER);
            continue;
        }
        /* No worker and none can be started (a fork child out of threads): drain it here. */
        drain_lock();
        rcu_draining = true;
        /* [U2] acquire: as above (it may have run under another drainer meanwhile). */
        if (!atomic_load_explicit(&b.done, memory_order_acquire))
            drain_batch();
        rcu_draining = false;
        drain_unlock();
    }
    atomic_fetch_sub_explicit(&urgent, 1, memory_order_relaxed);
}

/* ==== fork() ================================================================================== *
 *
 * fork() copies only the calling thread, and copies memory while the other threads run, so
 * what they were changing at that moment reaches the child half-done. The prepare handler
 * stops every change to the state the child needs: it takes start_lock (no worker start half
 * done), reg_lock (no golf thread in
 * liburcu's registry), gp_lock (no golf grace period in flight, so liburcu's locks are free),
 * closes the queue (pushers wait until the fork is over) and takes the drain lock if no batch
 * is running. The child then has a consistent queue, and repairs the rest: see
 * rcu_atfork_child. */

static bool fork_gp_held;    /* prepare holds gp_lock */
static bool fork_drain_held; /* prepare holds the drain lock */

static void
rcu_atfork_prepare(void)
{
    /* start_lock first: a thread starting the worker holds it across pthread_create only. */
    pthread_mutex_lock(&start_lock);
    pthread_mutex_lock(&reg_lock);
    if (golf__rcu_in_read_section())
        /* A grace period in flight may be waiting for this very section: only try. If it
         * fails the child cannot have grace periods (gp_broken). */
        fork_gp_held = pthread_mutex_trylock(&gp_lock) == 0;
    else {
        pthread_mutex_lock(&gp_lock);
        fork_gp_held = true;
    }
    /* [U1] acquire: the nodes queued so far (their links) are visible to us, hence copied into
     * the child; Q_CLOSED keeps new pushes out until the fork is over. */
    atomic_fetch_or_explicit(&pending, Q_CLOSED, memory_order_acquire);
    /* Trylock: a batch in progress may run a callback that waits for this thread; never wait
     * for one. */
    fork_drain_held = rcu_draining ? false : drain_trylock();
}

static void
rcu_fork_reopen(void)
{
    atomic_fetch_and_explicit(&pending, ~Q_CLOSED, memory_order_relaxed); /* published by: */
    /* [U4] release: the reopened queue before the new generation; pairs with the [U4]
     * acquire in queue_wait_fork_end(). */
    atomic_fetch_add_explicit(&fork_gen, 1, memory_order_release);
    golf__futex_wake(&fork_gen, INT_MAX);
}

static void
rcu_atfork_parent(void)
{
    if (fork_drain_held)
        drain_unlock();
    rcu_fork_reopen();
    if (fork_gp_held)
        pthread_mutex_unlock(&gp_lock);
    pthread_mutex_unlock(&reg_lock);
    pthread_mutex_unlock(&start_lock);
}

static void
rcu_atfork_child(void)
{
    /* One thread now: plain reads of what prepare froze are exact. */

    /* liburcu's registry still links the records of the parent's other threads. A grace period
     * would wait for any of them that was inside a read section at the fork, forever; and
     * their TLS (where the records live) goes back to glibc's stack cache, to be zeroed for
     * the child's next thread while still linked. Unlink those golf registered (threads the
     * application registered itself are the application's, as liburcu's fork rules say). */
    for (rcu_thread *t = reg_list.next; t != &reg_list; t = t->next) {
        if (t == &rcu_self || !t->reader->registered)
            continue;
        struct cds_list_head *n = &t->reader->node;
        n->prev->next = n->next;
        n->next->prev = n->prev;
    }
    reg_list.next = reg_list.prev = &reg_list;
    if (rcu_owned) {
        rcu_self.next = rcu_self.prev = &reg_list;
        reg_list.next = reg_list.prev = &rcu_self;
    }

    /* The worker was not copied. If this thread was running a batch (fork() from a callback),
     * its drain state is its own and stays; if this thread is the worker's copy it goes on
     * being the worker. Otherwise a batch that was running in another thread is dropped here:
     * its callbacks run in the parent; in the child they would start from a half-done copy.
     * The queue itself is intact (closed by prepare). */
    if (!rcu_draining) {
        if (!fork_drain_held)
            ready = NULL;
        atomic_store_explicit(&drain_word, 0, memory_order_relaxed);
    }
    atomic_store_explicit(&worker_state, rcu_is_worker ? WORKER_RUNNING : WORKER_NONE,
                          memory_order_relaxed);
    atomic_store_explicit(&worker_idle, 0, memory_order_relaxed);
    atomic_store_explicit(&urgent, 0, memory_order_relaxed);
    if (!fork_gp_held)
        gp_broken = true;
    rcu_fork_reopen();
    if (fork_gp_held)
        pthread_mutex_unlock(&gp_lock);
    pthread_mutex_unlock(&reg_lock);
    pthread_mutex_unlock(&start_lock);
    /* Queued callbacks run once the child starts a worker: at its next deferred call, map
     * creation or barrier (golf_map_free). Not here: a child that only calls exec() should not
     * pay for a thread, and a child of a TSan build may not create one. */
}
