/* The INIT reply fix-up: only the reply to the INIT request, once, only when
 * the kernel offered parallel dirops; every other buffer byte for byte as it was. */
#include <errno.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "init_reply.h"

struct req {
    struct fuse_in_header in;
    struct fuse_init_in init;
};

/* An INIT request as the kernel writes it. */
static struct req init_req(uint64_t unique, uint32_t flags)
{
    struct req q;
    memset(&q, 0, sizeof(q));
    q.in.len = sizeof(q);
    q.in.opcode = FUSE_INIT;
    q.in.unique = unique;
    q.init.major = FUSE_KERNEL_VERSION;
    q.init.minor = 31;
    q.init.flags = flags;
    return q;
}

struct reply {
    struct fuse_out_header out;
    unsigned char payload[sizeof(struct fuse_init_out)];
    struct iovec iov[2];
};

/* A reply as libfuse hands it to writev: header, then payload of len bytes. */
static void mkreply(struct reply *r, uint64_t unique, size_t len, unsigned char fill)
{
    memset(&r->out, 0, sizeof(r->out));
    r->out.len = (uint32_t)(sizeof(r->out) + len);
    r->out.unique = unique;
    memset(r->payload, fill, sizeof(r->payload));
    r->iov[0].iov_base = &r->out;
    r->iov[0].iov_len = sizeof(r->out);
    r->iov[1].iov_base = r->payload;
    r->iov[1].iov_len = len;
}

static uint32_t flags_of(const struct reply *r)
{
    uint32_t f;
    memcpy(&f, r->payload + offsetof(struct fuse_init_out, flags), sizeof(f));
    return f;
}

/* Whether the reply's bytes are still all `fill` and its header unchanged. */
static int untouched(const struct reply *r, uint64_t unique, unsigned char fill)
{
    for (size_t i = 0; i < sizeof(r->payload); i++)
        if (r->payload[i] != fill)
            return 0;
    return r->out.unique == unique && r->out.error == 0;
}

int main(void)
{
    struct reply rp;

    /* the INIT request, then its reply: the flag is added, nothing else changes */
    struct init_reply t = INIT_REPLY_INIT;
    struct req q = init_req(2, FUSE_PARALLEL_DIROPS | FUSE_ASYNC_READ);
    init_reply_request(&t, &q, sizeof(q));
    mkreply(&rp, 2, sizeof(struct fuse_init_out), 0);
    CHECK(init_reply_patch(&t, rp.iov, 2));
    CHECK(flags_of(&rp) == FUSE_PARALLEL_DIROPS);
    uint32_t none = 0;
    memcpy(rp.payload + offsetof(struct fuse_init_out, flags), &none, sizeof(none));
    CHECK(untouched(&rp, 2, 0));

    /* the flags libfuse already set stay set */
    t = (struct init_reply)INIT_REPLY_INIT;
    init_reply_request(&t, &q, sizeof(q));
    mkreply(&rp, 2, sizeof(struct fuse_init_out), 0);
    uint32_t had = FUSE_ASYNC_READ | FUSE_BIG_WRITES;
    memcpy(rp.payload + offsetof(struct fuse_init_out, flags), &had, sizeof(had));
    CHECK(init_reply_patch(&t, rp.iov, 2) && flags_of(&rp) == (had | FUSE_PARALLEL_DIROPS));

    /* a reply with another unique (a read of metadata.json) is never touched,
     * and the INIT reply after it still is */
    t = (struct init_reply)INIT_REPLY_INIT;
    init_reply_request(&t, &q, sizeof(q));
    mkreply(&rp, 4, sizeof(struct fuse_init_out), 0x5a);
    CHECK(!init_reply_patch(&t, rp.iov, 2) && untouched(&rp, 4, 0x5a));
    mkreply(&rp, 0, sizeof(struct fuse_init_out), 0x5a); /* a notification */
    CHECK(!init_reply_patch(&t, rp.iov, 2) && untouched(&rp, 0, 0x5a));
    mkreply(&rp, 2, sizeof(struct fuse_init_out), 0);
    CHECK(init_reply_patch(&t, rp.iov, 2) && flags_of(&rp) == FUSE_PARALLEL_DIROPS);

    /* a second reply with the same unique (the id comes back once INIT is done) */
    mkreply(&rp, 2, sizeof(struct fuse_init_out), 0x5a);
    CHECK(!init_reply_patch(&t, rp.iov, 2) && untouched(&rp, 2, 0x5a));
    /* and a later INIT-looking request does not re-arm it */
    init_reply_request(&t, &q, sizeof(q));
    CHECK(!init_reply_patch(&t, rp.iov, 2) && untouched(&rp, 2, 0x5a));

    /* the kernel did not offer the flag: its INIT reply passes untouched */
    t = (struct init_reply)INIT_REPLY_INIT;
    q = init_req(2, FUSE_ASYNC_READ);
    init_reply_request(&t, &q, sizeof(q));
    mkreply(&rp, 2, sizeof(struct fuse_init_out), 0);
    CHECK(!init_reply_patch(&t, rp.iov, 2) && untouched(&rp, 2, 0));

    /* no INIT seen at all (or a request that is not INIT): nothing is patched */
    t = (struct init_reply)INIT_REPLY_INIT;
    q = init_req(2, FUSE_PARALLEL_DIROPS);
    q.in.opcode = FUSE_LOOKUP;
    init_reply_request(&t, &q, sizeof(q));
    mkreply(&rp, 2, sizeof(struct fuse_init_out), 0x5a);
    CHECK(!init_reply_patch(&t, rp.iov, 2) && untouched(&rp, 2, 0x5a));

    /* a request too short to hold the flags is ignored */
    t = (struct init_reply)INIT_REPLY_INIT;
    q = init_req(2, FUSE_PARALLEL_DIROPS);
    init_reply_request(&t, &q, sizeof(q.in) + 8);
    mkreply(&rp, 2, sizeof(struct fuse_init_out), 0x5a);
    CHECK(!init_reply_patch(&t, rp.iov, 2) && untouched(&rp, 2, 0x5a));

    /* short or odd reply buffers are untouched, and the real reply still gets the flag */
    t = (struct init_reply)INIT_REPLY_INIT;
    init_reply_request(&t, &q, sizeof(q));
    mkreply(&rp, 2, offsetof(struct fuse_init_out, flags) + 3, 0x5a); /* flags cut short */
    CHECK(!init_reply_patch(&t, rp.iov, 2) && untouched(&rp, 2, 0x5a));
    mkreply(&rp, 2, sizeof(struct fuse_init_out), 0x5a);
    CHECK(!init_reply_patch(&t, rp.iov, 1) && untouched(&rp, 2, 0x5a)); /* header only */
    CHECK(!init_reply_patch(&t, rp.iov, 3) && untouched(&rp, 2, 0x5a)); /* three buffers */
    rp.iov[0].iov_len = sizeof(rp.out) - 1;                             /* odd header */
    CHECK(!init_reply_patch(&t, rp.iov, 2) && untouched(&rp, 2, 0x5a));
    mkreply(&rp, 2, sizeof(struct fuse_init_out), 0x5a);
    rp.out.error = -EPROTO; /* an INIT refused: no payload worth patching */
    CHECK(!init_reply_patch(&t, rp.iov, 2));
    mkreply(&rp, 2, sizeof(struct fuse_init_out), 0);
    CHECK(init_reply_patch(&t, rp.iov, 2) && flags_of(&rp) == FUSE_PARALLEL_DIROPS);

    return check_done();
}
