/* SPDX-License-Identifier: MIT */
/* Deadlines (golf_chan_send_until, _recv_until, golf_select_until), batches (golf_chan_send_many,
 * _recv_many, _try_recv_many) and the readiness fd (golf_chan_notify_fd): bad input, the nil
 * channel, closed channels, drain order, partial batches, one-shot waiters, and batches mixed
 * with single operations and select across threads. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "golf/chan.h"
#include "unit/chan/chan_probe.h"

#define BLOCK_MS 30
#define FINISH_MS 5000

static bool
fd_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void
fd_clear(int fd)
{
    uint64_t c;
    while (read(fd, &c, sizeof c) == sizeof c) {
    }
}

/* ---- deadlines ---- */

Test(chan_until, a_past_deadline_never_blocks_but_completes_a_ready_operation, .timeout = 10)
{
    static const size_t caps[] = {0, 1, 4};
    for (size_t i = 0; i < 3; i++) {
        golf_chan *ch = golf_chan_new(sizeof(int), caps[i]);
        int v = 5, out = 0;
        int want = caps[i] ? GOLF_OK : GOLF_ETIMEDOUT;
        cr_expect_eq(golf_chan_send_until(ch, &v, 0), want, "cap %zu", caps[i]);
        cr_expect_eq(golf_chan_recv_until(ch, &out, cu_now_ns() - 1), want, "cap %zu", caps[i]);
        cr_expect_eq(out, caps[i] ? 5 : 0);
        cr_expect_eq(golf_chan_recv_until(ch, &out, 1), GOLF_ETIMEDOUT);
        golf_case c = {ch, GOLF_SEND, &v, 0};
        int r = golf_select_until(&c, 1, 0);
        cr_expect_eq(r, caps[i] ? 0 : GOLF_ETIMEDOUT);
        golf_chan_close(ch);
        cr_expect_eq(golf_chan_send_until(ch, &v, 0), GOLF_ECLOSED);
        golf_chan_free(ch);
    }
}

Test(chan_until, a_future_deadline_times_out_no_earlier_than_it, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 1);
    int v = 1, out = 7;
    uint64_t d = cu_now_ns() + 20 * MS;
    cr_expect_eq(golf_chan_recv_until(ch, &out, d), GOLF_ETIMEDOUT);
    cr_expect_geq(cu_now_ns(), d);
    cr_expect_eq(out, 7);
    cr_expect_eq(golf_chan_send(ch, &v), GOLF_OK);
    d = cu_now_ns() + 20 * MS;
    cr_expect_eq(golf_chan_send_until(ch, &v, d), GOLF_ETIMEDOUT);
    cr_expect_geq(cu_now_ns(), d);
    golf_case c[2] = {{ch, GOLF_SEND, &v, 0}, {NULL, GOLF_RECV, &out, 0}};
    d = cu_now_ns() + 20 * MS;
    cr_expect_eq(golf_select_until(c, 2, d), GOLF_ETIMEDOUT);
    cr_expect_geq(cu_now_ns(), d);
    /* The nil channel times out at the deadline too. */
    d = cu_now_ns() + 10 * MS;
    cr_expect_eq(golf_chan_send_until(NULL, &v, d), GOLF_ETIMEDOUT);
    cr_expect_geq(cu_now_ns(), d);
    golf_chan_free(ch);
}

Test(chan_until, no_deadline_and_huge_timeouts_wait_for_the_peer, .timeout = 10)
{
    /* UINT64_MAX is "none", and now + a huge timeout saturates instead of wrapping into the
     * past (which would time out at once). */
    static const uint64_t timeouts[] = {UINT64_MAX, UINT64_MAX - 1, UINT64_MAX / 2 + 12345};
    for (size_t i = 0; i < 3; i++) {
        golf_chan *ch = golf_chan_new(sizeof(int), 0);
        int v = 9, out = 0;
        probe r = {.kind = P_RECV_TIMEOUT, .ch = ch, .elem = &out, .timeout_ns = timeouts[i]};
        probe_start(&r);
        cr_expect(probe_still_blocked_after(&r, BLOCK_MS), "timeout %zu returned %d", i, r.rc);
        cr_expect_eq(golf_chan_send(ch, &v), GOLF_OK);
        cr_assert(probe_finishes_within(&r, FINISH_MS));
        cr_expect_eq(r.rc, GOLF_OK);
        cr_expect_eq(out, 9);
        probe u = {.kind = P_RECV_UNTIL, .ch = ch, .elem = &out, .timeout_ns = UINT64_MAX};
        probe_start(&u);
        cr_expect(probe_still_blocked_after(&u, BLOCK_MS));
        cr_expect_eq(golf_chan_send(ch, &v), GOLF_OK);
        cr_assert(probe_finishes_within(&u, FINISH_MS));
        cr_expect_eq(u.rc, GOLF_OK);
        golf_chan_free(ch);
    }
}

/* ---- batches: arguments, nil, closed ---- */

Test(chan_batch, bad_arguments_are_einval_and_move_nothing, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 4);
    int v[4] = {1, 2, 3, 4};
    size_t k = 99;
    cr_expect_eq(golf_chan_send_many(ch, v, 0, &k), GOLF_EINVAL);
    cr_expect_eq(k, 0);
    cr_expect_eq(golf_chan_send_many(ch, NULL, 2, NULL), GOLF_EINVAL);
    cr_expect_eq(golf_chan_send_many(NULL, v, 0, NULL), GOLF_EINVAL);
    cr_expect_eq(golf_chan_len(ch), 0);
    cr_expect_eq(golf_chan_send_many(ch, v, 2, NULL), GOLF_OK); /* sent may be NULL */
    cr_expect_eq(golf_chan_recv_many(ch, v, 0, &k), GOLF_EINVAL);
    cr_expect_eq(golf_chan_recv_many(ch, v, 2, NULL), GOLF_EINVAL);
    cr_expect_eq(golf_chan_recv_many(ch, NULL, 2, &k), GOLF_EINVAL);
    cr_expect_eq(golf_chan_try_recv_many(ch, v, 0, &k), GOLF_EINVAL);
    cr_expect_eq(golf_chan_try_recv_many(ch, v, 2, NULL), GOLF_EINVAL);
    cr_expect_eq(golf_chan_try_recv_many(ch, NULL, 2, &k), GOLF_EINVAL);
    cr_expect_eq(golf_chan_try_recv_many(NULL, v, 0, &k), GOLF_EINVAL);
    cr_expect_eq(golf_chan_len(ch), 2, "a rejected receive took values");
    golf_chan_free(ch);
    /* elem_size 0 (chan struct{}): NULL buffers are fine. */
    ch = golf_chan_new(0, 8);
    cr_expect_eq(golf_chan_send_many(ch, NULL, 5, &k), GOLF_OK);
    cr_expect_eq(k, 5);
    cr_expect_eq(golf_chan_recv_many(ch, NULL, 8, &k), GOLF_OK);
    cr_expect_eq(k, 5);
    golf_chan_free(ch);
}

Test(chan_batch, nil_channel_blocks_forever_and_try_is_eagain, .timeout = 10)
{
    static int v[4], out[4];
    size_t k = 99;
    cr_expect_eq(golf_chan_try_recv_many(NULL, out, 4, &k), GOLF_EAGAIN);
    cr_expect_eq(k, 0);
    probe s = {.kind = P_SEND_MANY, .ch = NULL, .elem = v, .n = 4};
    probe r = {.kind = P_RECV_MANY, .ch = NULL, .elem = out, .n = 4};
    probe_start(&s);
    probe_start(&r);
    cr_expect(probe_still_blocked_after(&s, 100), "send_many on nil returned %d", s.rc);
    cr_expect(!probe_done(&r), "recv_many on nil returned %d", r.rc);
}

Test(chan_batch, closed_channel_drains_then_reports_eclosed_with_zero, .timeout = 10)
{
    static const size_t caps[] = {0, 1, 5, 64, GOLF_UNBOUNDED};
    for (size_t i = 0; i < 5; i++) {
        golf_chan *ch = golf_chan_new(sizeof(int), caps[i]);
        int v[5] = {1, 2, 3, 4, 5}, out[8];
        size_t k = 99, n = caps[i] < 5 ? caps[i] : 5;
        if (n)
            cr_expect_eq(golf_chan_send_many(ch, v, n, &k), GOLF_OK);
        cr_expect_eq(golf_chan_close(ch), GOLF_OK);
        cr_expect_eq(golf_chan_send_many(ch, v, 3, &k), GOLF_ECLOSED);
        cr_expect_eq(k, 0);
        size_t total = 0;
        while (total < n) {
            memset(out, 0x55, sizeof out);
            cr_assert_eq(golf_chan_recv_many(ch, out, 8, &k), GOLF_OK);
            for (size_t j = 0; j < k; j++)
                cr_expect_eq(out[j], v[total + j], "cap %zu: value %zu", caps[i], total + j);
            total += k;
        }
        memset(out, 0x55, sizeof out);
        cr_expect_eq(golf_chan_recv_many(ch, out, 8, &k), GOLF_ECLOSED);
        cr_expect_eq(k, 0);
        cr_expect_eq(out[0], 0, "first element zeroed");
        cr_expect_eq(out[1], 0x55555555, "the rest untouched");
        cr_expect_eq(golf_chan_try_recv_many(ch, out, 8, &k), GOLF_ECLOSED);
        cr_expect_eq(k, 0);
        golf_chan_free(ch);
    }
}

/* ---- batches: order and partial batches ---- */

Test(chan_batch, values_keep_their_order_across_laps_and_partial_batches, .timeout = 20)
{
    static const size_t caps[] = {1, 2, 3, 5, 16, 64};
    uint64_t s = 7;
    for (size_t i = 0; i < 6; i++) {
        size_t cap = caps[i];
        golf_chan *ch = golf_chan_new(sizeof(uint32_t), cap);
        uint32_t next_in = 0, next_out = 0, buf[80];
        for (int step = 0; step < 20000; step++) {
            size_t len = golf_chan_len(ch);
            if (cu_rand(&s) & 1) {
                size_t room = cap - len;
                if (room == 0)
                    continue;
                size_t n = 1 + cu_rand(&s) % room, k = 0;
                for (size_t j = 0; j < n; j++)
                    buf[j] = next_in + (uint32_t)j;
                cr_assert_eq(golf_chan_send_many(ch, buf, n, &k), GOLF_OK);
                cr_assert_eq(k, n);
                next_in += (uint32_t)n;
            } else {
                size_t max = 1 + cu_rand(&s) % 70, k = 0;
                int r = golf_chan_try_recv_many(ch, buf, max, &k);
                if (len == 0) {
                    cr_assert_eq(r, GOLF_EAGAIN);
                    continue;
                }
                cr_assert_eq(r, GOLF_OK);
                /* Single-threaded: every ready value up to max is taken. */
                cr_assert_eq(k, len < max ? len : max, "cap %zu: took %zu of %zu (max %zu)", cap, k,
                             len, max);
                for (size_t j = 0; j < k; j++)
                    cr_assert_eq(buf[j], next_out + j, "cap %zu: out of order", cap);
                next_out += (uint32_t)k;
            }
        }
        golf_chan_free(ch);
    }
}

Test(chan_batch, send_many_blocks_when_full_and_finishes_as_room_appears, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 4);
    int v[10], out[10];
    for (int i = 0; i < 10; i++)
        v[i] = 100 + i;
    probe s = {.kind = P_SEND_MANY, .ch = ch, .elem = v, .n = 10};
    probe_start(&s);
    cr_expect(probe_still_blocked_after(&s, BLOCK_MS), "send_many of 10 into cap 4 returned");
    /* The sender fills the 4 slots, then blocks; it may still be on its way there (chaos in
     * the debug tier sleeps inside the pushes), so wait for it, bounded. */
    uint64_t end = cu_now_ns() + FINISH_MS * MS;
    while (golf_chan_len(ch) < 4 && cu_now_ns() < end)
        cu_sleep_ms(1);
    cr_expect_eq(golf_chan_len(ch), 4);
    size_t total = 0, k;
    while (total < 10) {
        cr_assert_eq(golf_chan_recv_many(ch, out + total, 3, &k), GOLF_OK);
        cr_assert(k >= 1 && k <= 3);
        total += k;
    }
    cr_assert(probe_finishes_within(&s, FINISH_MS));
    cr_expect_eq(s.rc, GOLF_OK);
    cr_expect_eq(s.moved, 10);
    for (int i = 0; i < 10; i++)
        cr_expect_eq(out[i], 100 + i);
    golf_chan_free(ch);
}

Test(chan_batch, close_during_send_many_reports_how_many_went_in, .timeout = 10)
{
    static const size_t caps[] = {0, 3};
    for (size_t i = 0; i < 2; i++) {
        golf_chan *ch = golf_chan_new(sizeof(int), caps[i]);
        int v[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out = 0;
        probe s = {.kind = P_SEND_MANY, .ch = ch, .elem = v, .n = 8};
        probe_start(&s);
        cu_sleep_ms(BLOCK_MS);
        if (caps[i] == 0) { /* take two by hand-off */
            cr_expect_eq(golf_chan_recv(ch, &out), GOLF_OK);
            cr_expect_eq(out, 1);
            cr_expect_eq(golf_chan_recv(ch, &out), GOLF_OK);
            cr_expect_eq(out, 2);
            cu_sleep_ms(BLOCK_MS);
        } else {
            /* The sender fills the 3 slots, then blocks; on a loaded machine it may still be on
             * its way there after BLOCK_MS, so wait for it, bounded. */
            uint64_t end = cu_now_ns() + FINISH_MS * MS;
            while (golf_chan_len(ch) < 3 && cu_now_ns() < end)
                cu_sleep_ms(1);
            cr_expect(!probe_done(&s), "send_many of 8 into cap 3 returned");
        }
        cr_expect_eq(golf_chan_close(ch), GOLF_OK);
        cr_assert(probe_finishes_within(&s, FINISH_MS));
        cr_expect_eq(s.rc, GOLF_ECLOSED);
        size_t want = caps[i] ? 3 : 2;
        cr_expect_eq(s.moved, want, "cap %zu: sent %zu", caps[i], s.moved);
        size_t k, got = 0;
        int buf[8];
        while (golf_chan_recv_many(ch, buf, 8, &k) == GOLF_OK)
            got += k;
        cr_expect_eq(got, caps[i] ? want : 0);
        golf_chan_free(ch);
    }
}

/* ---- one-shot waiters ---- */

Test(chan_batch, receivers_parked_in_recv_many_are_woken_by_single_sends, .timeout = 10)
{
    static const size_t caps[] = {0, 1, 4, GOLF_UNBOUNDED};
    for (size_t i = 0; i < 4; i++) {
        golf_chan *ch = golf_chan_new(sizeof(int), caps[i]);
        int o1[4] = {0}, o2[4] = {0}, v = 11;
        probe r1 = {.kind = P_RECV_MANY, .ch = ch, .elem = o1, .n = 4};
        probe r2 = {.kind = P_RECV_MANY, .ch = ch, .elem = o2, .n = 4};
        probe_start(&r1);
        probe_start(&r2);
        cr_expect(probe_still_blocked_after(&r1, BLOCK_MS));
        cr_expect(!probe_done(&r2));
        /* One value at a time: a receiver may take every value that is ready, so the second
         * send waits until the first value has been taken by one of them. */
        cr_expect_eq(golf_chan_send(ch, &v), GOLF_OK);
        uint64_t end = cu_now_ns() + FINISH_MS * MS;
        while (!probe_done(&r1) && !probe_done(&r2) && cu_now_ns() < end)
            cu_sleep_ms(1);
        cr_assert(probe_done(&r1) || probe_done(&r2), "cap %zu: no receiver woke", caps[i]);
        v = 12;
        cr_expect_eq(golf_chan_send(ch, &v), GOLF_OK);
        cr_assert(probe_finishes_within(&r1, FINISH_MS), "cap %zu: a receiver stranded", caps[i]);
        cr_assert(probe_finishes_within(&r2, FINISH_MS), "cap %zu: a receiver stranded", caps[i]);
        cr_expect_eq(r1.rc, GOLF_OK);
        cr_expect_eq(r2.rc, GOLF_OK);
        cr_expect_eq(r1.moved + r2.moved, 2);
        cr_expect_eq(o1[0] + o2[0], 23);
        golf_chan_free(ch);
    }
}

Test(chan_batch, a_sender_parked_in_send_many_is_woken_by_single_receives, .timeout = 10)
{
    static const size_t caps[] = {0, 1, 2};
    for (size_t i = 0; i < 3; i++) {
        golf_chan *ch = golf_chan_new(sizeof(int), caps[i]);
        int v[5] = {1, 2, 3, 4, 5}, out;
        for (size_t j = 0; j < caps[i]; j++)
            cr_expect_eq(golf_chan_send(ch, &(int){-1}), GOLF_OK); /* full */
        probe s = {.kind = P_SEND_MANY, .ch = ch, .elem = v, .n = 5};
        probe_start(&s);
        cr_expect(probe_still_blocked_after(&s, BLOCK_MS));
        for (size_t j = 0; j < caps[i]; j++)
            cr_expect_eq(golf_chan_recv(ch, &out), GOLF_OK);
        for (int j = 0; j < 5; j++) {
            cr_expect_eq(golf_chan_recv(ch, &out), GOLF_OK);
            cr_expect_eq(out, j + 1, "cap %zu", caps[i]);
        }
        cr_assert(probe_finishes_within(&s, FINISH_MS), "cap %zu: the sender stranded", caps[i]);
        cr_expect_eq(s.rc, GOLF_OK);
        cr_expect_eq(s.moved, 5);
        golf_chan_free(ch);
    }
}

/* ---- concurrency: batches mixed with single operations and select ---- */

enum { MIX_PROD = 4, MIX_CONS = 3, MIX_PER = 20000 };

typedef struct {
    golf_chan *ch;
    int id;
    atomic_int *failed;
    _Atomic uint32_t *seen; /* one counter per value */
} mix_arg;

static void *
mix_producer(void *p)
{
    mix_arg *a = p;
    uint64_t s = (uint64_t)a->id * 77 + 1, buf[64];
    uint32_t seq = 0;
    while (seq < MIX_PER) {
        size_t n = 1 + cu_rand(&s) % 64, k = 0;
        if (n > MIX_PER - seq)
            n = MIX_PER - seq;
        for (size_t j = 0; j < n; j++)
            buf[j] = ((uint64_t)a->id << 32) | (seq + j);
        int form = (int)(cu_rand(&s) % 3);
        int r;
        if (form == 0) {
            r = golf_chan_send_many(a->ch, buf, n, &k);
        } else if (form == 1) {
            r = golf_chan_send(a->ch, buf);
            k = 1;
        } else {
            golf_case c[2] = {{a->ch, GOLF_SEND, buf, 0}, {NULL, GOLF_RECV, NULL, 0}};
            r = golf_select(c, 2) == 0 ? c[0].status : -1;
            k = 1;
        }
        if (r != GOLF_OK)
            atomic_store(a->failed, 1);
        seq += (uint32_t)k;
    }
    return NULL;
}

static void *
mix_consumer(void *p)
{
    mix_arg *a = p;
    uint64_t s = (uint64_t)a->id * 991 + 3, buf[64];
    int64_t last[MIX_PROD];
    for (int i = 0; i < MIX_PROD; i++)
        last[i] = -1;
    for (;;) {
        size_t k = 0;
        int r, form = (int)(cu_rand(&s) % 4);
        if (form == 0) {
            r = golf_chan_recv_many(a->ch, buf, 1 + cu_rand(&s) % 64, &k);
        } else if (form == 1) {
            r = golf_chan_try_recv_many(a->ch, buf, 1 + cu_rand(&s) % 64, &k);
            if (r == GOLF_EAGAIN)
                continue;
        } else if (form == 2) {
            r = golf_chan_recv(a->ch, buf);
            k = r == GOLF_OK;
        } else {
            golf_case c[2] = {{NULL, GOLF_SEND, buf, 0}, {a->ch, GOLF_RECV, buf, 0}};
            int x = golf_select(c, 2);
            r = x == 1 ? c[1].status : -1;
            k = r == GOLF_OK;
        }
        if (r == GOLF_ECLOSED)
            return NULL;
        if (r != GOLF_OK) {
            atomic_store(a->failed, 1);
            return NULL;
        }
        for (size_t j = 0; j < k; j++) {
            uint32_t pr = (uint32_t)(buf[j] >> 32), sq = (uint32_t)buf[j];
            if (pr >= MIX_PROD || sq >= MIX_PER || (int64_t)sq <= last[pr]) {
                atomic_store(a->failed, 1); /* garbage, or out of order for this consumer */
                continue;
            }
            last[pr] = sq;
            atomic_fetch_add(&a->seen[pr * MIX_PER + sq], 1);
        }
    }
}

Test(chan_batch, mixed_single_and_batch_ops_lose_and_duplicate_nothing_in_fifo, .timeout = 60)
{
    static const size_t caps[] = {0, 1, 7, 64, GOLF_UNBOUNDED};
    for (size_t c = 0; c < 5; c++) {
        golf_chan *ch = golf_chan_new(sizeof(uint64_t), caps[c]);
        atomic_int failed = 0;
        _Atomic uint32_t *seen = calloc(MIX_PROD * MIX_PER, sizeof *seen);
        mix_arg pa[MIX_PROD], ca[MIX_CONS];
        pthread_t pt[MIX_PROD], ct[MIX_CONS];
        for (int i = 0; i < MIX_CONS; i++) {
            ca[i] = (mix_arg){ch, i, &failed, seen};
            ct[i] = cu_spawn(mix_consumer, &ca[i]);
        }
        for (int i = 0; i < MIX_PROD; i++) {
            pa[i] = (mix_arg){ch, i, &failed, seen};
            pt[i] = cu_spawn(mix_producer, &pa[i]);
        }
        for (int i = 0; i < MIX_PROD; i++)
            cu_join(pt[i]);
        golf_chan_close(ch);
        for (int i = 0; i < MIX_CONS; i++)
            cu_join(ct[i]);
        cr_expect_eq(atomic_load(&failed), 0, "cap %zu: garbage, order or an error", caps[c]);
        for (size_t i = 0; i < MIX_PROD * MIX_PER; i++)
            cr_assert_eq(atomic_load(&seen[i]), 1, "cap %zu: value %zu seen %u times", caps[c], i,
                         atomic_load(&seen[i]));
        free(seen);
        golf_chan_free(ch);
    }
}

/* ---- readiness fd ---- */

/* The rule of include/golf/chan.h on a channel of capacity cap (ring or unbounded). */
static void notify_rule(size_t cap);

Test(chan_notify, null_is_einval_and_the_fd_is_stable_and_starts_readable, .timeout = 10)
{
    errno = 0;
    cr_expect_eq(golf_chan_notify_fd(NULL), -1);
    cr_expect_eq(errno, EINVAL);
    for (int u = 0; u < 2; u++)
        notify_rule(u ? GOLF_UNBOUNDED : 4);
}

static void
notify_rule(size_t cap)
{
    golf_chan *ch = golf_chan_new(sizeof(int), cap);
    int fd = golf_chan_notify_fd(ch);
    cr_assert_geq(fd, 0);
    cr_expect_eq(golf_chan_notify_fd(ch), fd);
    cr_expect(fd_readable(fd), "a new notify fd starts readable");
    fd_clear(fd);
    cr_expect(!fd_readable(fd));
    int v = 3;
    cr_expect_eq(golf_chan_send(ch, &v), GOLF_OK);
    cr_expect(fd_readable(fd), "a send makes it readable");
    fd_clear(fd);
    cr_expect_eq(golf_chan_recv(ch, &v), GOLF_OK);
    cr_expect(!fd_readable(fd), "a receive does not");
    int vs[3] = {1, 2, 3};
    cr_expect_eq(golf_chan_send_many(ch, vs, 3, NULL), GOLF_OK);
    cr_expect(fd_readable(fd), "a send_many makes it readable");
    fd_clear(fd);
    cr_expect_eq(golf_chan_close(ch), GOLF_OK);
    cr_expect(fd_readable(fd), "a close makes it readable");
    golf_chan_free(ch);
    errno = 0;
    cr_expect_eq(fcntl(fd, F_GETFD), -1, "golf_chan_free closes the fd");
    cr_expect_eq(errno, EBADF);
}

Test(chan_notify, unbuffered_is_readable_while_a_sender_waits, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    int fd = golf_chan_notify_fd(ch);
    cr_assert_geq(fd, 0);
    fd_clear(fd);
    int v = 8, out = 0;
    probe s = {.kind = P_SEND, .ch = ch, .elem = &v};
    probe_start(&s);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_expect_eq(poll(&p, 1, FINISH_MS), 1, "a waiting sender made no edge");
    fd_clear(fd);
    cr_expect_eq(golf_chan_try_recv(ch, &out), GOLF_OK);
    cr_expect_eq(out, 8);
    cr_assert(probe_finishes_within(&s, FINISH_MS));
    golf_chan_close(ch);
    cr_expect(fd_readable(fd));
    golf_chan_free(ch);
}

Test(chan_notify, emfile_is_reported_and_a_later_call_succeeds, .timeout = 10)
{
    golf_chan *ch = golf_chan_new(sizeof(int), 2);
    struct rlimit old, low;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    int probe_fd = dup(0); /* the lowest free fd: no fd at or above it may be opened */
    cr_assert_geq(probe_fd, 0);
    close(probe_fd);
    low = old;
    low.rlim_cur = (rlim_t)probe_fd;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    errno = 0;
    cr_expect_eq(golf_chan_notify_fd(ch), -1);
    cr_expect_eq(errno, EMFILE);
    int v = 1;
    cr_expect_eq(golf_chan_send(ch, &v), GOLF_OK, "the channel still works");
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    int fd = golf_chan_notify_fd(ch);
    cr_expect_geq(fd, 0);
    cr_expect(fd_readable(fd));
    cr_expect_eq(golf_chan_recv(ch, &v), GOLF_OK);
    golf_chan_free(ch);
}

enum { EP_N = 200000 };

static void *
ep_producer(void *p)
{
    golf_chan *ch = p;
    uint64_t s = 5, buf[16];
    for (uint32_t i = 0; i < EP_N;) {
        size_t n = (cu_rand(&s) & 1) ? 1 + cu_rand(&s) % 16 : 1;
        if (n > EP_N - i)
            n = EP_N - i;
        for (size_t j = 0; j < n; j++)
            buf[j] = i + j;
        if (n == 1)
            golf_chan_send(ch, buf);
        else
            golf_chan_send_many(ch, buf, n, NULL);
        i += (uint32_t)n;
    }
    golf_chan_close(ch);
    return NULL;
}

/* One producer thread, one consumer in an epoll loop that drains with try forms until
 * GOLF_EAGAIN: every value arrives in order, and the close is seen (no lost edge: a lost one
 * leaves epoll_wait asleep and the test times out). A pipe shares the loop. */
Test(chan_notify, an_epoll_loop_sees_every_value_and_the_close, .timeout = 60)
{
    static const size_t caps[] = {1, 16, 1024, 0, GOLF_UNBOUNDED};
    for (size_t c = 0; c < 5; c++) {
        golf_chan *ch = golf_chan_new(sizeof(uint64_t), caps[c]);
        int fd = golf_chan_notify_fd(ch);
        cr_assert_geq(fd, 0);
        int pp[2];
        cr_assert_eq(pipe(pp), 0);
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
        cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), 0);
        e.data.fd = pp[0];
        cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &e), 0);
        cr_assert_eq(write(pp[1], "x", 1), 1);
        pthread_t t = cu_spawn(ep_producer, ch);
        uint64_t next = 0, buf[32];
        bool closed = false, piped = false;
        while (!closed) {
            struct epoll_event ev[2];
            int n = epoll_wait(ep, ev, 2, 10000);
            cr_assert_gt(n, 0, "cap %zu: epoll_wait timed out at value %llu (lost edge)", caps[c],
                         (unsigned long long)next);
            for (int i = 0; i < n; i++) {
                if (ev[i].data.fd == pp[0]) {
                    char x;
                    cr_assert_eq(read(pp[0], &x, 1), 1);
                    piped = true;
                    continue;
                }
                fd_clear(fd);
                for (;;) {
                    size_t k;
                    int r = (next & 1) ? golf_chan_try_recv_many(ch, buf, 32, &k)
                                       : golf_chan_try_recv(ch, buf);
                    if (!(next & 1))
                        k = r == GOLF_OK;
                    if (r == GOLF_EAGAIN)
                        break;
                    if (r == GOLF_ECLOSED) {
                        closed = true;
                        break;
                    }
                    cr_assert_eq(r, GOLF_OK);
                    for (size_t j = 0; j < k; j++)
                        cr_assert_eq(buf[j], next++, "cap %zu: out of order", caps[c]);
                }
            }
        }
        cr_expect_eq(next, EP_N, "cap %zu", caps[c]);
        cr_expect(piped);
        cu_join(t);
        close(ep);
        close(pp[0]);
        close(pp[1]);
        golf_chan_free(ch);
    }
}
