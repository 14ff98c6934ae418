/* SPDX-License-Identifier: MIT */
/* Port (in intent) of Go's test/chan/nonblock.go: non-blocking send and receive (Go's select
 * with default = golf's try forms) on unbuffered and 1-buffered channels, against a partner
 * thread that arrives later; for elements of the sizes of Go's int32, int64, bool, string. */
#include <criterion/criterion.h>

#include "golf/chan.h"
#include "unit/chan/chan_util.h"

enum { MAX_TRIES = 5000 }; /* 1 ms apart: up to 5 s per transfer on a loaded machine */

typedef struct {
    golf_chan *c, *strobe;
    const void *val;
    size_t size;
    bool ok;
} partner;

static void *
receiver(void *p)
{
    partner *a = p;
    unsigned char buf[32] = {0};
    golf_chan_recv(a->c, buf);
    a->ok = memcmp(buf, a->val, a->size) == 0;
    golf_chan_send(a->strobe, NULL);
    return NULL;
}

static void *
sender(void *p)
{
    partner *a = p;
    a->ok = golf_chan_send(a->c, a->val) == GOLF_OK;
    golf_chan_send(a->strobe, NULL);
    return NULL;
}

static void
one_type(size_t buffer, size_t size, const void *to_recv, const void *to_send)
{
    golf_chan *c = golf_chan_new(size, buffer), *strobe = golf_chan_new(0, 0);
    unsigned char buf[32];
    cr_expect_eq(golf_chan_try_recv(c, buf), GOLF_EAGAIN, "blocked sender (size %zu, buffer %zu)",
                 size, buffer);

    /* A receiver arrives; keep trying to send without blocking. */
    partner r = {.c = c, .strobe = strobe, .val = to_recv, .size = size};
    pthread_t t = cu_spawn(receiver, &r);
    int tries = 0;
    while (golf_chan_try_send(c, to_recv) != GOLF_OK) {
        cr_assert_lt(++tries, MAX_TRIES, "receiver never ready (size %zu, buffer %zu)", size,
                     buffer);
        cu_sleep_ms(1);
    }
    golf_chan_recv(strobe, NULL);
    cu_join(t);
    cr_expect(r.ok, "receiver got a different value");

    /* A sender arrives; keep trying to receive without blocking. */
    partner s = {.c = c, .strobe = strobe, .val = to_send, .size = size};
    t = cu_spawn(sender, &s);
    if (buffer > 0)
        golf_chan_recv(strobe, NULL);
    tries = 0;
    memset(buf, 0, sizeof buf);
    while (golf_chan_try_recv(c, buf) != GOLF_OK) {
        cr_assert_lt(++tries, MAX_TRIES, "sender never ready (size %zu, buffer %zu)", size, buffer);
        cu_sleep_ms(1);
    }
    cr_expect_eq(memcmp(buf, to_send, size), 0, "sender value");
    if (buffer == 0)
        golf_chan_recv(strobe, NULL);
    cu_join(t);
    cr_expect(s.ok);
    golf_chan_free(c);
    golf_chan_free(strobe);
}

Test(go_nonblock, try_send_and_try_recv_meet_a_late_partner, .timeout = 60)
{
    int32_t i32r = 123, i32s = 234;
    int64_t i64r = 123456, i64s = 234567;
    bool br = true, bs = true;
    char sr[16] = "hello", ss[16] = "hello again";
    for (size_t buffer = 0; buffer < 2; buffer++) {
        one_type(buffer, sizeof i32r, &i32r, &i32s);
        one_type(buffer, sizeof i64r, &i64r, &i64s);
        one_type(buffer, sizeof br, &br, &bs);
        one_type(buffer, sizeof sr, sr, ss);
    }
}
