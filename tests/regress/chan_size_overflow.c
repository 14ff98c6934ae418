/* SPDX-License-Identifier: MIT */
/* Bug: golf_chan_new / golf_ring_new with a huge elem_size (2^61 - 16, capacity 8) passed the
 * slot-size check, then the header and the rounding wrapped: a 640-byte allocation that
 * initialization overran. Every size that cannot be allocated must give NULL + errno
 * (EINVAL: no such object can exist; ENOMEM: the allocator said no), never a crash.
 * Usage: regress_chan_size_overflow */
#include "regress.h"

#include <errno.h>

#include "golf/chan.h"
#include "golf/ring.h"

/* ASan and TSan would abort on a request above its maximum instead of returning NULL; golf must not
 * reach the allocator with those anyway, but sizes just below the overflow do reach it. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
const char *__tsan_default_options(void);
const char *
__tsan_default_options(void)
{
    return "allocator_may_return_null=1";
}

int
main(void)
{
    const size_t elems[] = {
        (size_t)1 << 61,        ((size_t)1 << 61) - 16, ((size_t)1 << 60) + 1, (size_t)1 << 62,
        ((size_t)1 << 63) - 64, SIZE_MAX - 64,          SIZE_MAX - 7,          SIZE_MAX,
        SIZE_MAX / 2,           SIZE_MAX / 4,           SIZE_MAX / 8 - 40,     (size_t)1 << 58,
    };
    const size_t caps[] = {0, 1, 2, 3, 8, 64, (size_t)1 << 20, (size_t)1 << 40, SIZE_MAX};
    int n = 0;
    for (size_t i = 0; i < sizeof elems / sizeof elems[0]; i++) {
        for (size_t j = 0; j < sizeof caps / sizeof caps[0]; j++) {
            errno = 0;
            golf_chan *ch = golf_chan_new(elems[i], caps[j]);
            if (ch && caps[j] == 0 && elems[i] <= SIZE_MAX / 4) {
                /* Unbuffered: no slots, nothing to overflow; values move between callers. */
                golf_chan_free(ch);
                continue;
            }
            if (ch) { /* impossible for these sizes, but if the allocator agreed: use it */
                golf_chan_free(ch);
                REGRESS_FAIL("golf_chan_new(%zu, %zu) succeeded", elems[i], caps[j]);
            }
            REGRESS_CHECK(errno == EINVAL || errno == ENOMEM, "golf_chan_new(%zu, %zu): errno %d",
                          elems[i], caps[j], errno);
            if (caps[j] == 0)
                continue;
            errno = 0;
            golf_ring *r = golf_ring_new(elems[i], caps[j]);
            REGRESS_CHECK(r == NULL, "golf_ring_new(%zu, %zu) succeeded", elems[i], caps[j]);
            REGRESS_CHECK(errno == EINVAL || errno == ENOMEM, "golf_ring_new(%zu, %zu): errno %d",
                          elems[i], caps[j], errno);
            n++;
        }
    }
    /* Ordinary sizes still work. */
    golf_chan *ch = golf_chan_new(8, 8);
    REGRESS_CHECK(ch, "golf_chan_new(8, 8)");
    golf_chan_free(ch);
    printf("chan_size_overflow: %d huge sizes refused with NULL + errno\n", n);
    return 0;
}
