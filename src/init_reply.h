/* libfuse 3.14 (Debian 12) accepts FUSE_CAP_PARALLEL_DIROPS but forgets to put
 * FUSE_PARALLEL_DIROPS in its INIT reply (fixed in 3.15), so the kernel would
 * serialise every lookup in a directory. The FUSE layer shows every request it
 * reads from /dev/fuse and every reply it writes to this tracker, which notes
 * the unique id of the INIT request and adds the flag to the reply carrying that
 * id, once, and only when the kernel offered it. Every other buffer passes
 * untouched byte for byte. Pure: no I/O, safe from any thread. */
#ifndef CFS_INIT_REPLY_H
#define CFS_INIT_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct init_reply {
    uint64_t unique; /* of the INIT request, once state says it was seen */
    int state;       /* see init_reply.c */
};

#define INIT_REPLY_INIT                                                                            \
    {                                                                                              \
        0, 0                                                                                       \
    }

/** Look at one request as read from /dev/fuse (len bytes at buf). */
void init_reply_request(struct init_reply *r, const void *buf, size_t len);
/** Look at one reply about to be written; true when it was the INIT reply and got the flag. */
bool init_reply_patch(struct init_reply *r, struct iovec *iov, int count);

#endif
