/* SPDX-License-Identifier: MIT */
/* stress_chan_oversub [threads] [capacity] [seconds]
 *
 * Oversubscription (hazard H10 of chan/README.md): 16 threads (8 producers, 8 consumers) on however
 * few cores there are, for each capacity in {0, 1, 2, 1024} (or the one given), seconds split
 * between them. Producers send unique values with golf_chan_send until the time is up; then the
 * channel is closed and consumers drain it. Checks: nothing lost, nothing duplicated, and every
 * consumer sees each producer's values in increasing order. */
#include "chan_stress.h"
#include "golf/chan.h"

typedef struct {
    golf_chan *ch;
    int id, nprod;
    uint64_t end_ns;
    uint32_t sent;
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
        if (golf_chan_send(a->ch, &v) != GOLF_OK) {
            fprintf(stderr, "producer %d: send failed before close\n", a->id);
            atomic_store(a->failed, 1);
            break;
        }
        a->sent = s + 1;
    }
    return NULL;
}

static void *
consumer(void *p)
{
    arg *a = p;
    int64_t last[CS_MAX_THREADS];
    for (int i = 0; i < CS_MAX_THREADS; i++)
        last[i] = -1;
    uint64_t v;
    while (golf_chan_recv(a->ch, &v) == GOLF_OK) {
        if (!cs_check_received(a->got, last, v, a->nprod, a->id))
            atomic_store(a->failed, 1);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    cs_args args = cs_parse(argc, argv, 16, 2.0);
    static const long caps[] = {0, 1, 2, 1024};
    int ncaps = args.capacity >= 0 ? 1 : 4;
    int nprod = args.threads / 2;
    atomic_int failed = 0;
    cs_bitmap got = cs_bitmap_new(nprod);
    for (int k = 0; k < ncaps && !atomic_load(&failed); k++) {
        long cap = args.capacity >= 0 ? args.capacity : caps[k];
        golf_chan *ch = golf_chan_new(sizeof(uint64_t), (size_t)cap);
        cs_bitmap_clear(&got);
        uint64_t end = cs_now_ns() + (uint64_t)(args.seconds / ncaps * 1e9);
        arg a[CS_MAX_THREADS];
        pthread_t t[CS_MAX_THREADS];
        for (int i = 0; i < args.threads; i++) {
            a[i] = (arg){.ch = ch,
                         .id = i < nprod ? i : i - nprod,
                         .nprod = nprod,
                         .end_ns = end,
                         .got = &got,
                         .failed = &failed};
            cs_spawn(&t[i], i < nprod ? producer : consumer, &a[i]);
        }
        long total = 0;
        for (int i = 0; i < nprod; i++) {
            pthread_join(t[i], NULL);
            total += a[i].sent;
        }
        golf_chan_close(ch);
        for (int i = nprod; i < args.threads; i++)
            pthread_join(t[i], NULL);
        for (int p = 0; p < nprod; p++)
            for (uint32_t s = 0; s < a[p].sent; s++)
                if (!cs_bitmap_get(&got, p, s)) {
                    fprintf(stderr, "capacity %ld: producer %d value %u lost\n", cap, p, s);
                    atomic_store(&failed, 1);
                    break;
                }
        printf("chan_oversub: capacity %ld, %d threads: %ld values: %s\n", cap, args.threads, total,
               atomic_load(&failed) ? "FAIL" : "ok");
        golf_chan_free(ch);
    }
    cs_bitmap_free(&got);
    return atomic_load(&failed) ? 1 : 0;
}
