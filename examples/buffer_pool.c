/* SPDX-License-Identifier: MIT */
/* Reusing buffers with a golf_pool (Go's sync.Pool): each request needs a 4 KiB scratch buffer
 * for a moment. Taking it from a pool and putting it back afterwards, instead of malloc and
 * free per request, lets the threads reuse a handful of buffers:
 *
 *     var bufPool = sync.Pool{New: func() any { return new([4096]byte) }}
 *     buf := bufPool.Get().(*[4096]byte)
 *     ... use buf ...
 *     bufPool.Put(buf)
 *
 * A buffer from the pool holds whatever its last user left in it, as in Go. new_object and
 * free_object count here how many buffers ever existed: every one is freed exactly once, by
 * golf_pool_free at the latest. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "golf/golf.h"

enum { WORKERS = 4, REQUESTS = 20000, BUF_SIZE = 4096 };

static atomic_long allocated, freed;

static void *
new_buffer(void *ctx)
{
    (void)ctx;
    atomic_fetch_add_explicit(&allocated, 1, memory_order_relaxed); /* a counter, read after join */
    return malloc(BUF_SIZE);
}

static void
free_buffer(void *buf, void *ctx)
{
    (void)ctx;
    atomic_fetch_add_explicit(&freed, 1, memory_order_relaxed);
    free(buf);
}

typedef struct {
    golf_pool *pool;
    int id;
    long bytes; /* response bytes produced */
} worker_arg;

static void
worker(void *p)
{
    worker_arg *w = p;
    for (int i = 0; i < REQUESTS; i++) {
        char *buf = golf_pool_get(w->pool); /* a cached buffer, or new_buffer() */
        if (buf == NULL)
            abort();
        int n = snprintf(buf, BUF_SIZE, "HTTP/1.1 200 OK\r\nX-Worker: %d\r\nX-Request: %d\r\n\r\n",
                         w->id, i);
        w->bytes += n;
        golf_pool_put(w->pool, buf); /* back for the next request, on any thread */
    }
}

int
main(void)
{
    golf_pool_options opts = {.new_object = new_buffer, .free_object = free_buffer};
    golf_pool *pool = golf_pool_new(&opts);
    if (pool == NULL)
        return 1;

    golf_waitgroup wg = {0};
    worker_arg w[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        w[i] = (worker_arg){.pool = pool, .id = i};
        golf_waitgroup_go(&wg, worker, &w[i]);
    }
    golf_waitgroup_wait(&wg);

    long bytes = 0;
    for (int i = 0; i < WORKERS; i++)
        bytes += w[i].bytes;
    golf_pool_trim(pool); /* what Go's GC does now and then: drops buffers nobody took lately */
    golf_pool_free(pool); /* frees the buffers still cached */

    long a = atomic_load(&allocated), f = atomic_load(&freed);
    printf("%d requests, %ld response bytes, %ld buffers allocated, %ld freed\n",
           WORKERS * REQUESTS, bytes, a, f);
    return a < WORKERS * REQUESTS && a == f ? 0 : 1; /* reused, and none leaked */
}
