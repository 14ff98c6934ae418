/* SPDX-License-Identifier: MIT */
/* stress_chan_ring_mpmc [threads] [capacity] [seconds]
 *
 * golf_ring MPMC with try ops: half the threads push unique values (retrying with a yield on
 * GOLF_EAGAIN) until the time is up, the others pop until the producers are done and the ring is
 * empty. Capacity default: 1, 2, 1024 in turn. Checks: nothing lost, nothing duplicated, each
 * consumer sees each producer's values in increasing order, len never above cap. */
#include <sched.h>

#include "chan_stress.h"
#include "golf/ring.h"

typedef struct {
    golf_ring *r;
    int id, nprod;
    uint64_t end_ns;
    uint32_t sent;
    atomic_int *producers_left;
    cs_bitmap *got;
    atomic_int *failed;
} arg;

static void *
producer(void *p)
{
    arg *a = p;
    for (uint32_t s = 0; s < CS_SEQ_MAX; s++) {
        if ((s & 63) == 0 && cs_now_ns() > a->end_ns)
            break;
        uint64_t v = CS_VAL(a->id, s);
        int rc;
        while ((rc = golf_ring_try_push(a->r, &v)) == GOLF_EAGAIN)
            sched_yield();
        if (rc != GOLF_OK) {
            fprintf(stderr, "push returned %d\n", rc);
            atomic_store(a->failed, 1);
            break;
        }
        if (golf_ring_len(a->r) > golf_ring_cap(a->r)) {
            fprintf(stderr, "len %zu above cap\n", golf_ring_len(a->r));
            atomic_store(a->failed, 1);
        }
        a->sent = s + 1;
    }
    atomic_fetch_sub(a->producers_left, 1);
    return NULL;
}

static void *
consumer(void *p)
{
    arg *a = p;
    int64_t last[CS_MAX_THREADS];
    for (int i = 0; i < CS_MAX_THREADS; i++)
        last[i] = -1;
    for (;;) {
        uint64_t v;
        /* Producers done is read before the pop, so an empty pop after it means empty for good. */
        bool done = atomic_load(a->producers_left) == 0;
        int rc = golf_ring_try_pop(a->r, &v);
        if (rc == GOLF_EAGAIN) {
            if (done)
                return NULL;
            sched_yield();
            continue;
        }
        if (rc != GOLF_OK) {
            fprintf(stderr, "pop returned %d\n", rc);
            atomic_store(a->failed, 1);
            return NULL;
        }
        if (!cs_check_received(a->got, last, v, a->nprod, a->id))
            atomic_store(a->failed, 1);
    }
}

int
main(int argc, char **argv)
{
    cs_args args = cs_parse(argc, argv, 8, 2.0);
    static const long caps[] = {1, 2, 1024};
    int ncaps = args.capacity >= 0 ? 1 : 3;
    int nprod = args.threads / 2;
    atomic_int failed = 0;
    cs_bitmap got = cs_bitmap_new(nprod);
    for (int k = 0; k < ncaps && !atomic_load(&failed); k++) {
        long cap = args.capacity >= 0 ? args.capacity : caps[k];
        golf_ring *r = golf_ring_new(sizeof(uint64_t), (size_t)cap);
        if (!r)
            return fprintf(stderr, "golf_ring_new failed\n"), 1;
        cs_bitmap_clear(&got);
        atomic_int left = nprod;
        uint64_t end = cs_now_ns() + (uint64_t)(args.seconds / ncaps * 1e9);
        arg a[CS_MAX_THREADS];
        pthread_t t[CS_MAX_THREADS];
        for (int i = 0; i < args.threads; i++) {
            a[i] = (arg){.r = r,
                         .id = i < nprod ? i : i - nprod,
                         .nprod = nprod,
                         .end_ns = end,
                         .producers_left = &left,
                         .got = &got,
                         .failed = &failed};
            cs_spawn(&t[i], i < nprod ? producer : consumer, &a[i]);
        }
        long total = 0;
        for (int i = 0; i < args.threads; i++) {
            pthread_join(t[i], NULL);
            if (i < nprod)
                total += a[i].sent;
        }
        for (int p = 0; p < nprod; p++)
            for (uint32_t s = 0; s < a[p].sent; s++)
                if (!cs_bitmap_get(&got, p, s)) {
                    fprintf(stderr, "capacity %ld: producer %d value %u lost\n", cap, p, s);
                    atomic_store(&failed, 1);
                    break;
                }
        if (golf_ring_len(r) != 0)
            fprintf(stderr, "ring not empty at the end\n"), atomic_store(&failed, 1);
        printf("chan_ring_mpmc: capacity %ld, %d threads: %ld values: %s\n", cap, args.threads,
               total, atomic_load(&failed) ? "FAIL" : "ok");
        golf_ring_free(r);
    }
    cs_bitmap_free(&got);
    return atomic_load(&failed) ? 1 : 0;
}
