/* SPDX-License-Identifier: MIT */
/* Port (in intent) of Go's test/chan/sieve1.go: the concurrent prime sieve, one thread per
 * filter, unbuffered channels between them. Go's program exits with its goroutines blocked; here
 * the main thread closes the generator's channel afterwards and the close cascades down the
 * chain, so every thread ends and every channel is freed. */
#include <criterion/criterion.h>

#include "golf/chan.h"
#include "unit/chan/chan_util.h"

static void *
generate(void *p)
{
    golf_chan *ch = p;
    for (int i = 2;; i++)
        if (golf_chan_send(ch, &i) != GOLF_OK)
            return NULL; /* closed by the receiving end: done */
}

typedef struct {
    golf_chan *in, *out;
    int prime;
} filter_arg;

static void *
filter(void *p)
{
    filter_arg *a = p;
    int i;
    while (golf_chan_recv(a->in, &i) == GOLF_OK)
        if (i % a->prime != 0 && golf_chan_send(a->out, &i) != GOLF_OK)
            break;
    golf_chan_close(a->out);
    return NULL;
}

Test(go_sieve, first_25_primes, .timeout = 20)
{
    static const int want[] = {2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41,
                               43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97};
    enum { NP = sizeof want / sizeof want[0] };
    golf_chan *chans[NP + 1];
    filter_arg f[NP];
    pthread_t tf[NP];
    chans[0] = golf_chan_new(sizeof(int), 0);
    pthread_t tg = cu_spawn(generate, chans[0]);
    golf_chan *ch = chans[0];
    for (int k = 0; k < NP; k++) {
        int prime = 0;
        cr_assert_eq(golf_chan_recv(ch, &prime), GOLF_OK);
        cr_expect_eq(prime, want[k], "%d != %d", prime, want[k]);
        chans[k + 1] = golf_chan_new(sizeof(int), 0);
        f[k] = (filter_arg){.in = ch, .out = chans[k + 1], .prime = prime};
        tf[k] = cu_spawn(filter, &f[k]);
        ch = chans[k + 1];
    }
    golf_chan_close(chans[0]);
    int x;
    while (golf_chan_recv(ch, &x) == GOLF_OK) {
    }
    cu_join(tg);
    for (int k = 0; k < NP; k++)
        cu_join(tf[k]);
    for (int k = 0; k <= NP; k++)
        golf_chan_free(chans[k]);
}
