/* SPDX-License-Identifier: MIT */
/* A channel and a pipe in one epoll loop, with golf_chan_notify_fd.
 *
 * A worker thread produces results on a buffered channel; a "client" writes commands into a
 * pipe. One thread waits on both with epoll_wait: when the channel's fd is readable it reads the
 * fd's 8 bytes and drains the channel with golf_chan_try_recv_many until GOLF_EAGAIN (or
 * GOLF_ECLOSED: the worker is done); when the pipe is readable it reads a command. In Go this is
 * a select over a channel and a goroutine that reads the socket; here the socket side stays a
 * plain file descriptor. */
#define _GNU_SOURCE /* pipe2 */

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "golf/golf.h"

enum { RESULTS = 10000 };

static void *
worker(void *p)
{
    golf_chan *results = p;
    for (uint64_t i = 0; i < RESULTS; i++)
        golf_chan_send(results, &i);
    golf_chan_close(results);
    return NULL;
}

static void *
client(void *p)
{
    int wfd = *(int *)p;
    const char cmds[] = "abc";
    for (int i = 0; i < 3; i++)
        if (write(wfd, &cmds[i], 1) != 1)
            perror("write");
    return NULL;
}

int
main(void)
{
    golf_chan *results = golf_chan_new(sizeof(uint64_t), 64);
    int cfd = golf_chan_notify_fd(results);
    int pp[2];
    if (!results || cfd < 0 || pipe2(pp, O_CLOEXEC) != 0) {
        perror("setup");
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = cfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
    ev.data.fd = pp[0];
    epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &ev);

    pthread_t w, c;
    pthread_create(&w, NULL, worker, results);
    pthread_create(&c, NULL, client, &pp[1]);

    uint64_t got = 0, sum = 0, batch[32];
    int commands = 0;
    bool closed = false;
    while (!closed || commands < 3) {
        struct epoll_event out[2];
        int n = epoll_wait(ep, out, 2, -1);
        for (int i = 0; i < n; i++) {
            if (out[i].data.fd == pp[0]) {
                char cmd;
                if (read(pp[0], &cmd, 1) == 1)
                    commands++;
                continue;
            }
            uint64_t count;
            if (read(cfd, &count, sizeof count) < 0) { /* resets the fd; EAGAIN: a stale edge */
            }
            size_t k;
            int r;
            while ((r = golf_chan_try_recv_many(results, batch, 32, &k)) == GOLF_OK)
                for (size_t j = 0; j < k; j++, got++)
                    sum += batch[j];
            if (r == GOLF_ECLOSED) {
                closed = true;
                epoll_ctl(ep, EPOLL_CTL_DEL, cfd, NULL); /* before the channel is freed */
            }
        }
    }
    pthread_join(w, NULL);
    pthread_join(c, NULL);
    printf("%llu results (sum %llu), %d commands, channel closed\n", (unsigned long long)got,
           (unsigned long long)sum, commands);
    close(ep);
    close(pp[0]);
    close(pp[1]);
    golf_chan_free(results); /* closes cfd */
    return got == RESULTS && sum == (uint64_t)RESULTS * (RESULTS - 1) / 2 && commands == 3 ? 0 : 1;
}
