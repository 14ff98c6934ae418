/* SPDX-License-Identifier: MIT */
/* Chaos schedules (lockfree/chaos.h) and the invariant-failure path (lockfree/debug.h).
 *
 * Reproducibility: each thread draws from its own generator (splitmix64), started from the
 * seed and the thread's index, and the index is the order in which threads first reach a site
 * (0 for the first). So for a given seed, thread k's sequence of decisions (its n-th site does
 * the n-th decision) is fixed; the run as a whole repeats where the threads reach their first
 * site in the same order and pass the same sites, which the OS scheduler does not promise:
 * a seed reproduces a perturbation, not an interleaving. */
#include "chaos.h"
#include "debug.h"

#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

golf__chaos_flag golf__chaos;

/* Read-mostly too, but only on the chaos path: no need for a line of its own. */
static uint64_t chaos_seed;
static _Atomic uint32_t chaos_next_index; /* the next thread's index */
static _Atomic uint32_t chaos_generation; /* bumped by golf__chaos_set: threads reseed */
static _Atomic uint64_t chaos_hits[GOLF__SITE_COUNT];

typedef struct chaos_thread {
    uint64_t state;
    uint32_t generation; /* chaos_generation + 1 when seeded; 0: not yet */
    golf__chaos_step *rec;
    size_t rec_cap, rec_n;
} chaos_thread;

static _Thread_local chaos_thread chaos_self;

static const char *const site_names[GOLF__SITE_COUNT] = {
#define GOLF__CHAOS_NAME(name, what) #name,
    GOLF__CHAOS_SITES(GOLF__CHAOS_NAME)
#undef GOLF__CHAOS_NAME
};

const char *
golf__chaos_site_name(int site)
{
    return site >= 0 && site < GOLF__SITE_COUNT ? site_names[site] : NULL;
}

static uint64_t
splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static void
chaos_seed_thread(chaos_thread *t, uint32_t index, uint32_t gen)
{
    uint64_t s = chaos_seed ^ ((uint64_t)index << 32 | index);
    t->state = splitmix64(&s) ^ chaos_seed;
    t->generation = gen + 1;
}

/* The decision table: about one site in sixteen yields, one in 128 sleeps 1-64 us, one in eight
 * spins up to 1024 pauses; the rest go straight on. Yields and spins reorder threads that share
 * a core; sleeps let the others run through a window while this thread holds it. Rarer than
 * that and the windows are seldom entered; much more often and a yield, which on a loaded
 * machine can cost a time slice, makes the tests' fixed workloads minutes long. */
static golf__chaos_step
chaos_draw(chaos_thread *t, golf__site site)
{
    uint64_t r = splitmix64(&t->state);
    uint32_t u = (uint32_t)(r & 255u), arg = (uint32_t)(r >> 32);
    golf__chaos_step st = {(uint16_t)site, GOLF__CHAOS_NOTHING, 0};
    if (u < 16) {
        st.action = GOLF__CHAOS_YIELD;
    } else if (u < 18) {
        st.action = GOLF__CHAOS_SLEEP;
        st.arg = 1 + (arg & 63u);
    } else if (u < 50) {
        st.action = GOLF__CHAOS_SPIN;
        st.arg = 1 + (arg & 1023u);
    }
    return st;
}

void
golf__chaos_point(golf__site site)
{
    chaos_thread *t = &chaos_self;
    /* relaxed: a counter for reports; the generation is read by this thread only to notice a
     * golf__chaos_set made before it started using golf again. */
    atomic_fetch_add_explicit(&chaos_hits[site], 1, memory_order_relaxed);
    uint32_t gen = atomic_load_explicit(&chaos_generation, memory_order_relaxed);
    if (GOLF__UNLIKELY(t->generation != gen + 1))
        chaos_seed_thread(t, atomic_fetch_add_explicit(&chaos_next_index, 1, memory_order_relaxed),
                          gen);
    golf__chaos_step st = chaos_draw(t, site);
    if (t->rec && t->rec_n < t->rec_cap)
        t->rec[t->rec_n++] = st;
    switch (st.action) {
    case GOLF__CHAOS_SPIN:
        for (uint32_t i = 0; i < st.arg; i++)
            golf__cpu_relax();
        break;
    case GOLF__CHAOS_YIELD:
        sched_yield();
        break;
    case GOLF__CHAOS_SLEEP: {
        struct timespec ts = {0, (long)st.arg * 1000};
        nanosleep(&ts, NULL);
        break;
    }
    default:
        break;
    }
}

void
golf__chaos_set(int on, uint64_t seed)
{
    chaos_seed = seed;
    atomic_store_explicit(&chaos_next_index, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&chaos_generation, 1, memory_order_relaxed);
    /* relaxed: see GOLF__POINT; callers set it while no other thread uses golf. */
    atomic_store_explicit(&golf__chaos.on, on != 0, memory_order_relaxed);
}

size_t
golf__chaos_record(golf__chaos_step *buf, size_t cap)
{
    chaos_thread *t = &chaos_self;
    size_t n = t->rec_n;
    t->rec = buf;
    t->rec_cap = buf ? cap : 0;
    t->rec_n = 0;
    return n;
}

uint64_t
golf__chaos_hits(golf__site site)
{
    /* relaxed: a count for reports. */
    return atomic_load_explicit(&chaos_hits[site], memory_order_relaxed);
}

/* GOLF_CHAOS, read once at load time: unset, empty or "off" -> off (in the GOLF_DEBUG tier:
 * on with seed 1 unless "off"); a decimal number -> on with that seed; anything else -> off,
 * with a message. */
__attribute__((constructor)) static void
chaos_init(void)
{
    const char *env = getenv("GOLF_CHAOS");
#ifdef GOLF_DEBUG
    bool dflt = true;
#else
    bool dflt = false;
#endif
    if (!env || !*env) {
        if (dflt)
            golf__chaos_set(1, 1);
        return;
    }
    if (strcmp(env, "off") == 0)
        return;
    char *end;
    unsigned long long seed = strtoull(env, &end, 10);
    if (*end != '\0' || env[0] == '-') {
        fprintf(stderr, "golf: GOLF_CHAOS=%s is not a seed (a decimal number, or off): chaos off\n",
                env);
        return;
    }
    /* Printed for a seed the user chose only: the debug tier's default stays quiet, so programs
     * that check their own output run unchanged there. */
    fprintf(stderr, "golf: chaos seed %llu\n", seed);
    golf__chaos_set(1, seed);
}

void
golf__assert_fail(const char *what, const char *file, int line, const char *cond)
{
    fprintf(stderr, "golf: invariant broken: %s (%s:%d: %s)\n", what, file, line, cond);
    abort();
}
