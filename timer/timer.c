/* SPDX-License-Identifier: MIT */
/* golf_timer: Go's time.Timer and time.Ticker on one timer thread per process (timer/README.md).
 *
 * The timer thread keeps every armed timer in a binary min-heap on its deadline, fires the ones
 * that are due (a golf_chan_try_send of the fire time on the timer's capacity-1 channel: dropped
 * when the previous value is unread), and sleeps on a futex word (tm_seq) until the earliest
 * deadline. Whoever arms a timer earlier than the thread's planned wake-up bumps tm_seq and
 * wakes it.
 *
 * Invariants:
 *   1. Everything below marked "under tm_lock" is read and written only with tm_lock held: the
 *      heap, each timer's when/period/index, tm_sleep_until, tm_thread.
 *   2. A timer is in the heap exactly when it is armed (index != NOT_ARMED), at heap[index].
 *   3. heap_cap >= live timers (made so by golf_timer_new, the only place that allocates): arming
 *      an existing timer (reset, a ticker's re-arm) never allocates, so it cannot fail.
 *   4. The timer thread fires with tm_lock held, so once golf_timer_free (or stop, or reset)
 *      holds tm_lock no fire of that timer is in progress: golf_timer_free frees the channel
 *      and the timer only after taking it, and after unlinking the timer from the heap.
 *   5. No lost wake-up: the thread reads tm_seq under tm_lock before it unlocks and sleeps on
 *      that value; an arming that moves the earliest deadline before tm_sleep_until bumps tm_seq
 *      under tm_lock, then wakes the futex. Either the thread saw the new heap before it slept,
 *      or its futex_wait sees tm_seq changed.
 *   6. fork(): prepare takes tm_lock, so the child's copy of the heap is consistent; the child
 *      has no timer thread (tm_thread = NONE) and starts one at once if any timer is armed. */
#include "golf/time.h"
#include "lockfree/alloc.h"
#include "lockfree/chaos.h"
#include "lockfree/debug.h"
#include "lockfree/futex.h"
#include "lockfree/setup.h"
#include "lockfree/watch.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#define NOT_ARMED SIZE_MAX

struct golf_timer {
    golf_chan *ch;   /* capacity 1, uint64_t; immutable until golf_timer_free */
    uint64_t when;   /* under tm_lock: the next deadline while armed */
    uint64_t period; /* under tm_lock: 0 for a one-shot timer */
    size_t index;    /* under tm_lock: position in the heap, or NOT_ARMED */
};

enum { THREAD_NONE, THREAD_RUNNING };

static pthread_mutex_t tm_lock = PTHREAD_MUTEX_INITIALIZER;
static golf_timer **heap;               /* under tm_lock */
static size_t heap_len, heap_cap, live; /* under tm_lock; live: timers not freed */
/* under tm_lock: the deadline the thread sleeps until; 0 until it has looked at the heap (an
 * arming then needs no wake-up: the thread will see it) */
static uint64_t tm_sleep_until;
static int tm_thread = THREAD_NONE;             /* under tm_lock */
static _Atomic uint32_t tm_seq;                 /* the futex word the timer thread sleeps on */
static golf__setup tm_setup = GOLF__SETUP_INIT; /* the fork handlers */

uint64_t
golf_now_ns(void)
{
    return golf__now_ns();
}

/* ---- the heap (under tm_lock) ---------------------------------------------------------------- */

static inline void
heap_set(size_t i, golf_timer *t)
{
    heap[i] = t;
    t->index = i;
}

static void
heap_up(size_t i)
{
    golf_timer *t = heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap[parent]->when <= t->when)
            break;
        heap_set(i, heap[parent]);
        i = parent;
    }
    heap_set(i, t);
}

static void
heap_down(size_t i)
{
    golf_timer *t = heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap_len)
            break;
        if (child + 1 < heap_len && heap[child + 1]->when < heap[child]->when)
            child++;
        if (t->when <= heap[child]->when)
            break;
        heap_set(i, heap[child]);
        i = child;
    }
    heap_set(i, t);
}

/* Arms t (not armed) for t->when. Returns whether the timer thread must be woken: t is now the
 * earliest and due before the thread's planned wake-up. Never allocates (invariant 3). */
static bool
heap_push(golf_timer *t)
{
    heap_set(heap_len++, t);
    heap_up(t->index);
    if (heap[0] == t && t->when < tm_sleep_until) {
        tm_sleep_until = t->when;
        /* relaxed: under tm_lock, which the thread holds when it reads tm_seq (invariant 5);
         * the futex compares the value itself. */
        atomic_fetch_add_explicit(&tm_seq, 1, memory_order_relaxed);
        return true;
    }
    return false;
}

static void
heap_remove(golf_timer *t)
{
    size_t i = t->index;
    golf_timer *last = heap[--heap_len];
    t->index = NOT_ARMED;
    if (i == heap_len)
        return;
    heap_set(i, last);
    /* The moved timer may belong above or below its new place. Removing the earliest never
     * needs a wake-up: the thread then wakes early and finds nothing due. */
    heap_up(i);
    heap_down(last->index);
}

/* ---- the timer thread -------------------------------------------------------------------------
 */

/* The next deadline of a ticker whose deadline `when` is due at `now`: when + period, or the
 * first multiple of period after now when the thread fell behind (missed ticks are skipped, as
 * in Go). Saturates at GOLF__FOREVER. */
static uint64_t
ticker_next(uint64_t when, uint64_t period, uint64_t now)
{
    uint64_t steps = now >= when ? (now - when) / period + 1 : 1;
    if (steps > (GOLF__FOREVER - when) / period)
        return GOLF__FOREVER;
    return when + steps * period;
}

static void *
timer_thread(void *arg)
{
    (void)arg;
    /* The kernel may defer a sleeping thread's wake-up by its timer slack (50 us by default) to
     * batch wake-ups; lateness is what this thread exists to minimise. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    pthread_setname_np(pthread_self(), "golf-timer");
    pthread_mutex_lock(&tm_lock);
    for (;;) {
        uint64_t now = golf__now_ns();
        while (heap_len > 0 && heap[0]->when <= now) {
            golf_timer *t = heap[0];
            GOLF__ASSERT(t->index == 0, "2 timer: an armed timer is not at heap[index]");
            GOLF__POINT(TIMER_FIRE);
            /* The fire time is at or after the deadline. A full channel (the previous value
             * unread) drops it, as Go does. Under tm_lock (invariant 4): golf_timer_free waits. */
            (void)golf_chan_try_send(t->ch, &now);
            if (t->period != 0) {
                t->when = ticker_next(t->when, t->period, now);
                heap_down(0);
            } else {
                heap_remove(t);
            }
        }
        tm_sleep_until = heap_len > 0 ? heap[0]->when : GOLF__FOREVER;
        /* relaxed: read under tm_lock, where every bump happens (invariant 5). */
        uint32_t seq = atomic_load_explicit(&tm_seq, memory_order_relaxed);
        uint64_t until = tm_sleep_until;
        pthread_mutex_unlock(&tm_lock);
        /* A service thread: with no timer armed it counts as asleep for the deadlock
         * detector (lockfree/watch.h); with one armed its deadline keeps it awake. */
        golf__wait_until(&tm_seq, seq, until, GOLF__WAIT_IDLE, NULL);
        pthread_mutex_lock(&tm_lock);
    }
    return NULL;
}

/* Starts the timer thread unless it runs (under tm_lock). GOLF_OK or GOLF_ENOMEM. */
static int
timer_thread_start(void)
{
    if (tm_thread == THREAD_RUNNING)
        return GOLF_OK;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return GOLF_ENOMEM;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* The thread takes no signals: the application's handlers run in its own threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t tid;
    int rc = pthread_create(&tid, &attr, timer_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return GOLF_ENOMEM;
    tm_thread = THREAD_RUNNING;
    return GOLF_OK;
}

/* ---- fork() (invariant 6) ---------------------------------------------------------------------
 */

static void
timer_atfork_prepare(void)
{
    pthread_mutex_lock(&tm_lock);
}

static void
timer_atfork_parent(void)
{
    pthread_mutex_unlock(&tm_lock);
}

static void
timer_atfork_child(void)
{
    tm_thread = THREAD_NONE;
    tm_sleep_until = 0;
    /* Armed timers must go on firing in the child. If the thread cannot be started here, the
     * next golf_timer_new or golf_timer_reset tries again. */
    if (heap_len > 0)
        (void)timer_thread_start();
    pthread_mutex_unlock(&tm_lock);
}

static int
timer_setup(void)
{
    /* A key (unused) and the fork handlers; outside tm_lock: fork() runs the prepare handler
     * (which takes tm_lock) while holding glibc's handler lock, which pthread_atfork takes. */
    return golf__setup_run(&tm_setup, NULL, timer_atfork_prepare, timer_atfork_parent,
                           timer_atfork_child);
}

__attribute__((constructor)) static void
timer_load(void)
{
    (void)timer_setup();
}

/* ---- the API ----------------------------------------------------------------------------------
 */

/* Arms t delay_ns from now (under tm_lock); t is not armed. Returns whether to wake the thread. */
static bool
timer_arm(golf_timer *t, uint64_t delay_ns, uint64_t period_ns)
{
    t->when = golf__deadline(delay_ns);
    t->period = period_ns;
    return heap_push(t);
}

static void
timer_wake(bool wake)
{
    if (wake)
        golf__futex_wake(&tm_seq, 1);
}

golf_timer *
golf_timer_new(uint64_t delay_ns, uint64_t period_ns)
{
    if (timer_setup() != GOLF_OK) {
        errno = ENOMEM;
        return NULL;
    }
    golf_timer *t = golf__malloc(sizeof *t);
    if (t == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    t->ch = golf_chan_new(sizeof(uint64_t), 1);
    if (t->ch == NULL) {
        free(t);
        errno = ENOMEM;
        return NULL;
    }
    t->index = NOT_ARMED;
    pthread_mutex_lock(&tm_lock);
    int rc = GOLF_OK;
    if (heap_cap < live + 1) {
        /* Invariant 3: room for every live timer, made here, where failing is allowed. */
        size_t cap = heap_cap < 16 ? 16 : heap_cap * 2;
        golf_timer **h = golf__malloc(cap * sizeof *h);
        if (h == NULL) {
            rc = GOLF_ENOMEM;
        } else {
            if (heap_len > 0)
                memcpy(h, heap, heap_len * sizeof *h);
            free(heap);
            heap = h;
            heap_cap = cap;
        }
    }
    if (rc == GOLF_OK)
        rc = timer_thread_start();
    bool wake = false;
    if (rc == GOLF_OK) {
        live++;
        wake = timer_arm(t, delay_ns, period_ns);
    }
    pthread_mutex_unlock(&tm_lock);
    if (rc != GOLF_OK) {
        golf_chan_free(t->ch);
        free(t);
        errno = ENOMEM;
        return NULL;
    }
    timer_wake(wake);
    return t;
}

golf_chan *
golf_timer_chan(golf_timer *t)
{
    return t == NULL ? NULL : t->ch;
}

bool
golf_timer_stop(golf_timer *t)
{
    if (t == NULL)
        return false;
    pthread_mutex_lock(&tm_lock);
    bool pending = t->index != NOT_ARMED;
    if (pending)
        heap_remove(t);
    pthread_mutex_unlock(&tm_lock);
    return pending;
}

int
golf_timer_reset(golf_timer *t, uint64_t delay_ns, uint64_t period_ns)
{
    if (t == NULL)
        return GOLF_EINVAL;
    pthread_mutex_lock(&tm_lock);
    if (t->index != NOT_ARMED)
        heap_remove(t);
    /* Only a fork child whose thread could not be started has none here. */
    int rc = timer_thread_start();
    bool wake = rc == GOLF_OK && timer_arm(t, delay_ns, period_ns);
    pthread_mutex_unlock(&tm_lock);
    timer_wake(wake);
    return rc;
}

void
golf_timer_free(golf_timer *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&tm_lock);
    /* Holding tm_lock: no fire of t is in progress, and none can start once it is unlinked
     * (invariant 4). */
    if (t->index != NOT_ARMED)
        heap_remove(t);
    live--;
    pthread_mutex_unlock(&tm_lock);
    golf_chan_free(t->ch);
    free(t);
}
