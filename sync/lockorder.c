/* SPDX-License-Identifier: MIT */
/* GOLF_LOCKORDER: lock-order checking of golf mutexes and RWMutexes (sync/README.md,
 * "Lock-order checking"), in the line of the Linux kernel's lockdep and of ThreadSanitizer's
 * deadlock detector, reduced to lock instances.
 *
 * Each thread keeps the locks it holds (a small stack). Acquiring lock B while holding A adds
 * the edge A -> B to one process-wide graph, with the call stack of that acquisition; a new edge
 * A -> B closes a cycle when B already reaches A, and then the program can deadlock (two threads
 * each holding one lock of the cycle and wanting the next) whether or not this run did. The check
 * runs before the acquisition blocks, so a run that would deadlock is reported first.
 *
 * Only reached when GOLF_LOCKORDER is set: the lock and unlock paths test golf__debug.lockorder
 * (one load and a branch on a line nothing writes) and come here. Everything here is under
 * graph_lock (a pthread mutex: never a golf lock, which would check itself). */
#include "lockfree/alloc.h"
#include "lockfree/watch.h"
#include "sync_internal.h"

#include <execinfo.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    HELD_MAX = 32,   /* locks one thread holds at once that are tracked */
    FRAMES = 24,     /* frames kept per edge */
    SKIP_FRAMES = 2, /* golf__lockorder_acquire and the checked lock path */
    EDGES_MAX = 4096,
    NODE_SLOTS = 16384, /* a power of two, >= 2 * EDGES_MAX: load factor <= 1/2 */
};

typedef struct held_lock {
    const void *lock;
    uint8_t kind;
} held_lock;

/* The locks this thread holds, oldest first. Locks past HELD_MAX are not tracked (`lost`
 * counts them, so their unlocks do not pop tracked ones). */
static _Thread_local struct {
    held_lock h[HELD_MAX];
    uint32_t n;
    uint32_t lost;
} self;

typedef struct lo_edge {
    const void *from, *to;
    uint8_t from_kind, to_kind;
    int32_t next_out; /* the next edge with the same `from`, -1: none */
    pid_t tid;
    int nframes;
    void *frames[FRAMES];
} lo_edge;

typedef struct lo_node {
    const void *lock; /* NULL: free slot */
    int32_t first_out;
    int32_t via;   /* the search: the edge that reached this node */
    uint32_t mark; /* the search: visited in search number `mark` */
} lo_node;

static pthread_mutex_t graph_lock = PTHREAD_MUTEX_INITIALIZER;
static lo_edge *edges;
static int32_t nedges;
static lo_node *nodes;
static uint32_t search_gen;
static int32_t *search_stack;
static bool graph_failed, full_said;

static const char *const lock_kind_name[] = {
    [GOLF__LOCK_MUTEX] = "sync.Mutex",
    [GOLF__LOCK_RWMUTEX] = "sync.RWMutex",
    [GOLF__LOCK_RWMUTEX_READ] = "sync.RWMutex (read)",
};

static void
lo_prepare(void)
{
    pthread_mutex_lock(&graph_lock);
}

static void
lo_after_fork(void)
{
    pthread_mutex_unlock(&graph_lock);
}

/* The fork handlers for graph_lock, registered outside it: fork() runs prepare handlers
 * holding glibc's handler lock, which pthread_atfork takes, and a fork between the first edge's
 * taking of graph_lock and a lazy registration would leave the child's copy locked for good. */
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic bool handlers_ready; /* [LO1] */

static bool
lo_setup(void)
{
    /* [LO1] acquire: pairs with the release below (the handlers exist). */
    if (atomic_load_explicit(&handlers_ready, memory_order_acquire))
        return true;
    pthread_mutex_lock(&setup_lock);
    if (!atomic_load_explicit(&handlers_ready, memory_order_relaxed)) { /* under setup_lock */
        /* The first backtrace() loads libgcc_s (dlopen, malloc): here, not under graph_lock. */
        void *frame[1];
        (void)backtrace(frame, 1);
        if (pthread_atfork(lo_prepare, lo_after_fork, lo_after_fork) == 0)
            atomic_store_explicit(&handlers_ready, true, memory_order_release); /* [LO1] */
    }
    pthread_mutex_unlock(&setup_lock);
    return atomic_load_explicit(&handlers_ready, memory_order_relaxed);
}

/* At load time glibc's fork-handler table has room (lockfree/setup.h). The variable is read
 * here as well as by the watch constructor, whose order relative to this one is the link's: any
 * value but "0" registers (a harmless pair of handlers for a value the other rejects). */
__attribute__((constructor)) static void
lo_init(void)
{
    const char *s = getenv("GOLF_LOCKORDER");
    if (s && *s && strcmp(s, "0") != 0)
        (void)lo_setup();
}

/* The graph, allocated on the first edge. False (said once) when memory runs out: the checking
 * stops, the program goes on. */
static bool
graph_ready(void)
{
    if (edges)
        return true;
    if (graph_failed)
        return false;
    edges = golf__malloc(EDGES_MAX * sizeof *edges);
    nodes = golf__calloc(NODE_SLOTS, sizeof *nodes);
    search_stack = golf__malloc(EDGES_MAX * sizeof *search_stack);
    if (!edges || !nodes || !search_stack) {
        free(edges);
        free(nodes);
        free(search_stack);
        edges = NULL;
        graph_failed = true;
        fprintf(stderr, "golf: GOLF_LOCKORDER: out of memory, lock-order checking stops\n");
        return false;
    }
    return true;
}

static lo_node *
node_of(const void *lock, bool add)
{
    uint64_t h = (uint64_t)(uintptr_t)lock * UINT64_C(0x9E3779B97F4A7C15);
    for (uint32_t i = (uint32_t)(h >> 40);; i++) {
        lo_node *n = &nodes[i & (NODE_SLOTS - 1)];
        if (n->lock == lock)
            return n;
        if (n->lock == NULL) {
            if (!add)
                return NULL;
            n->lock = lock;
            n->first_out = -1;
            return n;
        }
    }
}

static bool
edge_exists(const void *from, const void *to)
{
    lo_node *n = nodes ? node_of(from, false) : NULL;
    for (int32_t e = n ? n->first_out : -1; e >= 0; e = edges[e].next_out)
        if (edges[e].to == to)
            return true;
    return false;
}

/* Is there a path from `src` to `dst`? On true, dst's `via` chain leads back to src. */
static bool
path_exists(const void *src, const void *dst)
{
    lo_node *s = node_of(src, false);
    if (!s)
        return false;
    uint32_t gen = ++search_gen;
    int32_t top = 0;
    s->mark = gen;
    s->via = -1;
    for (int32_t e = s->first_out; e >= 0; e = edges[e].next_out)
        search_stack[top++] = e;
    while (top > 0) {
        int32_t e = search_stack[--top];
        lo_node *n = node_of(edges[e].to, false);
        if (n->mark == gen)
            continue;
        n->mark = gen;
        n->via = e;
        if (n->lock == dst)
            return true;
        /* Every edge is pushed at most once per search (its source is marked once), so
         * the stack never holds more than EDGES_MAX entries. */
        for (int32_t f = n->first_out; f >= 0; f = edges[f].next_out)
            search_stack[top++] = f;
    }
    return false;
}

static void
print_edge(const lo_edge *e, bool current)
{
    fprintf(stderr, "thread %d %s %s %p while holding %s %p, at:\n", (int)e->tid,
            current ? "acquires" : "acquired", lock_kind_name[e->to_kind], e->to,
            lock_kind_name[e->from_kind], e->from);
    fflush(stderr);
    backtrace_symbols_fd((void *const *)e->frames, e->nframes, STDERR_FILENO);
}

/* The new edge `closing` (from -> to) closed a cycle: to reaches from through the via chain. */
static void
report_cycle(const lo_edge *closing)
{
    fprintf(stderr, "golf: potential deadlock: lock order inversion\n");
    print_edge(closing, true);
    /* The rest of the cycle, from `to` on: walk the via chain back from `from`, then print it
     * forwards. */
    int32_t chain[64];
    int n = 0, skipped = 0;
    for (int32_t e = node_of(closing->from, false)->via; e >= 0;
         e = node_of(edges[e].from, false)->via) {
        if (n < 64)
            chain[n++] = e;
        else
            skipped++;
    }
    for (int i = n - 1; i >= 0; i--)
        print_edge(&edges[chain[i]], false);
    if (skipped)
        fprintf(stderr, "(%d more edges of the cycle not shown)\n", skipped);
    fflush(stderr);
}

void
golf__lockorder_acquire(const void *lock, golf__lock_kind kind)
{
    if (self.n == 0)
        return;
    if (GOLF__UNLIKELY(!lo_setup())) {
        /* No fork handlers (out of memory at load and now): graph_lock is never taken
         * without them. Said once; the next acquisition tries again. */
        static atomic_flag said = ATOMIC_FLAG_INIT;
        if (!atomic_flag_test_and_set_explicit(&said, memory_order_relaxed))
            fprintf(stderr, "golf: GOLF_LOCKORDER: out of memory for fork handlers, lock-order "
                            "checking waits\n");
        return;
    }
    void *frames[FRAMES + SKIP_FRAMES];
    int nframes = -1;
    bool cycle = false;
    pthread_mutex_lock(&graph_lock);
    for (uint32_t i = 0; i < self.n; i++) {
        const held_lock *h = &self.h[i];
        if (h->lock == lock || edge_exists(h->lock, lock))
            continue; /* holding it already: a self-deadlock, which the detector reports */
        if (!graph_ready())
            break;
        if (nedges == EDGES_MAX) {
            if (!full_said)
                fprintf(stderr,
                        "golf: GOLF_LOCKORDER: %d lock-order edges, no more are "
                        "recorded\n",
                        EDGES_MAX);
            full_said = true;
            break;
        }
        if (nframes < 0)
            nframes = backtrace(frames, FRAMES + SKIP_FRAMES);
        lo_edge *e = &edges[nedges];
        e->from = h->lock;
        e->from_kind = h->kind;
        e->to = lock;
        e->to_kind = (uint8_t)kind;
        e->tid = gettid();
        e->nframes = nframes > SKIP_FRAMES ? nframes - SKIP_FRAMES : 0;
        memcpy(e->frames, frames + (nframes - e->nframes), (size_t)e->nframes * sizeof(void *));
        /* Does `lock` already reach h->lock? Then h -> lock closes a cycle. Searched before
         * the edge is linked, so the via chain is the other edges of the cycle. */
        bool closes = path_exists(lock, h->lock);
        if (closes) {
            report_cycle(e);
            cycle = true;
        }
        lo_node *from = node_of(h->lock, true);
        node_of(lock, true);
        e->next_out = from->first_out;
        from->first_out = nedges++;
    }
    pthread_mutex_unlock(&graph_lock);
    if (cycle && golf__debug.lockorder == GOLF__LOCKORDER_ABORT)
        abort();
}

void
golf__lockorder_acquired(const void *lock, golf__lock_kind kind)
{
    if (self.n == HELD_MAX) {
        self.lost++;
        return;
    }
    self.h[self.n].lock = lock;
    self.h[self.n].kind = (uint8_t)kind;
    self.n++;
}

void
golf__lockorder_release(const void *lock)
{
    for (uint32_t i = self.n; i-- > 0;) {
        if (self.h[i].lock == lock) {
            memmove(&self.h[i], &self.h[i + 1], (self.n - i - 1) * sizeof self.h[0]);
            self.n--;
            return;
        }
    }
    /* Not tracked: acquired past HELD_MAX, before the checking was on, or by another thread
     * (Go allows unlocking a mutex another goroutine locked; the locker's stack keeps it). */
    if (self.lost)
        self.lost--;
}
