/* SPDX-License-Identifier: MIT */
/* What the race detector costs a golf user: the same program built against golf
 * (`pkg-config --static golf`) and against golf-tsan with -fsanitize=thread. Prints ns per
 * operation, the median of 5 rounds, for: a buffered channel (cap 64) and an unbuffered one,
 * one sender and one receiver; a map, two threads doing 90% loads and 10% stores on 1024 keys.
 * README.md, "Race detector", has the commands and the numbers. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <golf/golf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROUNDS 5
#define KEYS 1024

static double
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct job {
    golf_chan *ch;
    golf_map *map;
    long n;
    unsigned seed;
} job;

static void
chan_sender(void *arg)
{
    job *j = arg;
    for (long i = 0; i < j->n; i++)
        golf_chan_send(j->ch, &i);
}

static double
round_chan(size_t cap, long n)
{
    job j = {golf_chan_new(sizeof(long), cap), NULL, n, 0};
    golf_waitgroup wg = {0};
    if (j.ch == NULL)
        exit(1);
    double t0 = now_ns();
    golf_waitgroup_go(&wg, chan_sender, &j);
    long v, sum = 0;
    for (long i = 0; i < n; i++) {
        golf_chan_recv(j.ch, &v);
        sum += v;
    }
    golf_waitgroup_wait(&wg);
    double t = now_ns() - t0;
    golf_chan_free(j.ch);
    if (sum != n * (n - 1) / 2)
        exit(1);
    return t / (double)n;
}

static long key_vals[KEYS];

static void
map_worker(void *arg)
{
    job *j = arg;
    for (long i = 0; i < j->n; i++) {
        j->seed = j->seed * 1103515245u + 12345u;
        unsigned k = (j->seed >> 8) % KEYS;
        void *v;
        if ((j->seed >> 20) % 10 == 0)
            golf_map_store(j->map, &k, sizeof k, &key_vals[k]);
        else if (golf_map_load(j->map, &k, sizeof k, &v) && v != &key_vals[k])
            exit(1);
    }
}

static double
round_map(long n)
{
    golf_map *m = golf_map_new();
    if (m == NULL)
        exit(1);
    for (unsigned k = 0; k < KEYS; k++)
        golf_map_store(m, &k, sizeof k, &key_vals[k]);
    job a = {NULL, m, n, 1}, b = {NULL, m, n, 2};
    golf_waitgroup wg = {0};
    double t0 = now_ns();
    golf_waitgroup_go(&wg, map_worker, &a);
    golf_waitgroup_go(&wg, map_worker, &b);
    golf_waitgroup_wait(&wg);
    double t = now_ns() - t0;
    golf_map_free(m);
    return t / (double)(2 * n);
}

int
main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    const char *names[3] = {"chan_buffered_1to1", "chan_unbuffered_1to1", "map_90load_2threads"};
    for (int w = 0; w < 3; w++) {
        double r[ROUNDS];
        for (int i = 0; i < ROUNDS; i++)
            r[i] = w == 0 ? round_chan(64, n) : w == 1 ? round_chan(0, n / 4) : round_map(n);
        qsort(r, ROUNDS, sizeof r[0], cmp_double);
        printf("%-22s %10.1f ns/op (min %.1f, max %.1f)\n", names[w], r[ROUNDS / 2], r[0],
               r[ROUNDS - 1]);
    }
    return 0;
}
