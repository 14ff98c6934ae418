/* SPDX-License-Identifier: MIT */
/* golf_select / golf_select_try / golf_select_timeout, rule by rule (include/golf/chan.h). */
#include <criterion/criterion.h>

#include "golf/chan.h"
#include "unit/chan/chan_probe.h"

#define BLOCK_MS 30
#define FINISH_MS 5000

/* ---- arguments ---- */

Test(select_args, null_cases_with_n_or_bad_op_is_einval, .timeout = 10)
{
    cr_expect_eq(golf_select_try(NULL, 1), GOLF_EINVAL);
    cr_expect_eq(golf_select_timeout(NULL, 2, MS), GOLF_EINVAL);
    cr_expect_eq(golf_select(NULL, 3), GOLF_EINVAL);
    golf_chan *ch = golf_chan_new(sizeof(int), 1);
    int v = 1;
    golf_case bad[2] = {{.ch = ch, .op = 0, .elem = &v}, {.ch = ch, .op = GOLF_RECV, .elem = &v}};
    cr_expect_eq(golf_select_try(bad, 2), GOLF_EINVAL);
    bad[0].op = GOLF_SEND | GOLF_RECV;
    cr_expect_eq(golf_select_try(bad, 2), GOLF_EINVAL);
    bad[0].op = 7;
    cr_expect_eq(golf_select(bad, 2), GOLF_EINVAL);
    cr_expect_eq(golf_chan_len(ch), 0, "an invalid select took effect");
    golf_case nullval = {.ch = ch, .op = GOLF_SEND, .elem = NULL};
    cr_expect_eq(golf_select_try(&nullval, 1), GOLF_EINVAL,
                 "send case with NULL value, elem_size 4");
    cr_expect_eq(golf_chan_len(ch), 0);
    golf_chan_free(ch);
}

/* ---- n == 0 ---- */

Test(select_empty, try_returns_eagain_timeout_etimedout, .timeout = 10)
{
    golf_case c;
    cr_expect_eq(golf_select_try(&c, 0), GOLF_EAGAIN);
    uint64_t t0 = cu_now_ns();
    cr_expect_eq(golf_select_timeout(&c, 0, 20 * MS), GOLF_ETIMEDOUT);
    cr_expect_geq(cu_now_ns() - t0, 20 * MS);
    cr_expect_eq(golf_select_timeout(&c, 0, 0), GOLF_ETIMEDOUT);
}

Test(select_empty, blocking_select_of_nothing_blocks_forever, .timeout = 10)
{
    golf_case c;
    probe p = {.kind = P_SELECT, .cases = &c, .n = 0};
    probe_start(&p);
    cr_expect(probe_still_blocked_after(&p, 100), "select{} returned %d", p.rc);
}

/* ---- nil-channel cases ---- */

Test(select_nil, nil_cases_are_never_ready, .timeout = 10)
{
    int v = 3;
    golf_case c[2] = {{.ch = NULL, .op = GOLF_SEND, .elem = &v},
                      {.ch = NULL, .op = GOLF_RECV, .elem = &v}};
    cr_expect_eq(golf_select_try(c, 2), GOLF_EAGAIN);
    uint64_t t0 = cu_now_ns();
    cr_expect_eq(golf_select_timeout(c, 2, 20 * MS), GOLF_ETIMEDOUT);
    cr_expect_geq(cu_now_ns() - t0, 20 * MS);
    probe p = {.kind = P_SELECT, .cases = c, .n = 2};
    probe_start(&p);
    cr_expect(probe_still_blocked_after(&p, 60), "select over nil channels returned %d", p.rc);
}

Test(select_nil, nil_case_beside_a_ready_case_is_never_chosen, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 1);
    int v = 1, o = 0;
    for (int i = 0; i < 2000; i++) {
        golf_chan_send(ch, &v);
        golf_case c[3] = {{.ch = NULL, .op = GOLF_RECV, .elem = &o},
                          {.ch = ch, .op = GOLF_RECV, .elem = &o},
                          {.ch = NULL, .op = GOLF_SEND, .elem = &v}};
        cr_assert_eq(golf_select_try(c, 3), 1);
        cr_assert_eq(c[1].status, GOLF_OK);
    }
    golf_chan_free(ch);
}

/* ---- closed channels ---- */

Test(select_closed, recv_from_closed_is_ready_with_eclosed_and_zeroed, .timeout = 10)
{
    for (size_t cap = 0; cap <= 2; cap += 2) {
        golf_chan *ch = golf_chan_new(sizeof(long), cap);
        golf_chan *never = golf_chan_new(sizeof(long), 0);
        golf_chan_close(ch);
        long o = 0x1234, p = 0;
        golf_case c[2] = {{.ch = never, .op = GOLF_RECV, .elem = &p},
                          {.ch = ch, .op = GOLF_RECV, .elem = &o}};
        cr_expect_eq(golf_select_try(c, 2), 1);
        cr_expect_eq(c[1].status, GOLF_ECLOSED);
        cr_expect_eq(o, 0);
        o = 5;
        cr_expect_eq(golf_select(c, 2), 1);
        cr_expect_eq(c[1].status, GOLF_ECLOSED);
        cr_expect_eq(o, 0);
        o = 6;
        cr_expect_eq(golf_select_timeout(c, 2, 1000 * MS), 1);
        cr_expect_eq(o, 0);
        golf_chan_free(ch);
        golf_chan_free(never);
    }
}

Test(select_closed, send_to_closed_is_ready_with_eclosed_and_enqueues_nothing, .timeout = 10)
{
    for (size_t cap = 0; cap <= 2; cap += 2) {
        golf_chan *ch = golf_chan_new(sizeof(int), cap);
        golf_chan *never = golf_chan_new(sizeof(int), 0);
        golf_chan_close(ch);
        int v = 9, o;
        golf_case c[2] = {{.ch = never, .op = GOLF_RECV, .elem = &o},
                          {.ch = ch, .op = GOLF_SEND, .elem = &v}};
        cr_expect_eq(golf_select_try(c, 2), 1);
        cr_expect_eq(c[1].status, GOLF_ECLOSED);
        cr_expect_eq(golf_select(c, 2), 1);
        cr_expect_eq(c[1].status, GOLF_ECLOSED);
        cr_expect_eq(golf_chan_len(ch), 0);
        cr_expect_eq(golf_chan_recv(ch, &o), GOLF_ECLOSED);
        golf_chan_free(ch);
        golf_chan_free(never);
    }
}

/* A select blocked on a channel is woken by its close. */
Test(select_closed, close_wakes_a_blocked_select, .timeout = 10)
{
    golf_chan *a = golf_chan_new(sizeof(int), 0), *b = golf_chan_new(sizeof(int), 3);
    int oa = 1, ob = 1;
    golf_case c[2] = {{.ch = a, .op = GOLF_RECV, .elem = &oa},
                      {.ch = b, .op = GOLF_RECV, .elem = &ob}};
    probe p = {.kind = P_SELECT, .cases = c, .n = 2};
    probe_start(&p);
    cr_expect(probe_still_blocked_after(&p, BLOCK_MS));
    golf_chan_close(b);
    cr_assert(probe_finishes_within(&p, FINISH_MS));
    cr_expect_eq(p.rc, 1);
    cr_expect_eq(c[1].status, GOLF_ECLOSED);
    cr_expect_eq(ob, 0);
    cr_expect_eq(oa, 1, "the other case was touched");

    /* And a select blocked sending. */
    golf_chan *full = golf_chan_new(sizeof(int), 1);
    int v = 1;
    golf_chan_send(full, &v);
    golf_case d[2] = {{.ch = a, .op = GOLF_SEND, .elem = &v},
                      {.ch = full, .op = GOLF_SEND, .elem = &v}};
    probe q = {.kind = P_SELECT, .cases = d, .n = 2};
    probe_start(&q);
    cr_expect(probe_still_blocked_after(&q, BLOCK_MS));
    golf_chan_close(a);
    cr_assert(probe_finishes_within(&q, FINISH_MS));
    cr_expect_eq(q.rc, 0);
    cr_expect_eq(d[0].status, GOLF_ECLOSED);
    cr_expect_eq(golf_chan_len(full), 1);
    golf_chan_free(a);
    golf_chan_free(b);
    golf_chan_free(full);
}

/* ---- blocking, wake-up, timeout ---- */

Test(select_block, blocked_select_takes_the_case_that_becomes_ready, .timeout = 10)
{
    for (size_t cap = 0; cap <= 1; cap++) {
        golf_chan *ch[3];
        for (int i = 0; i < 3; i++)
            ch[i] = golf_chan_new(sizeof(int), cap);
        int o[3] = {-1, -1, -1};
        golf_case c[3];
        for (int i = 0; i < 3; i++)
            c[i] = (golf_case){.ch = ch[i], .op = GOLF_RECV, .elem = &o[i], .status = 99};
        probe p = {.kind = P_SELECT, .cases = c, .n = 3};
        probe_start(&p);
        cr_expect(probe_still_blocked_after(&p, BLOCK_MS));
        int v = 2024;
        cr_expect_eq(golf_chan_send(ch[2], &v), GOLF_OK);
        cr_assert(probe_finishes_within(&p, FINISH_MS));
        cr_expect_eq(p.rc, 2);
        cr_expect_eq(c[2].status, GOLF_OK);
        cr_expect_eq(o[2], 2024);
        cr_expect_eq(o[0], -1);
        cr_expect_eq(o[1], -1);
        for (int i = 0; i < 3; i++) {
            cr_expect_eq(golf_chan_len(ch[i]), 0);
            golf_chan_free(ch[i]);
        }
    }
}

Test(select_block, blocked_select_send_is_taken_by_a_receiver, .timeout = 10)
{
    golf_chan *a = golf_chan_new(sizeof(int), 0), *b = golf_chan_new(sizeof(int), 0);
    int va = 1, vb = 2, o = 0;
    golf_case c[2] = {{.ch = a, .op = GOLF_SEND, .elem = &va},
                      {.ch = b, .op = GOLF_SEND, .elem = &vb}};
    probe p = {.kind = P_SELECT, .cases = c, .n = 2};
    probe_start(&p);
    cr_expect(probe_still_blocked_after(&p, BLOCK_MS));
    cr_expect_eq(golf_chan_recv(b, &o), GOLF_OK);
    cr_expect_eq(o, 2);
    cr_assert(probe_finishes_within(&p, FINISH_MS));
    cr_expect_eq(p.rc, 1);
    cr_expect_eq(c[1].status, GOLF_OK);
    cr_expect_eq(golf_chan_try_recv(a, &o), GOLF_EAGAIN, "the other send case is still offered");
    golf_chan_free(a);
    golf_chan_free(b);
}

Test(select_block, timeout_returns_etimedout_and_nothing_takes_effect, .timeout = 10)
{
    golf_chan *a = golf_chan_new(sizeof(int), 0), *full = golf_chan_new(sizeof(int), 1);
    int v = 1, o = 7;
    golf_chan_send(full, &v);
    golf_case c[3] = {{.ch = a, .op = GOLF_RECV, .elem = &o},
                      {.ch = a, .op = GOLF_SEND, .elem = &v},
                      {.ch = full, .op = GOLF_SEND, .elem = &v}};
    uint64_t t0 = cu_now_ns();
    cr_expect_eq(golf_select_timeout(c, 3, 30 * MS), GOLF_ETIMEDOUT,
                 "send and recv on one unbuffered channel must not match each other");
    uint64_t el = cu_now_ns() - t0;
    cr_expect_geq(el, 30 * MS);
    cr_expect_lt(el, 3000 * MS);
    cr_expect_eq(o, 7);
    cr_expect_eq(golf_chan_len(full), 1);
    cr_expect_eq(golf_select_try(c, 3), GOLF_EAGAIN);
    cr_expect_eq(golf_select_timeout(c, 3, 0), GOLF_ETIMEDOUT);
    /* After a timeout nothing of the select is left behind on the channels. */
    cr_expect_eq(golf_chan_try_send(a, &v), GOLF_EAGAIN);
    cr_expect_eq(golf_chan_try_recv(a, &o), GOLF_EAGAIN);
    golf_chan_free(a);
    golf_chan_free(full);
}

/* ---- exactly one case takes effect ---- */

Test(select_one, exactly_one_of_many_ready_sends_happens, .timeout = 10)
{
    enum { K = 5 };
    golf_chan *ch[K];
    for (int i = 0; i < K; i++)
        ch[i] = golf_chan_new(sizeof(int), 1000);
    int v[K] = {10, 11, 12, 13, 14};
    for (int round = 0; round < 1000; round++) {
        golf_case c[K];
        for (int i = 0; i < K; i++)
            c[i] = (golf_case){.ch = ch[i], .op = GOLF_SEND, .elem = &v[i]};
        int r = round & 1 ? golf_select(c, K) : golf_select_try(c, K);
        cr_assert(r >= 0 && r < K);
        size_t total = 0;
        for (int i = 0; i < K; i++)
            total += golf_chan_len(ch[i]);
        cr_assert_eq(total, (size_t)round + 1, "round %d: %zu values sent", round, total);
    }
    for (int i = 0; i < K; i++) {
        int o;
        while (golf_chan_try_recv(ch[i], &o) == GOLF_OK)
            cr_assert_eq(o, v[i], "a value went to another case's channel");
        golf_chan_free(ch[i]);
    }
}

Test(select_one, exactly_one_of_many_ready_recvs_happens, .timeout = 10)
{
    enum { K = 4, N = 500 };
    golf_chan *ch[K];
    for (int i = 0; i < K; i++) {
        ch[i] = golf_chan_new(sizeof(int), N);
        for (int j = 0; j < N; j++) {
            int v = i * 1000 + j;
            golf_chan_send(ch[i], &v);
        }
    }
    int next[K] = {0};
    for (int round = 0; round < N; round++) {
        int o[K] = {-1, -1, -1, -1};
        golf_case c[K];
        for (int i = 0; i < K; i++)
            c[i] = (golf_case){.ch = ch[i], .op = GOLF_RECV, .elem = &o[i], .status = 99};
        int r = golf_select_timeout(c, K, 1000 * MS);
        cr_assert(r >= 0 && r < K);
        cr_assert_eq(c[r].status, GOLF_OK);
        cr_assert_eq(o[r], r * 1000 + next[r]++, "FIFO within the chosen channel");
        for (int i = 0; i < K; i++)
            if (i != r)
                cr_assert_eq(o[i], -1, "an unchosen case's buffer was written");
        size_t total = 0;
        for (int i = 0; i < K; i++)
            total += golf_chan_len(ch[i]);
        cr_assert_eq(total, (size_t)(K * N - round - 1));
    }
    for (int i = 0; i < K; i++)
        golf_chan_free(ch[i]);
}

/* ---- duplicates ---- */

Test(select_dup, same_channel_twice_takes_one_value_and_both_indexes_win, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 1);
    long wins[2] = {0, 0};
    for (int i = 0; i < 4000; i++) {
        int v = i, o0 = -1, o1 = -1;
        golf_chan_send(ch, &v);
        golf_case c[2] = {{.ch = ch, .op = GOLF_RECV, .elem = &o0},
                          {.ch = ch, .op = GOLF_RECV, .elem = &o1}};
        int r = golf_select_try(c, 2);
        cr_assert(r == 0 || r == 1);
        cr_assert_eq(r == 0 ? o0 : o1, i);
        cr_assert_eq(r == 0 ? o1 : o0, -1, "both duplicate cases received");
        cr_assert_eq(golf_chan_len(ch), 0);
        wins[r]++;
    }
    double chi = cu_chi2_uniform(wins, 2);
    cr_expect_lt(chi, cu_chi2_crit_1e9(2), "duplicate cases not uniform: %ld / %ld", wins[0],
                 wins[1]);
    golf_chan_free(ch);
}

Test(select_dup, send_and_recv_on_one_buffered_channel, .timeout = 10)
{
    /* Empty: only the send is ready. Full: only the recv. */
    golf_chan *ch = golf_chan_new(sizeof(int), 1);
    int v = 5, o = 0;
    golf_case c[2] = {{.ch = ch, .op = GOLF_RECV, .elem = &o},
                      {.ch = ch, .op = GOLF_SEND, .elem = &v}};
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(golf_select_try(c, 2), 1);
        cr_assert_eq(golf_chan_len(ch), 1);
        cr_assert_eq(golf_select_try(c, 2), 0);
        cr_assert_eq(o, 5);
        cr_assert_eq(golf_chan_len(ch), 0);
    }
    golf_chan_free(ch);
}

/* ---- uniform random choice among ready cases ---- */

/* k recv cases on k channels that always hold a value: chi-square over the winners. */
static void
check_uniform_recv(int k, int trials, bool closed_mix)
{
    golf_chan *ch[8];
    long wins[8] = {0};
    for (int i = 0; i < k; i++) {
        ch[i] = golf_chan_new(sizeof(int), 1);
        if (closed_mix && i % 2) {
            golf_chan_close(ch[i]);
        } else {
            golf_chan_send(ch[i], &i);
        }
    }
    for (int t = 0; t < trials; t++) {
        int o = -1;
        golf_case c[8];
        for (int i = 0; i < k; i++)
            c[i] = (golf_case){.ch = ch[i], .op = GOLF_RECV, .elem = &o};
        int r = golf_select_try(c, (size_t)k);
        cr_assert(r >= 0 && r < k, "select_try with %d ready cases returned %d", k, r);
        wins[r]++;
        if (!(closed_mix && r % 2)) {
            cr_assert_eq(o, r);
            golf_chan_send(ch[r], &r);
        } else {
            cr_assert_eq(c[r].status, GOLF_ECLOSED);
        }
    }
    double chi = cu_chi2_uniform(wins, k);
    cr_expect_lt(chi, cu_chi2_crit_1e9(k), "k=%d chi2=%.1f: %ld %ld %ld %ld %ld %ld %ld %ld", k,
                 chi, wins[0], wins[1], wins[2], wins[3], wins[4], wins[5], wins[6], wins[7]);
    for (int i = 0; i < k; i++)
        golf_chan_free(ch[i]);
}

Test(select_uniform, among_2_3_4_8_ready_recv_cases, .timeout = 30)
{
    check_uniform_recv(2, 20000, false);
    check_uniform_recv(3, 30000, false);
    check_uniform_recv(4, 40000, false);
    check_uniform_recv(8, 40000, false);
}

Test(select_uniform, closed_and_data_cases_are_equally_likely, .timeout = 30)
{
    check_uniform_recv(4, 40000, true);
}

Test(select_uniform, only_ready_cases_count_and_they_are_uniform, .timeout = 30)
{
    /* 6 cases; 0, 2, 5 ready (buffered with values), 1 empty, 3 nil, 4 full-for-send. */
    golf_chan *ready[3], *empty = golf_chan_new(sizeof(int), 1),
                         *full = golf_chan_new(sizeof(int), 1);
    int v = 1, o;
    golf_chan_send(full, &v);
    for (int i = 0; i < 3; i++) {
        ready[i] = golf_chan_new(sizeof(int), 1);
        golf_chan_send(ready[i], &v);
    }
    long wins[3] = {0};
    for (int t = 0; t < 30000; t++) {
        golf_case c[6] = {{.ch = ready[0], .op = GOLF_RECV, .elem = &o},
                          {.ch = empty, .op = GOLF_RECV, .elem = &o},
                          {.ch = ready[1], .op = GOLF_RECV, .elem = &o},
                          {.ch = NULL, .op = GOLF_RECV, .elem = &o},
                          {.ch = full, .op = GOLF_SEND, .elem = &v},
                          {.ch = ready[2], .op = GOLF_RECV, .elem = &o}};
        int r = golf_select_try(c, 6);
        cr_assert(r == 0 || r == 2 || r == 5, "chose not-ready case %d", r);
        int w = r == 0 ? 0 : r == 2 ? 1 : 2;
        wins[w]++;
        golf_chan_send(ready[w], &v);
    }
    cr_expect_lt(cu_chi2_uniform(wins, 3), cu_chi2_crit_1e9(3), "%ld %ld %ld", wins[0], wins[1],
                 wins[2]);
    for (int i = 0; i < 3; i++)
        golf_chan_free(ready[i]);
    golf_chan_free(empty);
    golf_chan_free(full);
}

Test(select_uniform, among_ready_send_cases, .timeout = 30)
{
    enum { K = 4 };
    golf_chan *ch[K];
    for (int i = 0; i < K; i++)
        ch[i] = golf_chan_new(sizeof(int), 1);
    long wins[K] = {0};
    int v = 3, o;
    for (int t = 0; t < 40000; t++) {
        golf_case c[K];
        for (int i = 0; i < K; i++)
            c[i] = (golf_case){.ch = ch[i], .op = GOLF_SEND, .elem = &v};
        int r = golf_select_try(c, K);
        cr_assert(r >= 0 && r < K);
        wins[r]++;
        cr_assert_eq(golf_chan_try_recv(ch[r], &o), GOLF_OK);
    }
    cr_expect_lt(cu_chi2_uniform(wins, K), cu_chi2_crit_1e9(K), "%ld %ld %ld %ld", wins[0], wins[1],
                 wins[2], wins[3]);
    for (int i = 0; i < K; i++)
        golf_chan_free(ch[i]);
}

/* Go #21806 / hazard H8 (chan/README.md): with a closed `done` beside an always-ready busy channel,
 * a loop of selects sees `done` promptly (a fair select picks it with probability 1/2 each
 * time). */
Test(select_uniform, closed_done_is_seen_promptly_beside_a_busy_channel, .timeout = 10)
{
    golf_chan *busy = golf_chan_new(sizeof(int), 1), *done = golf_chan_new(0, 0);
    int v = 1, o;
    golf_chan_send(busy, &v);
    golf_chan_close(done);
    for (int round = 0; round < 200; round++) {
        int i = 0;
        for (;; i++) {
            golf_case c[2] = {{.ch = busy, .op = GOLF_RECV, .elem = &o},
                              {.ch = done, .op = GOLF_RECV, .elem = NULL}};
            int r = golf_select(c, 2);
            if (r == 1)
                break;
            golf_chan_send(busy, &v);
            cr_assert_lt(i, 64, "done not chosen in 64 selects (p = 2^-64 if fair)");
        }
    }
    golf_chan_free(busy);
    golf_chan_free(done);
}

/* A select over many cases (beyond any small fixed array) finds the one that becomes ready. */
Test(select_block, many_cases_find_the_ready_one, .timeout = 10)
{
    enum { K = 200 };
    golf_chan *ch[K];
    int o[K];
    golf_case c[K];
    for (int i = 0; i < K; i++) {
        ch[i] = golf_chan_new(sizeof(int), (size_t)(i % 2));
        o[i] = -1;
        c[i] = (golf_case){.ch = ch[i], .op = GOLF_RECV, .elem = &o[i]};
    }
    cr_expect_eq(golf_select_try(c, K), GOLF_EAGAIN);
    probe p = {.kind = P_SELECT, .cases = c, .n = K};
    probe_start(&p);
    cr_expect(probe_still_blocked_after(&p, BLOCK_MS));
    int v = 137;
    golf_chan_send(ch[137], &v);
    cr_assert(probe_finishes_within(&p, FINISH_MS));
    cr_expect_eq(p.rc, 137);
    cr_expect_eq(o[137], 137);
    v = 64;
    golf_chan_send(ch[63], &v); /* buffered (odd index): ready now */
    cr_expect_eq(golf_select(c, K), 63);
    cr_expect_eq(o[63], 64);
    for (int i = 0; i < K; i++)
        golf_chan_free(ch[i]);
}
