/* SPDX-License-Identifier: MIT */
/* golf/chan.h single-channel rules, one test per rule of include/golf/chan.h (select is in
 * test_select.c). Names say the rule. */
#include <criterion/criterion.h>
#include <errno.h>

#include "golf/chan.h"
#include "unit/chan/chan_probe.h"

#define BLOCK_MS 30    /* "still blocked after" probes: long enough to be meaningful */
#define FINISH_MS 5000 /* "finishes" probes: generous for loaded machines and sanitizers */

/* ---- creation, arguments, len/cap ---- */

Test(chan_new, unbuffered_and_buffered_report_cap_and_empty_len, .timeout = 10)
{
    static const size_t caps[] = {0, 1, 2, 3, 100, 1024, 1025};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        golf_chan *ch = golf_chan_new(sizeof(int), caps[i]);
        cr_assert_not_null(ch);
        cr_expect_eq(golf_chan_cap(ch), caps[i]);
        cr_expect_eq(golf_chan_len(ch), 0);
        golf_chan_free(ch);
    }
}

Test(chan_new, impossible_sizes_return_null_with_errno, .timeout = 10)
{
    errno = 0;
    cr_expect_null(golf_chan_new(16, SIZE_MAX / 4));
    cr_expect(errno == EINVAL || errno == ENOMEM, "errno %d", errno);
    errno = 0;
    cr_expect_null(golf_chan_new(SIZE_MAX / 2, 4));
    cr_expect(errno == EINVAL || errno == ENOMEM, "errno %d", errno);
    errno = 0;
    cr_expect_null(golf_chan_new(SIZE_MAX, SIZE_MAX));
    cr_expect(errno == EINVAL || errno == ENOMEM, "errno %d", errno);
}

Test(chan_new, free_null_does_nothing, .timeout = 10)
{
    golf_chan_free(NULL);
}

Test(chan_new, len_counts_buffered_values_up_to_cap, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(golf_chan_send(ch, &i), GOLF_OK);
        cr_expect_eq(golf_chan_len(ch), (size_t)i + 1);
    }
    cr_expect_eq(golf_chan_cap(ch), 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(golf_chan_recv(ch, NULL), GOLF_OK);
        cr_expect_eq(golf_chan_len(ch), (size_t)(4 - i));
    }
    golf_chan_close(ch);
    cr_expect_eq(golf_chan_cap(ch), 5, "cap of a closed channel");
    golf_chan_free(ch);
}

/* Go's chan struct{}: elem_size 0, elem/out may be NULL, len counts the tokens. */
Test(chan_new, elem_size_zero_is_chan_struct, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(0, 3);
    cr_assert_not_null(ch);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(golf_chan_send(ch, NULL), GOLF_OK);
    cr_expect_eq(golf_chan_len(ch), 3);
    cr_expect_eq(golf_chan_try_send(ch, NULL), GOLF_EAGAIN);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(golf_chan_recv(ch, NULL), GOLF_OK);
    cr_expect_eq(golf_chan_try_recv(ch, NULL), GOLF_EAGAIN);
    cr_expect_eq(golf_chan_close(ch), GOLF_OK);
    cr_expect_eq(golf_chan_recv(ch, NULL), GOLF_ECLOSED);
    golf_chan_free(ch);

    golf_chan *u = golf_chan_new(0, 0);
    cr_assert_not_null(u);
    probe p = {.kind = P_RECV, .ch = u, .elem = NULL};
    probe_start(&p);
    cr_expect(probe_still_blocked_after(&p, BLOCK_MS));
    cr_expect_eq(golf_chan_send(u, NULL), GOLF_OK);
    cr_assert(probe_finishes_within(&p, FINISH_MS));
    cr_expect_eq(p.rc, GOLF_OK);
    golf_chan_free(u);
}

Test(chan_new, large_and_odd_elements_are_copied_whole, .timeout = 20)
{
    static const size_t sizes[] = {1, 3, 7, 9, 24, 100, 4096, 65536, 65536 * 4 + 5};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t es = sizes[k];
        for (size_t cap = 0; cap <= 3; cap += 3) {
            golf_chan *ch = golf_chan_new(es, cap);
            cr_assert_not_null(ch, "elem size %zu", es);
            unsigned char *in = malloc(es), *out = malloc(es);
            for (size_t i = 0; i < es; i++)
                in[i] = (unsigned char)(i * 7 + es);
            if (cap) {
                cr_assert_eq(golf_chan_send(ch, in), GOLF_OK);
            } else {
                probe p = {.kind = P_SEND, .ch = ch, .elem = in};
                probe_start(&p);
                memset(out, 0, es);
                cr_assert_eq(golf_chan_recv(ch, out), GOLF_OK);
                cr_assert(probe_finishes_within(&p, FINISH_MS));
                cr_expect_eq(p.rc, GOLF_OK);
                cr_assert_eq(memcmp(in, out, es), 0, "unbuffered, elem size %zu corrupted", es);
                cr_assert_eq(golf_chan_try_send(ch, in), GOLF_EAGAIN);
            }
            if (cap) {
                memset(out, 0, es);
                cr_assert_eq(golf_chan_recv(ch, out), GOLF_OK);
                cr_assert_eq(memcmp(in, out, es), 0, "buffered, elem size %zu corrupted", es);
            }
            free(in);
            free(out);
            golf_chan_free(ch);
        }
    }
}

/* Bad arguments get GOLF_EINVAL (docs/CONTRIBUTING.md). A NULL value to send on a channel whose
 * elements have a size is such an argument (chan.h allows NULL only for elem_size 0). */
Test(chan_args, send_null_elem_with_nonzero_size_is_einval_and_sends_nothing, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 2);
    cr_expect_eq(golf_chan_send(ch, NULL), GOLF_EINVAL);
    cr_expect_eq(golf_chan_try_send(ch, NULL), GOLF_EINVAL);
    cr_expect_eq(golf_chan_send_timeout(ch, NULL, MS), GOLF_EINVAL);
    cr_expect_eq(golf_chan_len(ch), 0);
    golf_chan_free(ch);
}

/* "out may be NULL in any receive: the value is discarded." */
Test(chan_args, receive_into_null_discards_in_every_form, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 4);
    for (int i = 1; i <= 4; i++)
        golf_chan_send(ch, &i);
    cr_expect_eq(golf_chan_recv(ch, NULL), GOLF_OK);
    cr_expect_eq(golf_chan_try_recv(ch, NULL), GOLF_OK);
    cr_expect_eq(golf_chan_recv_timeout(ch, NULL, MS), GOLF_OK);
    golf_case c = {.ch = ch, .op = GOLF_RECV, .elem = NULL};
    cr_expect_eq(golf_select(&c, 1), 0);
    cr_expect_eq(c.status, GOLF_OK);
    cr_expect_eq(golf_chan_len(ch), 0, "four receives took four values");
    golf_chan_close(ch);
    cr_expect_eq(golf_chan_recv(ch, NULL), GOLF_ECLOSED);
    golf_chan_free(ch);
}

/* ---- the nil channel ---- */

Test(chan_nil, send_and_recv_block_forever, .timeout = 10)
{
    int v = 1;
    probe s = {.kind = P_SEND, .ch = NULL, .elem = &v};
    probe r = {.kind = P_RECV, .ch = NULL, .elem = &v};
    probe_start(&s);
    probe_start(&r);
    cr_expect(probe_still_blocked_after(&s, 100), "send on nil returned %d", s.rc);
    cr_expect(!probe_done(&r), "recv on nil returned %d", r.rc);
    /* The threads stay blocked; the test process ends with them. */
}

Test(chan_nil, try_forms_return_eagain, .timeout = 10)
{
    int v = 1;
    cr_expect_eq(golf_chan_try_send(NULL, &v), GOLF_EAGAIN);
    cr_expect_eq(golf_chan_try_recv(NULL, &v), GOLF_EAGAIN);
    cr_expect_eq(v, 1);
}

Test(chan_nil, timeout_forms_return_etimedout_after_the_timeout, .timeout = 10)
{
    int v = 1;
    uint64_t t0 = cu_now_ns();
    cr_expect_eq(golf_chan_send_timeout(NULL, &v, 20 * MS), GOLF_ETIMEDOUT);
    cr_expect_eq(golf_chan_recv_timeout(NULL, &v, 20 * MS), GOLF_ETIMEDOUT);
    cr_expect_geq(cu_now_ns() - t0, 40 * MS);
    cr_expect_eq(golf_chan_send_timeout(NULL, &v, 0), GOLF_ETIMEDOUT);
    cr_expect_eq(golf_chan_recv_timeout(NULL, &v, 0), GOLF_ETIMEDOUT);
}

Test(chan_nil, close_is_einval_len_cap_zero, .timeout = 10)
{
    cr_expect_eq(golf_chan_close(NULL), GOLF_EINVAL);
    cr_expect_eq(golf_chan_len(NULL), 0);
    cr_expect_eq(golf_chan_cap(NULL), 0);
}

/* ---- unbuffered: rendezvous ---- */

Test(chan_unbuffered, send_blocks_until_a_receiver_takes_the_value, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    int v = 42, out = 0;
    probe s = {.kind = P_SEND, .ch = ch, .elem = &v};
    probe_start(&s);
    cr_expect(probe_still_blocked_after(&s, BLOCK_MS), "send completed with no receiver");
    cr_expect_eq(golf_chan_len(ch), 0);
    cr_expect_eq(golf_chan_recv(ch, &out), GOLF_OK);
    cr_expect_eq(out, 42);
    cr_assert(probe_finishes_within(&s, FINISH_MS));
    cr_expect_eq(s.rc, GOLF_OK);
    golf_chan_free(ch);
}

Test(chan_unbuffered, recv_blocks_until_a_sender_comes, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    int v = 43, out = 0;
    probe r = {.kind = P_RECV, .ch = ch, .elem = &out};
    probe_start(&r);
    cr_expect(probe_still_blocked_after(&r, BLOCK_MS));
    cr_expect_eq(golf_chan_send(ch, &v), GOLF_OK);
    cr_assert(probe_finishes_within(&r, FINISH_MS));
    cr_expect_eq(r.rc, GOLF_OK);
    cr_expect_eq(out, 43);
    golf_chan_free(ch);
}

Test(chan_unbuffered, try_forms_need_a_waiting_partner, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    int v = 5, out = 0;
    cr_expect_eq(golf_chan_try_send(ch, &v), GOLF_EAGAIN, "try_send with no receiver");
    cr_expect_eq(golf_chan_try_recv(ch, &out), GOLF_EAGAIN, "try_recv with no sender");
    cr_expect_eq(golf_chan_len(ch), 0);

    /* A parked receiver makes try_send succeed. Retry: the receiver may not be parked yet. */
    probe r = {.kind = P_RECV, .ch = ch, .elem = &out};
    probe_start(&r);
    int rc = GOLF_EAGAIN;
    for (int i = 0; i < 5000 && rc == GOLF_EAGAIN; i++) {
        rc = golf_chan_try_send(ch, &v);
        if (rc == GOLF_EAGAIN)
            cu_sleep_ms(1);
    }
    cr_expect_eq(rc, GOLF_OK);
    cr_assert(probe_finishes_within(&r, FINISH_MS));
    cr_expect_eq(out, 5);

    v = 6;
    probe s = {.kind = P_SEND, .ch = ch, .elem = &v};
    probe_start(&s);
    rc = GOLF_EAGAIN;
    for (int i = 0; i < 5000 && rc == GOLF_EAGAIN; i++) {
        rc = golf_chan_try_recv(ch, &out);
        if (rc == GOLF_EAGAIN)
            cu_sleep_ms(1);
    }
    cr_expect_eq(rc, GOLF_OK);
    cr_expect_eq(out, 6);
    cr_assert(probe_finishes_within(&s, FINISH_MS));
    cr_expect_eq(s.rc, GOLF_OK);
    golf_chan_free(ch);
}

Test(chan_unbuffered, timeout_forms_complete_with_a_partner, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    int v = 7, out = 0;
    probe r = {.kind = P_RECV, .ch = ch, .elem = &out};
    probe_start(&r);
    cr_expect_eq(golf_chan_send_timeout(ch, &v, 5000 * MS), GOLF_OK);
    cr_assert(probe_finishes_within(&r, FINISH_MS));
    cr_expect_eq(out, 7);
    v = 8;
    probe s = {.kind = P_SEND, .ch = ch, .elem = &v};
    probe_start(&s);
    cr_expect_eq(golf_chan_recv_timeout(ch, &out, 5000 * MS), GOLF_OK);
    cr_expect_eq(out, 8);
    cr_assert(probe_finishes_within(&s, FINISH_MS));
    golf_chan_free(ch);
}

/* ---- buffered ---- */

Test(chan_buffered, send_completes_while_len_below_cap_then_blocks, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(golf_chan_send(ch, &i), GOLF_OK);
    int v = 3;
    cr_expect_eq(golf_chan_try_send(ch, &v), GOLF_EAGAIN);
    probe s = {.kind = P_SEND, .ch = ch, .elem = &v};
    probe_start(&s);
    cr_expect(probe_still_blocked_after(&s, BLOCK_MS), "send to a full channel completed");
    int out = -1;
    cr_expect_eq(golf_chan_recv(ch, &out), GOLF_OK);
    cr_expect_eq(out, 0);
    cr_assert(probe_finishes_within(&s, FINISH_MS), "blocked sender not released by room");
    cr_expect_eq(s.rc, GOLF_OK);
    for (int i = 1; i <= 3; i++) {
        cr_expect_eq(golf_chan_recv(ch, &out), GOLF_OK);
        cr_expect_eq(out, i, "FIFO: the blocked sender's value comes last");
    }
    cr_expect_eq(golf_chan_len(ch), 0);
    golf_chan_free(ch);
}

Test(chan_buffered, recv_blocks_on_empty_until_a_send, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 4);
    int out = 0, v = 9;
    probe r = {.kind = P_RECV, .ch = ch, .elem = &out};
    probe_start(&r);
    cr_expect(probe_still_blocked_after(&r, BLOCK_MS));
    cr_expect_eq(golf_chan_send(ch, &v), GOLF_OK);
    cr_assert(probe_finishes_within(&r, FINISH_MS));
    cr_expect_eq(out, 9);
    cr_expect_eq(golf_chan_len(ch), 0);
    golf_chan_free(ch);
}

Test(chan_buffered, one_senders_values_arrive_in_order_across_many_laps, .timeout = 10)
{
    static const size_t caps[] = {1, 2, 3, 7, 8, 1024};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        golf_chan *ch = golf_chan_new(sizeof(uint64_t), caps[c]);
        uint64_t next_in = 0, next_out = 0, s = 1 + c;
        for (int step = 0; step < 100000; step++) {
            if (cu_rand(&s) % 3) {
                int rc = golf_chan_try_send(ch, &next_in);
                cr_assert_eq(rc == GOLF_EAGAIN, next_in - next_out == caps[c]);
                next_in += rc == GOLF_OK;
            } else {
                uint64_t v;
                int rc = golf_chan_try_recv(ch, &v);
                cr_assert_eq(rc == GOLF_EAGAIN, next_in == next_out);
                if (rc == GOLF_OK)
                    cr_assert_eq(v, next_out++, "cap %zu", caps[c]);
            }
            cr_assert_eq(golf_chan_len(ch), next_in - next_out);
        }
        golf_chan_free(ch);
    }
}

/* ---- close ---- */

Test(chan_close, second_close_returns_eclosed, .timeout = 10)
{
    for (size_t cap = 0; cap <= 2; cap++) {
        golf_chan *ch = golf_chan_new(sizeof(int), cap);
        cr_expect_eq(golf_chan_close(ch), GOLF_OK);
        cr_expect_eq(golf_chan_close(ch), GOLF_ECLOSED);
        cr_expect_eq(golf_chan_close(ch), GOLF_ECLOSED);
        golf_chan_free(ch);
    }
}

Test(chan_close, later_sends_return_eclosed_and_enqueue_nothing, .timeout = 10)
{
    for (size_t cap = 0; cap <= 4; cap += 2) {
        golf_chan *ch = golf_chan_new(sizeof(int), cap);
        int v = 1;
        if (cap)
            golf_chan_send(ch, &v);
        golf_chan_close(ch);
        size_t len = golf_chan_len(ch);
        v = 2;
        cr_expect_eq(golf_chan_send(ch, &v), GOLF_ECLOSED);
        cr_expect_eq(golf_chan_try_send(ch, &v), GOLF_ECLOSED);
        cr_expect_eq(golf_chan_send_timeout(ch, &v, 0), GOLF_ECLOSED);
        cr_expect_eq(golf_chan_send_timeout(ch, &v, 10 * MS), GOLF_ECLOSED);
        cr_expect_eq(golf_chan_len(ch), len, "a send after close enqueued");
        int out = 0;
        if (cap) {
            cr_expect_eq(golf_chan_recv(ch, &out), GOLF_OK);
            cr_expect_eq(out, 1);
        }
        cr_expect_eq(golf_chan_recv(ch, &out), GOLF_ECLOSED,
                     "cap %zu: a value sent after close arrived", cap);
        golf_chan_free(ch);
    }
}

/* Receivers drain the buffer, then get GOLF_ECLOSED at once with *out zero-filled, in every
 * receive form. */
Test(chan_close, receivers_drain_then_get_eclosed_with_zeroed_out, .timeout = 10)
{
    typedef struct {
        uint64_t a, b;
        char c[13];
    } big;
    golf_chan *ch = golf_chan_new(sizeof(big), 3);
    for (int i = 1; i <= 3; i++) {
        big v = {.a = (uint64_t)i, .b = 100u + (uint64_t)i};
        golf_chan_send(ch, &v);
    }
    cr_expect_eq(golf_chan_close(ch), GOLF_OK);
    cr_expect_eq(golf_chan_len(ch), 3, "close keeps what is buffered");
    big out;
    cr_expect_eq(golf_chan_recv(ch, &out), GOLF_OK);
    cr_expect_eq(out.a, 1);
    cr_expect_eq(golf_chan_try_recv(ch, &out), GOLF_OK);
    cr_expect_eq(out.a, 2);
    cr_expect_eq(golf_chan_recv_timeout(ch, &out, MS), GOLF_OK);
    cr_expect_eq(out.a, 3);
    cr_expect_eq(out.b, 103);

    static const big zero;
    for (int form = 0; form < 5; form++) {
        memset(&out, 0xA5, sizeof out);
        uint64_t t0 = cu_now_ns();
        int rc;
        golf_case c = {.ch = ch, .op = GOLF_RECV, .elem = &out, .status = 777};
        switch (form) {
        case 0:
            rc = golf_chan_recv(ch, &out);
            break;
        case 1:
            rc = golf_chan_try_recv(ch, &out);
            break;
        case 2:
            rc = golf_chan_recv_timeout(ch, &out, 1000 * MS);
            break;
        case 3:
            rc = golf_select(&c, 1);
            cr_expect_eq(rc, 0);
            rc = c.status;
            break;
        default:
            rc = golf_select_try(&c, 1);
            cr_expect_eq(rc, 0);
            rc = c.status;
            break;
        }
        cr_expect_eq(rc, GOLF_ECLOSED, "form %d", form);
        cr_expect_eq(memcmp(&out, &zero, sizeof out), 0, "form %d: out not zero-filled", form);
        cr_expect_lt(cu_now_ns() - t0, 500 * MS, "form %d: a closed receive waited", form);
    }
    golf_chan_free(ch);
}

static void
start_many(probe *p, int n, enum probe_kind kind, golf_chan *ch, int *vals)
{
    for (int i = 0; i < n; i++) {
        vals[i] = 0x5A5A5A5A;
        p[i] = (probe){.kind = kind, .ch = ch, .elem = &vals[i], .timeout_ns = 60000 * MS};
        probe_start(&p[i]);
    }
}

/* Close wakes EVERY blocked receiver (some channel implementations wake only one). */
Test(chan_close, wakes_every_blocked_receiver, .timeout = 30)
{
    for (size_t cap = 0; cap <= 4; cap += 4) {
        for (int kind = 0; kind < 2; kind++) {
            golf_chan *ch = golf_chan_new(sizeof(int), cap);
            enum { NR = 8 };
            probe p[NR];
            int vals[NR];
            start_many(p, NR, kind ? P_RECV_TIMEOUT : P_RECV, ch, vals);
            cu_sleep_ms(BLOCK_MS);
            for (int i = 0; i < NR; i++)
                cr_expect(!probe_done(&p[i]), "receiver %d did not block", i);
            cr_expect_eq(golf_chan_close(ch), GOLF_OK);
            for (int i = 0; i < NR; i++) {
                cr_assert(probe_finishes_within(&p[i], FINISH_MS),
                          "cap %zu: receiver %d not woken by close", cap, i);
                cr_expect_eq(p[i].rc, GOLF_ECLOSED);
                cr_expect_eq(vals[i], 0, "out not zero-filled");
            }
            golf_chan_free(ch);
        }
    }
}

/* Close wakes every blocked sender with GOLF_ECLOSED; its value is not delivered. */
Test(chan_close, wakes_every_blocked_sender_value_not_delivered, .timeout = 30)
{
    for (size_t cap = 0; cap <= 2; cap += 2) {
        for (int kind = 0; kind < 2; kind++) {
            golf_chan *ch = golf_chan_new(sizeof(int), cap);
            for (int i = 0; i < (int)cap; i++) {
                int v = 1000 + i;
                golf_chan_send(ch, &v);
            }
            enum { NS = 8 };
            probe p[NS];
            int vals[NS];
            start_many(p, NS, kind ? P_SEND_TIMEOUT : P_SEND, ch, vals);
            cu_sleep_ms(BLOCK_MS);
            for (int i = 0; i < NS; i++)
                cr_expect(!probe_done(&p[i]), "sender %d did not block", i);
            cr_expect_eq(golf_chan_close(ch), GOLF_OK);
            for (int i = 0; i < NS; i++) {
                cr_assert(probe_finishes_within(&p[i], FINISH_MS),
                          "cap %zu: sender %d not woken by close", cap, i);
                cr_expect_eq(p[i].rc, GOLF_ECLOSED);
            }
            int out;
            for (int i = 0; i < (int)cap; i++) {
                cr_expect_eq(golf_chan_recv(ch, &out), GOLF_OK);
                cr_expect_eq(out, 1000 + i, "only the values buffered before close arrive");
            }
            cr_expect_eq(golf_chan_recv(ch, &out), GOLF_ECLOSED,
                         "a woken sender's value was delivered");
            golf_chan_free(ch);
        }
    }
}

/* ---- try / timeout forms ---- */

Test(chan_timeout, recv_on_empty_returns_etimedout_not_before_the_timeout, .timeout = 10)
{
    for (size_t cap = 0; cap <= 1; cap++) {
        golf_chan *ch = golf_chan_new(sizeof(int), cap);
        int out = 77;
        uint64_t t0 = cu_now_ns();
        cr_expect_eq(golf_chan_recv_timeout(ch, &out, 30 * MS), GOLF_ETIMEDOUT);
        uint64_t el = cu_now_ns() - t0;
        cr_expect_geq(el, 30 * MS, "returned after %lu ns", (unsigned long)el);
        cr_expect_lt(el, 3000 * MS);
        golf_chan_free(ch);
    }
}

Test(chan_timeout, send_on_full_returns_etimedout_and_sends_nothing, .timeout = 10)
{
    for (size_t cap = 0; cap <= 1; cap++) {
        golf_chan *ch = golf_chan_new(sizeof(int), cap);
        int v = 1;
        if (cap)
            golf_chan_send(ch, &v);
        v = 2;
        uint64_t t0 = cu_now_ns();
        cr_expect_eq(golf_chan_send_timeout(ch, &v, 30 * MS), GOLF_ETIMEDOUT);
        uint64_t el = cu_now_ns() - t0;
        cr_expect_geq(el, 30 * MS);
        cr_expect_lt(el, 3000 * MS);
        cr_expect_eq(golf_chan_len(ch), cap);
        golf_chan_close(ch);
        int out = 0;
        if (cap) {
            golf_chan_recv(ch, &out);
            cr_expect_eq(out, 1);
        }
        cr_expect_eq(golf_chan_recv(ch, &out), GOLF_ECLOSED, "a timed-out send was delivered");
        golf_chan_free(ch);
    }
}

Test(chan_timeout, zero_timeout_does_not_block, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    int v = 1;
    uint64_t t0 = cu_now_ns();
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(golf_chan_send_timeout(ch, &v, 0), GOLF_ETIMEDOUT);
        cr_assert_eq(golf_chan_recv_timeout(ch, &v, 0), GOLF_ETIMEDOUT);
    }
    cr_expect_lt(cu_now_ns() - t0, 1000 * MS, "2000 zero timeouts took over a second");
    golf_chan_free(ch);
}

Test(chan_timeout, value_arriving_before_the_timeout_is_received, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 1);
    int out = 0;
    probe r = {.kind = P_RECV_TIMEOUT, .ch = ch, .elem = &out, .timeout_ns = 10000 * MS};
    probe_start(&r);
    cu_sleep_ms(BLOCK_MS);
    int v = 31;
    golf_chan_send(ch, &v);
    cr_assert(probe_finishes_within(&r, FINISH_MS));
    cr_expect_eq(r.rc, GOLF_OK);
    cr_expect_eq(out, 31);
    golf_chan_free(ch);
}

Test(chan_timeout, huge_timeout_blocks_like_forever, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    int out = 0;
    probe r = {.kind = P_RECV_TIMEOUT, .ch = ch, .elem = &out, .timeout_ns = UINT64_MAX};
    probe_start(&r);
    cr_expect(probe_still_blocked_after(&r, BLOCK_MS), "UINT64_MAX timeout returned %d", r.rc);
    int v = 4;
    golf_chan_send(ch, &v);
    cr_assert(probe_finishes_within(&r, FINISH_MS));
    cr_expect_eq(r.rc, GOLF_OK);
    cr_expect_eq(out, 4);
    golf_chan_free(ch);
}

/* "Blocking waits park the thread on a futex after a short spin: a blocked thread uses no CPU."
 * A thread blocked for 300 ms may use some of it spinning, never most of it. */
Test(chan_park, blocked_threads_use_no_cpu, .timeout = 20)
{
    golf_chan *empty = golf_chan_new(sizeof(int), 4);
    golf_chan *full = golf_chan_new(sizeof(int), 1);
    golf_chan *unbuf = golf_chan_new(sizeof(int), 0);
    int v = 1, o1, o2, o3, o4, o5;
    golf_chan_send(full, &v);
    golf_case cs[2] = {{.ch = empty, .op = GOLF_RECV, .elem = &o3},
                       {.ch = unbuf, .op = GOLF_RECV, .elem = &o4}};
    probe p[5] = {
        {.kind = P_RECV, .ch = empty, .elem = &o1},
        {.kind = P_SEND, .ch = full, .elem = &v},
        {.kind = P_RECV, .ch = unbuf, .elem = &o2},
        {.kind = P_SELECT, .cases = cs, .n = 2},
        {.kind = P_RECV_TIMEOUT, .ch = unbuf, .elem = &o5, .timeout_ns = 60000 * MS},
    };
    for (int i = 0; i < 5; i++)
        probe_start(&p[i]);
    cu_sleep_ms(100); /* past any spin phase */
    uint64_t c0[5];
    for (int i = 0; i < 5; i++)
        c0[i] = cu_thread_cpu_ns(p[i].thread);
    cu_sleep_ms(300);
    for (int i = 0; i < 5; i++) {
        cr_expect(!probe_done(&p[i]), "probe %d returned %d", i, p[i].rc);
        uint64_t used = cu_thread_cpu_ns(p[i].thread) - c0[i];
        cr_expect_lt(used, 30 * MS, "blocked probe %d used %lu us of CPU in 300 ms", i,
                     (unsigned long)(used / 1000));
    }
    golf_chan_close(empty);
    golf_chan_close(full);
    golf_chan_close(unbuf);
    for (int i = 0; i < 5; i++)
        cr_assert(probe_finishes_within(&p[i], FINISH_MS));
    golf_chan_free(empty);
    golf_chan_free(full);
    golf_chan_free(unbuf);
}

/* No lost wake-up with several parked waiters (hazard H1 of chan/README.md): a burst of sends
 * wakes every parked receiver, a burst of receives every parked sender, however fast the burst. */
Test(chan_park, a_burst_wakes_every_parked_receiver, .timeout = 30)
{
    static const size_t caps[] = {0, 1, 8, 64};
    for (size_t c = 0; c < 4; c++) {
        enum { NW = 8 };
        golf_chan *ch = golf_chan_new(sizeof(int), caps[c]);
        probe p[NW];
        int vals[NW];
        for (int i = 0; i < NW; i++) {
            vals[i] = -1;
            p[i] = (probe){.kind = i % 2 ? P_RECV : P_RECV_TIMEOUT,
                           .ch = ch,
                           .elem = &vals[i],
                           .timeout_ns = 60000 * MS};
            probe_start(&p[i]);
        }
        cu_sleep_ms(100); /* all parked */
        for (int i = 0; i < NW; i++)
            cr_assert_eq(golf_chan_send(ch, &i), GOLF_OK);
        int sum = 0;
        for (int i = 0; i < NW; i++) {
            cr_assert(probe_finishes_within(&p[i], FINISH_MS), "cap %zu: receiver %d never woke",
                      caps[c], i);
            cr_expect_eq(p[i].rc, GOLF_OK);
            sum += vals[i];
        }
        cr_expect_eq(sum, NW * (NW - 1) / 2, "cap %zu: each value to exactly one receiver",
                     caps[c]);
        golf_chan_free(ch);
    }
}

Test(chan_park, a_burst_wakes_every_parked_sender, .timeout = 30)
{
    static const size_t caps[] = {0, 1, 8, 64};
    for (size_t c = 0; c < 4; c++) {
        enum { NW = 8 };
        golf_chan *ch = golf_chan_new(sizeof(int), caps[c]);
        int fill = -5;
        for (size_t i = 0; i < caps[c]; i++)
            golf_chan_send(ch, &fill);
        probe p[NW];
        int vals[NW];
        for (int i = 0; i < NW; i++) {
            vals[i] = i;
            p[i] = (probe){.kind = i % 2 ? P_SEND : P_SEND_TIMEOUT,
                           .ch = ch,
                           .elem = &vals[i],
                           .timeout_ns = 60000 * MS};
            probe_start(&p[i]);
        }
        cu_sleep_ms(100);
        int sum = 0;
        for (size_t i = 0; i < caps[c] + NW; i++) {
            int v;
            cr_assert_eq(golf_chan_recv(ch, &v), GOLF_OK);
            if (v != -5)
                sum += v;
        }
        for (int i = 0; i < NW; i++) {
            cr_assert(probe_finishes_within(&p[i], FINISH_MS), "cap %zu: sender %d never woke",
                      caps[c], i);
            cr_expect_eq(p[i].rc, GOLF_OK);
        }
        cr_expect_eq(sum, NW * (NW - 1) / 2);
        cr_expect_eq(golf_chan_len(ch), 0);
        golf_chan_free(ch);
    }
}
