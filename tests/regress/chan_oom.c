/* SPDX-License-Identifier: MIT */
/* Allocation failure at every allocation site of the channel module, from a cold process:
 * golf_chan_new (buffered and unbuffered), golf_ring_new, and a select over more than 16 cases
 * (its registration nodes come from the heap). Each gives its documented out-of-memory answer
 * (NULL + ENOMEM, GOLF_ENOMEM) and leaves every channel as it was: no value consumed, none
 * added, and the channels still work once allocation succeeds again. Usage: regress_chan_oom */
#include "regress.h"

#include <errno.h>

#include "golf/chan.h"
#include "golf/ring.h"
#include "lockfree/alloc.h"

enum { NCASES = 40 };

int
main(void)
{
    regress_watchdog(120);
    /* Cold: the first allocation golf ever makes fails. */
    golf__alloc_set_fail(0);
    errno = 0;
    REGRESS_CHECK(golf_chan_new(8, 16) == NULL && errno == ENOMEM, "buffered new: errno %d", errno);
    errno = 0;
    REGRESS_CHECK(golf_chan_new(8, 0) == NULL && errno == ENOMEM, "unbuffered new: errno %d",
                  errno);
    errno = 0;
    REGRESS_CHECK(golf_ring_new(8, 16) == NULL && errno == ENOMEM, "ring new: errno %d", errno);
    golf__alloc_set_fail(-1);

    /* A select over NCASES receive cases on buffered channels, each holding one value, and
     * NCASES send cases on full channels: under allocation failure nothing may move. */
    golf_chan *rx[NCASES], *tx[NCASES];
    golf_case cases[2 * NCASES];
    long vals[2 * NCASES];
    for (int i = 0; i < NCASES; i++) {
        rx[i] = golf_chan_new(sizeof(long), 1);
        tx[i] = golf_chan_new(sizeof(long), 1);
        REGRESS_CHECK(rx[i] && tx[i], "new");
        long v = i;
        REGRESS_CHECK(golf_chan_send(rx[i], &v) == GOLF_OK, "fill rx");
        REGRESS_CHECK(golf_chan_send(tx[i], &v) == GOLF_OK, "fill tx");
        cases[2 * i] = (golf_case){rx[i], GOLF_RECV, &vals[2 * i], 0};
        vals[2 * i + 1] = 1000 + i;
        cases[2 * i + 1] = (golf_case){tx[i], GOLF_SEND, &vals[2 * i + 1], 0};
    }
    for (int form = 0; form < 3; form++) {
        golf__alloc_set_fail(0);
        int r = form == 0   ? golf_select(cases, 2 * NCASES)
                : form == 1 ? golf_select_try(cases, 2 * NCASES)
                            : golf_select_timeout(cases, 2 * NCASES, 1000000);
        golf__alloc_set_fail(-1);
        REGRESS_CHECK(r == GOLF_ENOMEM, "select form %d under allocation failure: %d", form, r);
        for (int i = 0; i < NCASES; i++)
            REGRESS_CHECK(golf_chan_len(rx[i]) == 1 && golf_chan_len(tx[i]) == 1,
                          "select form %d changed a channel under allocation failure", form);
    }
    /* Allocation works again: the same select proceeds, exactly one case takes effect. */
    int k = golf_select(cases, 2 * NCASES);
    REGRESS_CHECK(k >= 0 && k < 2 * NCASES && cases[k].status == GOLF_OK, "select after: %d", k);
    size_t total = 0;
    for (int i = 0; i < NCASES; i++)
        total += golf_chan_len(rx[i]) + golf_chan_len(tx[i]);
    REGRESS_CHECK(total == 2 * NCASES - 1, "select after recovery moved %zu values",
                  2 * NCASES - total);
    for (int i = 0; i < NCASES; i++) {
        golf_chan_free(rx[i]);
        golf_chan_free(tx[i]);
    }
    /* And a channel made after the failures works. */
    golf_chan *ch = golf_chan_new(sizeof(long), 0);
    REGRESS_CHECK(ch, "new after");
    golf_chan_free(ch);
    printf("chan_oom: every channel allocation site answers ENOMEM and changes nothing\n");
    return 0;
}
