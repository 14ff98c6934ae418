/* SPDX-License-Identifier: MIT */
/* Uses every part of the installed golf through the umbrella header. */
#include <golf/golf.h>
#include <stdio.h>
#include <stdlib.h>

static void
work(void *arg)
{
    golf_chan *ch = arg;
    long v = 42;
    golf_chan_send(ch, &v);
}

int
main(void)
{
    golf_mutex m = {0};
    golf_mutex_lock(&m);
    golf_mutex_unlock(&m);

    golf_chan *ch = golf_chan_new(sizeof(long), 0);
    golf_waitgroup wg = {0};
    if (ch == NULL || golf_waitgroup_go(&wg, work, ch) != GOLF_OK)
        return 1;
    long got = 0;
    if (golf_chan_recv(ch, &got) != GOLF_OK || got != 42)
        return 1;
    golf_waitgroup_wait(&wg);
    golf_chan_free(ch);

    golf_ring *r = golf_ring_new(sizeof(int), 4);
    int x = 7, y = 0;
    if (r == NULL || golf_ring_try_push(r, &x) != GOLF_OK || golf_ring_try_pop(r, &y) != GOLF_OK ||
        y != 7)
        return 1;
    golf_ring_free(r);

    golf_map *mp = golf_map_new();
    void *val = NULL;
    if (mp == NULL || golf_map_store(mp, "k", 1, &got) != GOLF_OK ||
        !golf_map_load(mp, "k", 1, &val) || val != &got)
        return 1;
    golf_map_free(mp);

    golf_pool *p = golf_pool_new(NULL);
    void *obj = malloc(64);
    golf_pool_put(p, obj);
    void *back = golf_pool_get(p);
    golf_pool_put(p, back);
    golf_pool_free(p);

    printf("consumer: golf %s works (%s)\n", GOLF_VERSION_STRING, golf_strerror(GOLF_ECLOSED));
    return 0;
}
