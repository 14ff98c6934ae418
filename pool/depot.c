/* SPDX-License-Identifier: MIT */
/* The magazine depot (Bonwick's depot layer): lists of magazines under one short mutex. Both
 * front ends reach it through depot.h only; it knows nothing of slots or thread caches. */
#include "depot.h"

#include "golf/error.h"
#include "lockfree/alloc.h"
#include "lockfree/chaos.h"
#include "lockfree/debug.h"
#include "lockfree/fatal.h"

#include <errno.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Empty magazines kept for reuse (beyond: free()). */
#define GOLF__POOL_SPARE_MAGS 8

int
golf__depot_init(golf__pool_depot *d, size_t cap, void (*free_object)(void *, void *), void *ctx)
{
    d->primary = (golf__pool_maglist){NULL, 0};
    d->victim = (golf__pool_maglist){NULL, 0};
    d->spare = NULL;
    d->nspare = 0;
    d->cap = cap;
    d->free_object = free_object;
    d->ctx = ctx;
    return pthread_mutex_init(&d->mu, NULL) == 0 ? GOLF_OK : GOLF_ENOMEM;
}

void
golf__depot_lock(golf__pool_depot *d)
{
    GOLF__POINT(POOL_DEPOT);
    if (pthread_mutex_lock(&d->mu) != 0)
        golf__fatal("golf: pool mutex lock failed");
}

void
golf__depot_unlock(golf__pool_depot *d)
{
    pthread_mutex_unlock(&d->mu);
}

/* I3, for GOLF__ASSERT (debug tier only): true if d->mu is held, by us as the callers' contract
 * says (a default mutex held by another thread also answers true: a check that can miss, never
 * a false alarm). */
static inline bool
depot_held(golf__pool_depot *d)
{
    int r = pthread_mutex_trylock(&d->mu);
    if (r == 0)
        pthread_mutex_unlock(&d->mu);
    return r == EBUSY;
}

golf__pool_mag *
golf__depot_take_empty(golf__pool_depot *d)
{
    GOLF__ASSERT(depot_held(d), "I3 pool: the depot changed without its mutex");
    golf__pool_mag *m = d->spare;
    GOLF__ASSERT(!m || m->n == 0, "I5 pool: a spare magazine is not empty");
    if (m) {
        d->spare = m->next;
        d->nspare--;
    } else {
        m = golf__malloc(sizeof *m);
        if (!m)
            return NULL;
    }
    m->next = NULL;
    m->n = 0;
    return m;
}

void
golf__depot_give_empty(golf__pool_depot *d, golf__pool_mag *m)
{
    /* A spare magazine is empty (I5): whatever its objs[] still names now belongs to someone
     * else (a thread cache, a caller), so a stale n here would make free free those objects. */
    m->n = 0;
    if (d->nspare < GOLF__POOL_SPARE_MAGS) {
        m->next = d->spare;
        d->spare = m;
        d->nspare++;
    } else {
        free(m);
    }
}

golf__pool_mag *
golf__depot_take_full(golf__pool_depot *d)
{
    golf__pool_mag *m = d->primary.head;
    if (m) {
        d->primary.head = m->next;
        d->primary.objs -= m->n;
    }
    return m;
}

void
golf__depot_give_full(golf__pool_depot *d, golf__pool_mag *m)
{
    GOLF__ASSERT(depot_held(d), "I3 pool: the depot changed without its mutex");
    GOLF__ASSERT(m->n >= 1 && m->n <= GOLF__POOL_MAG_CAP,
                 "I1 pool: a full magazine's count is outside 1..GOLF__POOL_MAG_CAP");
    m->next = d->primary.head;
    d->primary.head = m;
    d->primary.objs += m->n;
}

bool
golf__depot_has_room(const golf__pool_depot *d)
{
    return d->primary.objs + GOLF__POOL_MAG_CAP <= d->cap;
}

/* Appends objs to list l, filling the head magazine first. Returns how many did not fit in
 * `limit` objects or could not get a magazine (moved to the front of objs). */
static size_t
maglist_add(golf__pool_depot *d, golf__pool_maglist *l, void **objs, size_t n, size_t limit)
{
    size_t i = 0;
    while (i < n && l->objs < limit) {
        golf__pool_mag *m = l->head;
        if (!m || m->n == GOLF__POOL_MAG_CAP) {
            m = golf__depot_take_empty(d);
            if (!m)
                break;
            m->next = l->head;
            l->head = m;
        }
        m->objs[m->n++] = objs[i++];
        l->objs++;
    }
    if (i < n)
        memmove(objs, objs + i, (n - i) * sizeof *objs);
    return n - i;
}

size_t
golf__depot_add(golf__pool_depot *d, void **objs, size_t n)
{
    return maglist_add(d, &d->primary, objs, n, d->cap);
}

size_t
golf__depot_add_victim(golf__pool_depot *d, void **objs, size_t n)
{
    return maglist_add(d, &d->victim, objs, n, SIZE_MAX);
}

static void *
maglist_take_one(golf__pool_depot *d, golf__pool_maglist *l)
{
    golf__pool_mag *m = l->head;
    if (!m)
        return NULL;
    void *obj = m->objs[--m->n];
    l->objs--;
    if (m->n == 0) {
        l->head = m->next;
        golf__depot_give_empty(d, m);
    }
    return obj;
}

void *
golf__depot_take_one(golf__pool_depot *d)
{
    void *obj = maglist_take_one(d, &d->primary);
    return obj ? obj : maglist_take_one(d, &d->victim);
}

/* Detaches a whole list; the caller frees it with golf__depot_free_mags after unlocking. */
static golf__pool_mag *
maglist_detach(golf__pool_maglist *l)
{
    golf__pool_mag *h = l->head;
    *l = (golf__pool_maglist){NULL, 0};
    return h;
}

golf__pool_mag *
golf__depot_age(golf__pool_depot *d)
{
    golf__pool_mag *old = maglist_detach(&d->victim);
    d->victim = d->primary;
    d->primary = (golf__pool_maglist){NULL, 0};
    return old;
}

void
golf__depot_free_objs(golf__pool_depot *d, void **objs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (d->free_object)
            d->free_object(objs[i], d->ctx);
        else
            free(objs[i]);
    }
}

void
golf__depot_free_mags(golf__pool_depot *d, golf__pool_mag *m)
{
    while (m) {
        golf__pool_mag *next = m->next;
        golf__depot_free_objs(d, m->objs, m->n);
        free(m);
        m = next;
    }
}

void
golf__depot_destroy(golf__pool_depot *d)
{
    golf__depot_lock(d);
    golf__pool_mag *a = maglist_detach(&d->primary);
    golf__pool_mag *b = maglist_detach(&d->victim);
    golf__pool_mag *sp = d->spare;
    d->spare = NULL;
    d->nspare = 0;
    golf__depot_unlock(d);
    golf__depot_free_mags(d, a);
    golf__depot_free_mags(d, b);
    /* Spare magazines are empty (I5): memory only, never the objects their objs[] names. */
    while (sp) {
        golf__pool_mag *next = sp->next;
        free(sp);
        sp = next;
    }
    pthread_mutex_destroy(&d->mu);
}
