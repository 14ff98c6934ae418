/* SPDX-License-Identifier: MIT */
/* Two racy programs, built with -fsanitize=thread against golf-tsan: the flavour must not hide
 * the user's own races. `plain`: two threads write one int with no synchronisation at all.
 * `after-send`: the sender writes a message after sending its pointer through a golf channel,
 * while the receiver reads it (the send orders only what was written before it). The test
 * expects ThreadSanitizer's "data race" report, naming racy_plain_writer, or racy_sender and
 * racy_receiver. */
#include <golf/golf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int shared_int;

static void *
racy_plain_writer(void *arg)
{
    shared_int = (int)(intptr_t)arg;
    return NULL;
}

typedef struct msg {
    long value;
} msg;

static void
racy_receiver(void *arg)
{
    golf_chan *ch = arg;
    msg *m;
    if (golf_chan_recv(ch, &m) == GOLF_OK)
        printf("received %ld\n", m->value);
}

static void __attribute__((noinline)) racy_sender(golf_chan *ch, msg *m)
{
    m->value = 1;
    golf_chan_send(ch, &m);
    m->value = 2; /* the race: the receiver may be reading it */
}

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "plain") == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, racy_plain_writer, (void *)1);
        pthread_create(&b, NULL, racy_plain_writer, (void *)2);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        printf("shared_int %d\n", shared_int);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "after-send") == 0) {
        golf_chan *ch = golf_chan_new(sizeof(msg *), 1);
        msg *m = malloc(sizeof *m);
        golf_waitgroup wg = {0};
        if (ch == NULL || m == NULL || golf_waitgroup_go(&wg, racy_receiver, ch) != GOLF_OK)
            return 1;
        racy_sender(ch, m);
        golf_waitgroup_wait(&wg);
        golf_chan_free(ch);
        free(m);
        return 0;
    }
    fprintf(stderr, "usage: %s plain|after-send\n", argv[0]);
    return 2;
}
