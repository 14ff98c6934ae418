/* golf/chan.h: Go channels and select (see chan/README.md).
 *
 * Lifetime (when golf_chan_free may be called): once an operation has returned in one thread,
 * and that thread has learnt through golf that every other user of the channel is done, it may
 * free the channel at once; golf's last touch of a channel's memory comes before any operation
 * it completes returns elsewhere. In practice:
 *   - a receiver that gets GOLF_ECLOSED (from golf_chan_recv, a try or timeout form, or a
 *     select case) may free the channel if no other thread still uses it: the closer is done;
 *   - unbuffered: when a send returns, its receiver is done with the channel, and when a
 *     receive returns, its sender is (either side may free it);
 *   - buffered: receiving a value tells you it was sent, *not* that its sender has returned
 *     from golf_chan_send (it may still be checking for waiters). Free a buffered channel after
 *     a close whose GOLF_ECLOSED you received, or after joining the senders.
 * golf_chan_free with threads still blocked on the channel is undefined behaviour. */
#ifndef GOLF_CHAN_H
#define GOLF_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "golf/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct golf_chan golf_chan;
GOLF_API golf_chan *golf_chan_new(size_t elem_size, size_t cap);  /* cap 0 = unbuffered; NULL + errno on error */
                         /* elem_size 0 is Go's chan struct{}: elem/out may then be NULL */
GOLF_API void   golf_chan_free(golf_chan *ch);
GOLF_API int    golf_chan_send(golf_chan *ch, const void *elem);
GOLF_API int    golf_chan_recv(golf_chan *ch, void *out);
GOLF_API int    golf_chan_try_send(golf_chan *ch, const void *elem);
GOLF_API int    golf_chan_try_recv(golf_chan *ch, void *out);
GOLF_API int    golf_chan_send_timeout(golf_chan *ch, const void *elem, uint64_t timeout_ns);
GOLF_API int    golf_chan_recv_timeout(golf_chan *ch, void *out, uint64_t timeout_ns);
GOLF_API int    golf_chan_close(golf_chan *ch);
GOLF_API size_t golf_chan_len(const golf_chan *ch);
GOLF_API size_t golf_chan_cap(const golf_chan *ch);

enum { GOLF_SEND = 1, GOLF_RECV = 2 };
typedef struct golf_case {
    golf_chan *ch;     /* NULL: this case is never ready */
    int        op;     /* GOLF_SEND or GOLF_RECV */
    void      *elem;   /* send: the value; recv: where it goes (may be NULL to discard) */
    int        status; /* set on the chosen case: GOLF_OK, or GOLF_ECLOSED */
} golf_case;
GOLF_API int golf_select(golf_case *cases, size_t n);                         /* index of the case done */
GOLF_API int golf_select_try(golf_case *cases, size_t n);                     /* index, or GOLF_EAGAIN */
GOLF_API int golf_select_timeout(golf_case *cases, size_t n, uint64_t timeout_ns); /* index, or GOLF_ETIMEDOUT */

#ifdef __cplusplus
}
#endif

#endif /* GOLF_CHAN_H */
