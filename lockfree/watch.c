/* SPDX-License-Identifier: MIT */
/* The deadlock detector, GOLF_BLOCK_REPORT and GOLF_STATS (watch.h; lockfree/README.md,
 * "watch.h", has the argument for why the detector never reports a program that can still
 * move).
 *
 * The detector in one paragraph. A thread that parks untimed in golf publishes what it waits
 * on in its record and then counts itself in `sleepers` (parked, and an epoch bumped at every
 * park and unpark). A thread is on the record list (`registered`) from its first untimed park
 * until it exits. The thread whose park makes parked == registered may be the last one awake:
 * it sleeps with a short timeout instead of for good. If it wakes by that timeout with the
 * epoch unchanged (nobody parked or unparked meanwhile) it confirms against the kernel: every
 * other thread of the process (/proc/self/task) must be asleep ('S'), and the number of live
 * threads must equal the number parked (a thread outside golf, or woken but not yet running,
 * makes that false). Then it checks that `sleepers` still has the value it started from, and
 * reports. While it cannot confirm it keeps checking with a doubling period (capped), so a
 * thread outside golf that exits later is noticed. */
#include "watch.h"

#include "futex.h"
#include "golf/chan.h"
#include "golf/error.h"
#include "setup.h"
#include "tsan.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

golf__debug_settings golf__debug;

/* ---- the settings ------------------------------------------------------------------------- */

/* The first confirmation delay of a thread that may be the last one awake, and the cap of its
 * doubling. The delay keeps the confirmation (a few /proc reads) off the common case where
 * the "last" thread is woken within microseconds by a peer it has just woken itself. */
#define CONFIRM_FIRST_NS 5000000u  /* 5 ms */
#define CONFIRM_MAX_NS 1000000000u /* 1 s */

uint64_t golf__watch_test_confirm_ns = CONFIRM_FIRST_NS;

static void watch_stats_print(void);
static void watch_thread_exit(void *p);
static void watch_prepare(void);
static void watch_parent(void);
static void watch_child(void);

static golf__setup watch_setup = GOLF__SETUP_INIT;

static void
watch_bad_setting(const char *name, const char *value)
{
    fprintf(stderr, "golf: %s=%s not understood, ignored\n", name, value);
}

__attribute__((constructor)) static void
watch_init(void)
{
    uint8_t w = GOLF__DEBUG_DEADLOCK;
    const char *s = getenv("GOLF_DEADLOCK");
    if (s && strcmp(s, "0") == 0)
        w = 0;
    else if (s && *s && strcmp(s, "1") != 0)
        watch_bad_setting("GOLF_DEADLOCK", s);
    s = getenv("GOLF_BLOCK_REPORT");
    if (s && *s) {
        char *end;
        unsigned long long ms = strtoull(s, &end, 10);
        if (*end == '\0' && ms > 0 && ms < UINT64_MAX / 1000000u) {
            w |= GOLF__DEBUG_REPORT;
            golf__debug.report_ns = ms * 1000000u;
        } else {
            watch_bad_setting("GOLF_BLOCK_REPORT", s);
        }
    }
    s = getenv("GOLF_STATS");
    if (s && strcmp(s, "1") == 0) {
        if (atexit(watch_stats_print) == 0)
            w |= GOLF__DEBUG_STATS;
    } else if (s && *s && strcmp(s, "0") != 0) {
        watch_bad_setting("GOLF_STATS", s);
    }
    s = getenv("GOLF_LOCKORDER");
    if (s && strcmp(s, "1") == 0)
        golf__debug.lockorder = GOLF__LOCKORDER_ABORT;
    else if (s && strcmp(s, "warn") == 0)
        golf__debug.lockorder = GOLF__LOCKORDER_WARN;
    else if (s && *s && strcmp(s, "0") != 0)
        watch_bad_setting("GOLF_LOCKORDER", s);
    /* At load time glibc's fork-handler table has room (setup.h); failing here only means
     * registration tries again at the first park. */
    if (w & GOLF__DEBUG_DEADLOCK)
        (void)golf__setup_run(&watch_setup, watch_thread_exit, watch_prepare, watch_parent,
                              watch_child);
    golf__debug.watch = w;
}

/* ---- names -------------------------------------------------------------------------------- */

static const char *const kind_name[GOLF__WAIT_KINDS] = {
    [GOLF__WAIT_CHAN_RECV_NIL] = "chan receive (nil chan)",
    [GOLF__WAIT_CHAN_RECV] = "chan receive",
    [GOLF__WAIT_CHAN_SEND_NIL] = "chan send (nil chan)",
    [GOLF__WAIT_CHAN_SEND] = "chan send",
    [GOLF__WAIT_SELECT] = "select",
    [GOLF__WAIT_SELECT_NO_CASES] = "select (no cases)",
    [GOLF__WAIT_MUTEX_LOCK] = "sync.Mutex.Lock",
    [GOLF__WAIT_RWMUTEX_RLOCK] = "sync.RWMutex.RLock",
    [GOLF__WAIT_RWMUTEX_LOCK] = "sync.RWMutex.Lock",
    [GOLF__WAIT_WAITGROUP_WAIT] = "sync.WaitGroup.Wait",
    [GOLF__WAIT_COND_WAIT] = "sync.Cond.Wait",
    [GOLF__WAIT_IDLE] = "idle",
};

/* ---- the per-thread record ------------------------------------------------------------------ */

typedef struct watch_rec {
    struct watch_rec *next, *prev; /* the record list: under list_lock */
    pid_t tid;                     /* written before linking; fixed (the fork child rewrites its
                                      own) */
    bool linked;                   /* owner; changed under list_lock */
    bool exiting;                  /* owner: the exit hook ran, never register again */
    /* What the thread waits on: written by the owner before it counts itself parked ([D1]). */
    _Atomic bool parked;
    _Atomic int kind;
    _Atomic(const void *) obj;
    _Atomic(const golf_case *) cases; /* a select's cases (its stack), for the reports */
    _Atomic size_t ncases;
    _Atomic(_Atomic uint32_t *) word; /* the futex word it sleeps on (the exit hook wakes it) */
    /* The open wait, for GOLF_STATS and GOLF_BLOCK_REPORT (owner only). */
    uint64_t wait_start; /* 0: none open */
    uint64_t report_at;  /* next block report, GOLF__FOREVER: none */
} watch_rec;

static _Thread_local watch_rec self_rec;

/* The list of registered records: a circular doubly linked list through `head`. */
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static watch_rec list_head = {.next = &list_head, .prev = &list_head};

/* clang-format off */
/* Bit layout of `sleepers`:
 *   bits  0-20  parked      threads between their enter and leave of an untimed watched park
 *   bits 21-41  registered  records on the list
 *   bits 42-63  epoch       +1 at every enter and every leave (registration leaves it alone)
 * One word, so a thread reads both counts and the epoch in the same instant. */
#define W_FIELD_BITS 21
#define W_FIELD_MASK ((UINT64_C(1) << W_FIELD_BITS) - 1)
#define W_PARKED_ONE UINT64_C(1)
#define W_REG_ONE    (UINT64_C(1) << W_FIELD_BITS)
#define W_EPOCH_ONE  (UINT64_C(1) << (2 * W_FIELD_BITS))
/* clang-format on */

static GOLF__CACHE_ALIGNED _Atomic uint64_t sleepers;

static inline uint64_t
w_parked(uint64_t v)
{
    return v & W_FIELD_MASK;
}

static inline uint64_t
w_registered(uint64_t v)
{
    return (v >> W_FIELD_BITS) & W_FIELD_MASK;
}

static inline uint64_t
w_epoch(uint64_t v)
{
    return v >> (2 * W_FIELD_BITS);
}

static void
list_link(watch_rec *r)
{
    r->prev = list_head.prev;
    r->next = &list_head;
    list_head.prev->next = r;
    list_head.prev = r;
}

static void
list_unlink(watch_rec *r)
{
    r->prev->next = r->next;
    r->next->prev = r->prev;
    r->next = r->prev = r;
}

/* Puts the calling thread on the list (once; the exit hook takes it off). False when it
 * cannot (no thread-exit key, or the count is full): then its parks count it awake, which can
 * only hide a deadlock, never invent one. */
static bool
watch_register(watch_rec *r)
{
    if (GOLF__LIKELY(r->linked))
        return true;
    if (r->exiting)
        return false;
    if (golf__setup_run(&watch_setup, watch_thread_exit, watch_prepare, watch_parent,
                        watch_child) != GOLF_OK ||
        pthread_setspecific(watch_setup.key, r) != 0)
        return false;
    r->tid = gettid();
    pthread_mutex_lock(&list_lock);
    /* relaxed: `registered` changes only under list_lock. */
    uint64_t v = atomic_load_explicit(&sleepers, memory_order_relaxed);
    if (w_registered(v) < W_FIELD_MASK) {
        list_link(r);
        /* seq_cst: the candidate test (parked == registered) of a concurrent park reads this
         * count in the same word as its own enter; see watch_park(). */
        atomic_fetch_add_explicit(&sleepers, W_REG_ONE, memory_order_seq_cst);
        r->linked = true;
    }
    pthread_mutex_unlock(&list_lock);
    return r->linked;
}

/* Wakes the threads asleep on the futex word of the first record that says parked (under
 * list_lock). */
static void
wake_one_parked(void)
{
    for (watch_rec *q = list_head.next; q != &list_head; q = q->next) {
        /* relaxed: published by [D1] to our seq_cst load of `sleepers` for a counted thread;
         * for one that has left meanwhile, a stale hint costs a spurious wake-up. */
        if (atomic_load_explicit(&q->parked, memory_order_relaxed)) {
            golf__futex_wake(atomic_load_explicit(&q->word, memory_order_relaxed), INT32_MAX);
            return;
        }
    }
}

/* Thread exit (the key's destructor). If every other registered thread is parked, the last of
 * them to park saw this one still registered and is no candidate: wake one of them (a spurious
 * wake-up, which every golf waiter tolerates) so that it leaves and parks again as the last one.
 *
 * One wake can miss: the chosen thread may be counted parked but not in the kernel yet
 * (between its enter and its futex wait), or running its candidate code, and it then goes to
 * sleep without reading `sleepers` again; or the wake may find only an uncounted waiter on the
 * same word. So the hook wakes again, with a short pause between tries, until `sleepers`
 * changes: a leave (the woken thread), an enter (the last one to enter sees the new count) or
 * a registration (a running thread, which will park last or exit through here). */
static void
watch_thread_exit(void *p)
{
    watch_rec *r = p;
    r->exiting = true;
    pthread_mutex_lock(&list_lock);
    if (!r->linked) {
        pthread_mutex_unlock(&list_lock);
        return;
    }
    list_unlink(r);
    r->linked = false;
    uint64_t v = atomic_fetch_sub_explicit(&sleepers, W_REG_ONE, memory_order_seq_cst) - W_REG_ONE;
    for (unsigned tries = 0; w_parked(v) != 0 && w_parked(v) == w_registered(v); tries++) {
        wake_one_parked();
        pthread_mutex_unlock(&list_lock);
        if (tries < 8) {
            sched_yield();
        } else {
            struct timespec ts = {0, 50000}; /* the woken thread may be preempted: 50 us */
            nanosleep(&ts, NULL);
        }
        pthread_mutex_lock(&list_lock);
        /* seq_cst: as the fetch_sub. */
        if (atomic_load_explicit(&sleepers, memory_order_seq_cst) != v)
            break;
    }
    pthread_mutex_unlock(&list_lock);
}

static void
watch_prepare(void)
{
    pthread_mutex_lock(&list_lock);
}

static void
watch_parent(void)
{
    pthread_mutex_unlock(&list_lock);
}

/* The child has only the forking thread: the other records are copies of threads it does not
 * have (their memory is there, the threads are not). */
static void
watch_child(void)
{
    watch_rec *r = &self_rec;
    list_head.next = list_head.prev = &list_head;
    uint64_t v = atomic_load_explicit(&sleepers, memory_order_relaxed); /* relaxed: one thread */
    uint64_t next = v & ~(W_FIELD_MASK | (W_FIELD_MASK << W_FIELD_BITS));
    if (r->linked) {
        r->tid = gettid();
        list_link(r);
        next += W_REG_ONE;
    }
    atomic_store_explicit(&sleepers, next, memory_order_relaxed);
    /* Unlock, not re-initialise: a child handler that ran before this one may have started a
     * thread (the timer's) that is already blocked on list_lock; an unlock wakes it, an init
     * would leave it asleep for good. */
    pthread_mutex_unlock(&list_lock);
}

/* ---- describing a wait -------------------------------------------------------------------- */

/* Writes " 0x..." for each object of r's current wait into buf (size n); returns how many
 * (none for a nil channel or an empty select). */
static size_t
describe_objects(const watch_rec *r, char *buf, size_t n)
{
    int kind = atomic_load_explicit(&r->kind, memory_order_relaxed);
    const golf_case *cases = atomic_load_explicit(&r->cases, memory_order_relaxed);
    size_t ncases = atomic_load_explicit(&r->ncases, memory_order_relaxed);
    const void *objs[4];
    size_t nobj = 0, more = 0, len = 0;
    buf[0] = '\0';
    if (kind == GOLF__WAIT_SELECT && cases) {
        for (size_t i = 0; i < ncases; i++) {
            if (!cases[i].ch)
                continue;
            if (nobj < 4)
                objs[nobj++] = cases[i].ch;
            else
                more++;
        }
    } else if (kind != GOLF__WAIT_SELECT_NO_CASES && kind != GOLF__WAIT_CHAN_RECV_NIL &&
               kind != GOLF__WAIT_CHAN_SEND_NIL) {
        objs[nobj++] = atomic_load_explicit(&r->obj, memory_order_relaxed);
    }
    for (size_t i = 0; i < nobj && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, " %p", objs[i]);
    if (more && len < n)
        snprintf(buf + len, n - len, " (and %zu more)", more);
    return nobj;
}

static void
write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t k = write(STDERR_FILENO, buf, len);
        if (k <= 0)
            return;
        buf += k;
        len -= (size_t)k;
    }
}

/* ---- the deadlock detector ---------------------------------------------------------------- */

/* Reads the start of a /proc file into buf (cap bytes, NUL-terminated): false if it cannot.
 * No allocation: all threads but us may be parked holding anything. */
static bool
read_proc(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return true;
}

/* The kernel's state letter of thread tid ('R', 'S', 'D', 'Z', ...), or 0 if it cannot be read
 * (the thread is gone). No allocation: all threads but us may be parked holding anything. */
static char
task_state(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    if (!read_proc(path, buf, sizeof buf))
        return 0;
    /* "tid (comm) S ...": comm may hold ')' itself, so the last one ends it. */
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

/* The process's thread count (/proc/self/stat, field 20), 0 if it cannot be read. It counts
 * live threads plus, at most, a zombie thread group leader (main called pthread_exit). */
static uint64_t
thread_count(void)
{
    char buf[1024];
    if (!read_proc("/proc/self/stat", buf, sizeof buf))
        return 0;
    /* "pid (comm) state ppid ...": comm may hold ')' and ' ', so start at the last ')'; p
     * then walks the spaces before fields 3, 4, ..., 20. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    p++;
    for (int field = 3; field < 20 && p; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* True when every live thread of the process but us is asleep in the kernel and their number
 * equals the parked count of v (every parked thread is live, so then every live thread is
 * parked in golf). */
static bool
watch_confirm(uint64_t v, pid_t self)
{
    uint64_t parked = w_parked(v);
    /* Cheap first: more threads than the parked ones and a zombie leader cannot pass (the
     * common failure: a thread outside golf), and then no task's state needs reading. */
    uint64_t threads = thread_count();
    if (threads > parked + 1)
        return false;
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buf[4096] __attribute__((aligned(8)));
    uint64_t live = 0;
    bool ok = true;
    for (;;) {
        ssize_t n = getdents64(fd, buf, sizeof buf);
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        for (ssize_t off = 0; off < n && ok;) {
            struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);
            off += d->d_reclen;
            if (d->d_name[0] < '0' || d->d_name[0] > '9')
                continue;
            pid_t tid = (pid_t)atoi(d->d_name);
            char st = tid == self ? 'R' : task_state(tid);
            if (st == 'Z' || st == 'X' || st == 'x')
                continue; /* a zombie thread group leader (main called pthread_exit) */
            live++;
            /* More live tasks than parked ones already fails: stop reading. */
            ok = (tid == self || st == 'S') && live <= parked;
        }
        if (!ok)
            break;
    }
    close(fd);
    return ok && live == parked;
}

__attribute__((noreturn, cold, noinline)) static void
watch_report_deadlock(void)
{
    static const char head[] = "fatal error: all threads are asleep - deadlock!\n\n";
    write_all(head, sizeof head - 1);
    pid_t pid = getpid();
    /* Every registered thread is parked (the list cannot change: that takes a running
     * thread), so reading their records is reading still memory. */
    pthread_mutex_lock(&list_lock);
    for (watch_rec *q = list_head.next; q != &list_head; q = q->next) {
        int kind = atomic_load_explicit(&q->kind, memory_order_relaxed);
        if (!atomic_load_explicit(&q->parked, memory_order_relaxed) || kind == GOLF__WAIT_IDLE)
            continue;
        char addrs[160], line[256];
        size_t nobj = describe_objects(q, addrs, sizeof addrs);
        int len = snprintf(line, sizeof line, "thread %d%s [%s]%s%s\n", (int)q->tid,
                           q->tid == pid ? " (main)" : "", kind_name[kind], nobj ? ":" : "", addrs);
        write_all(line, len < (int)sizeof line ? (size_t)len : sizeof line - 1);
    }
    abort();
}

/* An untimed park with the thread counted asleep. `until`: GOLF__FOREVER, or the next block
 * report. */
static int
watch_park(watch_rec *r, _Atomic uint32_t *word, uint32_t expected, uint64_t until)
{
    static atomic_flag reporting = ATOMIC_FLAG_INIT;
    atomic_store_explicit(&r->word, word, memory_order_relaxed);
    atomic_store_explicit(&r->parked, true, memory_order_relaxed);
    /* [D1] seq_cst (a release is what the reporter needs): publishes the record's kind, object
     * and `parked` to the thread that confirms a deadlock (it loads `sleepers` before it reads
     * the records). seq_cst for the candidate test: of two threads parking at once, the one
     * whose enter comes second in this word's order sees the other counted. */
    /* Not a user-visible ordering: hidden from TSan (lockfree/tsan.h), so one thread's park
     * after its write does not order that write before another thread's read after it unparks. */
    GOLF__TSAN_IGNORE_SYNC_BEGIN();
    uint64_t v =
        atomic_fetch_add_explicit(&sleepers, W_PARKED_ONE + W_EPOCH_ONE, memory_order_seq_cst) +
        W_PARKED_ONE + W_EPOCH_ONE;
    GOLF__TSAN_IGNORE_SYNC_END();
    bool candidate = w_parked(v) == w_registered(v);
    uint64_t delay = golf__watch_test_confirm_ns;
    int rc;
    for (;;) {
        uint64_t limit = until, confirm_at = GOLF__FOREVER;
        if (candidate) {
            confirm_at = golf__deadline(delay);
            if (confirm_at < limit)
                limit = confirm_at;
        }
        rc = golf__futex_wait_until(word, expected, limit);
        if (rc != GOLF_ETIMEDOUT || limit != confirm_at)
            break; /* woken, or the caller's own limit */
        /* [D1] seq_cst: see the enter above. */
        uint64_t cur = atomic_load_explicit(&sleepers, memory_order_seq_cst);
        if (w_epoch(cur) != w_epoch(v) || w_parked(cur) != w_registered(cur)) {
            /* Someone parked or unparked after us (the last of them to park is the candidate
             * now), or a thread registered and has not parked (it will be the last one, or
             * its exit hook wakes one of us). */
            candidate = false;
            continue;
        }
        /* Our own word last: the scan skips this thread, and a peer may have completed our
         * wait after our timeout and exited before the scan (its futex_wake found nobody). */
        if (watch_confirm(cur, r->tid) &&
            atomic_load_explicit(&sleepers, memory_order_seq_cst) == cur &&
            atomic_load_explicit(word, memory_order_seq_cst) == expected &&
            !atomic_flag_test_and_set_explicit(&reporting, memory_order_relaxed))
            watch_report_deadlock();
        /* A thread outside golf, or one woken that has not run yet: look again later. */
        if (delay < CONFIRM_MAX_NS)
            delay *= 2;
    }
    /* Leaving: an unpark. seq_cst: as the enter; hidden from TSan as the enter. */
    GOLF__TSAN_IGNORE_SYNC_BEGIN();
    atomic_fetch_add_explicit(&sleepers, W_EPOCH_ONE - W_PARKED_ONE, memory_order_seq_cst);
    GOLF__TSAN_IGNORE_SYNC_END();
    atomic_store_explicit(&r->parked, false, memory_order_relaxed);
    return rc;
}

/* ---- GOLF_STATS --------------------------------------------------------------------------- */

enum {
    STAT_CHAN_SEND,
    STAT_CHAN_RECV,
    STAT_SELECT,
    STAT_MUTEX,
    STAT_RWMUTEX,
    STAT_WAITGROUP,
    STAT_COND,
    STAT_ROWS
};

static const char *const stat_name[STAT_ROWS] = {"chan send", "chan receive", "select", "mutex",
                                                 "rwmutex",   "waitgroup",    "cond"};

static const uint8_t stat_row_of[GOLF__WAIT_KINDS] = {
    [GOLF__WAIT_CHAN_RECV_NIL] = STAT_CHAN_RECV, [GOLF__WAIT_CHAN_RECV] = STAT_CHAN_RECV,
    [GOLF__WAIT_CHAN_SEND_NIL] = STAT_CHAN_SEND, [GOLF__WAIT_CHAN_SEND] = STAT_CHAN_SEND,
    [GOLF__WAIT_SELECT] = STAT_SELECT,           [GOLF__WAIT_SELECT_NO_CASES] = STAT_SELECT,
    [GOLF__WAIT_MUTEX_LOCK] = STAT_MUTEX,        [GOLF__WAIT_RWMUTEX_RLOCK] = STAT_RWMUTEX,
    [GOLF__WAIT_RWMUTEX_LOCK] = STAT_RWMUTEX,    [GOLF__WAIT_WAITGROUP_WAIT] = STAT_WAITGROUP,
    [GOLF__WAIT_COND_WAIT] = STAT_COND,          [GOLF__WAIT_IDLE] = STAT_ROWS,
};

/* All counters relaxed: statistics, read once at exit. */
typedef struct stat_row {
    _Atomic uint64_t waits, parks, total_ns, max_ns;
} stat_row;

static stat_row stats[STAT_ROWS];

/* The objects with the most blocked time: a fixed open-addressed table keyed by (object,
 * row), so a channel used for receives and selects has a line for each; a key keeps the slot
 * it first takes; a key that finds no free slot within OBJ_PROBES is not counted (`obj_lost`
 * says how many waits were dropped). Lossy by design: bounded memory, no lock. A slot's key is
 * written in two steps (object by CAS, then row): a racing writer of the same object may miss
 * the row for a moment and take the next slot, so one key can have two lines; harmless for a
 * profile. */
enum { OBJ_SLOTS = 512, OBJ_PROBES = 8, OBJ_TOP = 10 };

typedef struct obj_slot {
    _Atomic(const void *) obj;
    _Atomic uint8_t row; /* stat row + 1, 0: not written yet */
    _Atomic uint64_t ns, waits;
} obj_slot;

static obj_slot objs[OBJ_SLOTS];
static _Atomic uint64_t obj_lost;

static void
stats_add_object(const void *obj, unsigned row, uint64_t ns)
{
    uint64_t h = ((uint64_t)(uintptr_t)obj ^ row) * UINT64_C(0x9E3779B97F4A7C15);
    for (unsigned i = 0; i < OBJ_PROBES; i++) {
        obj_slot *s = &objs[((h >> 40) + i) & (OBJ_SLOTS - 1)];
        const void *cur = atomic_load_explicit(&s->obj, memory_order_relaxed);
        if (cur == NULL) {
            /* relaxed: the slot's counters are statistics read at exit. */
            if (atomic_compare_exchange_strong_explicit(&s->obj, &cur, obj, memory_order_relaxed,
                                                        memory_order_relaxed)) {
                atomic_store_explicit(&s->row, (uint8_t)(row + 1), memory_order_relaxed);
                cur = obj;
            }
        }
        if (cur == obj && atomic_load_explicit(&s->row, memory_order_relaxed) == row + 1) {
            atomic_fetch_add_explicit(&s->ns, ns, memory_order_relaxed);
            atomic_fetch_add_explicit(&s->waits, 1, memory_order_relaxed);
            return;
        }
    }
    atomic_fetch_add_explicit(&obj_lost, 1, memory_order_relaxed);
}

static void
stats_add(int kind, const void *obj, uint64_t ns)
{
    unsigned row = stat_row_of[kind];
    if (row >= STAT_ROWS)
        return;
    stat_row *s = &stats[row];
    atomic_fetch_add_explicit(&s->waits, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->total_ns, ns, memory_order_relaxed);
    uint64_t m = atomic_load_explicit(&s->max_ns, memory_order_relaxed);
    while (ns > m && !atomic_compare_exchange_weak_explicit(
                         &s->max_ns, &m, ns, memory_order_relaxed, memory_order_relaxed))
        ;
    if (obj)
        stats_add_object(obj, row, ns);
}

static void
watch_stats_print(void)
{
    fprintf(stderr, "golf: wait statistics (GOLF_STATS=1)\n");
    fprintf(stderr, "%-14s %10s %10s %12s %12s\n", "kind", "waits", "parks", "total ms", "max ms");
    for (unsigned i = 0; i < STAT_ROWS; i++) {
        stat_row *s = &stats[i];
        fprintf(stderr, "%-14s %10llu %10llu %12.3f %12.3f\n", stat_name[i],
                (unsigned long long)atomic_load_explicit(&s->waits, memory_order_relaxed),
                (unsigned long long)atomic_load_explicit(&s->parks, memory_order_relaxed),
                (double)atomic_load_explicit(&s->total_ns, memory_order_relaxed) / 1e6,
                (double)atomic_load_explicit(&s->max_ns, memory_order_relaxed) / 1e6);
    }
    /* The top OBJ_TOP by blocked time: a selection over a copy. */
    bool taken[OBJ_SLOTS] = {false};
    fprintf(stderr,
            "golf: objects with the most blocked time (a %d-slot table; waits on "
            "objects that found no slot: %llu)\n",
            OBJ_SLOTS, (unsigned long long)atomic_load_explicit(&obj_lost, memory_order_relaxed));
    for (int k = 0; k < OBJ_TOP; k++) {
        int best = -1;
        uint64_t best_ns = 0;
        for (int i = 0; i < OBJ_SLOTS; i++) {
            uint64_t ns = atomic_load_explicit(&objs[i].ns, memory_order_relaxed);
            /* A slot whose row is not stored yet (its writer still running at exit) is not
             * a line: its row would index stat_name at -1. Once stored, a row stays. */
            if (!taken[i] && atomic_load_explicit(&objs[i].obj, memory_order_relaxed) &&
                atomic_load_explicit(&objs[i].row, memory_order_relaxed) != 0 &&
                (best < 0 || ns > best_ns)) {
                best = i;
                best_ns = ns;
            }
        }
        if (best < 0)
            break;
        taken[best] = true;
        obj_slot *s = &objs[best];
        unsigned row = atomic_load_explicit(&s->row, memory_order_relaxed);
        fprintf(stderr, "  %-18p %-14s %12.3f ms %10llu waits\n",
                atomic_load_explicit(&s->obj, memory_order_relaxed), stat_name[row - 1],
                (double)best_ns / 1e6,
                (unsigned long long)atomic_load_explicit(&s->waits, memory_order_relaxed));
    }
}

/* ---- GOLF_BLOCK_REPORT -------------------------------------------------------------------- */

static void
block_report(watch_rec *r, uint64_t now)
{
    char addrs[160], line[256];
    int kind = atomic_load_explicit(&r->kind, memory_order_relaxed);
    size_t nobj = describe_objects(r, addrs, sizeof addrs);
    bool nil = kind == GOLF__WAIT_CHAN_RECV_NIL || kind == GOLF__WAIT_CHAN_SEND_NIL;
    int len =
        snprintf(line, sizeof line, "golf: thread %d blocked %llu ms in %s%s%s\n", (int)gettid(),
                 (unsigned long long)((now - r->wait_start) / 1000000u), kind_name[kind],
                 nobj  ? " on"
                 : nil ? " on nil"
                       : "",
                 addrs);
    write_all(line, len < (int)sizeof line ? (size_t)len : sizeof line - 1);
}

/* ---- the park ------------------------------------------------------------------------------ */

static int
wait_watched(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline, int kind,
             const void *obj, const golf_case *cases, size_t ncases)
{
    watch_rec *r = &self_rec;
    uint8_t f = golf__debug.watch;
    /* relaxed: published by [D1] when it matters; the owner reads its own. */
    atomic_store_explicit(&r->kind, kind, memory_order_relaxed);
    atomic_store_explicit(&r->obj, obj, memory_order_relaxed);
    atomic_store_explicit(&r->cases, cases, memory_order_relaxed);
    atomic_store_explicit(&r->ncases, ncases, memory_order_relaxed);
    uint64_t until = deadline;
    bool timed = (f & GOLF__DEBUG_TIMED) && kind != GOLF__WAIT_IDLE;
    if (timed) {
        if (r->wait_start == 0) {
            r->wait_start = golf__now_ns();
            r->report_at = GOLF__FOREVER;
            if (f & GOLF__DEBUG_REPORT)
                r->report_at = r->wait_start + golf__debug.report_ns;
        }
        if (f & GOLF__DEBUG_STATS)
            atomic_fetch_add_explicit(&stats[stat_row_of[kind]].parks, 1, memory_order_relaxed);
        if (r->report_at < until)
            until = r->report_at;
    }
    int rc;
    if (deadline == GOLF__FOREVER && (f & GOLF__DEBUG_DEADLOCK) && watch_register(r))
        rc = watch_park(r, word, expected, until);
    else
        rc = golf__futex_wait_until(word, expected, until);
    if (timed && (f & GOLF__DEBUG_REPORT)) {
        uint64_t now = golf__now_ns();
        if (now >= r->report_at) {
            block_report(r, now);
            /* The next report when the blocked time has doubled. */
            uint64_t span = r->report_at - r->wait_start;
            r->report_at = span > GOLF__FOREVER / 4 ? GOLF__FOREVER : r->wait_start + 2 * span;
        }
    }
    if (rc == GOLF_ETIMEDOUT && until != deadline)
        rc = 0; /* our own limit, not the caller's: a spurious wake-up for it */
    return rc;
}

int
golf__wait_until(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns,
                 golf__wait_kind kind, const void *obj)
{
    if (GOLF__LIKELY(golf__debug.watch == 0))
        return golf__futex_wait_until(word, expected, deadline_ns);
    return wait_watched(word, expected, deadline_ns, kind, obj, NULL, 0);
}

int
golf__wait_cases(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns,
                 const void *cases_, size_t n)
{
    if (GOLF__LIKELY(golf__debug.watch == 0))
        return golf__futex_wait_until(word, expected, deadline_ns);
    const golf_case *cases = cases_;
    int kind;
    const void *obj = NULL;
    if (n == 0) {
        kind = GOLF__WAIT_SELECT_NO_CASES;
    } else if (n == 1) {
        obj = cases[0].ch;
        if (cases[0].op == GOLF_SEND)
            kind = obj ? GOLF__WAIT_CHAN_SEND : GOLF__WAIT_CHAN_SEND_NIL;
        else
            kind = obj ? GOLF__WAIT_CHAN_RECV : GOLF__WAIT_CHAN_RECV_NIL;
    } else {
        kind = GOLF__WAIT_SELECT;
        for (size_t i = 0; i < n && !obj; i++)
            obj = cases[i].ch;
    }
    return wait_watched(word, expected, deadline_ns, kind, obj,
                        kind == GOLF__WAIT_SELECT ? cases : NULL, n);
}

void
golf__wait_end_timed(void)
{
    watch_rec *r = &self_rec;
    if (r->wait_start == 0)
        return;
    if (golf__debug.watch & GOLF__DEBUG_STATS)
        stats_add(atomic_load_explicit(&r->kind, memory_order_relaxed),
                  atomic_load_explicit(&r->obj, memory_order_relaxed),
                  golf__now_ns() - r->wait_start);
    r->wait_start = 0;
}
