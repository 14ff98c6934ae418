/* SPDX-License-Identifier: MIT */
/* Batches: a producer hands values over in runs with golf_chan_send_many, a consumer takes what
 * is ready, up to 64 at a time, with golf_chan_recv_many. Go has no batch operations; this is
 * the loop
 *
 *     for _, v := range vals { ch <- v }          // producer
 *     for v := range ch { ... }                   // consumer
 *
 * with the per-value cost of a buffered channel paid once per run of ready slots. The values
 * arrive in order and the close ends the consumer after the last value, as with single
 * operations. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "golf/golf.h"

enum { TOTAL = 1000000, RUN = 100 };

static void *
producer(void *p)
{
    golf_chan *ch = p;
    uint32_t run[RUN];
    for (uint32_t i = 0; i < TOTAL; i += RUN) {
        for (uint32_t j = 0; j < RUN; j++)
            run[j] = i + j;
        size_t sent = 0;
        if (golf_chan_send_many(ch, run, RUN, &sent) != GOLF_OK || sent != RUN)
            fprintf(stderr, "send_many: %zu sent\n", sent);
    }
    golf_chan_close(ch);
    return NULL;
}

int
main(void)
{
    golf_chan *ch = golf_chan_new(sizeof(uint32_t), 1024);
    if (!ch)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, producer, ch);
    uint32_t buf[64], next = 0;
    size_t k, calls = 0;
    bool in_order = true;
    while (golf_chan_recv_many(ch, buf, 64, &k) == GOLF_OK) {
        calls++;
        for (size_t j = 0; j < k; j++)
            in_order &= buf[j] == next++;
    }
    pthread_join(t, NULL);
    golf_chan_free(ch);
    printf("%u values in %zu receives (%.1f per call), %s\n", next, calls,
           calls ? (double)next / (double)calls : 0.0, in_order ? "in order" : "OUT OF ORDER");
    return next == TOTAL && in_order ? 0 : 1;
}
