/* SPDX-License-Identifier: MIT */
/* Two independent tasks run in parallel, each on its own input, each delivering its result on
 * its own channel; main collects both in whichever order they finish, with a select:
 *
 *     words := make(chan int); primes := make(chan int)
 *     go func() { words <- countWords(text) }()
 *     go func() { primes <- countPrimes(1, 200000) }()
 *     for i := 0; i < 2; i++ {
 *         select { case w := <-words: ...; case p := <-primes: ... }
 *     }
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "golf/golf.h"

static const char text[] =
    "Do not communicate by sharing memory; instead, share memory by communicating. "
    "Channels orchestrate; mutexes serialize. Concurrency is not parallelism.";

typedef struct {
    const char *text;
    golf_chan *out;
} words_task;

static long
count_words(const char *s)
{
    long n = 0;
    bool in_word = false;
    for (; *s; s++) {
        bool w = isalpha((unsigned char)*s) || *s == '\'';
        n += w && !in_word;
        in_word = w;
    }
    return n;
}

static void
words(void *p)
{
    words_task *t = p;
    long n = count_words(t->text);
    golf_chan_send(t->out, &n);
}

typedef struct {
    long lo, hi;
    golf_chan *out;
} primes_task;

static long
count_primes(long lo, long hi)
{
    long n = 0;
    for (long i = lo < 2 ? 2 : lo; i < hi; i++) {
        bool p = true;
        for (long d = 2; d * d <= i && p; d++)
            p = i % d != 0;
        n += p;
    }
    return n;
}

static void
primes(void *p)
{
    primes_task *t = p;
    long n = count_primes(t->lo, t->hi);
    golf_chan_send(t->out, &n);
}

int
main(void)
{
    golf_chan *wch = golf_chan_new(sizeof(long), 0), *pch = golf_chan_new(sizeof(long), 0);
    golf_waitgroup wg = {0};
    words_task wt = {text, wch};
    primes_task pt = {1, 200000, pch};
    golf_waitgroup_go(&wg, words, &wt);
    golf_waitgroup_go(&wg, primes, &pt);

    long nwords = -1, nprimes = -1, v;
    for (int i = 0; i < 2; i++) {
        golf_case cases[] = {{.ch = wch, .op = GOLF_RECV, .elem = &v},
                             {.ch = pch, .op = GOLF_RECV, .elem = &v}};
        int r = golf_select(cases, 2);
        if (r == 0) {
            nwords = v;
            printf("words:  %ld\n", v);
        } else {
            nprimes = v;
            printf("primes below 200000: %ld\n", v);
        }
    }
    golf_waitgroup_wait(&wg);
    golf_chan_free(wch);
    golf_chan_free(pch);

    /* The same answers computed one after the other. */
    bool ok = nwords == count_words(text) && nprimes == 17984;
    printf("%s\n", ok ? "both results ok" : "WRONG");
    return ok ? 0 : 1;
}
