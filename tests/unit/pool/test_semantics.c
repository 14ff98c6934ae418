/* SPDX-License-Identifier: MIT */
/* golf_pool: the semantics of include/golf/pool.h, in both front ends (per-CPU rseq and per-thread
 * fallback), and the intent of Go's src/sync/pool_test.go (TestPool, TestPoolNew). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lockfree/percpu.h"
#include "pool_test.h"

static void *
count_new(void *ctx)
{
    int *n = ctx;
    ++*n;
    return malloc(16);
}

static void
empty_pool(int percpu)
{
    pool_mode(percpu);
    golf_pool *p = golf_pool_new(NULL);
    cr_assert_not_null(p);
    cr_assert_null(golf_pool_get(p), "empty pool without new_object returns NULL");
    golf_pool_put(p, NULL); /* ignored */
    cr_assert_null(golf_pool_get(p), "put(NULL) must not cache anything");
    golf_pool_trim(p);
    cr_assert_null(golf_pool_get(p));
    golf_pool_free(p);

    int made = 0;
    golf_pool_options o = {count_new, NULL, &made};
    p = golf_pool_new(&o);
    void *a = golf_pool_get(p);
    void *b = golf_pool_get(p);
    cr_assert(a && b && a != b);
    cr_assert_eq(made, 2, "new_object runs once per get on an empty pool");
    golf_pool_put(p, a);
    golf_pool_put(p, b);
    golf_pool_free(p); /* free_object NULL: free(); ASan checks nothing leaks */
    golf_pool_free(NULL);
}

Test(pool, empty_pool_percpu, .timeout = 10)
{
    empty_pool(1);
}
Test(pool, empty_pool_thread_cache, .timeout = 10)
{
    empty_pool(0);
}

static void
round_trips(int percpu)
{
    pool_mode(percpu);
    tcount c = {0};
    golf_pool_options o = tobj_options(&c);
    golf_pool *p = golf_pool_new(&o);
    tobj *a = golf_pool_get(p);
    cr_assert_eq(c.created, 1);
    golf_pool_put(p, a);
    /* Go's TestPool without the GC: a put object comes back (same thread, no trim; a
     * migration between the calls could hide it in another CPU's slot, so retry a little). */
    tobj *b = NULL;
    for (int i = 0; i < 100 && b != a; i++) {
        b = golf_pool_get(p);
        if (b != a)
            golf_pool_put(p, b);
    }
    cr_assert_eq(b, a, "the object put is returned by a later get");
    golf_pool_put(p, b);
    /* Many at once: all distinct, all come back, nothing created beyond what was needed. */
    enum { N = 300 };
    tobj *h[N];
    for (int i = 0; i < N; i++) {
        h[i] = golf_pool_get(p);
        cr_assert(tobj_claim(h[i], 1), "object handed out twice");
    }
    long created = c.created;
    for (int i = 0; i < N; i++) {
        cr_assert(tobj_release(h[i], 1));
        golf_pool_put(p, h[i]);
    }
    for (int i = 0; i < N; i++) {
        h[i] = golf_pool_get(p);
        cr_assert(tobj_claim(h[i], 2), "object handed out twice");
    }
    for (int i = 0; i < N; i++) {
        cr_assert(tobj_release(h[i], 2));
        golf_pool_put(p, h[i]);
    }
    cr_assert(c.created - created <= N, "the pool kept at least what its caps allow");
    golf_pool_free(p);
    cr_assert_eq(c.created, c.freed, "free frees every cached object");
    cr_assert_eq(c.bad, 0);
}

Test(pool, round_trips_percpu, .timeout = 20)
{
    round_trips(1);
}
Test(pool, round_trips_thread_cache, .timeout = 20)
{
    round_trips(0);
}

static void
trim_generations(int percpu)
{
    pool_mode(percpu);
    tcount c = {0};
    golf_pool_options o = tobj_options(&c);
    golf_pool *p = golf_pool_new(&o);
    enum { N = 200 };
    tobj *h[N];
    for (int i = 0; i < N; i++)
        h[i] = golf_pool_get(p);
    for (int i = 0; i < N; i++)
        golf_pool_put(p, h[i]);
    long cached = c.created - c.freed; /* the caps may have freed some on put */
    cr_assert(cached > 0);
    golf_pool_trim(p); /* primary -> victim; nothing freed (no victim yet) */
    cr_assert_eq(c.created - c.freed, cached, "the first trim frees nothing put after no trim");
    /* The victim still serves get (Go: victim cache). */
    tobj *v = golf_pool_get(p);
    long created = c.created;
    cr_assert_eq(created, c.created);
    cr_assert(v->magic == TOBJ_MAGIC);
    golf_pool_put(p, v); /* v is primary again */
    golf_pool_trim(p);   /* frees the victim (cached - 1 objects), v becomes victim */
    cr_assert_eq(c.created - c.freed, 1, "second trim frees what the first trim kept");
    golf_pool_trim(p);
    cr_assert_eq(c.created, c.freed, "two trims with no put between leave the pool empty");
    /* Empty now: get makes new objects. */
    tobj *n = golf_pool_get(p);
    cr_assert_eq(c.created, created + 1);
    golf_pool_put(p, n);
    golf_pool_free(p);
    cr_assert_eq(c.created, c.freed);
    cr_assert_eq(c.bad, 0);
}

Test(pool, trim_twice_frees_all_percpu, .timeout = 20)
{
    trim_generations(1);
}
Test(pool, trim_twice_frees_all_thread_cache, .timeout = 20)
{
    trim_generations(0);
}

Test(pool, percpu_front_end_is_used_here, .timeout = 10)
{
    /* This machine has glibc >= 2.35 with rseq and membarrier-rseq: the normal build must test
     * the rseq path, not silently fall back. */
#if GOLF__HAVE_RSEQ
    if (__rseq_size < 20)
        cr_skip_test("glibc did not register rseq (GLIBC_TUNABLES=glibc.pthread.rseq=0?)");
    cr_assert(golf__rseq_usable(), "rseq per-CPU front end unavailable on this system");
#else
    cr_skip_test("built without rseq (not x86-64, or TSan)");
#endif
}

Test(pool, memory_is_bounded, .timeout = 20)
{
    tcount c = {0};
    golf_pool_options o = tobj_options(&c);
    golf_pool *p = golf_pool_new(&o);
    enum { N = 20000 };
    tobj **h = malloc(N * sizeof *h);
    for (int i = 0; i < N; i++)
        h[i] = golf_pool_get(p);
    for (int i = 0; i < N; i++)
        golf_pool_put(p, h[i]);
    long kept = c.created - c.freed;
    /* Caps: 62 per CPU slot or thread cache, 4 magazines of 31 per CPU in the depot. */
    long bound = (long)golf__ncpu_slots() * (62 + 4 * 31) + 62;
    cr_assert(kept <= bound, "kept %ld objects, bound %ld", kept, bound);
    cr_assert(kept >= 62, "kept only %ld", kept);
    free(h);
    golf_pool_free(p);
    cr_assert_eq(c.created, c.freed);
    cr_assert_eq(c.bad, 0);
}

Test(pool, usable_in_a_forked_child, .timeout = 20)
{
    /* The child inherits the slots and must re-register membarrier-rseq for trim's fence. */
    tcount c = {0};
    golf_pool_options o = tobj_options(&c);
    golf_pool *p = golf_pool_new(&o);
    golf_pool_put(p, golf_pool_get(p));
    golf_pool_trim(p);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        tobj *a = golf_pool_get(p);
        golf_pool_put(p, a);
        golf_pool_trim(p);
        golf_pool_trim(p);
        golf_pool_trim(p);
        _exit(c.created == c.freed && c.bad == 0 ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    golf_pool_free(p);
    cr_assert_eq(c.created, c.freed);
}
