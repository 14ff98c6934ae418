/* SPDX-License-Identifier: MIT */
/* Timed single operations on an unbuffered channel racing the peers that complete them.
 *
 * A timed send or receive is claimed by a CAS on its waiter word and times out by a CAS on the
 * same word (chan C2, C9: only untimed ones are claimed without a CAS). The window: the deadline
 * passes just as a peer claims the node. Then the operation must report success (the value went
 * through), never a timeout with the value lost or delivered twice, and never return while the
 * peer still copies into its buffer. Blocking (untimed) operations are mixed in, so both kinds
 * of claim run against each other.
 *
 * Senders send unique values with random short timeouts (0 to 30 us, some blocking), receivers
 * receive with random short timeouts; every value a send reported sent must be received exactly
 * once and no value may arrive that no send reported. Three element sizes: 8 bytes (the value
 * travels in the waiter's own cache line), 48 (the waiter's second line) and 200 (copied
 * straight between the callers' buffers, after the unlock): each value fills its whole element
 * with a pattern the receiver checks.
 *
 * golf-regress: one-cpu (also run under taskset -c 0)
 * Usage: regress_chan_solo_timeout [seconds-per-size]  (exit 0: pass) */
#include "regress.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "golf/chan.h"

#define BLOCKING UINT64_MAX

enum { SENDERS = 3, RECEIVERS = 3, MAX_ELEM = 200, PER_SENDER = 1 << 20 };

static golf_chan *ch;
static size_t elem;
static atomic_bool stop;
static atomic_uchar got[SENDERS][PER_SENDER]; /* receives per value */
static unsigned char sent_ok[SENDERS][PER_SENDER];
static uint32_t nsent[SENDERS];
static atomic_long bad_payload, timeouts;

/* Fills an element with value v: v itself, then bytes derived from it. */
static void
fill(unsigned char *e, uint64_t v)
{
    memcpy(e, &v, sizeof v);
    for (size_t i = sizeof v; i < elem; i++)
        e[i] = (unsigned char)(v * 31u + i);
}

static bool
check(const unsigned char *e, uint64_t *v)
{
    memcpy(v, e, sizeof *v);
    for (size_t i = sizeof *v; i < elem; i++)
        if (e[i] != (unsigned char)(*v * 31u + i))
            return false;
    return true;
}

static uint64_t
pick_timeout(uint64_t *s)
{
    uint64_t r = golf_test_rand(s) % 16;
    return r == 0 ? BLOCKING : r * 2000u; /* 0 .. 30 us, or blocking */
}

static void *
sender(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t s = 0x1234u + (uint64_t)id;
    unsigned char e[MAX_ELEM];
    uint32_t seq = 0;
    while (!atomic_load(&stop) && seq < PER_SENDER) {
        uint64_t v = ((uint64_t)id << 32) | seq;
        fill(e, v);
        uint64_t t = pick_timeout(&s);
        int r = t == BLOCKING ? golf_chan_send(ch, e) : golf_chan_send_timeout(ch, e, t);
        if (r == GOLF_OK) {
            sent_ok[id][seq] = 1;
            seq++;
        } else if (r == GOLF_ETIMEDOUT) {
            atomic_fetch_add(&timeouts, 1);
        } else if (r == GOLF_ECLOSED) {
            break;
        } else {
            REGRESS_FAIL("send returned %d", r);
        }
    }
    nsent[id] = seq;
    return NULL;
}

static void *
receiver(void *arg)
{
    uint64_t s = 0x9876u + (uint64_t)(intptr_t)arg;
    unsigned char e[MAX_ELEM];
    for (;;) {
        uint64_t t = pick_timeout(&s);
        memset(e, 0xEE, sizeof e);
        int r = t == BLOCKING ? golf_chan_recv(ch, e) : golf_chan_recv_timeout(ch, e, t);
        if (r == GOLF_ECLOSED)
            return NULL;
        if (r == GOLF_ETIMEDOUT) {
            atomic_fetch_add(&timeouts, 1);
            continue;
        }
        REGRESS_CHECK(r == GOLF_OK, "recv returned %d", r);
        uint64_t v;
        if (!check(e, &v) || (v >> 32) >= SENDERS || (uint32_t)v >= PER_SENDER) {
            atomic_fetch_add(&bad_payload, 1);
            continue;
        }
        atomic_fetch_add(&got[v >> 32][(uint32_t)v], 1);
    }
}

static void
run(size_t size, double seconds)
{
    elem = size;
    memset(got, 0, sizeof got);
    memset(sent_ok, 0, sizeof sent_ok);
    atomic_store(&stop, false);
    atomic_store(&timeouts, 0);
    ch = golf_chan_new(elem, 0);
    REGRESS_CHECK(ch != NULL, "golf_chan_new");
    pthread_t s[SENDERS], r[RECEIVERS];
    for (intptr_t i = 0; i < SENDERS; i++)
        pthread_create(&s[i], NULL, sender, (void *)i);
    for (intptr_t i = 0; i < RECEIVERS; i++)
        pthread_create(&r[i], NULL, receiver, (void *)i);
    regress_sleep_us((uint64_t)(seconds * 1e6));
    atomic_store(&stop, true);
    /* A sender blocked without a deadline needs a receiver until every sender is out. */
    for (int i = 0; i < SENDERS; i++)
        pthread_join(s[i], NULL);
    golf_chan_close(ch);
    for (int i = 0; i < RECEIVERS; i++)
        pthread_join(r[i], NULL);
    golf_chan_free(ch);
    long total = 0;
    for (int p = 0; p < SENDERS; p++)
        for (uint32_t q = 0; q < PER_SENDER; q++) {
            unsigned g = atomic_load(&got[p][q]);
            REGRESS_CHECK(g == sent_ok[p][q], "size %zu: value %d/%u sent %d, received %u times",
                          size, p, q, sent_ok[p][q], g);
            total += g;
        }
    REGRESS_CHECK(atomic_load(&bad_payload) == 0, "size %zu: %ld corrupt values", size,
                  atomic_load(&bad_payload));
    fprintf(stderr, "size %3zu: %ld values, %ld timeouts\n", size, total, atomic_load(&timeouts));
    REGRESS_CHECK(total > 0, "size %zu: nothing got through", size);
}

int
main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.6;
    regress_watchdog(120);
    run(8, seconds);
    run(48, seconds);
    run(200, seconds);
    printf("PASS chan_solo_timeout\n");
    return 0;
}
