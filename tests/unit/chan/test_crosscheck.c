/* SPDX-License-Identifier: MIT */
/* golf against the mutex reference (ref/ref_chan.h): the same long random single-threaded
 * sequence of operations on both, every result compared (return codes, values, len, cap).
 *
 * Single-threaded, nothing ever blocks: a blocking call is issued only when the reference's
 * state says it completes at once. Select's choice is random, so golf chooses and the reference
 * replays that one case alone, which must then be ready and give the same result. Two pairs are
 * unbounded (GOLF_UNBOUNDED against the reference's growing buffer): sends outnumber receives,
 * so they run through many blocks. */
#include <criterion/criterion.h>

#include "golf/chan.h"
#include "golf/ring.h"
#include "ref_chan.h"
#include "unit/chan/chan_util.h"

enum { NCH = 10, MAXE = 24 };

typedef struct {
    golf_chan *g;
    ref_chan *r;
    size_t es, cap;
    bool closed;
} pair;

static const size_t pair_caps[NCH] = {0, 1, 2, 3, 5, 16, 0, 4, GOLF_UNBOUNDED, GOLF_UNBOUNDED};
static const size_t pair_sizes[NCH] = {8, 8, 1, 24, 0, 3, 0, 8, 24, 0};

static void
fill(unsigned char *b, size_t n, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)cu_rand(s);
}

static bool
recv_ready(const pair *p)
{
    return p->closed || ref_chan_len(p->r) > 0;
}

static bool
send_ready(const pair *p)
{
    return p->closed || ref_chan_len(p->r) < p->cap;
}

static void
run_sequence(uint64_t seed, int steps)
{
    pair ps[NCH];
    for (int i = 0; i < NCH; i++) {
        ps[i] = (pair){.g = golf_chan_new(pair_sizes[i], pair_caps[i]),
                       .r = ref_chan_new(pair_sizes[i], pair_caps[i]),
                       .es = pair_sizes[i],
                       .cap = pair_caps[i]};
        cr_assert(ps[i].g && ps[i].r);
    }
    uint64_t s = seed;
    for (int step = 0; step < steps; step++) {
        pair *p = &ps[cu_rand(&s) % NCH];
        unsigned char in[MAXE], og[MAXE], orf[MAXE];
        fill(in, sizeof in, &s);
        memset(og, 0xEE, sizeof og);
        memset(orf, 0xEE, sizeof orf);
        /* elem_size 0: NULL pointers half of the time. */
        bool nul = p->es == 0 && (cu_rand(&s) & 1);
        void *pin = nul ? NULL : in, *pog = nul ? NULL : og, *porf = nul ? NULL : orf;
        int op = (int)(cu_rand(&s) % 100);
        int rg, rr;
        const char *what;
        if (op < 20) {
            what = "try_send";
            rg = golf_chan_try_send(p->g, pin);
            rr = ref_chan_try_send(p->r, pin);
        } else if (op < 40) {
            what = "try_recv";
            rg = golf_chan_try_recv(p->g, pog);
            rr = ref_chan_try_recv(p->r, porf);
        } else if (op < 47) {
            what = "send_timeout(0)";
            rg = golf_chan_send_timeout(p->g, pin, 0);
            rr = ref_chan_send_timeout(p->r, pin, 0);
        } else if (op < 54) {
            what = "recv_timeout(0)";
            rg = golf_chan_recv_timeout(p->g, pog, 0);
            rr = ref_chan_recv_timeout(p->r, porf, 0);
        } else if (op < 62) {
            what = "send (ready)";
            if (!send_ready(p))
                continue;
            rg = golf_chan_send(p->g, pin);
            rr = ref_chan_send(p->r, pin);
        } else if (op < 70) {
            what = "recv (ready)";
            if (!recv_ready(p))
                continue;
            rg = (cu_rand(&s) & 1) ? golf_chan_recv(p->g, pog)
                                   : golf_chan_recv_timeout(p->g, pog, 1000 * MS);
            rr = ref_chan_recv(p->r, porf);
        } else if (op < 71) {
            what = "close";
            rg = golf_chan_close(p->g);
            rr = ref_chan_close(p->r);
            p->closed = true;
        } else if (op < 84) {
            /* Batches and past deadlines. A blocking batch is issued only when the reference
             * says it completes at once: send_many when all n fit (or closed), recv_many when
             * a value is there (or closed). */
            enum { B = 6 };
            unsigned char bin[B * MAXE], bog[B * MAXE], borf[B * MAXE];
            fill(bin, sizeof bin, &s);
            memset(bog, 0xEE, sizeof bog);
            memset(borf, 0xEE, sizeof borf);
            size_t n = 1 + cu_rand(&s) % B;
            size_t kg = 99, kr = 77;
            void *bpin = nul ? NULL : bin, *bpog = nul ? NULL : bog, *bporf = nul ? NULL : borf;
            int form = (int)(cu_rand(&s) % 6);
            if (form == 0) {
                what = "try_recv_many";
                rg = golf_chan_try_recv_many(p->g, bpog, n, &kg);
                rr = ref_chan_try_recv_many(p->r, bporf, n, &kr);
            } else if (form == 1) {
                what = "recv_many (ready)";
                if (!recv_ready(p))
                    continue;
                rg = golf_chan_recv_many(p->g, bpog, n, &kg);
                rr = ref_chan_recv_many(p->r, bporf, n, &kr);
            } else if (form == 2) {
                what = "send_many (fits)";
                if (!p->closed && ref_chan_len(p->r) + n > p->cap)
                    continue;
                rg = golf_chan_send_many(p->g, bpin, n, &kg);
                rr = ref_chan_send_many(p->r, bpin, n, &kr);
            } else if (form == 3) {
                what = "send_until(past)";
                rg = golf_chan_send_until(p->g, pin, cu_rand(&s) & 1 ? 0 : cu_now_ns());
                rr = ref_chan_send_until(p->r, pin, 0);
                kg = kr = 0;
            } else if (form == 4) {
                what = "recv_until(past)";
                rg = golf_chan_recv_until(p->g, bpog, cu_rand(&s) & 1 ? 0 : cu_now_ns());
                rr = ref_chan_recv_until(p->r, bporf, 0);
                kg = kr = rg == GOLF_OK;
            } else {
                what = "recv_until(ready, far)";
                if (!recv_ready(p))
                    continue;
                rg = golf_chan_recv_until(p->g, bpog, cu_now_ns() + 1000 * MS);
                rr = ref_chan_recv_until(p->r, bporf, UINT64_MAX);
                kg = kr = rg == GOLF_OK;
            }
            cr_assert_eq(rg, rr, "step %d: %s(%zu) on cap %zu elem %zu%s: golf %d ref %d", step,
                         what, n, p->cap, p->es, p->closed ? " (closed)" : "", rg, rr);
            cr_assert_eq(kg, kr, "step %d: %s(%zu): golf moved %zu, ref %zu", step, what, n, kg,
                         kr);
            /* Received values match; on GOLF_ECLOSED the first element is zeroed in both. */
            if (bpog && form != 2 && form != 3) {
                size_t cmp = (rg == GOLF_ECLOSED ? 1 : kg) * p->es;
                cr_assert_eq(memcmp(bog, borf, cmp), 0, "step %d: %s received other values", step,
                             what);
                for (size_t b = cmp; b < sizeof bog; b++)
                    cr_assert_eq(bog[b], 0xEE, "step %d: %s wrote past what it received", step,
                                 what);
            }
            goto compare_state;
        } else {
            /* select over 1..5 random cases, some nil, duplicates likely. */
            what = "select";
            size_t n = 1 + cu_rand(&s) % 5;
            golf_case gc[5];
            ref_case rc[5];
            unsigned char gin[5][MAXE], gout[5][MAXE], rout[MAXE];
            bool any_ready = false;
            for (size_t i = 0; i < n; i++) {
                pair *q = &ps[cu_rand(&s) % NCH];
                bool nil = cu_rand(&s) % 8 == 0;
                int cop = (cu_rand(&s) & 1) ? GOLF_SEND : GOLF_RECV;
                fill(gin[i], MAXE, &s);
                memset(gout[i], 0xEE, MAXE);
                void *e = cop == GOLF_SEND ? (void *)gin[i] : (void *)gout[i];
                gc[i] = (golf_case){.ch = nil ? NULL : q->g, .op = cop, .elem = e, .status = 99};
                rc[i] = (ref_case){.ch = nil ? NULL : q->r, .op = cop, .elem = e, .status = 99};
                if (!nil)
                    any_ready |= cop == GOLF_SEND ? send_ready(q) : recv_ready(q);
            }
            int form = (int)(cu_rand(&s) % 4);
            if (form == 2 && !any_ready)
                form = 0;
            rg = form == 0   ? golf_select_try(gc, n)
                 : form == 1 ? golf_select_timeout(gc, n, 0)
                 : form == 3 ? golf_select_until(gc, n, cu_rand(&s) & 1 ? 0 : cu_now_ns())
                             : golf_select(gc, n);
            if (rg < 0) {
                cr_assert(!any_ready, "step %d: select form %d returned %d with a ready case", step,
                          form, rg);
                cr_assert_eq(rg, form == 0 ? GOLF_EAGAIN : GOLF_ETIMEDOUT);
                rr = form == 0   ? ref_select_try(rc, n)
                     : form == 3 ? ref_select_until(rc, n, 0)
                                 : ref_select_timeout(rc, n, 0);
                cr_assert_eq(rg, rr, "step %d: select: golf %d ref %d", step, rg, rr);
            } else {
                cr_assert_lt((size_t)rg, n);
                /* Replay the chosen case alone on the reference. */
                ref_case one = rc[rg];
                if (one.op == GOLF_RECV)
                    one.elem = rout;
                memset(rout, 0xEE, MAXE);
                int x = ref_select_try(&one, 1);
                cr_assert_eq(x, 0, "step %d: golf chose case %d (%s on cap %zu), not ready in ref",
                             step, rg, gc[rg].op == GOLF_SEND ? "send" : "recv",
                             golf_chan_cap(gc[rg].ch));
                cr_assert_eq(gc[rg].status, one.status, "step %d: select status golf %d ref %d",
                             step, gc[rg].status, one.status);
                size_t es = 0;
                for (int i = 0; i < NCH; i++)
                    if (ps[i].g == gc[rg].ch)
                        es = ps[i].es;
                if (gc[rg].op == GOLF_RECV)
                    cr_assert_eq(memcmp(gout[rg], rout, es), 0,
                                 "step %d: select received a different value", step);
                for (size_t i = 0; i < n; i++)
                    if (i != (size_t)rg && gc[i].op == GOLF_RECV && gc[i].elem != gc[rg].elem)
                        for (int b = 0; b < MAXE; b++)
                            cr_assert_eq(gout[i][b], 0xEE, "step %d: unchosen case %zu written",
                                         step, i);
            }
            goto compare_state;
        }
        cr_assert_eq(rg, rr, "step %d: %s on cap %zu elem %zu%s: golf %d ref %d", step, what,
                     p->cap, p->es, p->closed ? " (closed)" : "", rg, rr);
        if (pog && ((op >= 20 && op < 40) || (op >= 47 && op < 54) || (op >= 62 && op < 70)))
            cr_assert_eq(memcmp(og, orf, p->es), 0, "step %d: %s received a different value", step,
                         what);
    compare_state:
        for (int i = 0; i < NCH; i++) {
            cr_assert_eq(golf_chan_len(ps[i].g), ref_chan_len(ps[i].r),
                         "step %d: len of channel %d", step, i);
            cr_assert_eq(golf_chan_cap(ps[i].g), ref_chan_cap(ps[i].r));
        }
        /* Now and then reopen a closed channel (fresh pair) so closes do not take over. */
        if (cu_rand(&s) % 64 == 0) {
            pair *q = &ps[cu_rand(&s) % NCH];
            if (q->closed) {
                golf_chan_free(q->g);
                ref_chan_free(q->r);
                q->g = golf_chan_new(q->es, q->cap);
                q->r = ref_chan_new(q->es, q->cap);
                q->closed = false;
            }
        }
    }
    for (int i = 0; i < NCH; i++) {
        golf_chan_free(ps[i].g);
        ref_chan_free(ps[i].r);
    }
}

Test(crosscheck, random_sequences_match_the_reference, .timeout = 60)
{
    for (uint64_t seed = 1; seed <= 20; seed++)
        run_sequence(seed * 0x9E3779B97F4A7C15u, 20000);
}

/* The same for the ring: a random try_push/try_pop sequence against ref_ring. */
Test(crosscheck, ring_random_sequence_matches_the_reference, .timeout = 30)
{
    static const size_t caps[] = {1, 2, 3, 4, 7, 64};
    static const size_t sizes[] = {1, 8, 3, 16, 24, 8};
    uint64_t s = 42;
    for (size_t k = 0; k < 6; k++) {
        golf_ring *g = golf_ring_new(sizes[k], caps[k]);
        ref_ring *r = ref_ring_new(sizes[k], caps[k]);
        cr_assert(g && r);
        for (int step = 0; step < 50000; step++) {
            unsigned char in[MAXE], og[MAXE], orf[MAXE];
            fill(in, sizeof in, &s);
            if (cu_rand(&s) % 2) {
                cr_assert_eq(golf_ring_try_push(g, in), ref_ring_try_push(r, in), "push, step %d",
                             step);
            } else {
                int a = golf_ring_try_pop(g, og), b = ref_ring_try_pop(r, orf);
                cr_assert_eq(a, b, "pop, step %d", step);
                if (a == GOLF_OK)
                    cr_assert_eq(memcmp(og, orf, sizes[k]), 0, "pop value, step %d", step);
            }
            cr_assert_eq(golf_ring_len(g), ref_ring_len(r));
        }
        cr_assert_eq(golf_ring_cap(g), ref_ring_cap(r));
        golf_ring_free(g);
        ref_ring_free(r);
    }
}
