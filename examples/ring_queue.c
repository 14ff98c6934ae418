/* SPDX-License-Identifier: MIT */
/* A golf_ring on its own: a bounded lock-free queue that never blocks. Producers push log
 * records; one consumer pops them. When the ring is full a push returns GOLF_EAGAIN, when it is
 * empty a pop does, and the caller decides what to do: here, yield the CPU and try again (a
 * golf_chan is the same ring with blocking, close and select on top; Go has no bare ring).
 *
 *     for golf_ring_try_push(r, &rec) == GOLF_EAGAIN { runtime.Gosched() }
 *
 * The ring is FIFO, so each producer's records come out in the order it pushed them. */
#define _POSIX_C_SOURCE 200809L /* sched_yield */

#include <sched.h>
#include <stdio.h>

#include "golf/golf.h"

enum { PRODUCERS = 3, RECORDS = 20000, CAPACITY = 64 };

typedef struct {
    int producer;
    int seq; /* 0, 1, 2, ... per producer */
} record;

typedef struct {
    golf_ring *r;
    int id;
} producer_arg;

static void
producer(void *p)
{
    producer_arg *a = p;
    for (int i = 0; i < RECORDS; i++) {
        record rec = {.producer = a->id, .seq = i};
        while (golf_ring_try_push(a->r, &rec) == GOLF_EAGAIN) /* full: let the consumer run */
            sched_yield();
    }
}

int
main(void)
{
    golf_ring *r = golf_ring_new(sizeof(record), CAPACITY);
    if (r == NULL)
        return 1;

    golf_waitgroup wg = {0};
    producer_arg args[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        args[i] = (producer_arg){.r = r, .id = i};
        golf_waitgroup_go(&wg, producer, &args[i]);
    }

    /* The consumer: main itself. It knows how many records to expect. */
    int next[PRODUCERS] = {0}; /* the seq expected next from each producer */
    long out_of_order = 0, empty = 0;
    for (int got = 0; got < PRODUCERS * RECORDS;) {
        record rec;
        if (golf_ring_try_pop(r, &rec) == GOLF_EAGAIN) { /* empty: let the producers run */
            empty++;
            sched_yield();
            continue;
        }
        out_of_order += rec.seq != next[rec.producer];
        next[rec.producer] = rec.seq + 1;
        got++;
    }
    golf_waitgroup_wait(&wg);

    printf("%d records through a ring of %zu: %ld out of order, %zu left, empty %ld times\n",
           PRODUCERS * RECORDS, golf_ring_cap(r), out_of_order, golf_ring_len(r), empty);
    int ok = out_of_order == 0 && golf_ring_len(r) == 0;
    golf_ring_free(r);
    return ok ? 0 : 1;
}
