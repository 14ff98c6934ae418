/* SPDX-License-Identifier: MIT */
/* The mutex reference of golf_pool (see ref_pool.h). Unbounded: it never frees on put. */
#include "ref_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct ref_pool_list {
    void **objs;
    size_t n, cap;
} ref_pool_list;

struct ref_pool {
    pthread_mutex_t mu;
    golf_pool_options opts;
    ref_pool_list primary, victim; /* under mu */
};

static void
release(ref_pool *p, void *obj)
{
    if (p->opts.free_object)
        p->opts.free_object(obj, p->opts.ctx);
    else
        free(obj);
}

ref_pool *
ref_pool_new(const golf_pool_options *opts)
{
    ref_pool *p = calloc(1, sizeof *p);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    if (opts)
        p->opts = *opts;
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

static void
free_list(ref_pool *p, ref_pool_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        release(p, l->objs[i]);
    free(l->objs);
    *l = (ref_pool_list){0};
}

void
ref_pool_free(ref_pool *p)
{
    if (!p)
        return;
    free_list(p, &p->primary);
    free_list(p, &p->victim);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void *
ref_pool_get(ref_pool *p)
{
    void *obj = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->primary.n)
        obj = p->primary.objs[--p->primary.n];
    else if (p->victim.n)
        obj = p->victim.objs[--p->victim.n];
    pthread_mutex_unlock(&p->mu);
    if (!obj && p->opts.new_object)
        obj = p->opts.new_object(p->opts.ctx);
    return obj;
}

void
ref_pool_put(ref_pool *p, void *obj)
{
    if (!obj)
        return;
    pthread_mutex_lock(&p->mu);
    ref_pool_list *l = &p->primary;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        void **o = realloc(l->objs, cap * sizeof *o);
        if (!o) {
            pthread_mutex_unlock(&p->mu);
            release(p, obj); /* out of memory: dropped like an excess object */
            return;
        }
        l->objs = o;
        l->cap = cap;
    }
    l->objs[l->n++] = obj;
    pthread_mutex_unlock(&p->mu);
}

void
ref_pool_trim(ref_pool *p)
{
    pthread_mutex_lock(&p->mu);
    ref_pool_list old = p->victim;
    p->victim = p->primary;
    p->primary = (ref_pool_list){0};
    pthread_mutex_unlock(&p->mu);
    free_list(p, &old);
}

size_t
ref_pool_len(ref_pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->primary.n + p->victim.n;
    pthread_mutex_unlock(&p->mu);
    return n;
}
