/* SPDX-License-Identifier: MIT */
/* ref/ref_chan.c: Go channels with one pthread mutex per channel (see ref_chan.h).
 *
 * Invariants (every one under the channel's mutex `mu`):
 *   - buf holds `len` values starting at `head` (circular, `nslots` slots); len <= cap.
 *     Bounded: nslots == cap. Unbounded (cap == GOLF_UNBOUNDED): buf doubles when full and
 *     halves when a quarter full (a failed growth is GOLF_ENOMEM, nothing sent).
 *   - recvq is non-empty only while no value is available to a receiver (len == 0, no
 *     claimable sender, not closed); sendq only while no room (len == cap, no claimable
 *     receiver, not closed). A queued node whose waiter has already fired is stale: whoever
 *     meets it drops it.
 *   - once closed, both queues hold only stale nodes: close fires every waiter it finds.
 *   - a waiter's `fired`/`status` and the data it receives are written only by the thread that
 *     claims it, under the waiter's mutex, while holding the channel mutex of the node it used.
 *
 * Why a blocked select never returns while a peer still touches it: the peer holds the mutex of
 * the channel whose node it popped during the whole hand-off, and the waiter, once woken, locks
 * every channel of its select again to unlink its remaining nodes before it returns. */
#include "ref_chan.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIRED_WAITING (-1)
#define FIRED_ABORTED (-2)

struct ref_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fired;  /* FIRED_WAITING, FIRED_ABORTED (timed out), or the index of the case done */
    int status; /* GOLF_OK or GOLF_ECLOSED for the fired case */
};

struct ref_node {
    struct ref_node *next, *prev;
    struct ref_waiter *w;
    int idx;     /* case index in the select */
    void *elem;  /* the case's elem */
    bool queued; /* linked in its channel's queue; under that channel's mu */
};

struct ref_queue {
    struct ref_node *head, *tail;
};

struct ref_chan {
    pthread_mutex_t mu;
    size_t elem_size;
    size_t cap;
    size_t nslots;
    size_t len;
    size_t head;
    bool closed;
    struct ref_queue sendq, recvq;
    unsigned char *buf;
};

/* ---- queues ---- */

static void
q_push(struct ref_queue *q, struct ref_node *n)
{
    n->next = NULL;
    n->prev = q->tail;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    n->queued = true;
}

static void
q_unlink(struct ref_queue *q, struct ref_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        q->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        q->tail = n->prev;
    n->next = n->prev = NULL;
    n->queued = false;
}

/* Pops nodes until one whose waiter has not fired yet; returns it with its waiter's mutex held
 * (the caller completes the hand-off and calls fire()), or NULL. */
static struct ref_node *
q_claim(struct ref_queue *q)
{
    while (q->head) {
        struct ref_node *n = q->head;
        q_unlink(q, n);
        pthread_mutex_lock(&n->w->mu);
        if (n->w->fired == FIRED_WAITING)
            return n;
        pthread_mutex_unlock(&n->w->mu);
    }
    return NULL;
}

static void
fire(struct ref_node *n, int status)
{
    struct ref_waiter *w = n->w;
    w->fired = n->idx;
    w->status = status;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void
copy_elem(void *dst, const void *src, size_t size)
{
    if (size && dst && src)
        memcpy(dst, src, size);
}

static void
zero_elem(void *dst, size_t size)
{
    if (size && dst)
        memset(dst, 0, size);
}

/* ---- channel ---- */

ref_chan *
ref_chan_new(size_t elem_size, size_t cap)
{
    if (elem_size && cap != GOLF_UNBOUNDED && cap > SIZE_MAX / elem_size) {
        errno = EINVAL;
        return NULL;
    }
    ref_chan *ch = calloc(1, sizeof *ch);
    if (!ch) {
        errno = ENOMEM;
        return NULL;
    }
    size_t bytes = cap == GOLF_UNBOUNDED ? 0 : elem_size * cap;
    if (bytes) {
        ch->buf = malloc(bytes);
        if (!ch->buf) {
            free(ch);
            errno = ENOMEM;
            return NULL;
        }
    }
    pthread_mutex_init(&ch->mu, NULL);
    ch->elem_size = elem_size;
    ch->cap = cap;
    /* Unbounded with elem_size 0: no bytes ever, any slot count does. */
    ch->nslots = cap != GOLF_UNBOUNDED ? cap : elem_size ? 0 : SIZE_MAX;
    return ch;
}

void
ref_chan_free(ref_chan *ch)
{
    if (!ch)
        return;
    pthread_mutex_destroy(&ch->mu);
    free(ch->buf);
    free(ch);
}

static unsigned char *
slot(ref_chan *ch, size_t i)
{
    return ch->buf + ((ch->head + i) % ch->nslots) * ch->elem_size;
}

/* Unbounded: moves the values into a buffer of n slots (n >= len). False: out of memory. */
static bool
resize(ref_chan *ch, size_t n)
{
    if (n > SIZE_MAX / ch->elem_size)
        return false;
    unsigned char *b = n ? malloc(n * ch->elem_size) : NULL;
    if (n && !b)
        return false;
    for (size_t i = 0; i < ch->len; i++)
        memcpy(b + i * ch->elem_size, slot(ch, i), ch->elem_size);
    free(ch->buf);
    ch->buf = b;
    ch->nslots = n;
    ch->head = 0;
    return true;
}

int
ref_chan_close(ref_chan *ch)
{
    if (!ch)
        return GOLF_EINVAL;
    pthread_mutex_lock(&ch->mu);
    if (ch->closed) {
        pthread_mutex_unlock(&ch->mu);
        return GOLF_ECLOSED;
    }
    ch->closed = true;
    struct ref_node *n;
    while ((n = q_claim(&ch->recvq)) != NULL) {
        zero_elem(n->elem, ch->elem_size);
        fire(n, GOLF_ECLOSED);
    }
    while ((n = q_claim(&ch->sendq)) != NULL)
        fire(n, GOLF_ECLOSED);
    pthread_mutex_unlock(&ch->mu);
    return GOLF_OK;
}

size_t
ref_chan_len(const ref_chan *ch)
{
    if (!ch)
        return 0;
    ref_chan *m = (ref_chan *)ch; /* locking does not change the channel's value */
    pthread_mutex_lock(&m->mu);
    size_t len = m->len;
    pthread_mutex_unlock(&m->mu);
    return len;
}

size_t
ref_chan_cap(const ref_chan *ch)
{
    return ch ? ch->cap : 0;
}

/* ---- select ---- */

static _Thread_local uint64_t rng_state;

static uint64_t
rng_next(void)
{
    if (rng_state == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        rng_state = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)&rng_state;
        rng_state |= 1;
    }
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static int
cmp_chan(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (ref_chan *const *)a, y = (uintptr_t) * (ref_chan *const *)b;
    return x < y ? -1 : x > y;
}

/* The distinct channels of the select, in address order (lock order). Returns the count. */
static size_t
lock_order(const ref_case *cases, size_t n, ref_chan **order)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (cases[i].ch)
            order[k++] = cases[i].ch;
    qsort(order, k, sizeof *order, cmp_chan);
    size_t d = 0;
    for (size_t i = 0; i < k; i++)
        if (d == 0 || order[d - 1] != order[i])
            order[d++] = order[i];
    return d;
}

static void
lock_all(ref_chan **order, size_t k)
{
    for (size_t i = 0; i < k; i++)
        pthread_mutex_lock(&order[i]->mu);
}

static void
unlock_all(ref_chan **order, size_t k)
{
    for (size_t i = k; i-- > 0;)
        pthread_mutex_unlock(&order[i]->mu);
}

/* Tries case c with its channel locked. Returns true when it took effect (status set). */
static bool
try_case(ref_case *c)
{
    ref_chan *ch = c->ch;
    struct ref_node *n;
    if (c->op == GOLF_RECV) {
        if (ch->len > 0) {
            copy_elem(c->elem, slot(ch, 0), ch->elem_size);
            ch->head = (ch->head + 1) % ch->nslots;
            ch->len--;
            if (ch->cap == GOLF_UNBOUNDED && ch->elem_size && ch->nslots > 16 &&
                ch->len < ch->nslots / 4)
                (void)resize(ch, ch->nslots / 2); /* on failure keep the larger buffer */
            /* Room now: the longest-waiting sender's value goes to the tail (Go's recv). */
            if ((n = q_claim(&ch->sendq)) != NULL) {
                copy_elem(slot(ch, ch->len), n->elem, ch->elem_size);
                ch->len++;
                fire(n, GOLF_OK);
            }
            c->status = GOLF_OK;
            return true;
        }
        if ((n = q_claim(&ch->sendq)) != NULL) { /* unbuffered: take from the sender */
            copy_elem(c->elem, n->elem, ch->elem_size);
            fire(n, GOLF_OK);
            c->status = GOLF_OK;
            return true;
        }
        if (ch->closed) {
            zero_elem(c->elem, ch->elem_size);
            c->status = GOLF_ECLOSED;
            return true;
        }
        return false;
    }
    if (ch->closed) {
        c->status = GOLF_ECLOSED;
        return true;
    }
    if ((n = q_claim(&ch->recvq)) != NULL) { /* a receiver waits: hand it over directly */
        copy_elem(n->elem, c->elem, ch->elem_size);
        fire(n, GOLF_OK);
        c->status = GOLF_OK;
        return true;
    }
    if (ch->len < ch->cap) {
        if (ch->len == ch->nslots && !resize(ch, ch->nslots ? ch->nslots * 2 : 16)) {
            c->status = GOLF_ENOMEM;
            return true;
        }
        copy_elem(slot(ch, ch->len), c->elem, ch->elem_size);
        ch->len++;
        c->status = GOLF_OK;
        return true;
    }
    return false;
}

static bool
deadline_from(uint64_t timeout_ns, struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    uint64_t sec = timeout_ns / 1000000000u;
    if (sec > (uint64_t)INT32_MAX) /* centuries: treat as forever */
        return false;
    ts->tv_sec += (time_t)sec;
    ts->tv_nsec += (long)(timeout_ns % 1000000000u);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
    return true;
}

enum { MODE_BLOCK, MODE_TRY, MODE_TIMEOUT };

#define SMALL 8

static int
do_select(ref_case *cases, size_t n, int mode, uint64_t timeout_ns)
{
    if (n > 0 && !cases)
        return GOLF_EINVAL;
    if (n > (size_t)INT32_MAX)
        return GOLF_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (cases[i].op != GOLF_SEND && cases[i].op != GOLF_RECV)
            return GOLF_EINVAL;
        if (cases[i].op == GOLF_SEND && cases[i].ch && cases[i].ch->elem_size && !cases[i].elem)
            return GOLF_EINVAL;
    }
    struct timespec deadline;
    bool has_deadline = false;
    if (mode == MODE_TIMEOUT)
        has_deadline = deadline_from(timeout_ns, &deadline);

    ref_chan *order_small[SMALL];
    size_t perm_small[SMALL];
    struct ref_node node_small[SMALL];
    ref_chan **order = order_small;
    size_t *perm = perm_small;
    struct ref_node *nodes = node_small;
    if (n > SMALL) {
        order = malloc(n * sizeof *order);
        perm = malloc(n * sizeof *perm);
        nodes = malloc(n * sizeof *nodes);
        if (!order || !perm || !nodes) {
            free(order);
            free(perm);
            free(nodes);
            return GOLF_ENOMEM;
        }
    }

    /* A uniformly random order: the first ready case in it is uniform among the ready ones. */
    for (size_t i = 0; i < n; i++) {
        size_t j = (size_t)(rng_next() % (i + 1));
        perm[i] = perm[j];
        perm[j] = i;
    }
    size_t k = lock_order(cases, n, order);
    lock_all(order, k);

    int result = -1;
    for (size_t i = 0; i < n && result < 0; i++) {
        ref_case *c = &cases[perm[i]];
        if (c->ch && try_case(c))
            result = (int)perm[i];
    }
    if (result >= 0 || mode == MODE_TRY || (mode == MODE_TIMEOUT && timeout_ns == 0)) {
        unlock_all(order, k);
        if (result < 0)
            result = mode == MODE_TRY ? GOLF_EAGAIN : GOLF_ETIMEDOUT;
        goto out;
    }

    /* Block: queue a node on every case's channel, then sleep until claimed or timed out. */
    struct ref_waiter w;
    pthread_mutex_init(&w.mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cv, &attr);
    pthread_condattr_destroy(&attr);
    w.fired = FIRED_WAITING;
    w.status = GOLF_OK;
    /* Queue in the random order too: a peer that finds several of our nodes on one channel
     * (a select sending 0 and 1 on the same channel) takes the first, which is then random
     * (Go's TestPseudoRandomSend). */
    for (size_t j = 0; j < n; j++) {
        size_t i = perm[j];
        nodes[i] = (struct ref_node){.w = &w, .idx = (int)i, .elem = cases[i].elem};
        if (!cases[i].ch)
            continue;
        q_push(cases[i].op == GOLF_SEND ? &cases[i].ch->sendq : &cases[i].ch->recvq, &nodes[i]);
    }
    unlock_all(order, k);

    pthread_mutex_lock(&w.mu);
    while (w.fired == FIRED_WAITING) {
        if (has_deadline) {
            if (pthread_cond_timedwait(&w.cv, &w.mu, &deadline) == ETIMEDOUT &&
                w.fired == FIRED_WAITING)
                w.fired = FIRED_ABORTED;
        } else {
            pthread_cond_wait(&w.cv, &w.mu);
        }
    }
    pthread_mutex_unlock(&w.mu);

    /* Unlink what the claimer did not; this also waits out a claimer still holding a lock. */
    lock_all(order, k);
    for (size_t i = 0; i < n; i++) {
        if (!cases[i].ch || !nodes[i].queued)
            continue;
        q_unlink(cases[i].op == GOLF_SEND ? &cases[i].ch->sendq : &cases[i].ch->recvq, &nodes[i]);
    }
    unlock_all(order, k);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    if (w.fired == FIRED_ABORTED) {
        result = GOLF_ETIMEDOUT;
    } else {
        result = w.fired;
        cases[result].status = w.status;
    }
out:
    if (n > SMALL) {
        free(order);
        free(perm);
        free(nodes);
    }
    return result;
}

int
ref_select(ref_case *cases, size_t n)
{
    return do_select(cases, n, MODE_BLOCK, 0);
}

int
ref_select_try(ref_case *cases, size_t n)
{
    return do_select(cases, n, MODE_TRY, 0);
}

int
ref_select_timeout(ref_case *cases, size_t n, uint64_t timeout_ns)
{
    return do_select(cases, n, MODE_TIMEOUT, timeout_ns);
}

/* Single operations are one-case selects; a negative result is the error itself. */
static int
one(ref_chan *ch, int op, const void *elem, int mode, uint64_t timeout_ns)
{
    ref_case c = {.ch = ch, .op = op, .elem = (void *)elem};
    int r = do_select(&c, 1, mode, timeout_ns);
    return r < 0 ? r : c.status;
}

int
ref_chan_send(ref_chan *ch, const void *elem)
{
    return one(ch, GOLF_SEND, elem, MODE_BLOCK, 0);
}

int
ref_chan_recv(ref_chan *ch, void *out)
{
    return one(ch, GOLF_RECV, out, MODE_BLOCK, 0);
}

int
ref_chan_try_send(ref_chan *ch, const void *elem)
{
    return one(ch, GOLF_SEND, elem, MODE_TRY, 0);
}

int
ref_chan_try_recv(ref_chan *ch, void *out)
{
    return one(ch, GOLF_RECV, out, MODE_TRY, 0);
}

int
ref_chan_send_timeout(ref_chan *ch, const void *elem, uint64_t timeout_ns)
{
    return one(ch, GOLF_SEND, elem, MODE_TIMEOUT, timeout_ns);
}

int
ref_chan_recv_timeout(ref_chan *ch, void *out, uint64_t timeout_ns)
{
    return one(ch, GOLF_RECV, out, MODE_TIMEOUT, timeout_ns);
}

/* ---- deadlines and batches: the single operations in a loop, obviously right ---- */

/* An absolute CLOCK_MONOTONIC deadline as what do_select takes. */
static int
until_mode(uint64_t deadline_ns, uint64_t *timeout_ns)
{
    if (deadline_ns == UINT64_MAX)
        return MODE_BLOCK;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t t = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    *timeout_ns = deadline_ns > t ? deadline_ns - t : 0;
    return MODE_TIMEOUT;
}

int
ref_chan_send_until(ref_chan *ch, const void *elem, uint64_t deadline_ns)
{
    uint64_t t = 0;
    int mode = until_mode(deadline_ns, &t);
    return one(ch, GOLF_SEND, elem, mode, t);
}

int
ref_chan_recv_until(ref_chan *ch, void *out, uint64_t deadline_ns)
{
    uint64_t t = 0;
    int mode = until_mode(deadline_ns, &t);
    return one(ch, GOLF_RECV, out, mode, t);
}

int
ref_select_until(ref_case *cases, size_t n, uint64_t deadline_ns)
{
    uint64_t t = 0;
    int mode = until_mode(deadline_ns, &t);
    return do_select(cases, n, mode, t);
}

static void *
elem_at(const void *base, size_t i, size_t elem_size)
{
    return base ? (unsigned char *)base + i * elem_size : NULL;
}

int
ref_chan_send_many(ref_chan *ch, const void *elems, size_t n, size_t *sent)
{
    if (sent)
        *sent = 0;
    if (n == 0 || (ch && ch->elem_size && !elems))
        return GOLF_EINVAL;
    if (!ch)
        return ref_chan_send(NULL, NULL); /* Go's nil channel: blocks forever */
    size_t i = 0;
    int r = GOLF_OK;
    while (i < n && (r = ref_chan_send(ch, elem_at(elems, i, ch->elem_size))) == GOLF_OK)
        i++;
    if (sent)
        *sent = i;
    return r;
}

/* After a first value at out[0]: takes up to max - 1 more that are ready; returns the count. */
static size_t
take_more(ref_chan *ch, void *out, size_t max)
{
    size_t i = 1;
    while (i < max && ref_chan_try_recv(ch, elem_at(out, i, ch->elem_size)) == GOLF_OK)
        i++;
    return i;
}

int
ref_chan_try_recv_many(ref_chan *ch, void *out, size_t max, size_t *received)
{
    if (!received || max == 0)
        return GOLF_EINVAL;
    *received = 0;
    if (!ch)
        return GOLF_EAGAIN;
    if (ch->elem_size && !out)
        return GOLF_EINVAL;
    int r = ref_chan_try_recv(ch, out);
    if (r != GOLF_OK)
        return r;
    *received = take_more(ch, out, max);
    return GOLF_OK;
}

int
ref_chan_recv_many(ref_chan *ch, void *out, size_t max, size_t *received)
{
    int r = ref_chan_try_recv_many(ch, out, max, received);
    if (r != GOLF_EAGAIN)
        return r;
    r = ref_chan_recv(ch, out);
    if (r != GOLF_OK)
        return r;
    *received = take_more(ch, out, max);
    return GOLF_OK;
}

/* ---- ring ---- */

struct ref_ring {
    pthread_mutex_t mu;
    size_t elem_size, cap, head, len;
    unsigned char *buf;
};

ref_ring *
ref_ring_new(size_t elem_size, size_t capacity)
{
    if (elem_size == 0 || capacity == 0 || capacity > SIZE_MAX / elem_size) {
        errno = EINVAL;
        return NULL;
    }
    ref_ring *r = calloc(1, sizeof *r);
    if (!r || !(r->buf = malloc(elem_size * capacity))) {
        free(r);
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    r->elem_size = elem_size;
    r->cap = capacity;
    return r;
}

void
ref_ring_free(ref_ring *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r->buf);
    free(r);
}

int
ref_ring_try_push(ref_ring *r, const void *elem)
{
    if (!r || !elem)
        return GOLF_EINVAL;
    pthread_mutex_lock(&r->mu);
    if (r->len == r->cap) {
        pthread_mutex_unlock(&r->mu);
        return GOLF_EAGAIN;
    }
    memcpy(r->buf + ((r->head + r->len) % r->cap) * r->elem_size, elem, r->elem_size);
    r->len++;
    pthread_mutex_unlock(&r->mu);
    return GOLF_OK;
}

int
ref_ring_try_pop(ref_ring *r, void *out)
{
    if (!r)
        return GOLF_EINVAL;
    pthread_mutex_lock(&r->mu);
    if (r->len == 0) {
        pthread_mutex_unlock(&r->mu);
        return GOLF_EAGAIN;
    }
    if (out)
        memcpy(out, r->buf + r->head * r->elem_size, r->elem_size);
    r->head = (r->head + 1) % r->cap;
    r->len--;
    pthread_mutex_unlock(&r->mu);
    return GOLF_OK;
}

size_t
ref_ring_len(const ref_ring *r)
{
    if (!r)
        return 0;
    ref_ring *m = (ref_ring *)r; /* locking does not change the ring's value */
    pthread_mutex_lock(&m->mu);
    size_t len = m->len;
    pthread_mutex_unlock(&m->mu);
    return len;
}

size_t
ref_ring_cap(const ref_ring *r)
{
    return r ? r->cap : 0;
}
