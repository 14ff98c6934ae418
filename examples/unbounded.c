/* SPDX-License-Identifier: MIT */
/* An unbounded channel as a log queue: a thread that must never wait (here, a burst of a
 * million events) hands its records to a writer thread through a channel with no capacity
 * limit. Go has no unbounded channel; the usual Go answer is a goroutine that shuffles values
 * between two channels through a growing slice:
 *
 *     in, out := make(chan rec), make(chan rec)
 *     go func() { var q []rec; ... select { case v := <-in: q = append(q, v)
 *                                           case out <- q[0]: q = q[1:] } ... }()
 *
 * golf_chan_new(size, GOLF_UNBOUNDED) is that, without the extra goroutine and copies: a send
 * never blocks, the buffer grows in blocks as values arrive and gives them back as the writer
 * drains it (at most eight spare blocks stay, for the next burst). This program checks that: the
 * heap in use after the burst is drained is back under nine times what the empty channel took
 * (the empty channel is its header and one block, so eight more blocks are less than eight
 * times that).
 *
 * Usage: example_unbounded [values]  (default 1000000) */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golf/golf.h"

typedef struct {
    long seq;
    long when;
} rec;

static golf_chan *logq;

static void *
writer(void *arg)
{
    long *got = arg;
    rec r;
    long expect = 0;
    while (golf_chan_recv(logq, &r) == GOLF_OK) {
        if (r.seq != expect++) {
            fprintf(stderr, "record %ld out of order\n", r.seq);
            exit(1);
        }
        (*got)++;
    }
    return NULL;
}

static long
heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long)(mi.uordblks + mi.hblkhd);
}

static long
rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

static void *
warm(void *arg)
{
    (void)arg;
    golf_chan *c = golf_chan_new(sizeof(rec), GOLF_UNBOUNDED);
    rec r;
    golf_chan_recv_timeout(c, &r, 1000);
    golf_chan_free(c);
    return NULL;
}

int
main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    /* What a first thread, stdio and /proc reading allocate is not the channel's: do each once
     * before the baseline. */
    pthread_t w;
    pthread_create(&w, NULL, warm, NULL);
    pthread_join(w, NULL);
    printf("baseline RSS %ld KiB\n", rss_kib());
    long base = heap_in_use();
    logq = golf_chan_new(sizeof(rec), GOLF_UNBOUNDED);
    if (!logq) {
        perror("golf_chan_new");
        return 1;
    }
    long empty = heap_in_use() - base;
    printf("empty unbounded channel: %ld bytes of heap, cap == GOLF_UNBOUNDED: %s\n", empty,
           golf_chan_cap(logq) == GOLF_UNBOUNDED ? "yes" : "no");

    /* The burst: nobody receives yet, and no send waits. */
    for (long i = 0; i < n; i++) {
        rec r = {i, i * 3};
        int rc = golf_chan_send(logq, &r);
        if (rc != GOLF_OK) {
            fprintf(stderr, "send %ld: %s\n", i, golf_strerror(rc));
            return 1;
        }
    }
    long peak = heap_in_use() - base;
    printf("after a burst of %ld records: len %zu, %ld bytes of heap (%.1f per record), RSS %ld "
           "KiB\n",
           n, golf_chan_len(logq), peak, (double)peak / (double)n, rss_kib());

    long got = 0;
    pthread_t t;
    pthread_create(&t, NULL, writer, &got);
    golf_chan_close(logq); /* the writer drains what is queued, then sees GOLF_ECLOSED */
    pthread_join(t, NULL);
    long drained = heap_in_use() - base;
    printf("drained: %ld records, %ld bytes of heap (%.2fx the empty channel), RSS %ld KiB\n", got,
           drained, (double)drained / (double)empty, rss_kib());
    /* The heap pages the blocks used are free but still mapped: glibc gives back the top of the
     * heap only, and the channel's current block was allocated last. malloc_trim returns the
     * free pages in the middle too. */
    malloc_trim(0);
    printf("after malloc_trim(0): RSS %ld KiB\n", rss_kib());
    golf_chan_free(logq);
    /* empty == 0: an allocator without glibc's statistics (a sanitizer's): nothing to judge. */
    if (got != n || (empty > 0 && drained >= 9 * empty)) {
        fprintf(stderr, "FAIL: got %ld of %ld, or the drained channel kept its blocks\n", got, n);
        return 1;
    }
    return 0;
}
