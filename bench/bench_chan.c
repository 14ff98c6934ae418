/* SPDX-License-Identifier: MIT */
/* Channel and ring workloads (docs/BENCHMARKS.md): golf beside the mutex reference (ref/ref_chan.h)
 * and ConcurrencyKit's ck_ring; for the unbuffered and ping-pong workloads also beside their floor,
 * the same hand-offs done with raw atomics (the least any channel could cost on this host).
 *
 * Queue conventions, exactly docs/BENCHMARKS.md's: int64 payload; N = 10,000,000; producer p of P
 * sends p*(N/P)+1 ... (p+1)*(N/P); each consumer receives N/P; the check is count and sum of the
 * received values = N(N+1)/2. Time is gb_run_workers' (threads start -> all joined).
 *
 * Ring-style peers (golf_ring, ck_ring, ref_ring) have only try operations: on full/empty every
 * one of them retries with the same backoff (golf__backoff under GOLF__BUDGET_HOLDER, the map
 * bucket lock's: a short exponential spin, then yield), so the comparison is between the queues,
 * not between retry policies. */
#include <ck_ring.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu/wfcqueue.h>

#include "bench.h"
#include "golf/chan.h"
#include "golf/ring.h"
#include "lockfree/backoff.h"
#include "ref_chan.h"

#define CAP 1024

/* Per-consumer results, one cache line each so consumers never share a line. */
typedef struct {
    _Alignas(64) uint64_t count;
    uint64_t sum;
} consumer_slot;

typedef struct {
    void *q;       /* the queue under test */
    void *q2;      /* select2: the second channel */
    int producers; /* P */
    uint64_t per;  /* values per producer (and per consumer) */
    int cpu[2];    /* the floor: producers pinned to cpu[0], consumers to cpu[1]; -1: unpinned */
    consumer_slot slot[2 * GB_MAX_THREADS];
} qctx;

static qctx *
qctx_new(int producers, uint64_t n)
{
    qctx *c = aligned_alloc(64, sizeof(qctx));
    memset(c, 0, sizeof *c);
    c->producers = producers;
    c->per = n / (uint64_t)producers;
    c->cpu[0] = c->cpu[1] = -1;
    return c;
}

/* count and sum over every consumer slot against docs/BENCHMARKS.md's check. */
static void
qctx_check(qctx *c, int consumers, gb_result *out)
{
    uint64_t total = c->per * (uint64_t)c->producers, count = 0, sum = 0;
    for (int i = 0; i < consumers; i++) {
        count += c->slot[i].count;
        sum += c->slot[i].sum;
    }
    out->ops = total;
    /* N(N+1)/2 for N = total: in 64 bits up to N ~ 6e9. */
    uint64_t want = total % 2 == 0 ? total / 2 * (total + 1) : (total + 1) / 2 * total;
    if (count != total || sum != want)
        gb_fail(out, "received %llu values summing to %llu, want %llu summing to %llu",
                (unsigned long long)count, (unsigned long long)sum, (unsigned long long)total,
                (unsigned long long)want);
}

/* ---- the operations, one small inline function per implementation -------------------------
 * The MPMC bodies below are static inline and take these as constant arguments, so each worker
 * is compiled with its own operations inlined (no indirect call in the loop). */

typedef void (*put_fn)(void *q, int64_t v);
typedef int64_t (*get_fn)(void *q);

static inline void
golf_chan_put(void *q, int64_t v)
{
    golf_chan_send(q, &v);
}
static inline int64_t
golf_chan_get(void *q)
{
    int64_t v = 0;
    golf_chan_recv(q, &v);
    return v;
}
static inline void
ref_chan_put(void *q, int64_t v)
{
    ref_chan_send(q, &v);
}
static inline int64_t
ref_chan_get(void *q)
{
    int64_t v = 0;
    ref_chan_recv(q, &v);
    return v;
}

static inline void
golf_ring_put(void *q, int64_t v)
{
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_HOLDER);
    while (golf_ring_try_push(q, &v) != GOLF_OK)
        golf__backoff_wait(&b);
}
static inline int64_t
golf_ring_get(void *q)
{
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_HOLDER);
    int64_t v;
    while (golf_ring_try_pop(q, &v) != GOLF_OK)
        golf__backoff_wait(&b);
    return v;
}
static inline void
ref_ring_put(void *q, int64_t v)
{
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_HOLDER);
    while (ref_ring_try_push(q, &v) != GOLF_OK)
        golf__backoff_wait(&b);
}
static inline int64_t
ref_ring_get(void *q)
{
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_HOLDER);
    int64_t v;
    while (ref_ring_try_pop(q, &v) != GOLF_OK)
        golf__backoff_wait(&b);
    return v;
}

/* The floor of an unbuffered hand-off: one atomic word per producer/consumer pair, 0 = empty.
 * The producer waits for empty and stores its value, the consumer waits for a value and stores
 * 0: per value one trip of one cache line there and back, and nothing else (no queue, no
 * parking, no line shared with another pair). Acquire/release as a channel would need them to
 * publish a payload stored elsewhere (free on x86). Producers and consumers are pinned to two
 * CPUs: unpinned, the scheduler may put a pair's two spinners on one CPU, where every hand-off
 * waits for a yield and the "floor" comes out slower than the channels it bounds. */
typedef struct {
    _Alignas(128) _Atomic int64_t word;
} floor_slot;

static inline void
floor_put(void *q, int64_t v)
{
    floor_slot *s = q;
    unsigned spins = 0;
    /* [B1] acquire: the consumer is done with the last value; pairs with [B1] in floor_get(). */
    while (atomic_load_explicit(&s->word, memory_order_acquire) != 0)
        gb_spin_step(&spins);
    /* [B2] release: hands v over; pairs with [B2] acquire in floor_get(). */
    atomic_store_explicit(&s->word, v, memory_order_release);
}
static inline int64_t
floor_get(void *q)
{
    floor_slot *s = q;
    unsigned spins = 0;
    int64_t v;
    /* [B2] acquire: the producer's value; pairs with [B2] release in floor_put(). */
    while ((v = atomic_load_explicit(&s->word, memory_order_acquire)) == 0)
        gb_spin_step(&spins);
    /* [B1] release: the slot is free again; pairs with [B1] acquire in floor_put(). */
    atomic_store_explicit(&s->word, 0, memory_order_release);
    return v;
}

/* ck_ring stores pointers: the payload travels as an intptr_t (values are never 0). The buffer
 * hangs off the ring's qctx; q is the ck_ring_t. */
typedef struct {
    ck_ring_t ring;
    ck_ring_buffer_t *buf;
} ck_q;

/* ck_ring's MPMC enqueue spins (without yielding) until every earlier reservation is
 * published, so when oversubscribed a preempted producer stalls the others for a scheduling
 * quantum; ck measured 0.12 Mops/s at 4P on 2 cores. A watchdog (run_mpmc) stops a ck run
 * after CK_LIMIT_S and reports it failed, rather than let one peer take the benchmark hostage. */
#define CK_LIMIT_S 20
static atomic_int ck_stop;

static inline void
ck_put(void *q, int64_t v)
{
    ck_q *k = q;
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_HOLDER);
    while (!ck_ring_enqueue_mpmc(&k->ring, k->buf, (void *)(intptr_t)v)) {
        if (atomic_load_explicit(&ck_stop, memory_order_relaxed))
            return;
        golf__backoff_wait(&b);
    }
}
static inline int64_t
ck_get(void *q)
{
    ck_q *k = q;
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_HOLDER);
    void *p;
    while (!ck_ring_dequeue_mpmc(&k->ring, k->buf, &p)) {
        if (atomic_load_explicit(&ck_stop, memory_order_relaxed))
            return 0;
        golf__backoff_wait(&b);
    }
    return (int64_t)(intptr_t)p;
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} watchdog;

/* Sets ck_stop unless the run ends within CK_LIMIT_S. */
static void *
ck_watchdog(void *p)
{
    watchdog *w = p;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += CK_LIMIT_S;
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0) {
            atomic_store_explicit(&ck_stop, 1, memory_order_relaxed);
            break;
        }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static ck_q *
ck_q_new(unsigned size)
{
    ck_q *k = aligned_alloc(64, (sizeof(ck_q) + 63) / 64 * 64);
    k->buf = aligned_alloc(64, size * sizeof(ck_ring_buffer_t));
    ck_ring_init(&k->ring, size);
    return k;
}

static void
ck_q_free(ck_q *k)
{
    free(k->buf);
    free(k);
}

/* liburcu's wait-free concurrent queue (wfcqueue) as an unbounded MPMC queue: enqueue is one
 * exchange on the tail (wait-free); cds_wfcq_dequeue_blocking serialises dequeuers with the
 * queue's own mutex (the API's rule for concurrent dequeuers). A node per value from malloc, as
 * the API is used (the consumer frees what the producer allocated; glibc's per-thread caches
 * make that a few tens of ns). An empty queue has no blocking receive: consumers spin briefly
 * and yield, which costs them CPU but never a futex wake-up. */
typedef struct {
    struct cds_wfcq_node node;
    int64_t v;
} wfcq_item;

typedef struct {
    struct cds_wfcq_head head;
    char pad[128];
    struct cds_wfcq_tail tail;
} wfcq_q;

static wfcq_q *
wfcq_q_new(void)
{
    wfcq_q *q = aligned_alloc(128, sizeof(wfcq_q));
    if (q)
        cds_wfcq_init(&q->head, &q->tail);
    return q;
}

static void
wfcq_q_free(wfcq_q *q)
{
    if (q)
        cds_wfcq_destroy(&q->head, &q->tail);
    free(q);
}

static inline void
wfcq_put(void *qp, int64_t v)
{
    wfcq_q *q = qp;
    wfcq_item *it = malloc(sizeof *it);
    if (!it)
        abort();
    cds_wfcq_node_init(&it->node);
    it->v = v;
    cds_wfcq_enqueue(&q->head, &q->tail, &it->node);
}

static inline int64_t
wfcq_get(void *qp)
{
    wfcq_q *q = qp;
    golf__backoff b = GOLF__BACKOFF(GOLF__BUDGET_SLOT);
    for (;;) {
        struct cds_wfcq_node *n = cds_wfcq_dequeue_blocking(&q->head, &q->tail);
        if (n) {
            wfcq_item *it = caa_container_of(n, wfcq_item, node);
            int64_t v = it->v;
            free(it);
            return v;
        }
        if (!golf__backoff_wait(&b))
            golf__backoff_reset(&b);
    }
}

/* ---- P producers + P consumers on one queue (chan_buf1024_mpmc, chan_unbuf_mpmc, ring) ---- */

/* Producer or consumer `id` on queue q (c->q, or the floor's pair of this id). */
static inline void
mpmc_body(qctx *c, int id, void *q, put_fn put, get_fn get)
{
    const uint64_t per = c->per;
    if (id < c->producers) {
        int64_t first = (int64_t)((uint64_t)id * per) + 1;
        for (int64_t v = first; v < first + (int64_t)per; v++)
            put(q, v);
    } else {
        uint64_t sum = 0, got = 0;
        for (uint64_t i = 0; i < per; i++) {
            int64_t v = get(q);
            sum += (uint64_t)v;
            got += v != 0; /* values are never 0: a 0 is a ck get given up by the watchdog */
        }
        c->slot[id - c->producers].count = got;
        c->slot[id - c->producers].sum = sum;
    }
}

static void
w_golf_chan(void *a, int id)
{
    mpmc_body(a, id, ((qctx *)a)->q, golf_chan_put, golf_chan_get);
}
static void
w_ref_chan(void *a, int id)
{
    mpmc_body(a, id, ((qctx *)a)->q, ref_chan_put, ref_chan_get);
}
static void
w_golf_ring(void *a, int id)
{
    mpmc_body(a, id, ((qctx *)a)->q, golf_ring_put, golf_ring_get);
}
static void
w_ref_ring(void *a, int id)
{
    mpmc_body(a, id, ((qctx *)a)->q, ref_ring_put, ref_ring_get);
}
static void
w_ck(void *a, int id)
{
    mpmc_body(a, id, ((qctx *)a)->q, ck_put, ck_get);
}
static void
w_wfcq(void *a, int id)
{
    mpmc_body(a, id, ((qctx *)a)->q, wfcq_put, wfcq_get);
}
static void
w_floor(void *a, int id)
{
    qctx *c = a;
    int cpu = c->cpu[id < c->producers ? 0 : 1];
    if (cpu >= 0)
        gb_pin_self(cpu);
    mpmc_body(c, id, (floor_slot *)c->q + id % c->producers, floor_put, floor_get);
}

enum kind { K_GOLF_CHAN, K_REF_CHAN, K_GOLF_RING, K_REF_RING, K_CK, K_FLOOR, K_WFCQ };

static void
run_mpmc(enum kind k, size_t cap, int threads, uint64_t n, gb_result *out)
{
    qctx *c = qctx_new(threads, n);
    void (*w)(void *, int) = NULL;
    switch (k) {
    case K_GOLF_CHAN:
        c->q = golf_chan_new(sizeof(int64_t), cap);
        w = w_golf_chan;
        break;
    case K_REF_CHAN:
        c->q = ref_chan_new(sizeof(int64_t), cap);
        w = w_ref_chan;
        break;
    case K_GOLF_RING:
        c->q = golf_ring_new(sizeof(int64_t), cap);
        w = w_golf_ring;
        break;
    case K_REF_RING:
        c->q = ref_ring_new(sizeof(int64_t), cap);
        w = w_ref_ring;
        break;
    case K_CK:
        c->q = ck_q_new((unsigned)cap);
        w = w_ck;
        break;
    case K_WFCQ:
        c->q = wfcq_q_new();
        w = w_wfcq;
        break;
    case K_FLOOR:
        c->q = aligned_alloc(128, (size_t)threads * sizeof(floor_slot));
        if (c->q)
            memset(c->q, 0, (size_t)threads * sizeof(floor_slot));
        if (!gb_two_cpus(c->cpu))
            c->cpu[0] = c->cpu[1] = -1;
        w = w_floor;
        break;
    }
    if (!c->q) {
        gb_fail(out, "cannot create the queue");
        free(c);
        return;
    }
    watchdog wd = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    pthread_t wdt;
    if (k == K_CK) {
        atomic_store(&ck_stop, 0);
        pthread_create(&wdt, NULL, ck_watchdog, &wd);
    }
    out->seconds = gb_run_workers(2 * threads, w, c);
    if (k == K_CK) {
        pthread_mutex_lock(&wd.mu);
        wd.done = true;
        pthread_cond_signal(&wd.cv);
        pthread_mutex_unlock(&wd.mu);
        pthread_join(wdt, NULL);
    }
    if (k == K_CK && atomic_load(&ck_stop)) {
        uint64_t got = 0;
        for (int i = 0; i < threads; i++)
            got += c->slot[i].count;
        gb_fail(out,
                "ck_ring stopped after %d s: %llu of %llu values, %.3f Mops/s (its MPMC enqueue "
                "spins on preempted producers)",
                CK_LIMIT_S, (unsigned long long)got,
                (unsigned long long)(c->per * (uint64_t)threads), (double)got / out->seconds / 1e6);
        out->ops = c->per * (uint64_t)threads;
    } else {
        qctx_check(c, threads, out);
    }
    switch (k) {
    case K_GOLF_CHAN:
        golf_chan_free(c->q);
        break;
    case K_REF_CHAN:
        ref_chan_free(c->q);
        break;
    case K_GOLF_RING:
        golf_ring_free(c->q);
        break;
    case K_REF_RING:
        ref_ring_free(c->q);
        break;
    case K_CK:
        ck_q_free(c->q);
        break;
    case K_WFCQ:
        wfcq_q_free(c->q);
        break;
    case K_FLOOR:
        free(c->q);
        break;
    }
    free(c);
}

/* chan_buf1024_mpmc: buffered cap 1024; ck = ck_ring of 1024 slots (it holds 1023). */
static void
golf_buf1024(int t, uint64_t n, gb_result *o)
{
    run_mpmc(K_GOLF_CHAN, CAP, t, n, o);
}
static void
ref_buf1024(int t, uint64_t n, gb_result *o)
{
    run_mpmc(K_REF_CHAN, CAP, t, n, o);
}
static void
ck_buf1024(int t, uint64_t n, gb_result *o)
{
    run_mpmc(K_CK, CAP, t, n, o);
}

static const gb_workload chan_buf1024_mpmc = {
    .name = "chan_buf1024_mpmc",
    .n = 10000000,
    .threads = {1, 2, 4, 8},
    .impls = {{"golf", golf_buf1024}, {"ref", ref_buf1024}, {"ck", ck_buf1024}},
    .go = true,
};
GB_REGISTER(chan_buf1024_mpmc)

/* chan_recv_many64: 1 producer sending value by value into a cap-1024 channel, 1 consumer
 * taking up to 64 ready values per call (golf_chan_recv_many; the reference's loop of single
 * receives; Go has no batch receive: its mirror is the plain per-value loop). */
enum { RECV_MANY = 64 };

typedef int (*recv_many_fn)(void *q, void *out, size_t max, size_t *got);

static inline int
golf_recv_many_op(void *q, void *out, size_t max, size_t *got)
{
    return golf_chan_recv_many(q, out, max, got);
}
static inline int
ref_recv_many_op(void *q, void *out, size_t max, size_t *got)
{
    return ref_chan_recv_many(q, out, max, got);
}

static inline void
recv_many_body(qctx *c, int id, put_fn put, recv_many_fn take)
{
    if (id == 0) {
        for (int64_t v = 1; v <= (int64_t)c->per; v++)
            put(c->q, v);
        return;
    }
    uint64_t sum = 0, got = 0;
    int64_t buf[RECV_MANY];
    while (got < c->per) {
        size_t k = 0;
        if (take(c->q, buf, RECV_MANY, &k) != GOLF_OK)
            break;
        for (size_t i = 0; i < k; i++)
            sum += (uint64_t)buf[i];
        got += k;
    }
    c->slot[0].count = got;
    c->slot[0].sum = sum;
}

static void
w_golf_recv_many(void *a, int id)
{
    recv_many_body(a, id, golf_chan_put, golf_recv_many_op);
}
static void
w_ref_recv_many(void *a, int id)
{
    recv_many_body(a, id, ref_chan_put, ref_recv_many_op);
}

static void
run_recv_many(bool golf, uint64_t n, gb_result *out)
{
    qctx *c = qctx_new(1, n);
    c->q = golf ? (void *)golf_chan_new(sizeof(int64_t), CAP)
                : (void *)ref_chan_new(sizeof(int64_t), CAP);
    if (!c->q) {
        gb_fail(out, "cannot create the channel");
        free(c);
        return;
    }
    out->seconds = gb_run_workers(2, golf ? w_golf_recv_many : w_ref_recv_many, c);
    qctx_check(c, 1, out);
    if (golf)
        golf_chan_free(c->q);
    else
        ref_chan_free(c->q);
    free(c);
}
static void
golf_recv_many64(int t, uint64_t n, gb_result *o)
{
    (void)t;
    run_recv_many(true, n, o);
}
static void
ref_recv_many64(int t, uint64_t n, gb_result *o)
{
    (void)t;
    run_recv_many(false, n, o);
}

static const gb_workload chan_recv_many64 = {
    .name = "chan_recv_many64",
    .n = 10000000,
    .threads = {1},
    .impls = {{"golf", golf_recv_many64}, {"ref", ref_recv_many64}},
    .go = true,
};
GB_REGISTER(chan_recv_many64)

/* chan_unbuf_mpmc: unbuffered. */
static void
golf_unbuf(int t, uint64_t n, gb_result *o)
{
    run_mpmc(K_GOLF_CHAN, 0, t, n, o);
}
static void
ref_unbuf(int t, uint64_t n, gb_result *o)
{
    run_mpmc(K_REF_CHAN, 0, t, n, o);
}
/* The physical minimum: P pairs, each handing values one at a time through one word. */
static void
floor_unbuf(int t, uint64_t n, gb_result *o)
{
    run_mpmc(K_FLOOR, 0, t, n, o);
}

static const gb_workload chan_unbuf_mpmc = {
    .name = "chan_unbuf_mpmc",
    .n = 10000000,
    .threads = {1, 4},
    .impls = {{"golf", golf_unbuf}, {"ref", ref_unbuf}, {"floor", floor_unbuf}},
    .go = true,
};
GB_REGISTER(chan_unbuf_mpmc)

/* chan_unbounded_mpmc: an unbounded channel; peers the mutex reference (a growing ring under one
 * mutex), liburcu's wfcqueue (above) and, in Go, a buffered channel of n slots (Go has no
 * unbounded channel; one that never fills is the nearest). */
static void
golf_unbounded(int t, uint64_t n, gb_result *o)
{
    run_mpmc(K_GOLF_CHAN, GOLF_UNBOUNDED, t, n, o);
}
static void
ref_unbounded(int t, uint64_t n, gb_result *o)
{
    run_mpmc(K_REF_CHAN, GOLF_UNBOUNDED, t, n, o);
}
static void
wfcq_unbounded(int t, uint64_t n, gb_result *o)
{
    run_mpmc(K_WFCQ, 0, t, n, o);
}

static const gb_workload chan_unbounded_mpmc = {
    .name = "chan_unbounded_mpmc",
    .n = 10000000,
    .threads = {1, 2, 4, 8},
    .impls = {{"golf", golf_unbounded}, {"wfcq", wfcq_unbounded}, {"ref", ref_unbounded}},
    .go = true,
};
GB_REGISTER(chan_unbounded_mpmc)

/* ring_mpmc1024: try ops with retry; golf_ring vs ck_ring vs the mutex ring. */
static void
golf_ring1024(int t, uint64_t n, gb_result *o)
{
    run_mpmc(K_GOLF_RING, CAP, t, n, o);
}
static void
ck_ring1024(int t, uint64_t n, gb_result *o)
{
    run_mpmc(K_CK, CAP, t, n, o);
}
static void
ref_ring1024(int t, uint64_t n, gb_result *o)
{
    run_mpmc(K_REF_RING, CAP, t, n, o);
}

static const gb_workload ring_mpmc1024 = {
    .name = "ring_mpmc1024",
    .n = 10000000,
    .threads = {1, 2, 4},
    .impls = {{"golf", golf_ring1024}, {"ck", ck_ring1024}, {"ref", ref_ring1024}},
    .go = false, /* Go has no bare ring; its buffered channel is chan_buf1024_mpmc */
};
GB_REGISTER(ring_mpmc1024)

/* ---- chan_select2_buf1024: 2 producers, each on its own cap-1024 channel; 1 consumer selects
 * over both for all N values. threads = 2 (the producers). ---- */

static void
w_select2_golf(void *a, int id)
{
    qctx *c = a;
    golf_chan *ch[2] = {c->q, c->q2};
    if (id < 2) {
        int64_t first = (int64_t)((uint64_t)id * c->per) + 1;
        for (int64_t v = first; v < first + (int64_t)c->per; v++)
            golf_chan_send(ch[id], &v);
        return;
    }
    uint64_t sum = 0, total = 2 * c->per;
    int64_t v = 0;
    golf_case cs[2] = {{.ch = ch[0], .op = GOLF_RECV, .elem = &v},
                       {.ch = ch[1], .op = GOLF_RECV, .elem = &v}};
    for (uint64_t i = 0; i < total; i++) {
        golf_select(cs, 2);
        sum += (uint64_t)v;
    }
    c->slot[0].count = total;
    c->slot[0].sum = sum;
}

static void
w_select2_ref(void *a, int id)
{
    qctx *c = a;
    ref_chan *ch[2] = {c->q, c->q2};
    if (id < 2) {
        int64_t first = (int64_t)((uint64_t)id * c->per) + 1;
        for (int64_t v = first; v < first + (int64_t)c->per; v++)
            ref_chan_send(ch[id], &v);
        return;
    }
    uint64_t sum = 0, total = 2 * c->per;
    int64_t v = 0;
    ref_case cs[2] = {{.ch = ch[0], .op = GOLF_RECV, .elem = &v},
                      {.ch = ch[1], .op = GOLF_RECV, .elem = &v}};
    for (uint64_t i = 0; i < total; i++) {
        ref_select(cs, 2);
        sum += (uint64_t)v;
    }
    c->slot[0].count = total;
    c->slot[0].sum = sum;
}

static void
golf_select2(int threads, uint64_t n, gb_result *out)
{
    (void)threads;
    qctx *c = qctx_new(2, n);
    c->q = golf_chan_new(sizeof(int64_t), CAP);
    c->q2 = golf_chan_new(sizeof(int64_t), CAP);
    out->seconds = gb_run_workers(3, w_select2_golf, c);
    qctx_check(c, 1, out);
    golf_chan_free(c->q);
    golf_chan_free(c->q2);
    free(c);
}

static void
ref_select2(int threads, uint64_t n, gb_result *out)
{
    (void)threads;
    qctx *c = qctx_new(2, n);
    c->q = ref_chan_new(sizeof(int64_t), CAP);
    c->q2 = ref_chan_new(sizeof(int64_t), CAP);
    out->seconds = gb_run_workers(3, w_select2_ref, c);
    qctx_check(c, 1, out);
    ref_chan_free(c->q);
    ref_chan_free(c->q2);
    free(c);
}

static const gb_workload chan_select2_buf1024 = {
    .name = "chan_select2_buf1024",
    .n = 10000000,
    .threads = {2},
    .impls = {{"golf", golf_select2}, {"ref", ref_select2}},
    .go = true,
};
GB_REGISTER(chan_select2_buf1024)

/* ---- chan_pingpong_rtt: two unbuffered channels; thread 0 sends i on ping and waits for i+1
 * on pong; thread 1 answers. One op = one round trip. ---- */

typedef struct {
    void *ping, *pong;
    uint64_t n;
    uint64_t bad; /* round trips that came back wrong */
} pp_ctx;

static void
w_pingpong_golf(void *a, int id)
{
    pp_ctx *c = a;
    int64_t v;
    if (id == 0) {
        for (int64_t i = 0; i < (int64_t)c->n; i++) {
            golf_chan_send(c->ping, &i);
            golf_chan_recv(c->pong, &v);
            c->bad += v != i + 1;
        }
    } else {
        for (uint64_t i = 0; i < c->n; i++) {
            golf_chan_recv(c->ping, &v);
            v++;
            golf_chan_send(c->pong, &v);
        }
    }
}

static void
w_pingpong_ref(void *a, int id)
{
    pp_ctx *c = a;
    int64_t v;
    if (id == 0) {
        for (int64_t i = 0; i < (int64_t)c->n; i++) {
            ref_chan_send(c->ping, &i);
            ref_chan_recv(c->pong, &v);
            c->bad += v != i + 1;
        }
    } else {
        for (uint64_t i = 0; i < c->n; i++) {
            ref_chan_recv(c->ping, &v);
            v++;
            ref_chan_send(c->pong, &v);
        }
    }
}

static void
run_pingpong(bool golf, uint64_t n, gb_result *out)
{
    pp_ctx c = {.n = n};
    c.ping =
        golf ? (void *)golf_chan_new(sizeof(int64_t), 0) : (void *)ref_chan_new(sizeof(int64_t), 0);
    c.pong =
        golf ? (void *)golf_chan_new(sizeof(int64_t), 0) : (void *)ref_chan_new(sizeof(int64_t), 0);
    out->seconds = gb_run_workers(2, golf ? w_pingpong_golf : w_pingpong_ref, &c);
    out->ops = n;
    if (c.bad)
        gb_fail(out, "%llu round trips returned a wrong value", (unsigned long long)c.bad);
    if (golf) {
        golf_chan_free(c.ping);
        golf_chan_free(c.pong);
    } else {
        ref_chan_free(c.ping);
        ref_chan_free(c.pong);
    }
}

static void
golf_pingpong(int t, uint64_t n, gb_result *o)
{
    (void)t;
    run_pingpong(true, n, o);
}
static void
ref_pingpong(int t, uint64_t n, gb_result *o)
{
    (void)t;
    run_pingpong(false, n, o);
}

/* The physical minimum: one token bouncing between the two threads through one atomic word,
 * pinned to two CPUs (the host probe's cache-line round trip; see floor_slot for why pinned).
 * The check: every answer is the token + 1, and thread 1 answered every token. */
static void
floor_pingpong(int t, uint64_t n, gb_result *out)
{
    (void)t;
    gb_bounce c = {.n = n};
    if (!gb_two_cpus(c.cpu))
        c.cpu[0] = c.cpu[1] = -1;
    out->seconds = gb_run_workers(2, gb_bounce_worker, &c);
    out->ops = n;
    if (c.done != n || c.answered != n || c.bad)
        gb_fail(out, "%llu of %llu round trips made, %llu answered, %llu answers wrong",
                (unsigned long long)c.done, (unsigned long long)n, (unsigned long long)c.answered,
                (unsigned long long)c.bad);
}

static const gb_workload chan_pingpong_rtt = {
    .name = "chan_pingpong_rtt",
    .n = 1000000,
    .rtt = true,
    .threads = {2},
    .impls = {{"golf", golf_pingpong}, {"ref", ref_pingpong}, {"floor", floor_pingpong}},
    .go = true,
};
GB_REGISTER(chan_pingpong_rtt)

/* ---- footprint: heap bytes per channel ----
 * malloc's own count of the bytes it has handed out, before and after making `count` channels:
 * in-use chunks (with their headers and size rounding, as a program pays them) plus mmapped
 * blocks. The free holes that an aligned allocation leaves before its chunk are not in use and
 * do not count. Every arena is counted, so the calling thread does not matter. */

/* malloc's in-use bytes; false where glibc's mallinfo2 (2.33 and later) is missing. */
static bool
heap_in_use(size_t *bytes)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 m = mallinfo2();
    *bytes = m.uordblks + m.hblkhd;
    return true;
#else
    (void)bytes;
    return false;
#endif
}

bool
gb_chan_footprint(const char *impl, size_t cap, int count, double *bytes, char *why, size_t whylen)
{
    bool golf = strcmp(impl, "golf") == 0;
    size_t before, after;
    if (!heap_in_use(&before)) {
        snprintf(why, whylen, "needs glibc's mallinfo2 (glibc 2.33 or later)");
        return false;
    }
    void **chans = calloc((size_t)count, sizeof *chans);
    if (chans == NULL || (!golf && strcmp(impl, "ref") != 0)) {
        snprintf(why, whylen, "%s", chans ? "no such implementation" : "out of memory");
        free(chans);
        return false;
    }
    heap_in_use(&before);
    int made = 0;
    while (made < count) {
        chans[made] = golf ? (void *)golf_chan_new(sizeof(int64_t), cap)
                           : (void *)ref_chan_new(sizeof(int64_t), cap);
        if (chans[made] == NULL)
            break;
        made++;
    }
    heap_in_use(&after);
    for (int i = 0; i < made; i++) {
        if (golf)
            golf_chan_free(chans[i]);
        else
            ref_chan_free(chans[i]);
    }
    free(chans);
    if (made < count) {
        snprintf(why, whylen, "channel %d of %d could not be made", made + 1, count);
        return false;
    }
    *bytes = ((double)after - (double)before) / count;
    return true;
}
