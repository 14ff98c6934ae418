/* SPDX-License-Identifier: MIT */
/* Select with a default branch, after "Go by Example: Non-Blocking Channel Operations":
 * golf_select_try performs a case only if one is ready now and otherwise returns GOLF_EAGAIN at
 * once, which is Go's `default:`. Here a burst of events meets a small queue: what does not fit
 * is dropped rather than waited for (load shedding), and the queue is then drained without
 * ever blocking:
 *
 *     select {
 *     case events <- e:          // queued
 *     default:                   // the queue is full: drop e
 *         dropped++
 *     }
 *     select {
 *     case e := <-events: ...
 *     case s := <-stop: ...
 *     default: fmt.Println("no activity")
 *     }
 *
 * With one case, golf_chan_try_send and golf_chan_try_recv say the same more briefly. */
#include <stdio.h>

#include "golf/golf.h"

enum { QUEUE = 4, BURST = 10 };

int
main(void)
{
    golf_chan *events = golf_chan_new(sizeof(int), QUEUE);
    golf_chan *stop = golf_chan_new(0, 1);
    int failures = 0;

    /* Nothing to receive yet: the default branch. */
    int e;
    golf_case recv_event[] = {{.ch = events, .op = GOLF_RECV, .elem = &e}};
    if (golf_select_try(recv_event, 1) == GOLF_EAGAIN)
        printf("no event received\n");
    else
        failures++;

    /* A burst of BURST events: the first QUEUE fit, the rest are dropped, nothing blocks. */
    int queued = 0, dropped = 0;
    for (int i = 1; i <= BURST; i++) {
        golf_case send_event[] = {{.ch = events, .op = GOLF_SEND, .elem = &i}};
        if (golf_select_try(send_event, 1) == 0)
            queued++;
        else /* GOLF_EAGAIN: default */
            dropped++;
    }
    printf("burst of %d: %d queued, %d dropped\n", BURST, queued, dropped);
    failures += queued != QUEUE || dropped != BURST - QUEUE;

    /* Drain: take whatever is ready on either channel until nothing is. */
    golf_chan_send(stop, NULL); /* a stop request is pending too */
    int got = 0, stops = 0;
    for (;;) {
        golf_case cases[] = {
            {.ch = events, .op = GOLF_RECV, .elem = &e},
            {.ch = stop, .op = GOLF_RECV},
        };
        int r = golf_select_try(cases, 2);
        if (r == GOLF_EAGAIN) {
            printf("no activity\n");
            break;
        }
        if (r == 0) {
            printf("event %d\n", e);
            failures += e != ++got; /* the queue keeps their order */
        } else {
            printf("stop requested\n");
            stops++;
        }
    }
    failures += got != QUEUE || stops != 1;

    golf_chan_free(events);
    golf_chan_free(stop);
    return failures ? 1 : 0;
}
