/* SPDX-License-Identifier: MIT */
/* The unbounded channel (cap == GOLF_UNBOUNDED): sends never block, FIFO, len/cap, close,
 * select (a send case is always ready), one-shot receivers woken one value at a time, blocks
 * given back as the channel drains, and a failed block allocation that enqueues nothing. */
#include <criterion/criterion.h>
#include <errno.h>

#include "chan/chan_struct.h"
#include "chan/chan_unb.h"
#include "golf/chan.h"
#include "lockfree/alloc.h"
#include "unit/chan/chan_probe.h"
#include "unit/chan/chan_util.h"

Test(chan_unb, cap_len_and_fifo_across_many_blocks, .timeout = 30)
{
    static const size_t sizes[] = {0, 1, 8, 24, 700, 5000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t es = sizes[k];
        golf_chan *ch = golf_chan_new(es, GOLF_UNBOUNDED);
        cr_assert(ch);
        cr_expect_eq(golf_chan_cap(ch), GOLF_UNBOUNDED);
        cr_expect_eq(golf_chan_len(ch), 0);
        unsigned char in[5000], out[5000];
        const int n = es > 100 ? 300 : 5000;
        for (int i = 0; i < n; i++) {
            memset(in, (unsigned char)i, es);
            if (es >= sizeof(int))
                memcpy(in, &i, sizeof i);
            cr_assert_eq(golf_chan_try_send(ch, es ? in : NULL), GOLF_OK, "es %zu send %d", es, i);
            cr_assert_eq(golf_chan_len(ch), (size_t)i + 1, "es %zu len after %d sends", es, i + 1);
        }
        for (int i = 0; i < n; i++) {
            cr_assert_eq(golf_chan_recv(ch, es ? out : NULL), GOLF_OK);
            if (es >= sizeof(int)) {
                int v;
                memcpy(&v, out, sizeof v);
                cr_assert_eq(v, i, "es %zu: got %d, want %d (FIFO)", es, v, i);
            } else if (es) {
                cr_assert_eq(out[0], (unsigned char)i);
            }
            cr_assert_eq(golf_chan_len(ch), (size_t)(n - i - 1));
        }
        cr_expect_eq(golf_chan_try_recv(ch, out), GOLF_EAGAIN);
        golf_chan_free(ch);
    }
}

Test(chan_unb, len_counts_through_block_steps_interleaved, .timeout = 30)
{
    golf_chan *ch = golf_chan_new(8, GOLF_UNBOUNDED);
    uint64_t v = 0, w;
    size_t len = 0, sent = 0, got = 0;
    uint64_t s = 7;
    for (int i = 0; i < 200000; i++) {
        if (cu_rand(&s) % 100 < 55) {
            v = sent++;
            cr_assert_eq(golf_chan_send(ch, &v), GOLF_OK);
            len++;
        } else if (len) {
            cr_assert_eq(golf_chan_try_recv(ch, &w), GOLF_OK);
            cr_assert_eq(w, got++);
            len--;
        }
        cr_assert_eq(golf_chan_len(ch), len, "step %d", i);
    }
    golf_chan_free(ch); /* with values inside: every block freed (ASan) */
}

Test(chan_unb, close_drains_then_reports_closed, .timeout = 30)
{
    golf_chan *ch = golf_chan_new(sizeof(int), GOLF_UNBOUNDED);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(golf_chan_send(ch, &i), GOLF_OK);
    cr_assert_eq(golf_chan_close(ch), GOLF_OK);
    cr_expect_eq(golf_chan_close(ch), GOLF_ECLOSED);
    int v = 5;
    cr_expect_eq(golf_chan_send(ch, &v), GOLF_ECLOSED);
    cr_expect_eq(golf_chan_try_send(ch, &v), GOLF_ECLOSED);
    cr_expect_eq(golf_chan_len(ch), 100);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(golf_chan_recv(ch, &v), GOLF_OK);
        cr_assert_eq(v, i);
    }
    v = 5;
    cr_expect_eq(golf_chan_recv(ch, &v), GOLF_ECLOSED);
    cr_expect_eq(v, 0, "zeroed on GOLF_ECLOSED");
    cr_expect_eq(golf_chan_try_recv(ch, &v), GOLF_ECLOSED);
    cr_expect_eq(golf_chan_recv_timeout(ch, &v, 1000), GOLF_ECLOSED);
    golf_chan_free(ch);
}

Test(chan_unb, send_never_blocks_and_timeouts_behave, .timeout = 30)
{
    golf_chan *ch = golf_chan_new(8, GOLF_UNBOUNDED);
    uint64_t v = 1;
    for (int i = 0; i < 100000; i++)
        cr_assert_eq(golf_chan_send_timeout(ch, &v, 0), GOLF_OK);
    cr_expect_eq(golf_chan_len(ch), 100000);
    golf_chan *e = golf_chan_new(8, GOLF_UNBOUNDED);
    cr_expect_eq(golf_chan_recv_timeout(e, &v, 2 * MS), GOLF_ETIMEDOUT);
    cr_expect_eq(golf_chan_recv_timeout(e, &v, 0), GOLF_ETIMEDOUT);
    golf_chan_free(e);
    golf_chan_free(ch);
}

Test(chan_unb, blocked_receivers_woken_by_close, .timeout = 30)
{
    golf_chan *ch = golf_chan_new(8, GOLF_UNBOUNDED);
    uint64_t o[4] = {9, 9, 9, 9};
    probe p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = (probe){.kind = P_RECV, .ch = ch, .elem = &o[i]};
        probe_start(&p[i]);
    }
    cr_expect(probe_still_blocked_after(&p[0], 30));
    golf_chan_close(ch);
    for (int i = 0; i < 4; i++) {
        cr_assert(probe_finishes_within(&p[i], 5000), "receiver %d stranded after close", i);
        cr_expect_eq(p[i].rc, GOLF_ECLOSED);
        cr_expect_eq(o[i], 0);
    }
    golf_chan_free(ch);
}

/* Receivers park; each send must wake one of them (one-shot: a receiver returns after one
 * value); nobody is stranded, nothing is received twice. */
Test(chan_unb, one_shot_receivers_each_woken_by_one_send, .timeout = 60)
{
    enum { N = 6 };
    for (int round = 0; round < 20; round++) {
        golf_chan *ch = golf_chan_new(8, GOLF_UNBOUNDED);
        uint64_t o[N];
        probe p[N];
        for (int i = 0; i < N; i++) {
            o[i] = UINT64_MAX;
            p[i] = (probe){.kind = P_RECV, .ch = ch, .elem = &o[i]};
            probe_start(&p[i]);
        }
        cu_sleep_ms(20); /* they park */
        for (uint64_t v = 0; v < N; v++) {
            cr_assert_eq(golf_chan_send(ch, &v), GOLF_OK);
            if (round & 1)
                cu_sleep_ms(1);
        }
        uint64_t mask = 0;
        for (int i = 0; i < N; i++) {
            cr_assert(probe_finishes_within(&p[i], 5000), "round %d: receiver %d stranded, len %zu",
                      round, i, golf_chan_len(ch));
            cr_assert_eq(p[i].rc, GOLF_OK);
            cr_assert_lt(o[i], N);
            mask |= 1ull << o[i];
        }
        cr_assert_eq(mask, (1ull << N) - 1, "every value exactly once");
        golf_chan_free(ch);
    }
}

Test(chan_unb, select_send_case_always_ready, .timeout = 30)
{
    golf_chan *u = golf_chan_new(8, GOLF_UNBOUNDED);
    golf_chan *full = golf_chan_new(8, 1);
    uint64_t v = 3, w = 0;
    cr_assert_eq(golf_chan_send(full, &v), GOLF_OK);
    for (int i = 0; i < 1000; i++) {
        golf_case c[2] = {{full, GOLF_SEND, &v, 0}, {u, GOLF_SEND, &v, 0}};
        cr_assert_eq(golf_select_try(c, 2), 1);
        cr_assert_eq(c[1].status, GOLF_OK);
    }
    cr_expect_eq(golf_chan_len(u), 1000);
    /* A select receiving from two unbounded channels takes a value from whichever has one. */
    golf_chan *u2 = golf_chan_new(8, GOLF_UNBOUNDED);
    golf_case r[2] = {{u2, GOLF_RECV, &w, 0}, {u, GOLF_RECV, &w, 0}};
    cr_assert_eq(golf_select(r, 2), 1);
    cr_expect_eq(w, 3);
    cr_expect_eq(golf_select_try((golf_case[]){{u2, GOLF_RECV, &w, 0}}, 1), GOLF_EAGAIN);
    /* Blocked in select on an empty unbounded channel: a send wakes it. */
    golf_case b[2] = {{u2, GOLF_RECV, &w, 0}, {NULL, GOLF_RECV, NULL, 0}};
    probe p = {.kind = P_SELECT, .cases = b, .n = 2};
    probe_start(&p);
    cr_expect(probe_still_blocked_after(&p, 20));
    v = 77;
    cr_assert_eq(golf_chan_send(u2, &v), GOLF_OK);
    cr_assert(probe_finishes_within(&p, 5000));
    cr_expect_eq(p.rc, 0);
    cr_expect_eq(w, 77);
    /* Closed: the send case reports GOLF_ECLOSED, a drained receive case too. */
    golf_chan_close(u2);
    golf_case cs[1] = {{u2, GOLF_SEND, &v, 0}};
    cr_assert_eq(golf_select(cs, 1), 0);
    cr_expect_eq(cs[0].status, GOLF_ECLOSED);
    golf_case cr[1] = {{u2, GOLF_RECV, &w, 0}};
    cr_assert_eq(golf_select(cr, 1), 0);
    cr_expect_eq(cr[0].status, GOLF_ECLOSED);
    golf_chan_free(u);
    golf_chan_free(u2);
    golf_chan_free(full);
}

/* Every allocation a send can make fails in turn: the failing send returns GOLF_ENOMEM with
 * nothing enqueued (len, FIFO), and the channel works afterwards. */
Test(chan_unb, failed_block_allocation_enqueues_nothing, .timeout = 30)
{
    for (int spare = 0; spare < 2; spare++) {
        golf_chan *ch = golf_chan_new(8, GOLF_UNBOUNDED);
        cr_assert(ch);
        uint64_t v, w, next_in = 0, next_out = 0;
        if (spare) { /* leave spare blocks behind (3): block steps take them, no malloc */
            for (int i = 0; i < 200; i++) {
                v = next_in++;
                golf_chan_send(ch, &v);
            }
            for (int i = 0; i < 200; i++) {
                cr_assert_eq(golf_chan_recv(ch, &w), GOLF_OK);
                cr_assert_eq(w, next_out++);
            }
        }
        int failures = 0;
        golf__alloc_set_fail(0);
        for (int i = 0; i < 500; i++) {
            size_t len = golf_chan_len(ch);
            v = next_in;
            int r = golf_chan_send(ch, &v);
            if (r == GOLF_ENOMEM) {
                failures++;
                cr_assert_eq(golf_chan_len(ch), len, "a failed send enqueued nothing");
                break;
            }
            cr_assert_eq(r, GOLF_OK);
            next_in++;
        }
        golf__alloc_set_fail(-1);
        cr_assert_eq(failures, 1, "a block step needs an allocation (spare %d)", spare);
        /* Works afterwards, in order. */
        for (int i = 0; i < 300; i++) {
            v = next_in++;
            cr_assert_eq(golf_chan_send(ch, &v), GOLF_OK);
        }
        golf_chan_close(ch);
        while (golf_chan_recv(ch, &w) == GOLF_OK)
            cr_assert_eq(w, next_out++);
        cr_assert_eq(next_out, next_in, "nothing lost, nothing extra");
        golf_chan_free(ch);
    }
    /* golf_chan_new's two allocations. */
    for (long k = 0; k < 2; k++) {
        golf__alloc_set_fail(k);
        errno = 0;
        golf_chan *ch = golf_chan_new(8, GOLF_UNBOUNDED);
        golf__alloc_set_fail(-1);
        cr_assert_null(ch, "allocation %ld fails", k);
        cr_expect_eq(errno, ENOMEM);
    }
}

/* A select whose send case needs a block that cannot be allocated: the case is chosen with
 * GOLF_ENOMEM (it is ready: it does not wait), nothing enqueued. */
Test(chan_unb, select_send_reports_enomem, .timeout = 30)
{
    golf_chan *ch = golf_chan_new(8, GOLF_UNBOUNDED);
    uint64_t v = 1;
    int r = GOLF_OK;
    golf__alloc_set_fail(0);
    for (int i = 0; i < 500 && r == GOLF_OK; i++) {
        golf_case c[1] = {{ch, GOLF_SEND, &v, 0}};
        cr_assert_eq(golf_select(c, 1), 0);
        r = c[0].status;
    }
    golf__alloc_set_fail(-1);
    cr_expect_eq(r, GOLF_ENOMEM);
    golf_chan_free(ch);
}

static int
spares_held(golf__unb_core *u)
{
    int n = 0;
    for (int i = 0; i < GOLF__UNB_SPARES; i++)
        n += atomic_load(&u->spare[i]) != NULL;
    return n;
}

/* Blocks go back as the channel drains: after a burst is received the channel holds one block
 * between head and tail, plus at most GOLF__UNB_SPARES spares; the rest are freed (ASan's leak
 * check fails the test otherwise: tests/CMakeLists.txt). The next burst's block steps take the
 * spares, with no malloc, then malloc again. */
Test(chan_unb, drained_channel_keeps_at_most_its_spares, .timeout = 60)
{
    golf_chan *ch = golf_chan_new(8, GOLF_UNBOUNDED);
    golf__unb_core *u = golf__chan_unb(ch);
    const uint64_t per_block = u->lap - 1;
    uint64_t v = 0;
    cr_expect_eq(spares_held(u), 0, "a new channel holds no spare");
    for (int i = 0; i < 100000; i++)
        golf_chan_send(ch, &v);
    for (int i = 0; i < 100000; i++)
        golf_chan_recv(ch, &v);
    golf__unb_block *hb = atomic_load(&u->head_block);
    cr_expect_eq(hb, atomic_load(&u->tail_block), "one block between head and tail");
    cr_expect_null(atomic_load(&hb->next));
    cr_expect_eq(spares_held(u), GOLF__UNB_SPARES, "a drained channel keeps its spares, no more");
    /* head == tail, somewhere in the current block: the sends that fill it need no block; each
     * later block step takes a spare. With allocation failing, the first send that fails is the
     * one that needs a block after the spares are gone. */
    cr_assert_eq(golf_chan_len(ch), 0);
    uint64_t room = per_block - (atomic_load(&u->tail) >> 1) % u->lap;
    golf__alloc_set_fail(0);
    uint64_t sent = 0;
    while (golf_chan_send(ch, &v) == GOLF_OK)
        sent++;
    golf__alloc_set_fail(-1);
    /* A send takes the next block (U2) when it reserves its block's last slot, so the failure
     * comes one send before the spares' last slot. */
    cr_expect_eq(sent, room + GOLF__UNB_SPARES * per_block - 1, "sent %llu, room %llu",
                 (unsigned long long)sent, (unsigned long long)room);
    cr_expect_eq(spares_held(u), 0);
    cr_expect_eq(golf_chan_len(ch), sent);
    golf_chan_free(ch);
}
