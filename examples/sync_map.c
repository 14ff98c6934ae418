/* SPDX-License-Identifier: MIT */
/* Live settings in a golf_map (Go's sync.Map): readers look settings up all the time while one
 * writer replaces them. Each value is a heap object; the writer swaps in a new one and hands the
 * old one to golf_map_retire, which frees it once no reader can still be looking at it. Readers
 * use what they loaded only inside golf_map_read_lock()/golf_map_read_unlock().
 *
 *     var settings sync.Map
 *     settings.Store("timeout_ms", &Setting{...})
 *     v, ok := settings.Load("timeout_ms")            // readers
 *     old, loaded := settings.Swap("timeout_ms", new) // the writer; Go's GC frees old
 *     settings.Range(func(k, v any) bool { ...; return true })
 *
 * C has no garbage collector: golf_map_retire(m, old, free) is what makes the Swap safe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golf/golf.h"

enum { READERS = 3, LOADS = 100000, UPDATES = 2000 };

static const char *const keys[] = {"timeout_ms", "max_conns", "log_level"};
enum { NKEYS = sizeof keys / sizeof keys[0] };

typedef struct {
    int version; /* how many times the writer replaced it */
    int value;   /* 100 * (key index + 1) + version: a reader can tell a torn or freed value */
} setting;

static setting *
new_setting(int key, int version)
{
    setting *s = malloc(sizeof *s);
    if (s == NULL)
        abort();
    *s = (setting){.version = version, .value = 100 * (key + 1) + version};
    return s;
}

typedef struct {
    golf_map *m;
    long bad; /* loads that missed or saw an inconsistent value */
} reader_arg;

static void
reader(void *p)
{
    reader_arg *r = p;
    for (int i = 0; i < LOADS; i++) {
        int k = i % NKEYS;
        void *v;
        golf_map_read_lock(); /* v stays valid until the unlock, even if it is retired meanwhile */
        if (!golf_map_load(r->m, keys[k], strlen(keys[k]), &v))
            r->bad++;
        else if (((setting *)v)->value != 100 * (k + 1) + ((setting *)v)->version)
            r->bad++;
        golf_map_read_unlock();
    }
}

static void
writer(void *p)
{
    golf_map *m = p;
    for (int version = 1; version <= UPDATES; version++)
        for (int k = 0; k < NKEYS; k++) {
            void *old;
            bool loaded;
            if (golf_map_swap(m, keys[k], strlen(keys[k]), new_setting(k, version), &old,
                              &loaded) != GOLF_OK)
                abort();
            if (loaded)
                golf_map_retire(m, old, free); /* free(old) once every reader is past it */
        }
}

/* golf_map_range's callback: prints one setting and counts it. */
static bool
print_setting(const void *key, size_t klen, void *value, void *arg)
{
    const setting *s = value;
    printf("%.*s = %d (version %d)\n", (int)klen, (const char *)key, s->value, s->version);
    *(int *)arg += s->version == UPDATES;
    return true; /* false would stop the walk */
}

int
main(void)
{
    golf_map *m = golf_map_new();
    if (m == NULL)
        return 1;
    for (int k = 0; k < NKEYS; k++)
        golf_map_store(m, keys[k], strlen(keys[k]), new_setting(k, 0));

    golf_waitgroup wg = {0};
    reader_arg r[READERS];
    for (int i = 0; i < READERS; i++) {
        r[i] = (reader_arg){.m = m};
        golf_waitgroup_go(&wg, reader, &r[i]);
    }
    golf_waitgroup_go(&wg, writer, m);
    golf_waitgroup_wait(&wg);

    int latest = 0;
    golf_map_range(m, print_setting, &latest);
    long bad = 0;
    for (int i = 0; i < READERS; i++)
        bad += r[i].bad;
    printf("%d readers, %ld bad loads; %d of %d settings at version %d\n", READERS, bad, latest,
           NKEYS, UPDATES);

    /* Teardown: no other thread uses the map now, so the last values can be freed directly. */
    for (int k = 0; k < NKEYS; k++) {
        void *v;
        if (golf_map_load_and_delete(m, keys[k], strlen(keys[k]), &v))
            free(v);
    }
    golf_map_free(m); /* returns after every retired free has run */
    return bad == 0 && latest == NKEYS ? 0 : 1;
}
