/* SPDX-License-Identifier: MIT */
/* Multi-threaded invariants: nothing lost, nothing duplicated, per-producer FIFO, capacity
 * respected, close and timeouts racing with transfers (hazards H1-H4, chan/README.md). Values are
 * (producer << 32 | seq) so every value is unique and says where it came from. */
#include <criterion/criterion.h>

#include "golf/chan.h"
#include "unit/chan/chan_util.h"

#define PROD(v) ((uint32_t)((v) >> 32))
#define SEQ(v) ((uint32_t)(v))

typedef struct {
    golf_chan *ch[2]; /* ch[1] used by the select forms only */
    int id, nprod, per, form;
    uint64_t seed;
    uint8_t *seen; /* nprod * per counters */
    long got;
    bool ok;
    char why[128];
    int64_t sent_ok; /* senders: how many sends returned GOLF_OK */
} mt_arg;

/* Sends with the form chosen per value: send, send_timeout (long), select over the two. */
static void *
mt_producer(void *p)
{
    mt_arg *a = p;
    for (int i = 0; i < a->per; i++) {
        uint64_t v = ((uint64_t)a->id << 32) | (uint32_t)i;
        int rc;
        switch (a->form ? cu_rand(&a->seed) % 3 : 0) {
        case 0:
            rc = golf_chan_send(a->ch[0], &v);
            break;
        case 1:
            rc = golf_chan_send_timeout(a->ch[0], &v, 60000 * MS);
            break;
        default: {
            golf_case c[2] = {{.ch = a->ch[0], .op = GOLF_SEND, .elem = &v},
                              {.ch = a->ch[1], .op = GOLF_SEND, .elem = &v}};
            int r = golf_select(c, a->ch[1] ? 2 : 1);
            rc = r < 0 ? r : c[r].status;
        }
        }
        if (rc != GOLF_OK) {
            a->ok = false;
            snprintf(a->why, sizeof a->why, "send returned %d", rc);
            return NULL;
        }
    }
    return NULL;
}

static void *
mt_consumer(void *p)
{
    mt_arg *a = p;
    int64_t last[64];
    for (int i = 0; i < 64; i++)
        last[i] = -1;
    bool closed[2] = {false, a->ch[1] == NULL};
    while (!closed[0] || !closed[1]) {
        uint64_t v = 0xDEADBEEFu;
        int rc, which = 0;
        int form = a->form ? (int)(cu_rand(&a->seed) % 3) : 0;
        if (closed[0] || closed[1])
            form = 3;
        switch (form) {
        case 0:
            rc = golf_chan_recv(a->ch[0], &v);
            break;
        case 1:
            rc = golf_chan_recv_timeout(a->ch[0], &v, 60000 * MS);
            break;
        case 2: {
            golf_case c[2] = {{.ch = a->ch[0], .op = GOLF_RECV, .elem = &v},
                              {.ch = a->ch[1], .op = GOLF_RECV, .elem = &v}};
            which = golf_select(c, a->ch[1] ? 2 : 1);
            rc = which < 0 ? which : c[which].status;
            break;
        }
        default:
            which = closed[0] ? 1 : 0;
            rc = golf_chan_recv(a->ch[which], &v);
        }
        if (rc == GOLF_ECLOSED) {
            if (v != 0) {
                a->ok = false;
                snprintf(a->why, sizeof a->why, "closed receive left %#lx in out",
                         (unsigned long)v);
            }
            if (form < 2)
                closed[0] = true;
            else
                closed[which] = true;
            continue;
        }
        if (rc != GOLF_OK) {
            a->ok = false;
            snprintf(a->why, sizeof a->why, "recv returned %d", rc);
            return NULL;
        }
        uint32_t pr = PROD(v), sq = SEQ(v);
        if (pr >= (uint32_t)a->nprod || sq >= (uint32_t)a->per) {
            a->ok = false;
            snprintf(a->why, sizeof a->why, "garbage value %#lx", (unsigned long)v);
            return NULL;
        }
        /* Per-producer FIFO holds per channel; with two channels a producer's values may
         * interleave across them, so the check is for the one-channel runs. */
        if (!a->ch[1] && (int64_t)sq <= last[pr]) {
            a->ok = false;
            snprintf(a->why, sizeof a->why, "producer %u: seq %u after %ld", pr, sq,
                     (long)last[pr]);
        }
        last[pr] = sq;
        a->seen[(size_t)pr * (size_t)a->per + sq]++;
        a->got++;
    }
    return NULL;
}

/* P producers and C consumers over one or two channels; producers finish, then the channels
 * are closed and the consumers drain until closed. Every value arrives exactly once. */
static void
run_mpmc(size_t cap, int nprod, int ncons, int per, int form, bool two)
{
    golf_chan *ch[2] = {golf_chan_new(sizeof(uint64_t), cap),
                        two ? golf_chan_new(sizeof(uint64_t), cap) : NULL};
    uint8_t *seen = calloc((size_t)nprod * (size_t)per, 1);
    mt_arg a[32];
    pthread_t t[32];
    int n = nprod + ncons;
    for (int i = 0; i < n; i++) {
        a[i] = (mt_arg){.ch = {ch[0], ch[1]},
                        .id = i < nprod ? i : i - nprod,
                        .nprod = nprod,
                        .per = per,
                        .form = form,
                        .seed = 1000u + (uint64_t)i,
                        .seen = seen,
                        .ok = true};
    }
    for (int i = 0; i < n; i++)
        t[i] = cu_spawn(i < nprod ? mt_producer : mt_consumer, &a[i]);
    for (int i = 0; i < nprod; i++)
        cu_join(t[i]);
    golf_chan_close(ch[0]);
    if (ch[1])
        golf_chan_close(ch[1]);
    long got = 0;
    for (int i = nprod; i < n; i++) {
        cu_join(t[i]);
        got += a[i].got;
    }
    for (int i = 0; i < n; i++)
        cr_expect(a[i].ok, "cap %zu form %d two %d: thread %d: %s", cap, form, two, i, a[i].why);
    cr_expect_eq(got, (long)nprod * per, "cap %zu form %d two %d: received %ld of %ld", cap, form,
                 two, got, (long)nprod * per);
    for (size_t i = 0; i < (size_t)nprod * (size_t)per; i++)
        cr_assert_eq(seen[i], 1,
                     "cap %zu form %d two %d: value %zu of producer %zu received %d times", cap,
                     form, two, i % (size_t)per, i / (size_t)per, seen[i]);
    free(seen);
    golf_chan_free(ch[0]);
    golf_chan_free(ch[1]);
}

Test(chan_mt, mpmc_nothing_lost_or_duplicated_per_producer_fifo, .timeout = 120)
{
    static const size_t caps[] = {0, 1, 2, 16, 1024, GOLF_UNBOUNDED};
    for (size_t c = 0; c < 6; c++) {
        run_mpmc(caps[c], 1, 1, 20000, 0, false);
        run_mpmc(caps[c], 4, 4, 5000, 0, false);
        run_mpmc(caps[c], 3, 5, 4000, 1, false);
    }
}

Test(chan_mt, select_over_two_channels_nothing_lost_or_duplicated, .timeout = 120)
{
    static const size_t caps[] = {0, 1, 8, 1024};
    for (size_t c = 0; c < 4; c++) {
        run_mpmc(caps[c], 2, 2, 5000, 1, true);
        run_mpmc(caps[c], 4, 1, 3000, 1, true);
    }
}

/* A send completes only when there is room: when the single receiver holds value i (and has
 * not asked for more), the sender can have completed at most i + 1 + cap sends. */
typedef struct {
    golf_chan *ch;
    int n;
    atomic_long completed;
} cap_arg;

static void *
cap_sender(void *p)
{
    cap_arg *a = p;
    for (long i = 0; i < a->n; i++) {
        golf_chan_send(a->ch, &i);
        atomic_store_explicit(&a->completed, i + 1, memory_order_release);
    }
    return NULL;
}

Test(chan_mt, a_send_never_completes_beyond_capacity, .timeout = 60)
{
    static const size_t caps[] = {0, 1, 2, 5};
    for (size_t c = 0; c < 4; c++) {
        cap_arg a = {.ch = golf_chan_new(sizeof(long), caps[c]), .n = 20000};
        atomic_init(&a.completed, 0);
        pthread_t t = cu_spawn(cap_sender, &a);
        for (long i = 0; i < a.n; i++) {
            long v = -1;
            cr_assert_eq(golf_chan_recv(a.ch, &v), GOLF_OK);
            cr_assert_eq(v, i);
            if (i % 7 == 0)
                sched_yield(); /* let the sender run ahead as far as it can */
            long done = atomic_load_explicit(&a.completed, memory_order_acquire);
            cr_assert_leq(done, i + 1 + (long)caps[c],
                          "cap %zu: %ld sends completed while value %ld was just received", caps[c],
                          done, i);
        }
        cu_join(t);
        golf_chan_free(a.ch);
    }
}

/* A sender blocked on a full ring spins until the ring has room for two lines before it retries
 * (chan/select.c, golf__select_wait_room). A consumer that frees one slot and then stops must
 * still let it through: nothing else will ever free more (a one-shot waiter). Caps whose slack
 * is 1, 4 and 8 slots; the slot freed at once (usually before the sender even tries) and after
 * 20 ms, by which time the sender has gone through the wait and parked: a wait with no end never
 * parks, and then this case fails (checked by making the wait endless). The hint itself is
 * checked slot by slot in tests/unit/lockfree/test_substrate.c. */
typedef struct {
    golf_chan *ch;
    long v;
    atomic_int done; /* 1: the send returned GOLF_OK; -1: anything else */
} one_slot_arg;

static void *
one_slot_sender(void *p)
{
    one_slot_arg *a = p;
    int rc = golf_chan_send(a->ch, &a->v);
    atomic_store_explicit(&a->done, rc == GOLF_OK ? 1 : -1, memory_order_release);
    return NULL;
}

Test(chan_mt, a_blocked_send_goes_through_when_one_slot_frees, .timeout = 120)
{
    static const size_t caps[] = {4, 16, 1024};
    static const unsigned delays_ms[] = {0, 20};
    for (size_t c = 0; c < 3; c++) {
        for (size_t d = 0; d < 2; d++) {
            int reps = delays_ms[d] ? 3 : 200;
            for (int rep = 0; rep < reps; rep++) {
                size_t cap = caps[c];
                one_slot_arg a = {.ch = golf_chan_new(sizeof(long), cap), .v = (long)cap};
                cr_assert_not_null(a.ch);
                atomic_init(&a.done, 0);
                for (long i = 0; i < (long)cap; i++)
                    cr_assert_eq(golf_chan_try_send(a.ch, &i), GOLF_OK);
                pthread_t t = cu_spawn(one_slot_sender, &a);
                if (delays_ms[d]) {
                    cu_sleep_ms(delays_ms[d]);
                    cr_assert_eq(atomic_load_explicit(&a.done, memory_order_acquire), 0,
                                 "cap %zu: a send into a full channel returned", cap);
                }
                long v = -1;
                cr_assert_eq(golf_chan_recv(a.ch, &v), GOLF_OK);
                cr_assert_eq(v, 0);
                cr_assert(cu_wait_flag(&a.done, 10000),
                          "cap %zu, delay %u ms: the sender stayed blocked with one slot free", cap,
                          delays_ms[d]);
                cr_assert_eq(atomic_load_explicit(&a.done, memory_order_acquire), 1);
                cu_join(t);
                for (long i = 1; i <= (long)cap; i++) {
                    cr_assert_eq(golf_chan_try_recv(a.ch, &v), GOLF_OK);
                    cr_assert_eq(v, i);
                }
                cr_assert_eq(golf_chan_try_recv(a.ch, &v), GOLF_EAGAIN);
                golf_chan_free(a.ch);
            }
        }
    }
}

/* Close racing with senders and receivers (H3): every send that returned GOLF_OK is received
 * exactly once (now or in the drain after close); no send that returned GOLF_ECLOSED is. */
enum { CR_SEND = 4, CR_RECV = 3, CR_MAX = 1 << 16 };
typedef struct {
    golf_chan *ch;
    int id;
    uint8_t *okmap;  /* senders: value sent with GOLF_OK */
    uint8_t *gotmap; /* receivers: value received */
    bool ok;
    int timeouts; /* use timeout forms with tiny timeouts */
    uint64_t seed;
} cr_arg;

static void *
cr_sender(void *p)
{
    cr_arg *a = p;
    for (uint32_t i = 0; i < CR_MAX; i++) {
        uint64_t v = ((uint64_t)a->id << 32) | i;
        int rc = a->timeouts ? golf_chan_send_timeout(a->ch, &v, cu_rand(&a->seed) % 50000)
                             : golf_chan_send(a->ch, &v);
        if (rc == GOLF_OK)
            a->okmap[(size_t)a->id * CR_MAX + i] = 1;
        else if (rc == GOLF_ECLOSED)
            return NULL;
        else if (rc != GOLF_ETIMEDOUT || !a->timeouts)
            a->ok = false;
    }
    return NULL;
}

static void *
cr_receiver(void *p)
{
    cr_arg *a = p;
    for (;;) {
        uint64_t v = 0;
        int rc = a->timeouts ? golf_chan_recv_timeout(a->ch, &v, cu_rand(&a->seed) % 50000)
                             : golf_chan_recv(a->ch, &v);
        if (rc == GOLF_ECLOSED)
            return NULL;
        if (rc == GOLF_ETIMEDOUT && a->timeouts)
            continue;
        if (rc != GOLF_OK || PROD(v) >= CR_SEND || SEQ(v) >= CR_MAX) {
            a->ok = false;
            return NULL;
        }
        a->gotmap[(size_t)PROD(v) * CR_MAX + SEQ(v)]++;
    }
}

static void
close_race_round(size_t cap, int timeouts, unsigned delay_us, uint64_t seed)
{
    golf_chan *ch = golf_chan_new(sizeof(uint64_t), cap);
    uint8_t *okmap = calloc((size_t)CR_SEND * CR_MAX, 1);
    uint8_t *got[CR_RECV + 1];
    cr_arg a[CR_SEND + CR_RECV];
    pthread_t t[CR_SEND + CR_RECV];
    for (int i = 0; i <= CR_RECV; i++)
        got[i] = calloc((size_t)CR_SEND * CR_MAX, 1);
    for (int i = 0; i < CR_SEND + CR_RECV; i++) {
        a[i] = (cr_arg){.ch = ch,
                        .id = i < CR_SEND ? i : i - CR_SEND,
                        .okmap = okmap,
                        .gotmap = i < CR_SEND ? NULL : got[i - CR_SEND],
                        .ok = true,
                        .timeouts = timeouts,
                        .seed = seed + (uint64_t)i};
        t[i] = cu_spawn(i < CR_SEND ? cr_sender : cr_receiver, &a[i]);
    }
    struct timespec ts = {.tv_nsec = (long)delay_us * 1000L};
    nanosleep(&ts, NULL);
    cr_assert_eq(golf_chan_close(ch), GOLF_OK);
    for (int i = 0; i < CR_SEND + CR_RECV; i++)
        cu_join(t[i]);
    /* Drain what close left buffered (the receivers may have quit first). */
    uint64_t v;
    while (golf_chan_try_recv(ch, &v) == GOLF_OK)
        got[CR_RECV][(size_t)PROD(v) * CR_MAX + SEQ(v)]++;
    cr_expect_eq(golf_chan_try_recv(ch, &v), GOLF_ECLOSED);
    for (int i = 0; i < CR_SEND + CR_RECV; i++)
        cr_assert(a[i].ok, "cap %zu timeouts %d: thread %d saw an impossible result", cap, timeouts,
                  i);
    long sent = 0;
    for (size_t k = 0; k < (size_t)CR_SEND * CR_MAX; k++) {
        int n = 0;
        for (int i = 0; i <= CR_RECV; i++)
            n += got[i][k];
        sent += okmap[k];
        cr_assert_eq(
            n, okmap[k],
            "cap %zu timeouts %d: value %zu of sender %zu: send said %s, received %d times", cap,
            timeouts, k % CR_MAX, k / CR_MAX, okmap[k] ? "OK" : "not sent", n);
    }
    for (int i = 0; i <= CR_RECV; i++)
        free(got[i]);
    free(okmap);
    golf_chan_free(ch);
}

Test(chan_mt, close_racing_with_senders_and_receivers_loses_nothing, .timeout = 120)
{
    static const size_t caps[] = {0, 1, 2, 64};
    for (int round = 0; round < 6; round++)
        for (size_t c = 0; c < 4; c++)
            close_race_round(caps[c], 0, 200u + 700u * (unsigned)round, 77u * (uint64_t)round);
}

/* H4: a timed-out send is never delivered, a timed-out receive never consumed a value. */
Test(chan_mt, timeouts_racing_with_transfers_and_close_lose_nothing, .timeout = 120)
{
    static const size_t caps[] = {0, 1, 2, 64};
    for (int round = 0; round < 4; round++)
        for (size_t c = 0; c < 4; c++)
            close_race_round(caps[c], 1, 3000u + 5000u * (unsigned)round, 991u * (uint64_t)round);
}

/* Select with a timeout racing with a sender (H4 for select): the value of every send that
 * returned GOLF_OK is received by exactly one select, never lost to a timed-out one. */
typedef struct {
    golf_chan *a, *b;
    int n;
    long recv_sum, recv_count;
    atomic_int stop;
} st_arg;

static void *
st_selector(void *p)
{
    st_arg *s = p;
    uint64_t seed = 5;
    while (!atomic_load(&s->stop)) {
        long v = 0;
        golf_case c[2] = {{.ch = s->a, .op = GOLF_RECV, .elem = &v},
                          {.ch = s->b, .op = GOLF_RECV, .elem = &v}};
        int r = golf_select_timeout(c, 2, cu_rand(&seed) % 200000);
        if (r >= 0 && c[r].status == GOLF_OK) {
            s->recv_sum += v;
            s->recv_count++;
        }
    }
    return NULL;
}

Test(chan_mt, select_timeouts_racing_with_sends_lose_nothing, .timeout = 60)
{
    for (size_t cap = 0; cap <= 1; cap++) {
        st_arg s = {.a = golf_chan_new(sizeof(long), cap),
                    .b = golf_chan_new(sizeof(long), cap),
                    .n = 10000};
        atomic_init(&s.stop, 0);
        pthread_t t = cu_spawn(st_selector, &s);
        long sent_sum = 0, sent_count = 0;
        uint64_t seed = 9;
        for (long i = 1; i <= s.n; i++) {
            golf_chan *ch = (i & 1) ? s.a : s.b;
            int rc = golf_chan_send_timeout(ch, &i, cu_rand(&seed) % 100000);
            if (rc == GOLF_OK) {
                sent_sum += i;
                sent_count++;
            } else {
                cr_assert_eq(rc, GOLF_ETIMEDOUT);
            }
        }
        /* Everything sent has been or will be received: wait for the buffers to empty. */
        uint64_t end = cu_now_ns() + 10000 * MS;
        while ((golf_chan_len(s.a) || golf_chan_len(s.b)) && cu_now_ns() < end)
            cu_sleep_ms(1);
        atomic_store(&s.stop, 1);
        cu_join(t);
        cr_expect_gt(sent_count, 0);
        cr_expect_eq(s.recv_count, sent_count, "cap %zu: %ld sent, %ld received", cap, sent_count,
                     s.recv_count);
        cr_expect_eq(s.recv_sum, sent_sum, "cap %zu", cap);
        golf_chan_free(s.a);
        golf_chan_free(s.b);
    }
}

/* Large elements under MPMC: a torn copy (part of one value, part of another, or a slot read
 * before its write finished) shows as a record whose words disagree. */
typedef struct {
    uint64_t id;       /* producer << 32 | seq */
    uint64_t words[7]; /* each = id * (k + 1) ^ 0x5bd1e995 */
} big_rec;

typedef struct {
    golf_chan *ch;
    int id, per;
    long got;
    bool ok;
} big_arg;

static void
big_fill(big_rec *r, uint64_t id)
{
    r->id = id;
    for (int k = 0; k < 7; k++)
        r->words[k] = id * (uint64_t)(k + 1) ^ 0x5bd1e995u;
}

static void *
big_producer(void *p)
{
    big_arg *a = p;
    for (int i = 0; i < a->per; i++) {
        big_rec r;
        big_fill(&r, ((uint64_t)a->id << 32) | (uint32_t)i);
        if (golf_chan_send(a->ch, &r) != GOLF_OK)
            a->ok = false;
    }
    return NULL;
}

static void *
big_consumer(void *p)
{
    big_arg *a = p;
    big_rec r, want;
    while (golf_chan_recv(a->ch, &r) == GOLF_OK) {
        big_fill(&want, r.id);
        if (memcmp(&r, &want, sizeof r) != 0)
            a->ok = false;
        a->got++;
    }
    return NULL;
}

Test(chan_mt, large_elements_arrive_whole, .timeout = 60)
{
    static const size_t caps[] = {0, 1, 2, 64};
    for (size_t c = 0; c < 4; c++) {
        enum { NP = 3, NC = 3, PER = 20000 };
        golf_chan *ch = golf_chan_new(sizeof(big_rec), caps[c]);
        big_arg a[NP + NC];
        pthread_t t[NP + NC];
        for (int i = 0; i < NP + NC; i++) {
            a[i] = (big_arg){.ch = ch, .id = i, .per = PER, .ok = true};
            t[i] = cu_spawn(i < NP ? big_producer : big_consumer, &a[i]);
        }
        for (int i = 0; i < NP; i++)
            cu_join(t[i]);
        golf_chan_close(ch);
        long got = 0;
        for (int i = NP; i < NP + NC; i++) {
            cu_join(t[i]);
            got += a[i].got;
        }
        for (int i = 0; i < NP + NC; i++)
            cr_expect(a[i].ok, "cap %zu: thread %d saw a torn or failed transfer", caps[c], i);
        cr_expect_eq(got, (long)NP * PER, "cap %zu", caps[c]);
        golf_chan_free(ch);
    }
}

/* chan struct{} as a semaphore / event stream: tokens are conserved across threads. */
typedef struct {
    golf_chan *ch;
    int n;
    long got;
} tok_arg;

static void *
tok_sender(void *p)
{
    tok_arg *a = p;
    for (int i = 0; i < a->n; i++)
        golf_chan_send(a->ch, NULL);
    return NULL;
}

static void *
tok_receiver(void *p)
{
    tok_arg *a = p;
    while (golf_chan_recv(a->ch, NULL) == GOLF_OK)
        a->got++;
    return NULL;
}

Test(chan_mt, zero_size_tokens_are_conserved, .timeout = 60)
{
    static const size_t caps[] = {0, 1, 3, 1024};
    for (size_t c = 0; c < 4; c++) {
        enum { NS = 4, NR = 3, N = 20000 };
        golf_chan *ch = golf_chan_new(0, caps[c]);
        tok_arg a[NS + NR];
        pthread_t t[NS + NR];
        for (int i = 0; i < NS + NR; i++) {
            a[i] = (tok_arg){.ch = ch, .n = N};
            t[i] = cu_spawn(i < NS ? tok_sender : tok_receiver, &a[i]);
        }
        for (int i = 0; i < NS; i++)
            cu_join(t[i]);
        golf_chan_close(ch);
        long got = 0;
        for (int i = NS; i < NS + NR; i++) {
            cu_join(t[i]);
            got += a[i].got;
        }
        cr_expect_eq(got, (long)NS * N, "cap %zu: %ld tokens of %ld", caps[c], got, (long)NS * N);
        golf_chan_free(ch);
    }
}
