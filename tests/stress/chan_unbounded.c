/* SPDX-License-Identifier: MIT */
/* stress_chan_unbounded [threads] [elem_size] [seconds]
 *
 * Unbounded channels, MPMC: half the threads send unique values (send, try_send, a select with a
 * nil case, send_timeout), the other half receive (recv, try_recv with a yield, recv_timeout,
 * a select over the channel and a second, always empty one) until the producers are done and
 * the channel is closed and drained. Producers send in bursts, so the list grows over many
 * blocks and drains back (blocks recycled and freed while receivers still copy out of them).
 * Rounds alternate the value size: 8 bytes (63 slots a block) and 3000 bytes (one slot a
 * block: every operation is a block step). Checks: every value received exactly once, each
 * consumer sees each producer's values in order, values arrive whole, a send never fails.
 * Default: 16 threads, 3 seconds (run under taskset -c 0,1 for 16 threads on 2 cores). */
#include <sched.h>

#include "chan_stress.h"
#include "golf/chan.h"

enum { BIG = 3000 };

typedef struct {
    golf_chan *ch, *empty;
    size_t es;
    int id, nprod;
    uint64_t end_ns;
    uint32_t sent;
    cs_bitmap *sent_bits, *got;
    atomic_int *failed;
} arg;

static void
fill(unsigned char *b, size_t es, uint64_t v)
{
    memcpy(b, &v, 8);
    for (size_t i = 8; i < es; i++)
        b[i] = (unsigned char)(v * 31 + i);
}

static bool
whole(const unsigned char *b, size_t es, uint64_t v)
{
    for (size_t i = 8; i < es; i++)
        if (b[i] != (unsigned char)(v * 31 + i))
            return false;
    return true;
}

static void *
producer(void *p)
{
    arg *a = p;
    unsigned char buf[BIG];
    uint64_t seed = 77 + (uint64_t)a->id;
    for (uint32_t s = 0; s < CS_SEQ_MAX; s++) {
        if ((s & 63) == 0 && cs_now_ns() > a->end_ns)
            break;
        uint64_t v = CS_VAL(a->id, s);
        fill(buf, a->es, v);
        int rc, form = (int)(cs_rand(&seed) % 4);
        if (form == 0) {
            rc = golf_chan_send(a->ch, buf);
        } else if (form == 1) {
            rc = golf_chan_try_send(a->ch, buf);
        } else if (form == 2) {
            golf_case c[2] = {{NULL, GOLF_SEND, buf, 0}, {a->ch, GOLF_SEND, buf, 0}};
            rc = golf_select(c, 2) == 1 ? c[1].status : -1000;
        } else {
            rc = golf_chan_send_timeout(a->ch, buf, 1000000);
        }
        if (rc != GOLF_OK) {
            fprintf(stderr, "producer %d: send form %d returned %d\n", a->id, form, rc);
            atomic_store(a->failed, 1);
            break;
        }
        cs_bitmap_set(a->sent_bits, v);
        a->sent = s + 1;
        /* Bursts: now and then let the consumers catch up, so the list drains and regrows. */
        if (cs_rand(&seed) % 4096 == 0)
            sched_yield();
        /* Keep memory bounded if the producers outrun the consumers. */
        while (golf_chan_len(a->ch) > ((size_t)1 << 16) && cs_now_ns() < a->end_ns)
            sched_yield();
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
    unsigned char buf[BIG];
    uint64_t seed = 991 + (uint64_t)a->id;
    for (;;) {
        int rc, form = (int)(cs_rand(&seed) % 4);
        if (form == 0) {
            rc = golf_chan_recv(a->ch, buf);
        } else if (form == 1) {
            while ((rc = golf_chan_try_recv(a->ch, buf)) == GOLF_EAGAIN)
                sched_yield();
        } else if (form == 2) {
            while ((rc = golf_chan_recv_timeout(a->ch, buf, 200000)) == GOLF_ETIMEDOUT) {
            }
        } else {
            golf_case c[2] = {{a->empty, GOLF_RECV, buf, 0}, {a->ch, GOLF_RECV, buf, 0}};
            int k = golf_select(c, 2);
            rc = k == 1 ? c[1].status : -1000 - k;
        }
        if (rc == GOLF_ECLOSED)
            return NULL;
        if (rc != GOLF_OK) {
            fprintf(stderr, "consumer %d: recv form %d returned %d\n", a->id, form, rc);
            atomic_store(a->failed, 1);
            return NULL;
        }
        uint64_t v;
        memcpy(&v, buf, 8);
        if (!cs_check_received(a->got, last, v, a->nprod, a->id) || !whole(buf, a->es, v)) {
            atomic_store(a->failed, 1);
            return NULL;
        }
    }
}

static bool
round_once(int threads, size_t es, double seconds)
{
    int nprod = threads / 2, ncons = threads - nprod;
    golf_chan *ch = golf_chan_new(es, GOLF_UNBOUNDED);
    golf_chan *empty = golf_chan_new(es, GOLF_UNBOUNDED);
    if (!ch || !empty) {
        fprintf(stderr, "golf_chan_new failed\n");
        return false;
    }
    cs_bitmap sent = cs_bitmap_new(nprod), got = cs_bitmap_new(nprod);
    atomic_int failed = 0;
    arg a[CS_MAX_THREADS];
    pthread_t t[CS_MAX_THREADS];
    uint64_t end = cs_now_ns() + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < threads; i++) {
        a[i] = (arg){.ch = ch,
                     .empty = empty,
                     .es = es,
                     .id = i < nprod ? i : i - nprod,
                     .nprod = nprod,
                     .end_ns = end,
                     .sent_bits = &sent,
                     .got = &got,
                     .failed = &failed};
        pthread_create(&t[i], NULL, i < nprod ? producer : consumer, &a[i]);
    }
    for (int i = 0; i < nprod; i++)
        pthread_join(t[i], NULL);
    golf_chan_close(ch);
    for (int i = nprod; i < threads; i++)
        pthread_join(t[i], NULL);
    long total = 0;
    for (int i = 0; i < nprod; i++)
        total += a[i].sent;
    long bad = cs_bitmap_compare(&sent, &got, "unbounded");
    bool ok = !atomic_load(&failed) && bad == 0 && golf_chan_len(ch) == 0;
    printf("  elem %zu: %d producers, %d consumers, %ld values: %s\n", es, nprod, ncons, total,
           ok ? "ok" : "FAILED");
    cs_bitmap_free(&sent);
    cs_bitmap_free(&got);
    golf_chan_free(ch);
    golf_chan_free(empty);
    return ok;
}

int
main(int argc, char **argv)
{
    cs_args args = cs_parse(argc, argv, 16, 3.0);
    size_t sizes[2] = {8, BIG};
    int nsizes = 2;
    if (args.capacity > 0) {
        sizes[0] = args.capacity < 8 ? 8 : args.capacity > BIG ? BIG : (size_t)args.capacity;
        nsizes = 1;
    }
    printf("stress_chan_unbounded: %d threads, %.1f s\n", args.threads, args.seconds);
    bool ok = true;
    for (int r = 0; r < 4 && ok; r++)
        ok = round_once(args.threads, sizes[r % nsizes], args.seconds / 4);
    return ok ? 0 : 1;
}
