/* SPDX-License-Identifier: MIT */
/* The lock-based reference of golf_map: a chained hash table behind one rwlock or mutex. */
#include "ref_map.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "golf/error.h"

typedef struct ref_node {
    struct ref_node *next;
    uint64_t hash;
    void *value;
    size_t klen;
    unsigned char key[];
} ref_node;

typedef struct ref_retired {
    struct ref_retired *next;
    void (*fn)(void *);
    void *value;
} ref_retired;

struct ref_map {
    bool use_mutex;
    pthread_rwlock_t rw;
    pthread_mutex_t mu;
    ref_node **buckets; /* everything below is protected by the lock */
    size_t nbuckets;    /* a power of two */
    size_t len;
    ref_retired *retired;
};

static uint64_t
ref_hash(const void *key, size_t klen)
{
    const unsigned char *p = key;
    uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
    for (size_t i = 0; i < klen; i++)
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    return h ^ (h >> 29);
}

static void
rlock(ref_map *m)
{
    if (m->use_mutex)
        pthread_mutex_lock(&m->mu);
    else
        pthread_rwlock_rdlock(&m->rw);
}

static void
wlock(ref_map *m)
{
    if (m->use_mutex)
        pthread_mutex_lock(&m->mu);
    else
        pthread_rwlock_wrlock(&m->rw);
}

static void
unlock(ref_map *m)
{
    if (m->use_mutex)
        pthread_mutex_unlock(&m->mu);
    else
        pthread_rwlock_unlock(&m->rw);
}

static ref_map *
map_new(bool use_mutex)
{
    ref_map *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->use_mutex = use_mutex;
    pthread_rwlock_init(&m->rw, NULL);
    pthread_mutex_init(&m->mu, NULL);
    m->nbuckets = 16;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (m->buckets == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

ref_map *
ref_map_new(void)
{
    return map_new(false);
}

ref_map *
ref_map_new_mutex(void)
{
    return map_new(true);
}

static void
drop_all(ref_map *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        ref_node *n = m->buckets[i];
        while (n != NULL) {
            ref_node *next = n->next;
            free(n);
            n = next;
        }
        m->buckets[i] = NULL;
    }
    m->len = 0;
}

void
ref_map_free(ref_map *m)
{
    if (m == NULL)
        return;
    drop_all(m);
    free(m->buckets);
    ref_retired *r = m->retired;
    while (r != NULL) {
        ref_retired *next = r->next;
        r->fn(r->value);
        free(r);
        r = next;
    }
    pthread_rwlock_destroy(&m->rw);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static bool
bad(const ref_map *m, const void *key, size_t klen)
{
    return m == NULL || (key == NULL && klen > 0);
}

/* The link pointing at key's node (or at the NULL ending its chain). Under the lock. */
static ref_node **
find(ref_map *m, uint64_t h, const void *key, size_t klen)
{
    ref_node **pp = &m->buckets[h & (m->nbuckets - 1)];
    for (; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->hash == h && (*pp)->klen == klen &&
            (klen == 0 || memcmp((*pp)->key, key, klen) == 0))
            return pp;
    return pp;
}

static void
grow(ref_map *m)
{
    size_t nb = m->nbuckets * 2;
    ref_node **b = calloc(nb, sizeof *b);
    if (b == NULL)
        return; /* stay at this size: chains get longer, nothing breaks */
    for (size_t i = 0; i < m->nbuckets; i++) {
        ref_node *n = m->buckets[i];
        while (n != NULL) {
            ref_node *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

/* Inserts a new node at *pp. Under the write lock. */
static int
insert(ref_map *m, ref_node **pp, uint64_t h, const void *key, size_t klen, void *value)
{
    ref_node *n = malloc(sizeof *n + klen);
    if (n == NULL)
        return GOLF_ENOMEM;
    n->next = NULL;
    n->hash = h;
    n->value = value;
    n->klen = klen;
    if (klen > 0)
        memcpy(n->key, key, klen);
    *pp = n;
    if (++m->len > m->nbuckets)
        grow(m);
    return GOLF_OK;
}

bool
ref_map_load(ref_map *m, const void *key, size_t klen, void **value)
{
    if (bad(m, key, klen))
        return false;
    uint64_t h = ref_hash(key, klen);
    rlock(m);
    ref_node *n = *find(m, h, key, klen);
    if (n != NULL && value != NULL)
        *value = n->value;
    unlock(m);
    return n != NULL;
}

int
ref_map_swap(ref_map *m, const void *key, size_t klen, void *value, void **previous, bool *loaded)
{
    if (bad(m, key, klen))
        return GOLF_EINVAL;
    uint64_t h = ref_hash(key, klen);
    int rc = GOLF_OK;
    void *prev = NULL;
    wlock(m);
    ref_node **pp = find(m, h, key, klen);
    bool found = *pp != NULL;
    if (found) {
        prev = (*pp)->value;
        (*pp)->value = value;
    } else {
        rc = insert(m, pp, h, key, klen, value);
    }
    unlock(m);
    if (rc == GOLF_OK) {
        if (previous != NULL)
            *previous = prev;
        if (loaded != NULL)
            *loaded = found;
    }
    return rc;
}

int
ref_map_store(ref_map *m, const void *key, size_t klen, void *value)
{
    return ref_map_swap(m, key, klen, value, NULL, NULL);
}

int
ref_map_load_or_store(ref_map *m, const void *key, size_t klen, void *value, void **actual,
                      bool *loaded)
{
    if (bad(m, key, klen))
        return GOLF_EINVAL;
    uint64_t h = ref_hash(key, klen);
    int rc = GOLF_OK;
    void *v = value;
    wlock(m);
    ref_node **pp = find(m, h, key, klen);
    bool found = *pp != NULL;
    if (found)
        v = (*pp)->value;
    else
        rc = insert(m, pp, h, key, klen, value);
    unlock(m);
    if (rc == GOLF_OK) {
        if (actual != NULL)
            *actual = v;
        if (loaded != NULL)
            *loaded = found;
    }
    return rc;
}

static bool
remove_key(ref_map *m, const void *key, size_t klen, bool check, void *old, void **value)
{
    if (bad(m, key, klen))
        return false;
    uint64_t h = ref_hash(key, klen);
    bool done = false;
    void *v = NULL;
    wlock(m);
    ref_node **pp = find(m, h, key, klen);
    ref_node *n = *pp;
    if (n != NULL && (!check || n->value == old)) {
        v = n->value;
        *pp = n->next;
        free(n);
        m->len--;
        done = true;
    }
    unlock(m);
    if (done && value != NULL)
        *value = v;
    return done;
}

bool
ref_map_load_and_delete(ref_map *m, const void *key, size_t klen, void **value)
{
    return remove_key(m, key, klen, false, NULL, value);
}

void
ref_map_delete(ref_map *m, const void *key, size_t klen)
{
    (void)remove_key(m, key, klen, false, NULL, NULL);
}

bool
ref_map_compare_and_delete(ref_map *m, const void *key, size_t klen, void *old)
{
    return remove_key(m, key, klen, true, old, NULL);
}

bool
ref_map_compare_and_swap(ref_map *m, const void *key, size_t klen, void *old, void *new_value)
{
    if (bad(m, key, klen))
        return false;
    uint64_t h = ref_hash(key, klen);
    bool done = false;
    wlock(m);
    ref_node *n = *find(m, h, key, klen);
    if (n != NULL && n->value == old) {
        n->value = new_value;
        done = true;
    }
    unlock(m);
    return done;
}

void
ref_map_range(ref_map *m, bool (*fn)(const void *key, size_t klen, void *value, void *arg),
              void *arg)
{
    if (m == NULL || fn == NULL)
        return;
    /* Copy under the lock, call fn without it (Go's RWMutexMap.Range does the same). */
    rlock(m);
    size_t n = 0, cap = m->len;
    ref_node **copy = cap ? malloc(cap * sizeof *copy) : NULL;
    if (copy != NULL) {
        for (size_t i = 0; i < m->nbuckets; i++) {
            for (ref_node *x = m->buckets[i]; x != NULL && n < cap; x = x->next) {
                ref_node *c = malloc(sizeof *c + x->klen);
                if (c == NULL)
                    break;
                memcpy(c, x, sizeof *c + x->klen);
                copy[n++] = c;
            }
        }
    }
    unlock(m);
    size_t i = 0;
    for (; i < n; i++) {
        bool go_on = fn(copy[i]->key, copy[i]->klen, copy[i]->value, arg);
        free(copy[i]);
        if (!go_on) {
            i++;
            break;
        }
    }
    for (; i < n; i++)
        free(copy[i]);
    free(copy);
}

void
ref_map_clear(ref_map *m)
{
    if (m == NULL)
        return;
    wlock(m);
    drop_all(m);
    unlock(m);
}

size_t
ref_map_len(ref_map *m)
{
    if (m == NULL)
        return 0;
    rlock(m);
    size_t n = m->len;
    unlock(m);
    return n;
}

void
ref_map_read_lock(void)
{
}

void
ref_map_read_unlock(void)
{
}

void
ref_map_retire(ref_map *m, void *value, void (*fn)(void *value))
{
    if (m == NULL || fn == NULL)
        return;
    ref_retired *r = malloc(sizeof *r);
    if (r == NULL) {
        fn(value); /* no reader of the reference holds values past its lock */
        return;
    }
    r->fn = fn;
    r->value = value;
    wlock(m);
    r->next = m->retired;
    m->retired = r;
    unlock(m);
}
