/* SPDX-License-Identifier: MIT */
/* Regression (issue bug 7, second half): application threads registered with liburcu-memb.
 *
 * An application that uses liburcu-memb itself registers its threads. Before the fix golf
 * registered such a thread again on its first map call and liburcu's assertion aborted the
 * process; golf must notice the registration, use it, and leave it alone at thread exit (the
 * application unregisters its own threads). A thread golf registered itself and then sees
 * registered by nobody else must still be unregistered by golf at exit. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <urcu/urcu-memb.h>

#include "golf/syncmap.h"
#include "regress/regress.h"

enum { KEYS = 20000, THREADS = 3 };

static golf_map *m;

static void
noop(void *v)
{
    (void)v;
}

static void
use_map(uint64_t base)
{
    for (uint64_t k = base; k < base + KEYS; k++)
        REGRESS_CHECK(golf_map_store(m, &k, 8, (void *)(uintptr_t)(k + 1)) == GOLF_OK, "store");
    for (uint64_t k = base; k < base + KEYS; k += 2) {
        void *v;
        REGRESS_CHECK(golf_map_load_and_delete(m, &k, 8, &v) && (uintptr_t)v == k + 1, "delete");
        golf_map_retire(m, v, noop);
    }
    golf_map_read_lock();
    golf_map_read_unlock();
}

static void *
app_registered_thread(void *arg)
{
    uint64_t base = (uint64_t)(uintptr_t)arg;
    urcu_memb_register_thread(); /* the application's own registration */
    use_map(base);
    /* The application's own read section, nested with golf's. */
    urcu_memb_read_lock();
    golf_map_read_lock();
    void *v;
    REGRESS_CHECK(golf_map_load(m, &(uint64_t){base + 1}, 8, &v), "load in nested sections");
    golf_map_read_unlock();
    urcu_memb_read_unlock();
    urcu_memb_unregister_thread(); /* golf must not have unregistered it, nor do it again */
    /* After the application unregistered it, golf registers the thread on its own. */
    use_map(base + 10 * KEYS);
    return NULL;
}

int
main(void)
{
    regress_watchdog(120);
    urcu_memb_register_thread(); /* the main thread too, before golf's first call */
    m = golf_map_new();
    REGRESS_CHECK(m != NULL, "golf_map_new");
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, app_registered_thread, (void *)(uintptr_t)(i * 100 * KEYS));
    use_map(1000 * KEYS);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    urcu_memb_synchronize_rcu(); /* the application's own grace period still works */
    golf_map_free(m);
    urcu_memb_unregister_thread();
    printf("ok: %d application-registered threads used a map\n", THREADS + 1);
    return 0;
}
