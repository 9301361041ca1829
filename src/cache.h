/* One provider's listing cache: TTL freshness, one walk at a time shared by
 * every caller (no thundering herd), lookups that stop the walk as soon as
 * their name is final, stale data served when a refresh fails, and SIGHUP.
 * Network I/O runs in a worker thread without the lock; callers wait on a
 * condition variable with a deadline that moves only while pages arrive. */
#ifndef CFS_CACHE_H
#define CFS_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct config_global;
struct entry;
struct listing;
struct provider;
struct shared;

/* How the cache tells the FUSE layer that something the kernel may hold changed.
 * Called without locks from the worker thread; must not block on the kernel. */
struct cache_hooks {
    void *ctx;
    void (*entry_changed)(void *ctx, uint64_t parent, const char *name);
    void (*inode_changed)(void *ctx, uint64_t ino);
    /* Synchronous: returns once the kernel has forgotten what it held of these
     * inodes (attributes, pages, cached entries). Called without locks. */
    void (*inodes_forget)(void *ctx, const uint64_t *ino, size_t n);
};

struct cache;

/* One access on behalf of a caller that may give up waiting (a FUSE request
 * whose process got a signal). Zero it before the access; only cache_interrupt
 * changes it. The cache knows nothing of FUSE. */
struct cache_call {
    bool interrupted;
};

/** A cache for provider p (borrowed) whose directory inode is parent; NULL on ENOMEM. */
struct cache *cache_new(struct provider *p, const struct config_global *g, uint64_t parent,
                        const struct cache_hooks *hooks);
/** Share listings with the fleet through sh (borrowed, outlives the cache), before any access. */
void cache_share(struct cache *c, struct shared *sh);
/** A publication of generation gen of this cache's listing was heard (0: maybe one was missed);
 * takes it when newer than the listing held. Does not block. */
void cache_heard(struct cache *c, uint64_t gen);
/** Make every waiting and future access fail at once: the file system is going away. */
void cache_stop(struct cache *c);
/** As cache_stop, but accesses get -ECANCELED: a reload replaced the cache, ask the new one. */
void cache_retire(struct cache *c);
/** Carry what a replaced cache of the same account knew into a new one and refresh at once, as
 * cache_drop does: the kernel is then told exactly what changed. */
void cache_adopt(struct cache *c, struct cache *from);
/** Join the worker (call http_shutdown first so its transfer ends at once), then free. */
void cache_free(struct cache *c);
/** Entry by directory name: 0 with a listing reference in *l, -ENOENT, -EINTR once call
 *  (may be NULL) is interrupted while waiting, or the fetch's -errno. */
int cache_by_name(struct cache *c, const char *name, struct cache_call *call, struct listing **l,
                  const struct entry **e);
/** Entry by inode (a collection directory's or its metadata.json's), as cache_by_name. */
int cache_by_ino(struct cache *c, uint64_t ino, struct cache_call *call, struct listing **l,
                 const struct entry **e);
/** A directory read: fill() gets (with their cache_ttl) the shown entries after the one with inode
 * `after` (0: from the start), as soon as their names are final, until it returns < 0 (no room;
 * > 0: filled, 0: left out; under the cache's lock: it must not block). None filled means the
 * end. 0, or -errno as cache_by_name. */
int cache_readdir(struct cache *c, uint64_t after, struct cache_call *call,
                  int (*fill)(void *ctx, const struct entry *e, double ttl), void *ctx);
/** When a refresh last changed the section's names (0: never) and how long the kernel may keep
 *  its entries; past the ttl, with wait, after the refresh. 0, or -EINTR once call is
 *  interrupted. */
int cache_dir_attr(struct cache *c, bool wait, struct cache_call *call, struct timespec *changed,
                   double *ttl);
/** The access waiting with call gives up with -EINTR now; the walk goes on for the others. */
void cache_interrupt(struct cache *c, struct cache_call *call);
/** Seconds the kernel may keep what it was just told from listing l (NULL: the current one); 0
 *  when serving stale data. */
double cache_ttl(struct cache *c, const struct listing *l);
/** Whether l is what the cache answers from and no change of it is being told to the kernel:
 * then bytes of l may be pushed to the kernel (hooks.inodes_forget must exclude the push). */
bool cache_current(struct cache *c, const struct listing *l);
/** Forget every listing (SIGHUP): the next access fetches again. */
void cache_drop(struct cache *c);

/* What a section's cache knows now, for its xattrs and the status line. */
struct cache_status {
    time_t fetched_at;    /* wall clock: when the listing served was complete; 0: none held */
    size_t count;         /* collections in it */
    bool complete;        /* its walk reached the end and found nothing odd */
    long long stale;      /* seconds past the ttl while serving stale data, else 0 */
    char last_error[512]; /* why the last refresh failed (one line); "" once one succeeds */
    bool from_fleet;      /* the listing came from the shared cache, walked by another daemon */
    char fetched_by[64];  /* then: who walked ("host:pid") */
    time_t refreshed_at;  /* wall clock: when the last walk ended, done or failed; 0: never */
    long long refresh_ms; /* how long that walk took */
    uint64_t cache_hits;  /* accesses answered at once, without waiting for a walk */
    uint64_t requests;    /* requests sent to the provider */
    uint64_t retries;     /* of them, retries */
    uint64_t errors;      /* fetches that failed in the end */
    time_t paused_until;  /* wall clock: no request before this (rate limit); 0: none */
};

/** A snapshot of the facts above; never waits for a walk, never starts one. */
void cache_status(struct cache *c, struct cache_status *out);
/** The entry whose directory or file inode is ino in whatever listing is in memory, without
 * waiting or fetching: 0 with a listing reference in *l, or -ENOENT. */
int cache_peek(struct cache *c, uint64_t ino, struct listing **l, const struct entry **e);

#endif
