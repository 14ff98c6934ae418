/* SPDX-License-Identifier: MIT */
/* Map workloads (docs/BENCHMARKS.md): map_load99/90/50 and map_loadorstore_hot, golf beside the
 * ref/ references (one mutex: "ref"; one rwlock: "ref-rw"), ConcurrencyKit's ck_ht (SPMC: loads
 * lock-free, writes under a mutex, byte-string keys like golf's) and liburcu's cds_lfht (memb
 * flavour, values updated in place with an atomic store, inserts with add_unique).
 *
 * Every impl runs the same loop (mix_loop / los_loop), inlined (always_inline) into one worker
 * per impl with its ops table constant, so the per-op calls are direct calls, never through a
 * pointer. */
#include "bench.h"
#include "golf/syncmap.h"
#include "ref_map.h"

#include <ck_ht.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/rculfhash.h>
#include <urcu/urcu-memb.h>

enum {
    MAP_KEYS = 100000,  /* prefilled keys 1..MAP_KEYS, value = key */
    HOT_KEYS = 1000,    /* loadorstore_hot: 90% of ops in 1..HOT_KEYS */
    WIDE_KEYS = 200000, /* ... 10% in 1..WIDE_KEYS (half absent at the start) */
};

/* Key bytes = the 8-byte integer. ck_ht keeps a pointer to the key bytes, so the keys live in
 * one array for the whole run (index = key). */
static uint64_t key_bytes[WIDE_KEYS + 1];

static void
key_bytes_init(void)
{
    for (uint64_t k = 0; k <= WIDE_KEYS; k++)
        key_bytes[k] = k;
}

/* ---- one interface, five implementations ---- */

typedef struct map_ops {
    void *(*make)(void);
    void (*destroy)(void *m);
    bool (*load)(void *m, uint64_t key, uint64_t *value);
    void (*store)(void *m, uint64_t key, uint64_t value);
    uint64_t (*load_or_store)(void *m, uint64_t key, uint64_t value); /* the actual value */
} map_ops;

/* golf */
static void *
golf_make(void)
{
    return golf_map_new();
}
static void
golf_destroy(void *m)
{
    golf_map_free(m);
}
static bool
golf_load(void *m, uint64_t key, uint64_t *value)
{
    void *v;
    if (!golf_map_load(m, &key_bytes[key], 8, &v))
        return false;
    *value = (uint64_t)(uintptr_t)v;
    return true;
}
static void
golf_store(void *m, uint64_t key, uint64_t value)
{
    golf_map_store(m, &key_bytes[key], 8, (void *)(uintptr_t)value);
}
static uint64_t
golf_los(void *m, uint64_t key, uint64_t value)
{
    void *a = NULL;
    golf_map_load_or_store(m, &key_bytes[key], 8, (void *)(uintptr_t)value, &a, NULL);
    return (uint64_t)(uintptr_t)a;
}
static const map_ops golf_ops = {golf_make, golf_destroy, golf_load, golf_store, golf_los};

/* ref: one mutex; ref-rw: one rwlock */
static void *
refm_make(void)
{
    return ref_map_new_mutex();
}
static void *
refrw_make(void)
{
    return ref_map_new();
}
static void
ref_destroy(void *m)
{
    ref_map_free(m);
}
static bool
ref_load(void *m, uint64_t key, uint64_t *value)
{
    void *v;
    if (!ref_map_load(m, &key_bytes[key], 8, &v))
        return false;
    *value = (uint64_t)(uintptr_t)v;
    return true;
}
static void
ref_store(void *m, uint64_t key, uint64_t value)
{
    ref_map_store(m, &key_bytes[key], 8, (void *)(uintptr_t)value);
}
static uint64_t
ref_los(void *m, uint64_t key, uint64_t value)
{
    void *a = NULL;
    ref_map_load_or_store(m, &key_bytes[key], 8, (void *)(uintptr_t)value, &a, NULL);
    return (uint64_t)(uintptr_t)a;
}
static const map_ops refm_ops = {refm_make, ref_destroy, ref_load, ref_store, ref_los};
static const map_ops refrw_ops = {refrw_make, ref_destroy, ref_load, ref_store, ref_los};

/* ck: ck_ht in byte-string mode; writers serialize on a mutex (ck_ht is single-writer). Tables
 * replaced by a grow are freed (defer = true) only after the run, when no reader is left. */
typedef struct ck_map {
    ck_ht_t ht;
    pthread_mutex_t wmu;
} ck_map;

typedef struct ck_deferred {
    struct ck_deferred *next;
} ck_deferred;
static ck_deferred *ck_graveyard; /* under the writers' mutex (or single-threaded) */

static void *
ck_malloc_fn(size_t r)
{
    /* Room in front for the graveyard link. */
    char *p = malloc(r + 16);
    return p ? p + 16 : NULL;
}
static void
ck_free_fn(void *p, size_t b, bool defer)
{
    (void)b;
    if (p == NULL)
        return;
    ck_deferred *d = (ck_deferred *)(void *)((char *)p - 16);
    if (defer) {
        d->next = ck_graveyard;
        ck_graveyard = d;
    } else {
        free(d);
    }
}
static void *
ck_realloc_fn(void *p, size_t old, size_t nw, bool defer)
{
    void *q = ck_malloc_fn(nw);
    if (q != NULL && p != NULL) {
        memcpy(q, p, old < nw ? old : nw);
        ck_free_fn(p, old, defer);
    }
    return q;
}
static struct ck_malloc ck_alloc = {ck_malloc_fn, ck_realloc_fn, ck_free_fn};

static void *
ck_make(void)
{
    ck_map *c = calloc(1, sizeof *c);
    pthread_mutex_init(&c->wmu, NULL);
    if (!ck_ht_init(&c->ht, CK_HT_MODE_BYTESTRING, NULL, &ck_alloc, 1024, 0x9E3779B97F4A7C15u)) {
        free(c);
        return NULL;
    }
    return c;
}
static void
ck_destroy(void *m)
{
    ck_map *c = m;
    ck_ht_destroy(&c->ht);
    while (ck_graveyard != NULL) {
        ck_deferred *n = ck_graveyard->next;
        free(ck_graveyard);
        ck_graveyard = n;
    }
    pthread_mutex_destroy(&c->wmu);
    free(c);
}
static bool
ck_load(void *m, uint64_t key, uint64_t *value)
{
    ck_map *c = m;
    ck_ht_hash_t h;
    ck_ht_entry_t e;
    ck_ht_hash(&h, &c->ht, &key_bytes[key], 8);
    ck_ht_entry_key_set(&e, &key_bytes[key], 8);
    if (!ck_ht_get_spmc(&c->ht, h, &e))
        return false;
    *value = (uint64_t)(uintptr_t)ck_ht_entry_value(&e);
    return true;
}
static void
ck_store(void *m, uint64_t key, uint64_t value)
{
    ck_map *c = m;
    ck_ht_hash_t h;
    ck_ht_entry_t e;
    ck_ht_hash(&h, &c->ht, &key_bytes[key], 8);
    ck_ht_entry_set(&e, h, &key_bytes[key], 8, (void *)(uintptr_t)value);
    pthread_mutex_lock(&c->wmu);
    ck_ht_set_spmc(&c->ht, h, &e);
    pthread_mutex_unlock(&c->wmu);
}
static uint64_t
ck_los(void *m, uint64_t key, uint64_t value)
{
    ck_map *c = m;
    ck_ht_hash_t h;
    ck_ht_entry_t e;
    ck_ht_hash(&h, &c->ht, &key_bytes[key], 8);
    ck_ht_entry_key_set(&e, &key_bytes[key], 8);
    if (ck_ht_get_spmc(&c->ht, h, &e))
        return (uint64_t)(uintptr_t)ck_ht_entry_value(&e);
    pthread_mutex_lock(&c->wmu);
    ck_ht_entry_set(&e, h, &key_bytes[key], 8, (void *)(uintptr_t)value);
    uint64_t actual = value;
    if (!ck_ht_put_spmc(&c->ht, h, &e)) { /* present now: another writer won */
        ck_ht_entry_key_set(&e, &key_bytes[key], 8);
        if (ck_ht_get_spmc(&c->ht, h, &e))
            actual = (uint64_t)(uintptr_t)ck_ht_entry_value(&e);
    }
    pthread_mutex_unlock(&c->wmu);
    return actual;
}
static const map_ops ck_ops = {ck_make, ck_destroy, ck_load, ck_store, ck_los};

/* urcu: cds_lfht (memb flavour). Worker threads register in the worker prologue (uses_urcu);
 * setup and teardown run on a helper thread of their own, since registering the main thread
 * would clash with golf's lazy registration of it. */
typedef struct lf_node {
    struct cds_lfht_node node;
    uint64_t key;
    _Atomic uint64_t value; /* updated in place: relaxed is enough for the benchmark's check,
                               which reads back the key bits written before publication */
    struct rcu_head rcu;
} lf_node;

static unsigned long
lf_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k *= UINT64_C(0xc4ceb9fe1a85ec53);
    return (unsigned long)(k ^ (k >> 33));
}
static int
lf_match(struct cds_lfht_node *n, const void *key)
{
    return caa_container_of(n, lf_node, node)->key == *(const uint64_t *)key;
}
static void *
lf_make(void)
{
    return cds_lfht_new_flavor(1024, 1024, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
                               &urcu_memb_flavor, NULL);
}
static void
lf_free_rcu(struct rcu_head *head)
{
    free(caa_container_of(head, lf_node, rcu));
}
static void
lf_destroy(void *m)
{
    struct cds_lfht *ht = m;
    struct cds_lfht_iter it;
    struct cds_lfht_node *n;
    /* No benchmark reader is left, but the table's own resize worker (the deletions trigger an
     * automatic shrink) still walks the nodes inside read sections: free after a grace period. */
    urcu_memb_read_lock();
    cds_lfht_for_each(ht, &it, n)
    {
        cds_lfht_del(ht, n);
        urcu_memb_call_rcu(&caa_container_of(n, lf_node, node)->rcu, lf_free_rcu);
    }
    urcu_memb_read_unlock();
    cds_lfht_destroy(ht, NULL);
    urcu_memb_barrier(); /* the frees above have run before the next fresh table is timed */
}
static lf_node *
lf_find(struct cds_lfht *ht, uint64_t key)
{
    struct cds_lfht_iter it;
    cds_lfht_lookup(ht, lf_hash(key), lf_match, &key, &it);
    struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
    return n ? caa_container_of(n, lf_node, node) : NULL;
}
static bool
lf_load(void *m, uint64_t key, uint64_t *value)
{
    urcu_memb_read_lock();
    lf_node *n = lf_find(m, key);
    if (n != NULL)
        *value = atomic_load_explicit(&n->value, memory_order_acquire);
    urcu_memb_read_unlock();
    return n != NULL;
}
static void
lf_store(void *m, uint64_t key, uint64_t value)
{
    urcu_memb_read_lock();
    lf_node *n = lf_find(m, key);
    if (n != NULL) {
        atomic_store_explicit(&n->value, value, memory_order_release);
    } else {
        n = malloc(sizeof *n);
        n->key = key;
        atomic_init(&n->value, value);
        cds_lfht_node_init(&n->node);
        cds_lfht_add_replace(m, lf_hash(key), lf_match, &key, &n->node);
    }
    urcu_memb_read_unlock();
}
static uint64_t
lf_los(void *m, uint64_t key, uint64_t value)
{
    uint64_t actual;
    urcu_memb_read_lock();
    lf_node *n = lf_find(m, key);
    if (n != NULL) {
        actual = atomic_load_explicit(&n->value, memory_order_acquire);
    } else {
        lf_node *nn = malloc(sizeof *nn);
        nn->key = key;
        atomic_init(&nn->value, value);
        cds_lfht_node_init(&nn->node);
        struct cds_lfht_node *got = cds_lfht_add_unique(m, lf_hash(key), lf_match, &key, &nn->node);
        if (got != &nn->node) {
            free(nn); /* never published */
            actual = atomic_load_explicit(&caa_container_of(got, lf_node, node)->value,
                                          memory_order_acquire);
        } else {
            actual = value;
        }
    }
    urcu_memb_read_unlock();
    return actual;
}
static const map_ops lf_ops = {lf_make, lf_destroy, lf_load, lf_store, lf_los};

/* ---- the workloads ---- */

typedef struct map_ctx {
    void *m;
    const map_ops *ops;
    uint64_t per;      /* ops per worker */
    unsigned read_pct; /* R */
    bool urcu;         /* workers register with liburcu */
    _Atomic uint64_t bad;
} map_ctx;

/* docs/BENCHMARKS.md: x = next(); key = 1 + (x & 0xffffffff) % 100000; if (x >> 32) % 100 < R load
 * (must hit, low 32 bits of the value == key) else store key | (i << 32). */
static inline __attribute__((always_inline)) void
mix_loop(map_ctx *c, int id, const map_ops *ops)
{
    uint64_t s = gb_seed(id), bad = 0;
    const uint64_t per = c->per;
    const unsigned r = c->read_pct;
    void *m = c->m;
    for (uint64_t i = 0; i < per; i++) {
        uint64_t x = gb_splitmix64(&s);
        uint64_t key = 1 + (x & 0xffffffffu) % MAP_KEYS;
        if ((x >> 32) % 100 < r) {
            uint64_t v;
            if (!ops->load(m, key, &v) || (v & 0xffffffffu) != key)
                bad++;
        } else {
            ops->store(m, key, key | (i << 32));
        }
    }
    atomic_fetch_add_explicit(&c->bad, bad, memory_order_relaxed); /* read after the join */
}

/* loadorstore_hot: 90% key in 1..1000, 10% key in 1..200000; LoadOrStore(key, key); the actual
 * value's low 32 bits must be the key. */
static inline __attribute__((always_inline)) void
los_loop(map_ctx *c, int id, const map_ops *ops)
{
    uint64_t s = gb_seed(id), bad = 0;
    const uint64_t per = c->per;
    void *m = c->m;
    for (uint64_t i = 0; i < per; i++) {
        uint64_t x = gb_splitmix64(&s);
        uint64_t key = (x >> 32) % 100 < 90 ? 1 + (x & 0xffffffffu) % HOT_KEYS
                                            : 1 + (x & 0xffffffffu) % WIDE_KEYS;
        if ((ops->load_or_store(m, key, key) & 0xffffffffu) != key)
            bad++;
    }
    atomic_fetch_add_explicit(&c->bad, bad, memory_order_relaxed); /* read after the join */
}

static void
golf_mix_worker(void *arg, int id)
{
    mix_loop(arg, id, &golf_ops);
}
static void
golf_los_worker(void *arg, int id)
{
    los_loop(arg, id, &golf_ops);
}
static void
refm_mix_worker(void *arg, int id)
{
    mix_loop(arg, id, &refm_ops);
}
static void
refm_los_worker(void *arg, int id)
{
    los_loop(arg, id, &refm_ops);
}
static void
refrw_mix_worker(void *arg, int id)
{
    mix_loop(arg, id, &refrw_ops);
}
static void
refrw_los_worker(void *arg, int id)
{
    los_loop(arg, id, &refrw_ops);
}
static void
ck_mix_worker(void *arg, int id)
{
    mix_loop(arg, id, &ck_ops);
}
static void
ck_los_worker(void *arg, int id)
{
    los_loop(arg, id, &ck_ops);
}

static void
lf_mix_worker(void *arg, int id)
{
    urcu_memb_register_thread();
    mix_loop(arg, id, &lf_ops);
    urcu_memb_unregister_thread();
}
static void
lf_los_worker(void *arg, int id)
{
    urcu_memb_register_thread();
    los_loop(arg, id, &lf_ops);
    urcu_memb_unregister_thread();
}

/* Setup/teardown for the urcu impl on a registered helper thread (see lf_node). */
typedef struct helper_job {
    map_ctx *c;
    bool make;
} helper_job;

static void
prefill(map_ctx *c)
{
    for (uint64_t k = 1; k <= MAP_KEYS; k++)
        c->ops->store(c->m, k, k);
}

static void *
helper_main(void *arg)
{
    helper_job *j = arg;
    urcu_memb_register_thread();
    if (j->make) {
        j->c->m = j->c->ops->make();
        prefill(j->c);
    } else {
        j->c->ops->destroy(j->c->m);
    }
    urcu_memb_unregister_thread();
    return NULL;
}

static void
on_helper(map_ctx *c, bool make)
{
    helper_job j = {c, make};
    pthread_t th;
    pthread_create(&th, NULL, helper_main, &j);
    pthread_join(th, NULL);
}

static void
run_map(int threads, uint64_t n, gb_result *out, const map_ops *ops, bool urcu, unsigned read_pct,
        void (*worker)(void *, int))
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, key_bytes_init);
    map_ctx c = {.ops = ops, .per = n / (uint64_t)threads, .read_pct = read_pct, .urcu = urcu};
    atomic_init(&c.bad, 0);
    if (urcu) {
        on_helper(&c, true);
    } else {
        c.m = ops->make();
        if (c.m != NULL)
            prefill(&c);
    }
    if (c.m == NULL) {
        gb_fail(out, "cannot create the map");
        return;
    }
    out->seconds = gb_run_workers(threads, worker, &c);
    out->ops = c.per * (uint64_t)threads;
    uint64_t bad = atomic_load_explicit(&c.bad, memory_order_relaxed);
    if (bad != 0)
        gb_fail(out, "%llu loads missed or returned another key's value", (unsigned long long)bad);
    if (urcu)
        on_helper(&c, false);
    else
        ops->destroy(c.m);
}

/* One runner per (impl, workload): gb_run_fn has no context argument. */
static void
golf_load99(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &golf_ops, false, 99, golf_mix_worker);
}
static void
golf_load90(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &golf_ops, false, 90, golf_mix_worker);
}
static void
golf_load50(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &golf_ops, false, 50, golf_mix_worker);
}
static void
golf_hot(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &golf_ops, false, 0, golf_los_worker);
}
static void
refm_load99(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &refm_ops, false, 99, refm_mix_worker);
}
static void
refm_load90(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &refm_ops, false, 90, refm_mix_worker);
}
static void
refm_load50(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &refm_ops, false, 50, refm_mix_worker);
}
static void
refm_hot(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &refm_ops, false, 0, refm_los_worker);
}
static void
refrw_load99(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &refrw_ops, false, 99, refrw_mix_worker);
}
static void
refrw_load90(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &refrw_ops, false, 90, refrw_mix_worker);
}
static void
refrw_load50(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &refrw_ops, false, 50, refrw_mix_worker);
}
static void
refrw_hot(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &refrw_ops, false, 0, refrw_los_worker);
}
static void
ck_load99(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &ck_ops, false, 99, ck_mix_worker);
}
static void
ck_load90(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &ck_ops, false, 90, ck_mix_worker);
}
static void
ck_load50(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &ck_ops, false, 50, ck_mix_worker);
}
static void
ck_hot(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &ck_ops, false, 0, ck_los_worker);
}
static void
lf_load99(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &lf_ops, true, 99, lf_mix_worker);
}
static void
lf_load90(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &lf_ops, true, 90, lf_mix_worker);
}
static void
lf_load50(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &lf_ops, true, 50, lf_mix_worker);
}
static void
lf_hot(int t, uint64_t n, gb_result *o)
{
    run_map(t, n, o, &lf_ops, true, 0, lf_los_worker);
}

/* golf first, then the peers: ref (one mutex), ref-rw (one rwlock), ck (ck_ht), urcu (cds_lfht). */
static const gb_workload map_load99 = {
    .name = "map_load99",
    .n = 4000000,
    .threads = {1, 2, 4},
    .impls = {{"golf", golf_load99},
              {"ref", refm_load99},
              {"ref-rw", refrw_load99},
              {"ck", ck_load99},
              {"urcu", lf_load99}},
    .go = true,
};
static const gb_workload map_load90 = {
    .name = "map_load90",
    .n = 4000000,
    .threads = {1, 2, 4},
    .impls = {{"golf", golf_load90},
              {"ref", refm_load90},
              {"ref-rw", refrw_load90},
              {"ck", ck_load90},
              {"urcu", lf_load90}},
    .go = true,
};
static const gb_workload map_load50 = {
    .name = "map_load50",
    .n = 4000000,
    .threads = {1, 2, 4},
    .impls = {{"golf", golf_load50},
              {"ref", refm_load50},
              {"ref-rw", refrw_load50},
              {"ck", ck_load50},
              {"urcu", lf_load50}},
    .go = true,
};
static const gb_workload map_loadorstore_hot = {
    .name = "map_loadorstore_hot",
    .n = 4000000,
    .threads = {1, 2, 4},
    .impls = {{"golf", golf_hot},
              {"ref", refm_hot},
              {"ref-rw", refrw_hot},
              {"ck", ck_hot},
              {"urcu", lf_hot}},
    .go = true,
};
GB_REGISTER(map_load99)
GB_REGISTER(map_load90)
GB_REGISTER(map_load50)
GB_REGISTER(map_loadorstore_hot)
