/* SPDX-License-Identifier: MIT */
/* A correct program, built with -fsanitize=thread against the installed golf-tsan flavour: it
 * passes plain (non-atomic) data between threads through every golf structure and relies on golf
 * alone for the ordering. ThreadSanitizer must report nothing, with no suppressions file (the
 * test runs it with TSAN_OPTIONS unset and fails on any report). Each message is written by one
 * thread, handed over, then read, checked, overwritten and freed by another, so a hand-over that
 * TSan cannot see shows up as a race. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <golf/golf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 2000 /* messages per channel phase; small: every access is instrumented */

typedef struct msg {
    long id;
    long payload[6]; /* payload[i] == id * 7 + i */
} msg;

static int failures;

static void
fail(const char *what)
{
    fprintf(stderr, "consumer_tsan: FAILED: %s\n", what);
    failures++;
}

static msg *
msg_new(long id)
{
    msg *m = malloc(sizeof *m);
    if (m == NULL) {
        perror("malloc");
        exit(1);
    }
    m->id = id;
    for (int i = 0; i < 6; i++)
        m->payload[i] = id * 7 + i;
    return m;
}

/* Reads every field, then writes them (a race with any access of the sender's shows), then
 * frees: the new owner's whole use of the message. */
static bool
msg_consume(msg *m)
{
    bool ok = true;
    for (int i = 0; i < 6; i++)
        ok = ok && m->payload[i] == m->id * 7 + i;
    memset(m, 0xa5, sizeof *m);
    free(m);
    return ok;
}

/* ---- channels: buffered and unbuffered ---- */

typedef struct chan_job {
    golf_chan *ch;
    int bad;
} chan_job;

static void
chan_receiver(void *arg)
{
    chan_job *j = arg;
    msg *m;
    while (golf_chan_recv(j->ch, &m) == GOLF_OK)
        if (!msg_consume(m))
            j->bad++;
}

static void
phase_chan(size_t cap)
{
    golf_chan *ch = golf_chan_new(sizeof(msg *), cap);
    chan_job j = {ch, 0};
    golf_waitgroup wg = {0};
    if (ch == NULL || golf_waitgroup_go(&wg, chan_receiver, &j) != GOLF_OK) {
        fail("chan setup");
        return;
    }
    for (long i = 0; i < N; i++) {
        msg *m = msg_new(i);
        golf_chan_send(ch, &m);
    }
    golf_chan_close(ch);
    golf_waitgroup_wait(&wg);
    if (j.bad)
        fail(cap ? "buffered channel: bad message" : "unbuffered channel: bad message");
    golf_chan_free(ch);
}

/* ---- select: one thread select-sends to two channels, two receive; then two send and one
 * select-receives from both ---- */

static void
select_sender(void *arg)
{
    golf_chan **chs = arg;
    for (long i = 0; i < N; i++) {
        msg *m = msg_new(i);
        golf_case cases[2] = {{chs[0], GOLF_SEND, &m, 0}, {chs[1], GOLF_SEND, &m, 0}};
        golf_select(cases, 2);
    }
    golf_chan_close(chs[0]);
    golf_chan_close(chs[1]);
}

static void
plain_sender(void *arg)
{
    golf_chan *ch = arg;
    for (long i = 0; i < N / 2; i++) {
        msg *m = msg_new(i);
        golf_chan_send(ch, &m);
    }
    golf_chan_close(ch);
}

static void
phase_select(void)
{
    golf_chan *chs[2] = {golf_chan_new(sizeof(msg *), 0), golf_chan_new(sizeof(msg *), 3)};
    if (chs[0] == NULL || chs[1] == NULL) {
        fail("select setup");
        return;
    }
    chan_job j0 = {chs[0], 0}, j1 = {chs[1], 0};
    golf_waitgroup wg = {0};
    golf_waitgroup_go(&wg, chan_receiver, &j0);
    golf_waitgroup_go(&wg, chan_receiver, &j1);
    golf_waitgroup_go(&wg, select_sender, chs);
    golf_waitgroup_wait(&wg);
    if (j0.bad || j1.bad)
        fail("select send: bad message");
    golf_chan_free(chs[0]);
    golf_chan_free(chs[1]);

    chs[0] = golf_chan_new(sizeof(msg *), 0);
    chs[1] = golf_chan_new(sizeof(msg *), 2);
    if (chs[0] == NULL || chs[1] == NULL) {
        fail("select setup");
        return;
    }
    golf_waitgroup_go(&wg, plain_sender, chs[0]);
    golf_waitgroup_go(&wg, plain_sender, chs[1]);
    golf_chan *live[2] = {chs[0], chs[1]};
    int open = 2, bad = 0;
    while (open > 0) {
        msg *m0 = NULL, *m1 = NULL;
        golf_case cases[2] = {{live[0], GOLF_RECV, &m0, 0}, {live[1], GOLF_RECV, &m1, 0}};
        int k = golf_select(cases, 2);
        if (k < 0) {
            fail("select receive");
            break;
        }
        if (cases[k].status == GOLF_ECLOSED) {
            live[k] = NULL; /* a NULL channel's case is never ready */
            open--;
            continue;
        }
        if (!msg_consume(k == 0 ? m0 : m1))
            bad++;
    }
    golf_waitgroup_wait(&wg);
    if (bad)
        fail("select receive: bad message");
    golf_chan_free(chs[0]);
    golf_chan_free(chs[1]);
}

/* ---- close as a broadcast: the closer's writes before close, the woken receivers' reads ---- */

static struct {
    long table[64];
    golf_chan *start;
} config;

static void
config_reader(void *arg)
{
    int *bad = arg;
    if (golf_chan_recv(config.start, NULL) != GOLF_ECLOSED)
        (*bad)++;
    for (int i = 0; i < 64; i++)
        if (config.table[i] != i * i)
            (*bad)++;
}

static void
phase_close(void)
{
    golf_waitgroup wg = {0};
    int bad[4] = {0};
    config.start = golf_chan_new(0, 0);
    if (config.start == NULL) {
        fail("close setup");
        return;
    }
    for (int i = 0; i < 4; i++)
        golf_waitgroup_go(&wg, config_reader, &bad[i]);
    for (int i = 0; i < 64; i++) /* after the readers started: only close orders this */
        config.table[i] = i * i;
    golf_chan_close(config.start);
    golf_waitgroup_wait(&wg);
    for (int i = 0; i < 4; i++)
        if (bad[i])
            fail("close broadcast: stale data");
    golf_chan_free(config.start);
}

/* ---- map: store/swap/load, read sections, retire (its fn runs on golf's worker thread),
 * load_and_delete as a hand-over ---- */

static golf_map *map;
static atomic_int map_writer_done;

static void
retired_msg(void *value)
{
    if (!msg_consume(value))
        fprintf(stderr, "consumer_tsan: retired message was bad\n"), abort();
}

static void
map_writer(void *arg)
{
    (void)arg;
    for (long i = 0; i < N; i++) {
        void *prev = NULL;
        bool loaded = false;
        if (golf_map_swap(map, "cur", 3, msg_new(i), &prev, &loaded) != GOLF_OK)
            abort();
        if (loaded)
            golf_map_retire(map, prev, retired_msg);
        /* A message handed to one taker through the map. */
        golf_map_store(map, &i, sizeof i, msg_new(i));
    }
    atomic_store(&map_writer_done, 1);
}

static void
map_reader(void *arg)
{
    int *bad = arg;
    long taken = 0;
    while (!atomic_load(&map_writer_done) || taken < N) {
        void *v;
        golf_map_read_lock();
        if (golf_map_load(map, "cur", 3, &v)) {
            const msg *m = v;
            for (int i = 0; i < 6; i++)
                if (m->payload[i] != m->id * 7 + i)
                    (*bad)++;
        }
        golf_map_read_unlock();
        if (golf_map_load_and_delete(map, &taken, sizeof taken, &v)) {
            if (!msg_consume(v))
                (*bad)++;
            taken++;
        }
    }
}

static void
phase_map(void)
{
    map = golf_map_new();
    if (map == NULL) {
        fail("map setup");
        return;
    }
    int bad[2] = {0};
    golf_waitgroup wg = {0};
    golf_waitgroup_go(&wg, map_writer, NULL);
    golf_waitgroup_go(&wg, map_reader, &bad[0]);
    golf_waitgroup_wait(&wg);
    void *last;
    if (golf_map_load_and_delete(map, "cur", 3, &last))
        golf_map_retire(map, last, retired_msg);
    golf_map_free(map); /* waits for every retired fn */
    if (bad[0] || bad[1])
        fail("map: bad message");
}

/* ---- pool: one thread puts messages, another gets them, a third trims ---- */

static golf_pool *pool;
static atomic_int pool_done;

static void
pool_free_object(void *obj, void *ctx)
{
    (void)ctx;
    if (!msg_consume(obj))
        fprintf(stderr, "consumer_tsan: pool freed a bad message\n"), abort();
}

static void
pool_putter(void *arg)
{
    (void)arg;
    for (long i = 0; i < N; i++)
        golf_pool_put(pool, msg_new(i));
    atomic_store(&pool_done, 1);
}

static void
pool_getter(void *arg)
{
    int *bad = arg;
    for (;;) {
        bool done = atomic_load(&pool_done);
        msg *m = golf_pool_get(pool);
        if (m == NULL) {
            if (done)
                break;
            continue;
        }
        if (!msg_consume(m))
            (*bad)++;
    }
}

static void
pool_trimmer(void *arg)
{
    (void)arg;
    const struct timespec ms = {0, 1000000};
    while (!atomic_load(&pool_done)) {
        golf_pool_trim(pool);
        nanosleep(&ms, NULL);
    }
}

static void
phase_pool(void)
{
    golf_pool_options opts = {NULL, pool_free_object, NULL};
    pool = golf_pool_new(&opts);
    if (pool == NULL) {
        fail("pool setup");
        return;
    }
    int bad = 0;
    golf_waitgroup wg = {0};
    golf_waitgroup_go(&wg, pool_putter, NULL);
    golf_waitgroup_go(&wg, pool_getter, &bad);
    golf_waitgroup_go(&wg, pool_trimmer, NULL);
    golf_waitgroup_wait(&wg);
    golf_pool_free(pool);
    if (bad)
        fail("pool: bad message");
}

/* ---- locks, once, wait groups ---- */

static golf_mutex mu;
static golf_rwmutex rw;
static golf_once once;
static long counter, pair_x, pair_y, once_value;

static void
once_init(void *arg)
{
    once_value = (long)(intptr_t)arg;
}

static void
lock_worker(void *arg)
{
    int *bad = arg;
    golf_once_do(&once, once_init, (void *)(intptr_t)42);
    if (once_value != 42)
        (*bad)++;
    for (int i = 0; i < 500; i++) {
        golf_mutex_lock(&mu);
        counter++;
        golf_mutex_unlock(&mu);
        if (i % 4 == 0) {
            golf_rwmutex_lock(&rw);
            pair_x++;
            pair_y++;
            golf_rwmutex_unlock(&rw);
        } else {
            golf_rwmutex_rlock(&rw);
            if (pair_x != pair_y)
                (*bad)++;
            golf_rwmutex_runlock(&rw);
        }
    }
}

static long results[4];

static void *
wg_pthread(void *arg)
{
    golf_waitgroup *wg = arg;
    results[3] = 3;
    golf_waitgroup_done(wg);
    return NULL;
}

static void
wg_worker(void *arg)
{
    long i = (long)(intptr_t)arg;
    results[i] = i;
}

static void
phase_sync(void)
{
    int bad[4] = {0};
    golf_waitgroup wg = {0};
    for (int i = 0; i < 4; i++)
        golf_waitgroup_go(&wg, lock_worker, &bad[i]);
    golf_waitgroup_wait(&wg);
    if (counter != 4 * 500 || pair_x != 4 * 125 || pair_x != pair_y)
        fail("mutex/rwmutex: lost update");
    for (int i = 0; i < 4; i++)
        if (bad[i])
            fail("once/rwmutex: bad read");

    golf_waitgroup_add(&wg, 1);
    pthread_t t;
    if (pthread_create(&t, NULL, wg_pthread, &wg) != 0) {
        fail("pthread_create");
        return;
    }
    pthread_detach(t);
    for (long i = 0; i < 3; i++)
        golf_waitgroup_go(&wg, wg_worker, (void *)(intptr_t)i);
    golf_waitgroup_wait(&wg);
    for (long i = 0; i < 4; i++)
        if (results[i] != i)
            fail("waitgroup: result not seen");
}

int
main(void)
{
    phase_chan(0);
    phase_chan(4);
    phase_select();
    phase_close();
    phase_map();
    phase_pool();
    phase_sync();
    if (failures)
        return 1;
    printf("consumer_tsan: golf %s works\n", GOLF_VERSION_STRING);
    return 0;
}
