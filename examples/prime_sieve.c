/* SPDX-License-Identifier: MIT */
/* The concurrent prime sieve from the Go tour / test/chan/sieve1.go: a generator sends 2, 3, 4,
 * ...; each prime found starts a filter that drops its multiples; the filters form a chain of
 * unbuffered channels.
 *
 *     func Generate(ch chan<- int) { for i := 2; ; i++ { ch <- i } }
 *     func Filter(in <-chan int, out chan<- int, prime int) {
 *         for { i := <-in; if i%prime != 0 { out <- i } }
 *     }
 *
 * Go's program simply exits with its goroutines blocked. Here main closes the generator's
 * channel when it has its primes; the generator's next send returns GOLF_ECLOSED, each filter's
 * receive then does too and it closes its own output, so the whole chain winds down. */
#include <stdio.h>

#include "golf/golf.h"

enum { NPRIMES = 100 };

static void
generate(void *p)
{
    golf_chan *ch = p;
    for (int i = 2;; i++)
        if (golf_chan_send(ch, &i) == GOLF_ECLOSED)
            return;
}

typedef struct {
    golf_chan *in, *out;
    int prime;
} filter_arg;

static void
filter(void *p)
{
    filter_arg *f = p;
    int i;
    while (golf_chan_recv(f->in, &i) == GOLF_OK)
        if (i % f->prime != 0 && golf_chan_send(f->out, &i) != GOLF_OK)
            break;
    golf_chan_close(f->out);
}

static bool
is_prime(int n)
{
    for (int d = 2; d * d <= n; d++)
        if (n % d == 0)
            return false;
    return n >= 2;
}

int
main(void)
{
    golf_waitgroup wg = {0};
    golf_chan *chans[NPRIMES + 1];
    filter_arg filters[NPRIMES];
    chans[0] = golf_chan_new(sizeof(int), 0);
    golf_waitgroup_go(&wg, generate, chans[0]);

    golf_chan *ch = chans[0];
    int ok = 1, last = 1;
    for (int k = 0; k < NPRIMES; k++) {
        int prime;
        golf_chan_recv(ch, &prime);
        printf("%d%c", prime, k % 20 == 19 ? '\n' : ' ');
        /* the next prime after `last`, checked by trial division */
        int want = last + 1;
        while (!is_prime(want))
            want++;
        ok &= prime == want;
        last = prime;
        chans[k + 1] = golf_chan_new(sizeof(int), 0);
        filters[k] = (filter_arg){.in = ch, .out = chans[k + 1], .prime = prime};
        golf_waitgroup_go(&wg, filter, &filters[k]);
        ch = chans[k + 1];
    }

    golf_chan_close(chans[0]); /* stop the generator; the close runs down the chain */
    int rest;
    while (golf_chan_recv(ch, &rest) == GOLF_OK) {
    }
    golf_waitgroup_wait(&wg);
    for (int k = 0; k <= NPRIMES; k++)
        golf_chan_free(chans[k]);
    printf("%s\n", ok ? "first 100 primes ok" : "WRONG");
    return ok ? 0 : 1;
}
