/* SPDX-License-Identifier: MIT */
/* A bounded blocking queue on a golf_mutex and two golf_conds (Go's sync.Cond): producers wait
 * while it is full, consumers while it is empty, and each side signals the other:
 *
 *     mu.Lock()
 *     for len(q) == cap(q) { notFull.Wait() }   // Wait unlocks mu, sleeps, relocks
 *     q = append(q, v)
 *     notEmpty.Signal()
 *     mu.Unlock()
 *
 * Every wait sits in a loop on its condition: a woken thread relocks the mutex only after the
 * thread that signalled it, and another may have taken the slot in between. Closing the queue
 * broadcasts to every waiter at once. (In Go a buffered channel is the usual bounded queue; a
 * Cond fits when the condition is richer than "a slot is free".) */
#include <stdio.h>

#include "golf/golf.h"

enum { CAP = 8, PRODUCERS = 3, CONSUMERS = 4, ITEMS = 20000 };

typedef struct queue {
    golf_mutex mu; /* zero values: unlocked, nobody waiting */
    golf_cond not_full, not_empty;
    int items[CAP];
    int head, len;
    bool closed;
} queue;

static void
queue_put(queue *q, int v)
{
    golf_mutex_lock(&q->mu);
    while (q->len == CAP)
        golf_cond_wait(&q->not_full, &q->mu);
    q->items[(q->head + q->len++) % CAP] = v;
    golf_cond_signal(&q->not_empty);
    golf_mutex_unlock(&q->mu);
}

/* false once the queue is closed and empty */
static bool
queue_get(queue *q, int *v)
{
    golf_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed)
        golf_cond_wait(&q->not_empty, &q->mu);
    bool ok = q->len > 0;
    if (ok) {
        *v = q->items[q->head];
        q->head = (q->head + 1) % CAP;
        q->len--;
        golf_cond_signal(&q->not_full);
    }
    golf_mutex_unlock(&q->mu);
    return ok;
}

static void
queue_close(queue *q)
{
    golf_mutex_lock(&q->mu);
    q->closed = true;
    golf_cond_broadcast(&q->not_empty); /* every consumer re-checks and sees it */
    golf_mutex_unlock(&q->mu);
}

typedef struct worker {
    queue *q;
    int id;
    long sum, count;
} worker;

static void
producer(void *p)
{
    worker *w = p;
    for (int i = 1; i <= ITEMS; i++)
        queue_put(w->q, i);
}

static void
consumer(void *p)
{
    worker *w = p;
    int v;
    while (queue_get(w->q, &v)) {
        w->sum += v;
        w->count++;
    }
}

int
main(void)
{
    static queue q;
    worker prod[PRODUCERS], cons[CONSUMERS];
    golf_waitgroup producers = {0}, consumers = {0};
    for (int i = 0; i < CONSUMERS; i++) {
        cons[i] = (worker){&q, i, 0, 0};
        if (golf_waitgroup_go(&consumers, consumer, &cons[i]) != GOLF_OK)
            return 1;
    }
    for (int i = 0; i < PRODUCERS; i++) {
        prod[i] = (worker){&q, i, 0, 0};
        if (golf_waitgroup_go(&producers, producer, &prod[i]) != GOLF_OK)
            return 1;
    }
    golf_waitgroup_wait(&producers);
    queue_close(&q);
    golf_waitgroup_wait(&consumers);

    long sum = 0, count = 0;
    for (int i = 0; i < CONSUMERS; i++) {
        printf("consumer %d took %ld items\n", i, cons[i].count);
        sum += cons[i].sum;
        count += cons[i].count;
    }
    long want = (long)PRODUCERS * ITEMS * (ITEMS + 1) / 2;
    printf("%ld items, sum %ld (want %ld)\n", count, sum, want);
    return count == (long)PRODUCERS * ITEMS && sum == want ? 0 : 1;
}
