/* The INIT reply fix-up; see init_reply.h.
 *
 * The state moves once from IDLE to ARMED (an INIT offering the flag was read)
 * or DONE (an INIT without it), and from ARMED to DONE by the one reply that
 * matches. Requests are read by several threads, replies written by several:
 * the unique id is published before ARMED (release), and the compare-exchange
 * on ARMED makes the patch happen at most once even if two replies raced. The
 * reply is matched by its unique id, never by its position, so a reply that is
 * not INIT's (a read of metadata.json, say) is never changed. */
#include "init_reply.h"

#include <linux/fuse.h>
#include <string.h>

enum { IDLE, ARMED, DONE };

void init_reply_request(struct init_reply *r, const void *buf, size_t len)
{
    struct fuse_in_header in;
    struct fuse_init_in init;
    if (len < sizeof(in) + offsetof(struct fuse_init_in, flags) + sizeof(init.flags))
        return;
    memcpy(&in, buf, sizeof(in));
    if (in.opcode != FUSE_INIT || in.unique == 0 || in.len > len)
        return;
    if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) != IDLE)
        return; /* the kernel sends one INIT per connection; a second one is not ours to touch */
    memset(&init, 0, sizeof(init));
    size_t have = len - sizeof(in) < sizeof(init) ? len - sizeof(in) : sizeof(init);
    memcpy(&init, (const char *)buf + sizeof(in), have);
    __atomic_store_n(&r->unique, in.unique, __ATOMIC_RELAXED);
    __atomic_store_n(&r->state, init.flags & FUSE_PARALLEL_DIROPS ? ARMED : DONE, __ATOMIC_RELEASE);
}

bool init_reply_patch(struct init_reply *r, struct iovec *iov, int count)
{
    if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) != ARMED)
        return false;
    /* libfuse sends a reply as the header in one buffer and the payload in the next */
    if (count != 2 || iov[0].iov_len != sizeof(struct fuse_out_header) ||
        iov[1].iov_len < offsetof(struct fuse_init_out, flags) + sizeof(uint32_t))
        return false;
    struct fuse_out_header out;
    memcpy(&out, iov[0].iov_base, sizeof(out));
    if (out.unique != __atomic_load_n(&r->unique, __ATOMIC_RELAXED) || out.error != 0)
        return false;
    int armed = ARMED;
    if (!__atomic_compare_exchange_n(&r->state, &armed, DONE, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return false;
    uint32_t flags;
    char *p = (char *)iov[1].iov_base + offsetof(struct fuse_init_out, flags);
    memcpy(&flags, p, sizeof(flags));
    flags |= FUSE_PARALLEL_DIROPS;
    memcpy(p, &flags, sizeof(flags));
    return true;
}
