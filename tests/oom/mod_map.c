/* SPDX-License-Identifier: MIT */
/* golf_map under a failing malloc, from a cold process: the first new and store, stores that
 * grow the table, clear, retire, free, and the RCU registration behind them (oom.h).
 *
 * A model of the map (which keys are present, with which value) follows every answer: GOLF_OK
 * applies the operation, GOLF_ENOMEM must leave the map unchanged. The map is checked against
 * the model during the run and once allocation works again, when every key must be storable. */
#include "oom.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "golf/syncmap.h"

/* Keys 0..NSHORT-1 are 8 bytes (stored inline), the rest LONG_KLEN bytes (a key block each). */
enum { NKEYS = 400, NSHORT = 300, LONG_KLEN = 40 };

static bool present[NKEYS];
static uintptr_t value_of[NKEYS];
static bool touched[NKEYS];

static size_t
key_bytes(int i, unsigned char *buf)
{
    memset(buf, 0, LONG_KLEN);
    uint64_t v = (uint64_t)i * 0x9E3779B97F4A7C15u + 1;
    memcpy(buf, &v, sizeof v);
    if (i < NSHORT)
        return sizeof v;
    memset(buf + sizeof v, 'k', LONG_KLEN - sizeof v);
    return LONG_KLEN;
}

static void
m_store(golf_map *m, int i, uintptr_t v)
{
    unsigned char k[LONG_KLEN];
    size_t kl = key_bytes(i, k);
    touched[i] = true;
    if (OOM_RC(golf_map_store(m, k, kl, (void *)v), "golf_map_store")) {
        present[i] = true;
        value_of[i] = v;
    }
}

static void
m_load_or_store(golf_map *m, int i, uintptr_t v)
{
    unsigned char k[LONG_KLEN];
    size_t kl = key_bytes(i, k);
    void *actual = (void *)1;
    bool loaded = true;
    touched[i] = true;
    if (!OOM_RC(golf_map_load_or_store(m, k, kl, (void *)v, &actual, &loaded),
                "golf_map_load_or_store")) {
        OOM_CHECK(actual == (void *)1 && loaded, "load_or_store: out-parameters written on ENOMEM");
        return;
    }
    OOM_CHECK(loaded == present[i], "load_or_store %d: loaded %d, model %d", i, loaded, present[i]);
    OOM_CHECK((uintptr_t)actual == (loaded ? value_of[i] : v), "load_or_store %d: actual", i);
    present[i] = true;
    value_of[i] = (uintptr_t)actual;
}

static void
m_swap(golf_map *m, int i, uintptr_t v)
{
    unsigned char k[LONG_KLEN];
    size_t kl = key_bytes(i, k);
    void *prev = (void *)1;
    bool loaded = true;
    touched[i] = true;
    if (!OOM_RC(golf_map_swap(m, k, kl, (void *)v, &prev, &loaded), "golf_map_swap")) {
        OOM_CHECK(prev == (void *)1 && loaded, "swap: out-parameters written on ENOMEM");
        return;
    }
    OOM_CHECK(loaded == present[i], "swap %d: loaded %d, model %d", i, loaded, present[i]);
    OOM_CHECK((uintptr_t)prev == (loaded ? value_of[i] : 0), "swap %d: previous", i);
    present[i] = true;
    value_of[i] = v;
}

static void
m_delete(golf_map *m, int i)
{
    unsigned char k[LONG_KLEN];
    size_t kl = key_bytes(i, k);
    void *v = NULL;
    bool had = golf_map_load_and_delete(m, k, kl, &v);
    OOM_CHECK(had == present[i], "load_and_delete %d: %d, model %d", i, had, present[i]);
    OOM_CHECK(!had || (uintptr_t)v == value_of[i], "load_and_delete %d: value", i);
    present[i] = false;
}

/* The map holds exactly the model. */
static void
m_verify(golf_map *m)
{
    size_t n = 0;
    for (int i = 0; i < NKEYS; i++) {
        unsigned char k[LONG_KLEN];
        size_t kl = key_bytes(i, k);
        void *v = NULL;
        bool got = golf_map_load(m, k, kl, &v);
        OOM_CHECK(got == present[i], "key %d: present %d, model %d", i, got, present[i]);
        OOM_CHECK(!got || (uintptr_t)v == value_of[i], "key %d: value %p, model %#lx", i, v,
                  (unsigned long)value_of[i]);
        n += present[i];
    }
    OOM_CHECK(golf_map_len(m) == n, "len %zu, model %zu", golf_map_len(m), n);
}

/* Allocation works again: the map is as the model says, and every key touched can be stored. */
static void
m_finish(golf_map *m)
{
    oom_disarm();
    m_verify(m);
    for (int i = 0; i < NKEYS; i++) {
        if (!touched[i])
            continue;
        unsigned char k[LONG_KLEN];
        size_t kl = key_bytes(i, k);
        OOM_CHECK(golf_map_store(m, k, kl, (void *)(uintptr_t)(i + 7)) == GOLF_OK,
                  "store after recovery");
        present[i] = true;
        value_of[i] = (uintptr_t)(i + 7);
    }
    m_verify(m);
    golf_map_free(m);
}

static bool
map_works(void)
{
    golf_map *m = golf_map_new();
    if (m == NULL)
        return false;
    bool ok = golf_map_store(m, "k", 1, NULL) == GOLF_OK && golf_map_load(m, "k", 1, NULL);
    golf_map_free(m);
    return ok;
}

static golf_map *
m_new(void)
{
    golf_map *m = golf_map_new();
    if (!OOM_PTR(m, "golf_map_new"))
        oom_recovered(map_works);
    return m;
}

/* A fresh process's first map: its creation (the deferred-work worker), the first read section
 * (liburcu registration), the first stores of short and long keys, overwrites, a delete. */
static void
first_store(void)
{
    oom_start();
    golf_map *m = m_new();
    m_store(m, 0, 10);
    m_store(m, NSHORT, 11);
    m_load_or_store(m, 1, 12);
    m_load_or_store(m, NSHORT + 1, 13);
    m_swap(m, 2, 14);
    m_swap(m, NSHORT + 2, 15);
    m_store(m, 0, 16);
    m_load_or_store(m, NSHORT, 17);
    m_swap(m, 1, 18);
    m_delete(m, NSHORT + 1);
    m_verify(m);
    m_finish(m);
}

/* Stores that grow the table five times (and fill overflow buckets, and retire old tables),
 * with the same keys then overwritten and some deleted (garbage key blocks). */
static void
grow(void)
{
    oom_start();
    golf_map *m = m_new();
    for (int i = 0; i < NKEYS; i++) {
        m_store(m, i, (uintptr_t)i + 1);
        if (i % 50 == 49)
            m_verify(m);
    }
    for (int i = NSHORT; i < NKEYS; i += 3)
        m_delete(m, i);
    m_verify(m);
    m_finish(m);
}

/* Clear of a grown map (its new table is an allocation; without it clear unlinks in place):
 * empty either way; then stores into the cleared map. */
static void
clear(void)
{
    oom_start();
    golf_map *m = m_new();
    for (int i = 0; i < 100; i++) {
        m_store(m, i, (uintptr_t)i + 1);
        m_store(m, NSHORT + i, (uintptr_t)i + 2);
    }
    golf_map_clear(m);
    memset(present, 0, sizeof present);
    m_verify(m);
    m_store(m, 5, 55);
    m_store(m, NSHORT + 5, 56);
    m_verify(m);
    m_finish(m);
}

/* golf_map_retire outside a read section (inside one, out of memory is fatal: DEVIATIONS.md):
 * each fn runs exactly once, by the time golf_map_free returns. */
enum { NRETIRE = 24 };
static int retire_runs[NRETIRE];

static void
retired_fn(void *v)
{
    retire_runs[(uintptr_t)v]++;
}

static void
retire(void)
{
    oom_start();
    golf_map *m = m_new();
    for (int i = 0; i < 8; i++)
        m_store(m, NSHORT + i, (uintptr_t)i + 1);
    for (uintptr_t i = 0; i < NRETIRE; i++) {
        golf_map_retire(m, (void *)i, retired_fn);
        if (i == NRETIRE / 2)
            for (int j = 0; j < 8; j++)
                m_delete(m, NSHORT + j); /* deferred frees of key blocks among the retires */
    }
    m_verify(m);
    golf_map_free(m);
    for (int i = 0; i < NRETIRE; i++)
        OOM_CHECK(retire_runs[i] == 1, "retired value %d ran %d times", i, retire_runs[i]);
}

/* golf_map_free of a grown map with retired values and garbage, the sweep starting at the free
 * (the map is built with allocation working). */
static void
free_map(void)
{
    golf_map *m = golf_map_new();
    OOM_CHECK(m != NULL, "golf_map_new");
    for (int i = 0; i < NKEYS; i++)
        m_store(m, i, (uintptr_t)i + 1);
    for (int i = NSHORT; i < NKEYS; i += 2)
        m_delete(m, i);
    for (uintptr_t i = 0; i < NRETIRE; i++)
        golf_map_retire(m, (void *)i, retired_fn);
    oom_start();
    golf_map_free(m);
    for (int i = 0; i < NRETIRE; i++)
        OOM_CHECK(retire_runs[i] == 1, "retired value %d ran %d times", i, retire_runs[i]);
    oom_disarm();
    OOM_CHECK(map_works(), "a new map after the free");
}

/* Threads that use the map, exit, and are followed by more threads (which reuse their stacks),
 * then a grace period: with the application's pthread keys filling glibc's first block, each
 * thread's exit hook is a pthread_setspecific that allocates. */
static void *
thread_user(void *arg)
{
    golf_map *m = arg;
    unsigned char k[LONG_KLEN];
    size_t kl = key_bytes(3, k);
    (void)golf_map_load(m, k, kl, NULL);
    golf_map_read_lock();
    golf_map_read_unlock();
    return NULL;
}

static void
threads(void)
{
    oom_start();
    golf_map *m = m_new();
    m_store(m, 3, 33);
    for (int round = 0; round < 4; round++) {
        pthread_t t;
        if (pthread_create(&t, NULL, thread_user, m) != 0)
            continue; /* glibc out of memory for the thread: nothing of golf's to check */
        pthread_join(t, NULL);
        m_store(m, NSHORT + round, (uintptr_t)round + 1); /* a long key: a block to free later */
        m_delete(m, NSHORT + round);
    }
    m_verify(m);
    m_finish(m); /* golf_map_free: grace periods over the registry those threads left */
}

/* The first read section and the first map of a process whose next fork-handler registration
 * allocates (golf's handlers are registered with the thread-exit key, on first use). */
static void
first_use_atfork(void)
{
    oom_start();
    golf_map_read_lock();
    golf_map_read_unlock();
    golf_map *m = m_new();
    m_store(m, 0, 1);
    m_finish(m);
}

const oom_scenario oom_map_scenarios[] = {
    {"map_first_store", NULL, first_store},
    {"map_grow", NULL, grow},
    {"map_clear", NULL, clear},
    {"map_retire", NULL, retire},
    {"map_free", NULL, free_map},
    {"map_threads_many_keys", oom_fill_keys, threads},
    {"map_first_use_atfork", oom_fill_atfork, first_use_atfork},
    {NULL, NULL, NULL},
};
