/* SPDX-License-Identifier: MIT */
/* Lazy initialisation with golf_once (Go's sync.Once): a CRC-32 lookup table is built the first
 * time any thread needs it, by exactly one thread; every other thread that arrives meanwhile
 * waits until it is complete, and later ones just use it:
 *
 *     var tableOnce sync.Once
 *     var table [256]uint32
 *     func crc32(data []byte) uint32 {
 *         tableOnce.Do(buildTable)
 *         ...
 *     }
 *
 * golf_once_do's return guarantees the table is fully written (Go's memory model: the return of
 * fn synchronizes before the return of every Do), with no lock taken after the first call. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "golf/golf.h"

enum { THREADS = 8 };

static golf_once table_once; /* zero value: not done yet */
static uint32_t table[256];
static atomic_int builds; /* how many times build_table ran */

static void
build_table(void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1; /* the reflected IEEE polynomial */
        table[i] = c;
    }
    atomic_fetch_add(&builds, 1);
}

static uint32_t
crc32(const void *data, size_t n)
{
    golf_once_do(&table_once, build_table, NULL);
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;
    while (n--)
        c = table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

typedef struct {
    const char *text;
    uint32_t crc;
} job;

static void
checksum(void *p)
{
    job *j = p;
    j->crc = crc32(j->text, strlen(j->text));
}

int
main(void)
{
    golf_waitgroup wg = {0};
    job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) { /* they all race to build the table */
        jobs[i] = (job){.text = "The quick brown fox jumps over the lazy dog"};
        golf_waitgroup_go(&wg, checksum, &jobs[i]);
    }
    golf_waitgroup_wait(&wg);

    int wrong = 0;
    for (int i = 0; i < THREADS; i++)
        wrong += jobs[i].crc != 0x414FA339u; /* the well-known CRC-32 of that sentence */
    printf("crc32 = %08x in %d threads, %d wrong; table built %d time(s)\n", (unsigned)jobs[0].crc,
           THREADS, wrong, atomic_load(&builds));
    return wrong == 0 && atomic_load(&builds) == 1 ? 0 : 1;
}
