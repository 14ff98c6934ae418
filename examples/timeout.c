/* SPDX-License-Identifier: MIT */
/* Timeouts, after "Go by Example: Timeouts":
 *
 *     c1 := make(chan string, 1)
 *     go func() { time.Sleep(200 * time.Millisecond); c1 <- "result 1" }()
 *     select {
 *     case res := <-c1: fmt.Println(res)
 *     case <-time.After(50 * time.Millisecond): fmt.Println("timeout 1")
 *     }
 *
 * golf_select_timeout is that select: the index of the case done, or GOLF_ETIMEDOUT. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "golf/golf.h"

typedef struct {
    golf_chan *c;
    int delay_ms;
    const char *msg;
} slow_task;

static void
run_slow(void *p)
{
    slow_task *t = p;
    struct timespec d = {.tv_sec = t->delay_ms / 1000,
                         .tv_nsec = (long)(t->delay_ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
    char res[32] = {0};
    strncpy(res, t->msg, sizeof res - 1);
    golf_chan_send(t->c, res); /* buffered: never blocks, even if nobody waits any more */
}

int
main(void)
{
    const uint64_t ms = 1000000;
    golf_waitgroup wg = {0};
    char res[32];
    int failures = 0;

    /* 1: the task takes 200 ms, we wait 50 ms: timeout. */
    golf_chan *c1 = golf_chan_new(sizeof res, 1);
    slow_task t1 = {c1, 200, "result 1"};
    golf_waitgroup_go(&wg, run_slow, &t1);
    golf_case cases1[] = {{.ch = c1, .op = GOLF_RECV, .elem = res}};
    int r = golf_select_timeout(cases1, 1, 50 * ms);
    if (r == 0) {
        printf("%s\n", res);
        failures++; /* it should not have arrived yet */
    } else {
        printf("timeout 1\n");
        failures += r != GOLF_ETIMEDOUT;
    }

    /* 2: the task takes 200 ms, we wait 3 s: the result. */
    golf_chan *c2 = golf_chan_new(sizeof res, 1);
    slow_task t2 = {c2, 200, "result 2"};
    golf_waitgroup_go(&wg, run_slow, &t2);
    golf_case cases2[] = {{.ch = c2, .op = GOLF_RECV, .elem = res}};
    r = golf_select_timeout(cases2, 1, 3000 * ms);
    if (r == 0) {
        printf("%s\n", res);
        failures += strcmp(res, "result 2") != 0;
    } else {
        printf("timeout 2\n");
        failures++;
    }

    golf_waitgroup_wait(&wg);
    golf_chan_free(c1);
    golf_chan_free(c2);
    return failures ? 1 : 0;
}
