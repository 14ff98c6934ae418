/* SPDX-License-Identifier: MIT */
/* golf_select, golf_select_try, golf_select_timeout: Go's select over n cases.
 *
 * The work is done by golf__select_run() (chan/wait.c), the engine every blocking operation
 * uses; this file checks the cases and finds room for the per-case waiter nodes and the
 * random order. Semantics (include/golf/chan.h): among the ready cases one is chosen uniformly at
 * random (a fresh Fisher-Yates shuffle per pass); NULL-channel cases are never ready; a closed
 * channel makes its send and receive cases ready with status GOLF_ECLOSED; exactly one case
 * takes effect; a thread never pairs its own send with its own receive; a timeout never
 * discards a case a peer already chose (the abort CAS loses and the case is honoured). */
#include "chan/chan_internal.h"
#include "lockfree/alloc.h"

#include <stdlib.h>

/* Cases handled without a heap allocation. */
enum { GOLF__SELECT_STACK_CASES = 16 };

static int
golf__select(golf_case *cases, size_t n, uint64_t deadline, bool nonblocking)
{
    if (n > 0 && !cases)
        return GOLF_EINVAL;
    if (n > GOLF__W_MAX_CASES)
        return GOLF_EINVAL;
    for (size_t i = 0; i < n; i++) {
        golf_case *c = &cases[i];
        if (!c->ch)
            continue;
        if (c->op != GOLF_SEND && c->op != GOLF_RECV)
            return GOLF_EINVAL;
        if (c->op == GOLF_SEND && c->ch->elem_size && !c->elem)
            return GOLF_EINVAL;
    }
    golf__wnode stack_nodes[GOLF__SELECT_STACK_CASES];
    uint32_t stack_perm[GOLF__SELECT_STACK_CASES];
    golf__wnode *nodes = stack_nodes;
    uint32_t *perm = stack_perm;
    void *heap = NULL;
    if (n > GOLF__SELECT_STACK_CASES) {
        heap = golf__malloc(n * (sizeof(golf__wnode) + sizeof(uint32_t)));
        if (!heap)
            return GOLF_ENOMEM;
        nodes = heap;
        perm = (uint32_t *)(nodes + n);
    }
    int r = golf__select_run(cases, n, nodes, perm, deadline, nonblocking);
    free(heap);
    return r;
}

GOLF_API int
golf_select(golf_case *cases, size_t n)
{
    return golf__select(cases, n, GOLF__FOREVER, false);
}

GOLF_API int
golf_select_try(golf_case *cases, size_t n)
{
    return golf__select(cases, n, GOLF__FOREVER, true);
}

GOLF_API int
golf_select_timeout(golf_case *cases, size_t n, uint64_t timeout_ns)
{
    if (timeout_ns == 0) {
        int r = golf__select(cases, n, GOLF__FOREVER, true);
        return r == GOLF_EAGAIN ? GOLF_ETIMEDOUT : r;
    }
    return golf__select(cases, n, golf__deadline(timeout_ns), false);
}
