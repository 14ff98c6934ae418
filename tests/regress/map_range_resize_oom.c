/* SPDX-License-Identifier: MIT */
/* Regression (issue bug 6): use-after-free in golf_map_range after a resize stopped on allocation
 * failure.
 *
 * Cause: the old table's MOVED chains still link the long-key blocks that the new table now
 * owns. Deleting such a key (in the new table) queues its block for freeing after a grace
 * period, but the old table is still the current one, so a range that starts after that grace
 * period walks the frozen chain and reads the freed block (ASan: heap-use-after-free in
 * range_chain; in a plain build the deleted key shows up, or garbage does).
 *
 * Steps: long keys until a resize stops half-way on allocation failure; the resize is then held
 * there (m->grow_lock, as a preempted resizer holds it) so that allocation can work again; every
 * key in a moved bucket is deleted; more long keys are stored and deleted so the garbage batch
 * holding the blocks is handed to call_rcu; rcu_barrier (the blocks are freed); range must match
 * the model, without touching freed memory. */
#include "lockfree/rcu.h"
#include "map_regress.h"

static model md;

int
main(void)
{
    regress_watchdog(120);
    pin_to_one_cpu(); /* one per-CPU garbage list: the batch fills deterministically */
    int bad = 0;
    golf_map *m = golf_map_new();
    REGRESS_CHECK(m != NULL, "golf_map_new");
    md.is_long = true;
    REGRESS_CHECK(stop_resize_half_way(m, &md), "could not stop a resize half-way");
    pthread_mutex_lock(&m->grow_lock);
    golf__map_table *t = atomic_load_explicit(&m->table, memory_order_acquire);
    printf("resize stopped: %zu of %zu buckets moved\n", t->cursor, t->mask + 1);
    bad += !model_check(m, &md, "right after the resize stopped");

    size_t deleted = 0;
    for (uint64_t i = 0; i < MODEL_MAX / 2; i++)
        if (md.present[i] && key_in_moved_bucket(m, i, true)) {
            model_delete(m, &md, i);
            deleted++;
        }
    REGRESS_CHECK(deleted > 0, "no key in a moved bucket");
    /* Fill this CPU's garbage list past its batch size (64) so the deleted blocks go to
     * call_rcu, then wait for every callback: the blocks are freed. */
    for (uint64_t i = MODEL_MAX - 300; i < MODEL_MAX; i++) {
        model_store(m, &md, i, (void *)(uintptr_t)i);
        model_delete(m, &md, i);
    }
    golf__rcu_barrier();
    printf("deleted %zu keys from moved buckets; their blocks are freed\n", deleted);
    bad += !model_check(m, &md, "range after the deleted keys' blocks were freed");

    pthread_mutex_unlock(&m->grow_lock);
    for (uint64_t i = MODEL_MAX / 2; i < MODEL_MAX / 2 + 256; i++)
        model_store(m, &md, i, (void *)(uintptr_t)(i + 1));
    bad += !model_check(m, &md, "after the resize finished");
    golf_map_free(m);
    if (bad) {
        fprintf(stderr, "FAIL regress_map_range_resize_oom: %d checks failed\n", bad);
        return 1;
    }
    printf("ok regress_map_range_resize_oom\n");
    return 0;
}
