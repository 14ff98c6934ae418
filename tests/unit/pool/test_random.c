/* SPDX-License-Identifier: MIT */
/* golf_pool against ref_pool: random get/put/trim sequences run in lockstep on both, one thread
 * pinned to one CPU (so the per-CPU pool behaves as one cache, like the reference). Both serve
 * primary before victim and both free exactly the victim at trim, so they must agree on: whether
 * get finds an object, how many objects each trim frees, and how many are cached. Each side also
 * checks its own objects: never handed out twice, freed only while cached, freed once. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdlib.h>

#include "pool_test.h"
#include "ref_pool.h"

enum { MAXOBJ = 4096 };

typedef enum { ST_NONE, ST_HELD, ST_CACHED, ST_FREED } obj_state;

typedef struct model {
    obj_state st[MAXOBJ + 1]; /* by object id */
    long freed;
    long bad;
} model;

static void
m_free(void *obj, void *ctx)
{
    model *m = ctx;
    tobj *o = obj;
    if (o->id > MAXOBJ || m->st[o->id] != ST_CACHED)
        m->bad++;
    m->st[o->id] = ST_FREED;
    m->freed++;
    free(o);
}

static void
run(int percpu, uint64_t seed)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
    pool_mode(percpu);

    static model mg, mr;
    mg = (model){0};
    mr = (model){0};
    tcount ids = {0}; /* one id space for both sides; objects are distinct */
    golf_pool_options og = {NULL, m_free, &mg};
    golf_pool_options orf = {NULL, m_free, &mr};
    golf_pool *g = golf_pool_new(&og);
    ref_pool *r = ref_pool_new(&orf);
    tobj *hg[256], *hr[256];
    int nhg = 0, nhr = 0;
    long cached_g = 0, cached_r = 0;
    uint64_t s = seed;
    for (int step = 0; step < 20000; step++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned x = (unsigned)(s >> 33) % 100;
        /* At most 128 held: below every cap, so golf never frees excess on put. */
        if (x < 45 && nhg < 128) {
            /* get: from the pool if it has any, else a fresh object on both sides */
            tobj *a = golf_pool_get(g);
            tobj *b = ref_pool_get(r);
            cr_assert_eq(a == NULL, b == NULL, "step %d: golf get %p, ref get %p", step, (void *)a,
                         (void *)b);
            if (!a) {
                cr_assert_eq(cached_g, 0);
                if (ids.created + 2 > MAXOBJ)
                    continue;
                a = tobj_new(&ids);
                b = tobj_new(&ids);
            } else {
                cr_assert_eq(mg.st[a->id], ST_CACHED, "golf returned an object it did not cache");
                cr_assert_eq(mr.st[b->id], ST_CACHED);
                cached_g--;
                cached_r--;
            }
            mg.st[a->id] = ST_HELD;
            mr.st[b->id] = ST_HELD;
            hg[nhg++] = a;
            hr[nhr++] = b;
        } else if (x < 95 && nhg > 0) {
            unsigned i = (unsigned)(s >> 20) % (unsigned)nhg;
            tobj *a = hg[i], *b = hr[i];
            hg[i] = hg[--nhg];
            hr[i] = hr[--nhr];
            mg.st[a->id] = ST_CACHED;
            mr.st[b->id] = ST_CACHED;
            golf_pool_put(g, a);
            ref_pool_put(r, b);
            cached_g++;
            cached_r++;
        } else if (x >= 95) {
            long fg = mg.freed, fr = mr.freed;
            golf_pool_trim(g);
            ref_pool_trim(r);
            cr_assert_eq(mg.freed - fg, mr.freed - fr, "step %d: trim freed %ld (ref %ld)", step,
                         mg.freed - fg, mr.freed - fr);
            cached_g -= mg.freed - fg;
            cached_r -= mr.freed - fr;
        }
        cr_assert_eq(cached_g, cached_r);
        cr_assert_eq((long)ref_pool_len(r), cached_r);
    }
    golf_pool_trim(g);
    golf_pool_trim(g);
    for (int i = 0; i < nhg; i++) {
        golf_pool_put(g, hg[i]);
        mg.st[hg[i]->id] = ST_CACHED;
        ref_pool_put(r, hr[i]);
        mr.st[hr[i]->id] = ST_CACHED;
    }
    golf_pool_free(g);
    ref_pool_free(r);
    cr_assert_eq(mg.bad, 0, "golf freed an object it did not cache, or twice");
    cr_assert_eq(mr.bad, 0);
    /* Every object made ends freed (none held now): nothing lost, nothing kept. */
    for (uint64_t id = 1; id <= (uint64_t)ids.created; id++) {
        obj_state a = mg.st[id], b = mr.st[id];
        cr_assert(a == ST_NONE || a == ST_FREED, "golf object %lu not freed", (unsigned long)id);
        cr_assert(b == ST_NONE || b == ST_FREED, "ref object %lu not freed", (unsigned long)id);
    }
}

Test(pool_random, lockstep_with_ref_percpu, .timeout = 60)
{
    for (uint64_t seed = 1; seed <= 8; seed++)
        run(1, seed * 0x9E3779B97F4A7C15ull);
}

Test(pool_random, lockstep_with_ref_thread_cache, .timeout = 60)
{
    for (uint64_t seed = 1; seed <= 8; seed++)
        run(0, seed * 0x9E3779B97F4A7C15ull);
}
