/* The fleet's shared listing cache, in Redis (hiredis 0.14: no TLS, no RESP3).
 * Daemons that list the same data (one listing key) take turns: one holds a
 * lease (SET NX PX, renewed while its walk runs; each lease carries a fencing
 * token from INCR), walks the provider and publishes the listing's records in
 * chunks under staging keys; one Lua script then checks the token and swaps
 * the manifest in, bumps the listing's generation and announces it on a
 * channel, so nobody reads half a listing and a holder paused past its lease
 * publishes nothing. Readers check every chunk against the manifest (count,
 * length, checksum) and every size before reading it. Every call is bounded by
 * the timeout given to shared_open; any failure is an errno, never a hang, and
 * the caller then works alone. Key names and values never hold a secret: a
 * listing key is printable ASCII (0x20-0x7e), 1 to 512 bytes, else -EINVAL.
 * The process must ignore SIGPIPE (main.c does): hiredis writes with write(2). */
#ifndef CFS_SHARED_H
#define CFS_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct record;
struct shared;

/* The facts of a published listing (what the walk saw, and who walked). */
struct shared_facts {
    time_t fetched_at; /* wall clock: when the walk completed */
    bool complete;     /* the walk reached the end and found nothing odd */
    uint64_t count;    /* records */
    uint64_t gen;      /* set by shared_publish/shared_read: the listing's generation, from 1 */
    char who[64];      /* who walked: "host:pid" */
};

/** Connect to `redis://HOST:PORT[/DB]` or `unix:/PATH[?db=N]`, with AUTH when password is not
 * NULL; every command is bounded by timeout_ms. 0, or -errno with a message in err. */
int shared_open(const char *url, const char *password, unsigned timeout_ms, struct shared **out,
                char *err, size_t errlen);
/** Stop the watch thread (no call to changed() once this returns); the rest keeps working. */
void shared_unwatch(struct shared *s);
/** Stop the watch thread, close the connections, free. NULL is fine. */
void shared_close(struct shared *s);
/** True when the url names a unix socket or a loopback address (a password may go in clear). */
bool shared_url_local(const char *url);

/** Take the lease of a listing for lease_ms: 1 with a fencing token in *token, 0 when another
 * daemon holds it, or -errno (Redis unreachable or refusing). */
int shared_lease(struct shared *s, const char *key, unsigned lease_ms, uint64_t *token);
/** Extend a lease still held with token; 0, -ESTALE when it was lost, or -errno. */
int shared_renew(struct shared *s, const char *key, uint64_t token, unsigned lease_ms);
/** Give a lease back (only if still held with token); errors are ignored. */
void shared_release(struct shared *s, const char *key, uint64_t token);

/** Publish n records with their facts (the count is n; f->count is not read), kept ttl_s
 * seconds, if the lease's token still fences; f->gen is set to the new generation. The lease is
 * renewed for lease_ms at the start and every third of it meanwhile (0: not). 0, -ESTALE when
 * fenced out (another holder came), or -errno. */
int shared_publish(struct shared *s, const char *key, uint64_t token, unsigned ttl_s,
                   unsigned lease_ms, struct shared_facts *f, struct record *const *rec, size_t n);
/** The generation of the listing published now; 0 when none. 0 or -errno. */
int shared_generation(struct shared *s, const char *key, uint64_t *gen);
/** Read the published listing: facts into *f, then each record (one reference, the callee's)
 * to each() in list order until it returns nonzero (returned as is). 0, -ENOENT when none,
 * -EBADMSG when a chunk is missing, damaged or does not match the manifest, or -errno; on an
 * error each() may already have had some records (missing chunks are found before the first). */
int shared_read(struct shared *s, const char *key, struct shared_facts *f,
                int (*each)(void *ctx, struct record *r), void *ctx);

/** Ask the fleet's rate window of group for one request now: 0 with *wait_ms 0 when it may go
 * (it is counted), or with the ms to wait first; -errno when Redis fails (pace alone). */
int shared_rate_take(struct shared *s, const char *group, long long *wait_ms);
/** Tell the fleet what the response to a request sent age_s ago said: left requests of limit
 * (0: not named) remain in a window that ends until_s seconds from now (left 0: every daemon
 * pauses until then). 0 or -errno. */
int shared_rate_tell(struct shared *s, const char *group, long left, long limit, double until_s,
                     double age_s);

/** Start the thread that hears publications: changed(ctx, key, gen) for each one heard, and
 * changed(ctx, NULL, 0) after each (re)connection, when messages may have been lost (compare
 * generations). Called from that thread; must not block long. 0 or -errno. */
int shared_watch(struct shared *s, void (*changed)(void *ctx, const char *key, uint64_t gen),
                 void *ctx);

#endif
