/* SPDX-License-Identifier: MIT */
/* golf_pool under LeakSanitizer (the ASan build): after pools are freed, including pools whose
 * objects sat in per-CPU slots, in per-thread caches of live threads, and in caches of threads
 * that exited, nothing golf or the objects allocated is left unreachable. Criterion's workers
 * end without LSan's exit-time check, so the test asks for a check itself. Elsewhere it only
 * runs the scenario. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>

#include "pool_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

static void *
churn(void *arg)
{
    golf_pool *p = arg;
    void *h[100];
    for (int r = 0; r < 20; r++) {
        for (int i = 0; i < 100; i++)
            h[i] = golf_pool_get(p);
        for (int i = 0; i < 100; i++)
            golf_pool_put(p, h[i]);
    }
    return NULL;
}

static void
scenario(int percpu)
{
    pool_mode(percpu);
    tcount c = {0};
    golf_pool_options o = tobj_options(&c);
    golf_pool *p = golf_pool_new(&o);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) /* exit with objects cached */
        pthread_create(&t[i], NULL, churn, p);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    churn(p); /* this thread keeps its cache (fallback) past the free */
    golf_pool_trim(p);
    churn(p);
    golf_pool_free(p);
    cr_assert_eq(c.created, c.freed);
    cr_assert_eq(c.bad, 0);
    /* A pool with free_object NULL: plain free(). */
    golf_pool_options m = {tobj_new, NULL, &c};
    p = golf_pool_new(&m);
    churn(p);
    golf_pool_free(p);
}

static void
check_leaks(void)
{
#ifdef HAVE_LSAN
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "LeakSanitizer found leaks (see stderr)");
#endif
}

Test(pool_leaks, nothing_leaks_percpu, .timeout = 60)
{
    scenario(1);
    check_leaks();
}

Test(pool_leaks, nothing_leaks_thread_cache, .timeout = 60)
{
    scenario(0);
    check_leaks();
}
