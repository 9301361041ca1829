/* FUSE low-level callbacks; see fs.h.
 *
 * Inodes: 1 is the root, each section has a fixed number, a collection
 * directory has inode_collection(section, id) and its metadata.json
 * inode_file() of that, its size and its mtime: neither changes under one
 * number, and the generation before answers the number before (cache.c).
 * The kernel is told to cache entries and attributes for as long as the
 * listing stays fresh, and negative lookups too, so probes like .hidden or
 * autorun.inf reach us once per ttl at most and never reach the network.
 *
 * Within the ttl the kernel answers a warm traversal alone: open and opendir
 * answer ENOSYS, which the kernel takes as "never ask again" and from then on
 * keeps file pages and directory entries in its caches (FOPEN_KEEP_CACHE |
 * FOPEN_CACHE_DIR); those caches never expire by time, so they are dropped by
 * invalidation when the data changes, and a section directory's mtime and
 * attribute timeout follow its listing: past the ttl the kernel asks GETATTR
 * before it reuses its entries, that starts a new walk, and the new walk's
 * mtime makes it read the directory again. Without open there are no file
 * handles: every read finds its collection by inode, and a directory read
 * goes on after the entry whose inode its offset carries (cache_readdir).
 *
 * While files of a section are being read, the end of a read of one of its
 * collection directories pushes that collection's metadata.json into the
 * kernel's page cache (push()), so the read that usually follows (find -exec
 * cat, rsync, grep -r) needs no request. */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cache.h"
#include "clock.h"
#include "config.h"
#include "init_reply.h"
#include "inode.h"
#include "listing.h"
#include "log.h"
#include "provider.h"
#include "record.h"
#include "shared.h"
#include "status.h"
#include "xattr.h"

#define FS_FIXED_TTL 86400.0      /* the root and section directories change only with the config */
#define FS_DEFAULT_TIME 946684800 /* 2000-01-01: a collection with no time at all */
/* How long after a read of a section's file its directory reads push files (push()). */
#define FS_PUSH_WINDOW_MS 10000

struct notice {
    struct notice *next;
    uint64_t parent, ino;
    char name[];
};

/* One configuration's sections: what a reload swaps whole. A request holds a
 * reference while it runs; the reload that replaced it frees it after the last. */
struct tree {
    struct config *cfg; /* owned, as is everything below */
    struct provider **p;
    struct cache **cache;
    uint64_t *ino;      /* section directory inodes */
    unsigned *id;       /* section numbers: the inode table's, kept across reloads */
    long long *read_ms; /* when a file of the section was last read (monotonic ms, atomic) */
    size_t n;
    struct shared *sh; /* the fleet's shared cache, or NULL; outlives the caches */
    bool watching;     /* sh's watch thread tells the caches what the fleet published */
    int refs;          /* under fs->tlock */
};

struct fs {
    struct tree *tree; /* under tlock */
    pthread_mutex_t tlock;
    pthread_cond_t tcond; /* a reference to a replaced tree went */
    char **names;         /* every section name seen: a name's index is its number */
    size_t nnames;
    uid_t uid;
    gid_t gid;
    struct fuse_session *se;
    struct init_reply init;   /* see fs_writev */
    bool no_open, no_opendir; /* the kernel can do without open / opendir */
    pthread_t notifier;
    bool notifier_up, stop;
    pthread_rwlock_t slock; /* read: a synchronous invalidation or a push; write: detach (dead) */
    pthread_mutex_t plock;  /* a push, or a synchronous invalidation: never both at once */
    bool dead;
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    struct notice *head, **tail;
    pthread_mutex_t rlock;
    char reload_error[512]; /* fs_set_reload_error; "" when none */
};

/* The kernel must hear about changes from a thread that serves no request:
 * an invalidation waits for the directory lock a pending lookup holds. */
static void enqueue(struct fs *fs, uint64_t parent, const char *name, uint64_t ino)
{
    size_t len = name ? strlen(name) + 1 : 1;
    struct notice *nt = malloc(sizeof(*nt) + len);
    if (!nt)
        return;
    nt->next = NULL;
    nt->parent = parent;
    nt->ino = ino;
    memcpy(nt->name, name ? name : "", len);
    pthread_mutex_lock(&fs->qlock);
    *fs->tail = nt;
    fs->tail = &nt->next;
    pthread_cond_signal(&fs->qcond);
    pthread_mutex_unlock(&fs->qlock);
}

static void hook_entry(void *ctx, uint64_t parent, const char *name)
{
    enqueue(ctx, parent, name, 0);
}

static void hook_inode(void *ctx, uint64_t ino)
{
    enqueue(ctx, 0, NULL, ino);
}

/* Called by a cache worker, never by a request thread: the kernel may wait for
 * a page lock that a read in progress holds, and reads never wait on a worker.
 * plock makes a push that checked its listing before the change was announced
 * land before these invalidations, never after them (see push()). */
static void hook_forget(void *ctx, const uint64_t *ino, size_t n)
{
    struct fs *fs = ctx;
    pthread_rwlock_rdlock(&fs->slock);
    pthread_mutex_lock(&fs->plock);
    for (size_t i = 0; i < n && !fs->dead && fs->se; i++) {
        log_debug("kernel told to forget inode %llu", (unsigned long long)ino[i]);
        fuse_lowlevel_notify_inval_inode(fs->se, ino[i], 0, 0); /* -ENOENT: nothing held */
    }
    pthread_mutex_unlock(&fs->plock);
    pthread_rwlock_unlock(&fs->slock);
}

static void *notifier(void *arg)
{
    struct fs *fs = arg;
    pthread_mutex_lock(&fs->qlock);
    for (;;) {
        while (!fs->head && !fs->stop)
            pthread_cond_wait(&fs->qcond, &fs->qlock);
        if (fs->stop)
            break;
        struct notice *nt = fs->head;
        fs->head = nt->next;
        if (!fs->head)
            fs->tail = &fs->head;
        pthread_mutex_unlock(&fs->qlock);
        /* -ENOENT only means the kernel held nothing for it. Logged, as a
         * page the kernel reclaimed itself looks the same from here on. */
        if (nt->name[0]) {
            log_debug("kernel told to forget the name \"%s\" in inode %llu", nt->name,
                      (unsigned long long)nt->parent);
            fuse_lowlevel_notify_inval_entry(fs->se, nt->parent, nt->name, strlen(nt->name));
        } else {
            log_debug("kernel told to forget inode %llu", (unsigned long long)nt->ino);
            fuse_lowlevel_notify_inval_inode(fs->se, nt->ino, 0, 0);
        }
        free(nt);
        pthread_mutex_lock(&fs->qlock);
    }
    pthread_mutex_unlock(&fs->qlock);
    return NULL;
}

/* The number of a section name: the same for as long as the daemon runs. */
static int name_id(struct fs *fs, const char *name, unsigned *id)
{
    for (size_t i = 0; i < fs->nnames; i++)
        if (strcmp(fs->names[i], name) == 0)
            return *id = (unsigned)i, 0;
    if (fs->nnames >= INODE_SECTIONS_MAX)
        return -ENOSPC;
    char **v = realloc(fs->names, (fs->nnames + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    fs->names = v;
    if (!(v[fs->nnames] = strdup(name)))
        return -ENOMEM;
    *id = (unsigned)fs->nnames++;
    return 0;
}

/* Free a tree nobody uses any more: caches first (their workers use the providers). */
static void tree_free(struct tree *t)
{
    if (!t)
        return;
    if (t->watching)
        shared_unwatch(t->sh); /* it calls into the caches */
    for (size_t i = 0; t->cache && i < t->n; i++)
        cache_free(t->cache[i]);
    for (size_t i = 0; t->p && i < t->n; i++)
        provider_free(t->p[i]);
    shared_close(t->sh);
    free(t->cache);
    free(t->p);
    free(t->ino);
    free(t->id);
    free(t->read_ms);
    config_free(t->cfg);
    free(t->cfg);
    free(t);
}

/* What the fleet published: the caches of that listing take it if newer. */
static void heard(void *ctx, const char *key, uint64_t gen)
{
    struct tree *t = ctx;
    for (size_t i = 0; i < t->n; i++)
        if (!key || strcmp(key, t->p[i]->listing_key) == 0)
            cache_heard(t->cache[i], gen);
}

/* Start hearing the fleet (a thread: after the background start's fork). */
static void tree_watch(struct tree *t)
{
    int rc = t->sh ? shared_watch(t->sh, heard, t) : 0;
    t->watching = t->sh && rc == 0;
    if (rc < 0)
        log_err("shared cache: cannot start listening for the fleet's listings (%s); each "
                "listing is taken from the fleet at its next refresh only",
                strerror(-rc));
}

/* A tree over cfg, p[0..cfg->n) and sh, which it owns from now on, even on failure. */
static struct tree *tree_new(struct fs *fs, struct config *cfg, struct provider **p,
                             struct shared *sh)
{
    struct tree *t = calloc(1, sizeof(*t));
    size_t n = cfg->n ? cfg->n : 1;
    if (t) {
        t->cache = calloc(n, sizeof(*t->cache));
        t->ino = calloc(n, sizeof(*t->ino));
        t->id = calloc(n, sizeof(*t->id));
        t->read_ms = calloc(n, sizeof(*t->read_ms));
    }
    if (!t || !t->cache || !t->ino || !t->id || !t->read_ms) {
        for (size_t i = 0; i < cfg->n; i++)
            provider_free(p[i]);
        free(p);
        config_free(cfg);
        free(cfg);
        shared_close(sh);
        tree_free(t);
        return NULL;
    }
    t->cfg = cfg;
    t->p = p;
    t->sh = sh;
    t->n = cfg->n;
    t->refs = 1;
    struct cache_hooks hooks = {fs, hook_entry, hook_inode, hook_forget};
    for (size_t i = 0; i < t->n; i++) {
        t->ino[i] = inode_section(p[i]->section);
        if (name_id(fs, p[i]->section, &t->id[i]) < 0 ||
            !(t->cache[i] = cache_new(p[i], &cfg->g, t->ino[i], &hooks))) {
            tree_free(t);
            return NULL;
        }
        if (sh)
            cache_share(t->cache[i], sh);
    }
    return t;
}

struct fs *fs_new(struct config *cfg, struct provider **p, struct shared *sh)
{
    struct fs *fs = calloc(1, sizeof(*fs));
    if (!fs) {
        for (size_t i = 0; i < cfg->n; i++)
            provider_free(p[i]);
        free(p);
        config_free(cfg);
        free(cfg);
        shared_close(sh);
        return NULL;
    }
    fs->uid = getuid();
    fs->gid = getgid();
    fs->tail = &fs->head;
    pthread_mutex_init(&fs->tlock, NULL);
    pthread_mutex_init(&fs->rlock, NULL);
    pthread_cond_init(&fs->tcond, NULL);
    pthread_mutex_init(&fs->qlock, NULL);
    pthread_rwlock_init(&fs->slock, NULL);
    pthread_mutex_init(&fs->plock, NULL);
    pthread_cond_init(&fs->qcond, NULL);
    if (!(fs->tree = tree_new(fs, cfg, p, sh))) {
        fs_free(fs);
        return NULL;
    }
    return fs;
}

/* Every reply and request passes through here so that the INIT reply can get
 * the FUSE_PARALLEL_DIROPS flag libfuse 3.14 forgets (see init_reply.h). */
static ssize_t fs_writev(int fd, struct iovec *iov, int count, void *userdata)
{
    struct fs *fs = userdata;
    if (init_reply_patch(&fs->init, iov, count))
        log_debug("INIT reply: parallel directory operations granted");
    return writev(fd, iov, count);
}

static ssize_t fs_readdev(int fd, void *buf, size_t len, void *userdata)
{
    struct fs *fs = userdata;
    ssize_t n = read(fd, buf, len);
    if (n > 0)
        init_reply_request(&fs->init, buf, (size_t)n);
    return n;
}

int fs_attach(struct fs *fs, struct fuse_session *se)
{
    fs->se = se;
    static const struct fuse_custom_io io = {.writev = fs_writev, .read = fs_readdev};
    if (fuse_session_custom_io(se, &io, fuse_session_fd(se)) < 0)
        log_warn("cannot watch the INIT reply; lookups in a directory may run one at a time");
    int err = pthread_create(&fs->notifier, NULL, notifier, fs);
    fs->notifier_up = err == 0;
    tree_watch(fs->tree);
    return -err;
}

static struct tree *tree_get(struct fs *fs)
{
    pthread_mutex_lock(&fs->tlock);
    struct tree *t = fs->tree;
    t->refs++;
    pthread_mutex_unlock(&fs->tlock);
    return t;
}

static void tree_put(struct fs *fs, struct tree *t)
{
    pthread_mutex_lock(&fs->tlock);
    if (--t->refs == 0)
        pthread_cond_broadcast(&fs->tcond);
    pthread_mutex_unlock(&fs->tlock);
}

void fs_drop(struct fs *fs)
{
    struct tree *t = tree_get(fs);
    for (size_t i = 0; i < t->n; i++)
        cache_drop(t->cache[i]);
    tree_put(fs, t);
}

void fs_stop(struct fs *fs)
{
    struct tree *t = tree_get(fs);
    for (size_t i = 0; i < t->n; i++)
        cache_stop(t->cache[i]);
    tree_put(fs, t);
}

/* Index of the section named name in t, or -1. */
static long section_named(const struct tree *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->p[i]->section, name) == 0)
            return (long)i;
    return -1;
}

/* Make the kernel drop everything it holds of section number id (pages,
 * attributes, directory entries): its inodes are about to stand for another
 * account's collections. Synchronous, from a thread that serves no request. */
static void forget_section(struct fs *fs, unsigned id, uint64_t dir)
{
    uint64_t *ino;
    long n = inode_held(id, &ino);
    if (n < 0) {
        log_err("reload: out of memory listing the inodes of a changed section; the kernel may "
                "show its old data until the ttl passes");
        return;
    }
    hook_forget(fs, &dir, 1);
    hook_forget(fs, ino, (size_t)n);
    free(ino);
}

int fs_reload(struct fs *fs, struct config *cfg, struct provider **p, struct shared *sh)
{
    struct tree *t = tree_new(fs, cfg, p, sh);
    if (!t)
        return -ENOMEM;
    pthread_mutex_lock(&fs->tlock);
    struct tree *old = fs->tree;
    pthread_mutex_unlock(&fs->tlock);
    /* A section of the same account keeps what it knew and refreshes now, as
     * on SIGHUP; one whose account changed, or that is new, starts empty, and
     * nothing of the old account may answer from then on: its cache is retired
     * (waiting requests give up at once) and the kernel forgets its inodes
     * before the new tree answers for them. */
    for (size_t i = 0; i < t->n; i++) {
        long j = section_named(old, t->p[i]->section);
        if (j >= 0 && old->p[j]->account == t->p[i]->account) {
            cache_adopt(t->cache[i], old->cache[j]);
            continue;
        }
        if (j >= 0) {
            cache_retire(old->cache[j]);
            provider_cancel(old->p[j]);
        }
        forget_section(fs, t->id[i], t->ino[i]);
    }
    pthread_mutex_lock(&fs->tlock);
    fs->tree = t;
    pthread_mutex_unlock(&fs->tlock);
    tree_watch(t);
    for (size_t j = 0; j < old->n; j++) {
        cache_retire(old->cache[j]);
        provider_cancel(old->p[j]);
    }
    /* Added and removed names, and the kernel's "no such name" answers in the
     * root: from the notifier, as a lookup in the root may be waiting. */
    for (size_t i = 0; i < t->n; i++)
        if (section_named(old, t->p[i]->section) < 0)
            hook_entry(fs, FUSE_ROOT_ID, t->p[i]->section);
    for (size_t j = 0; j < old->n; j++) {
        long i = section_named(t, old->p[j]->section);
        if (i < 0 || old->p[j]->account != t->p[i]->account)
            hook_entry(fs, FUSE_ROOT_ID, old->p[j]->section);
    }
    hook_inode(fs, FUSE_ROOT_ID);
    /* Requests that were using the old tree end soon: its caches answer at once. */
    pthread_mutex_lock(&fs->tlock);
    old->refs--;
    while (old->refs > 0)
        pthread_cond_wait(&fs->tcond, &fs->tlock);
    pthread_mutex_unlock(&fs->tlock);
    tree_free(old);
    return 0;
}

void fs_detach(struct fs *fs)
{
    if (!fs)
        return;
    pthread_rwlock_wrlock(&fs->slock); /* the session goes next: no more notices to it */
    fs->dead = true;
    pthread_rwlock_unlock(&fs->slock);
    if (!fs->notifier_up)
        return;
    pthread_mutex_lock(&fs->qlock);
    fs->stop = true;
    pthread_cond_signal(&fs->qcond);
    pthread_mutex_unlock(&fs->qlock);
    pthread_join(fs->notifier, NULL);
    fs->notifier_up = false;
}

void fs_free(struct fs *fs)
{
    if (!fs)
        return;
    fs_detach(fs);
    /* cache_free joins the workers, which may still queue notices: drain after */
    tree_free(fs->tree);
    log_debug("caches freed");
    while (fs->head) {
        struct notice *nt = fs->head;
        fs->head = nt->next;
        free(nt);
    }
    for (size_t i = 0; i < fs->nnames; i++)
        free(fs->names[i]);
    free(fs->names);
    pthread_mutex_destroy(&fs->rlock);
    pthread_mutex_destroy(&fs->plock);
    free(fs);
}

static struct fs *fs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

/* Index of the section whose directory is ino, or -1. */
static long section_of(const struct tree *t, fuse_ino_t ino)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ino[i] == ino)
            return (long)i;
    return -1;
}

static void dir_attr(const struct fs *fs, const struct tree *t, fuse_ino_t ino, nlink_t nlink,
                     struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = ino;
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = nlink;
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    st->st_blksize = 4096;
    st->st_mtim = st->st_ctim = st->st_atim = t->cfg->mtime;
}

/* Attributes of a collection directory (file = false) or its metadata.json. */
static void entry_attr(const struct fs *fs, const struct tree *t, const struct entry *e, bool file,
                       struct stat *st)
{
    struct timespec tm;
    if (!entry_time(e, &tm))
        tm = (struct timespec){FS_DEFAULT_TIME, 0};
    dir_attr(fs, t, entry_ino(e), 2, st);
    st->st_mtim = st->st_ctim = st->st_atim = tm;
    if (file) {
        size_t len = record_json_len(entry_record(e));
        st->st_ino = entry_file_ino(e);
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = (off_t)len;
        st->st_blocks = (blkcnt_t)((len + 511) / 512);
    }
}

/* A cache access on behalf of a request. When the caller gets a signal (Ctrl-C
 * on ls), the kernel sends FUSE_INTERRUPT and keeps the caller until we answer:
 * the access then gives up with EINTR at once, and the walk goes on for the
 * others. libfuse calls interrupted() with the request's lock held, which is
 * why the cache's lock must not be held when the callback is removed. */
struct pending {
    struct cache *c;
    struct cache_call call;
};

static void interrupted(fuse_req_t req, void *arg)
{
    (void)req;
    struct pending *p = arg;
    cache_interrupt(p->c, &p->call);
}

enum by { BY_NAME, BY_INO };

static int cache_get(fuse_req_t req, struct cache *c, enum by by, const char *name, uint64_t ino,
                     struct listing **l, const struct entry **e)
{
    struct pending p = {c, {false}};
    /* calls interrupted() at once if the interrupt came first */
    fuse_req_interrupt_func(req, interrupted, &p);
    int rc =
        by == BY_NAME ? cache_by_name(c, name, &p.call, l, e) : cache_by_ino(c, ino, &p.call, l, e);
    /* returns once no interrupted() runs: p may go */
    fuse_req_interrupt_func(req, NULL, NULL);
    return rc;
}

/* A section directory: its mtime is the last time a refresh changed its names,
 * so the kernel keeps its cached entries exactly while they are right. */
static int section_attr(fuse_req_t req, struct fs *fs, struct tree *t, size_t sec, struct stat *st,
                        double *ttl)
{
    struct pending p = {t->cache[sec], {false}};
    struct timespec changed;
    int rc;
    if (req) {
        fuse_req_interrupt_func(req, interrupted, &p);
        rc = cache_dir_attr(p.c, true, &p.call, &changed, ttl);
        fuse_req_interrupt_func(req, NULL, NULL);
    } else { /* for a directory entry: what is known now */
        rc = cache_dir_attr(p.c, false, NULL, &changed, ttl);
    }
    dir_attr(fs, t, t->ino[sec], 1, st);
    if (changed.tv_sec)
        st->st_mtim = st->st_ctim = changed;
    return rc;
}

/* Which collection a directory or file inode stands for, from the inode table;
 * *sec is the index of its section in t. */
static int resolve(fuse_req_t req, struct tree *t, fuse_ino_t ino, enum inode_kind *kind,
                   struct listing **l, const struct entry **e, unsigned *sec)
{
    unsigned id;
    int rc = inode_lookup(ino, kind, &id);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < t->n; i++)
        if (t->id[i] == id)
            return *sec = (unsigned)i, cache_get(req, t->cache[i], BY_INO, NULL, ino, l, e);
    return -ENOENT; /* its section is gone with a reload */
}

/* The arguments of one request, for serve(). */
struct op {
    fuse_ino_t ino;
    const char *name;
    size_t size;
    off_t off;
    bool plus;
};

typedef int handler(fuse_req_t req, struct fs *fs, struct tree *t, const struct op *o);

/* Run h against the current sections. h replies and returns 0, or returns
 * -errno for serve() to reply. A cache that a reload retired during the access
 * answers -ECANCELED: h then runs again against the new sections. */
static void serve(fuse_req_t req, handler *h, const struct op *o)
{
    struct fs *fs = fs_of(req);
    int rc;
    for (int tries = 0;; tries++) {
        struct tree *t = tree_get(fs);
        rc = h(req, fs, t, o);
        pthread_mutex_lock(&fs->tlock);
        bool again = rc == -ECANCELED && fs->tree != t && tries < 3;
        pthread_mutex_unlock(&fs->tlock);
        tree_put(fs, t);
        if (!again)
            break;
    }
    if (rc < 0) /* retired with nothing newer yet: the section is being replaced */
        fuse_reply_err(req, rc == -ECANCELED ? EAGAIN : -rc);
}

static int reply_entry_of(fuse_req_t req, struct fs *fs, struct tree *t, unsigned sec,
                          const struct listing *l, const struct entry *e, bool file)
{
    struct fuse_entry_param ep = {0};
    double ttl = cache_ttl(t->cache[sec], l);
    entry_attr(fs, t, e, file, &ep.attr);
    ep.ino = ep.attr.st_ino;
    ep.attr_timeout = ep.entry_timeout = ttl;
    int rc = inode_remember(ep.ino, file ? INODE_FILE : INODE_DIR, t->id[sec]);
    if (rc == -EEXIST)
        log_err("[%s] inode %llu stands for two collections; one cannot be shown",
                t->p[sec]->section, (unsigned long long)ep.ino);
    if (rc < 0)
        return rc == -EEXIST ? -EIO : rc;
    fuse_reply_entry(req, &ep);
    return 0;
}

static int reply_negative(fuse_req_t req, double ttl)
{
    /* ino 0 with a timeout: the kernel remembers that the name does not exist */
    struct fuse_entry_param ep = {0};
    ep.entry_timeout = ttl;
    fuse_reply_entry(req, &ep);
    return 0;
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
    struct fs *fs = userdata;
    /* Lookups in one directory must not queue behind each other in the kernel:
     * one waiting for a slow provider would hold up the rest (libfuse 3.14
     * needs fs_writev's help to tell the kernel). */
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
        conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    /* Always READDIRPLUS, never the kernel's "auto" (plus for the first batch
     * only): find, rsync, ls -l and file managers look up every entry they
     * read, and with its attributes in the directory read each of those is
     * answered by the kernel instead of a LOOKUP. Only a bare `ls -f` pays. */
    if (conn->capable & FUSE_CAP_READDIRPLUS) {
        conn->want |= FUSE_CAP_READDIRPLUS;
        conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    }
    /* Past their attribute timeout, the kernel asks GETATTR before it reads
     * cached pages or cached directory entries, and drops them when the mtime
     * changed: that is how the ttl reaches its caches. */
    if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
        conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
    fs->no_open = conn->capable & FUSE_CAP_NO_OPEN_SUPPORT;
    fs->no_opendir = conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT;
}

static int do_lookup(fuse_req_t req, struct fs *fs, struct tree *t, const struct op *o)
{
    if (o->ino == FUSE_ROOT_ID) {
        long i = section_named(t, o->name);
        if (i < 0)
            return reply_negative(req, FS_FIXED_TTL);
        struct fuse_entry_param ep = {0};
        int rc = section_attr(req, fs, t, (size_t)i, &ep.attr, &ep.attr_timeout);
        if (rc < 0)
            return rc;
        ep.ino = t->ino[i];
        ep.entry_timeout = FS_FIXED_TTL;
        fuse_reply_entry(req, &ep);
        return 0;
    }
    struct listing *l = NULL;
    const struct entry *e = NULL;
    long sec = section_of(t, o->ino);
    int rc;
    if (sec >= 0) {
        rc = cache_get(req, t->cache[sec], BY_NAME, o->name, 0, &l, &e);
        if (rc == 0)
            rc = reply_entry_of(req, fs, t, (unsigned)sec, l, e, false);
        else if (rc == -ENOENT) /* only a complete listing says so */
            rc = reply_negative(req, cache_ttl(t->cache[sec], NULL));
        listing_unref(l);
        return rc;
    }
    enum inode_kind kind;
    unsigned s;
    rc = resolve(req, t, o->ino, &kind, &l, &e, &s);
    if (rc == 0 && kind != INODE_DIR)
        rc = -ENOTDIR;
    if (rc == 0 && strcmp(o->name, ENTRY_FILE) == 0)
        rc = reply_entry_of(req, fs, t, s, l, e, true);
    else if (rc == 0)
        rc = reply_negative(req, cache_ttl(t->cache[s], l));
    listing_unref(l);
    return rc;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    serve(req, do_lookup, &(struct op){.ino = parent, .name = name});
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    inode_forget(ino, nlookup);
    fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    for (size_t i = 0; i < count; i++)
        inode_forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

static int do_getattr(fuse_req_t req, struct fs *fs, struct tree *t, const struct op *o)
{
    struct stat st;
    long sec = section_of(t, o->ino);
    if (o->ino == FUSE_ROOT_ID) {
        dir_attr(fs, t, o->ino, 2 + t->n, &st);
        fuse_reply_attr(req, &st, FS_FIXED_TTL);
        return 0;
    }
    if (sec >= 0) {
        double ttl;
        int rc = section_attr(req, fs, t, (size_t)sec, &st, &ttl);
        if (rc == 0)
            fuse_reply_attr(req, &st, ttl);
        return rc;
    }
    enum inode_kind kind;
    unsigned s;
    struct listing *l = NULL;
    const struct entry *e;
    int rc = resolve(req, t, o->ino, &kind, &l, &e, &s);
    if (rc == 0) {
        entry_attr(fs, t, e, kind == INODE_FILE, &st);
        fuse_reply_attr(req, &st, cache_ttl(t->cache[s], l));
    }
    listing_unref(l);
    return rc;
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    serve(req, do_getattr, &(struct op){.ino = ino});
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    if (fs->no_opendir) { /* from now on the kernel caches what readdir says */
        fuse_reply_err(req, ENOSYS);
        return;
    }
    (void)ino;
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

/* One directory read in the making. */
struct dirbuf {
    fuse_req_t req;
    struct fs *fs;
    struct tree *t;
    char *buf;
    size_t size, pos;
    bool plus;
    unsigned section; /* index in t */
};

/* Add one entry: 1, or 0 when it is left out, -1 when the buffer is full.
 * With plus, the kernel takes a reference on a collection inode (counted),
 * which the table counts. */
static int add(struct dirbuf *d, const char *name, const struct fuse_entry_param *ep, bool counted,
               off_t next)
{
    size_t room = d->size - d->pos, n;
    if (d->plus)
        n = fuse_add_direntry_plus(d->req, d->buf + d->pos, room, name, ep, next);
    else
        n = fuse_add_direntry(d->req, d->buf + d->pos, room, name, &ep->attr, next);
    if (n > room)
        return -1;
    int rc = d->plus && ep->ino && counted
                 ? inode_remember(ep->ino, S_ISDIR(ep->attr.st_mode) ? INODE_DIR : INODE_FILE,
                                  d->t->id[d->section])
                 : 0;
    /* Another section's collection has this number (DESIGN §2): this one is
     * left out, as its lookup answers EIO. Stopping here would end the read:
     * the next one, after the same entry, would find it again and reply empty. */
    if (rc == -EEXIST)
        return 0;
    if (rc < 0)
        return -1; /* ENOMEM: the entry is in the buffer but unnamed in the table */
    d->pos += n;
    return 1;
}

static long long mono_ms(void)
{
    struct timespec now = clock_now();
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* At the end of a collection directory's read: the reader has seen
 * metadata.json (so the kernel has its inode) and, while files of the section
 * are being read, will read it too. Its bytes in the kernel's page cache save
 * that read's round trip, one of the three a collection costs the first time;
 * a read that comes first is answered as usual (the store then waits for its
 * page). A walk that reads no file (find, ls -R) stores nothing, so it costs
 * no page per collection. The bytes must never outlive a change: a push
 * happens only while its listing is the current one and no change of it is
 * being announced, and plock orders it before the invalidations that announce
 * the next change. */
static void push(struct fs *fs, struct tree *t, unsigned sec, const struct listing *l,
                 const struct entry *e)
{
    long long at = __atomic_load_n(&t->read_ms[sec], __ATOMIC_RELAXED);
    if (!at || mono_ms() - at > FS_PUSH_WINDOW_MS)
        return;
    size_t len;
    char *json = record_json_dup(entry_record(e), &len);
    if (!json)
        return; /* the READ will come instead */
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(len);
    bv.buf[0].mem = json;
    pthread_rwlock_rdlock(&fs->slock);
    pthread_mutex_lock(&fs->plock);
    if (!fs->dead && fs->se && cache_current(t->cache[sec], l))
        fuse_lowlevel_notify_store(fs->se, entry_file_ino(e), 0, &bv, 0); /* -ENOENT: forgotten */
    pthread_mutex_unlock(&fs->plock);
    pthread_rwlock_unlock(&fs->slock);
    free(json);
}

/* A collection's offset is its inode halved (never 1 or 2, the offsets of "."
 * and ".."): a read goes on after that collection in whatever listing is
 * current, so offsets survive a refresh. */
static off_t collection_off(uint64_t ino)
{
    return (off_t)(ino >> 1);
}

static int fill_collection(void *ctx, const struct entry *e, double ttl)
{
    struct dirbuf *d = ctx;
    struct fuse_entry_param ep = {0};
    entry_attr(d->fs, d->t, e, false, &ep.attr);
    ep.ino = entry_ino(e);
    ep.attr_timeout = ep.entry_timeout = ttl;
    return add(d, entry_name(e), &ep, true, collection_off(entry_ino(e)));
}

static int do_readdir(fuse_req_t req, struct fs *fs, struct tree *t, const struct op *o)
{
    off_t off = o->off;
    struct dirbuf d = {req, fs, t, malloc(o->size), o->size, 0, o->plus, 0};
    if (!d.buf)
        return -ENOMEM;
    long sec = section_of(t, o->ino);
    enum inode_kind kind = o->ino == FUSE_ROOT_ID ? INODE_ROOT : INODE_SECTION;
    struct listing *l = NULL;
    const struct entry *e = NULL;
    int rc = 0;
    if (kind == INODE_SECTION && sec < 0) {
        rc = resolve(req, t, o->ino, &kind, &l, &e, &d.section);
        if (rc == 0 && kind != INODE_DIR)
            rc = -ENOTDIR;
    }
    if (rc < 0)
        goto fail;
    struct fuse_entry_param ep = {0};
    /* "." and ".." carry no reference: ino 0 in the entry, only st_ino set */
    if (off < 1) {
        dir_attr(fs, t, o->ino, 2, &ep.attr);
        if (add(&d, ".", &ep, false, 1) < 0)
            goto out;
    }
    if (off < 2) {
        dir_attr(fs, t, kind == INODE_DIR ? t->ino[d.section] : FUSE_ROOT_ID, 2, &ep.attr);
        if (add(&d, "..", &ep, false, 2) < 0)
            goto out;
    }
    if (kind == INODE_ROOT) {
        for (off_t i = off < 2 ? 0 : off - 2; (size_t)i < t->n; i++) {
            memset(&ep, 0, sizeof(ep));
            section_attr(NULL, fs, t, (size_t)i, &ep.attr, &ep.attr_timeout);
            ep.ino = t->ino[i];
            ep.entry_timeout = FS_FIXED_TTL;
            if (add(&d, t->p[i]->section, &ep, false, i + 3) < 0)
                break;
        }
    } else if (sec >= 0) {
        struct pending p = {t->cache[sec], {false}};
        d.section = (unsigned)sec;
        fuse_req_interrupt_func(req, interrupted, &p);
        rc = cache_readdir(p.c, off > 2 ? (uint64_t)off << 1 : 0, &p.call, fill_collection, &d);
        fuse_req_interrupt_func(req, NULL, NULL);
        if (rc < 0 && d.pos == 0)
            goto fail;
    } else if (off < 3) {
        memset(&ep, 0, sizeof(ep));
        entry_attr(fs, t, e, true, &ep.attr);
        ep.ino = entry_file_ino(e);
        ep.attr_timeout = ep.entry_timeout = cache_ttl(t->cache[d.section], l);
        add(&d, ENTRY_FILE, &ep, true, 3);
    } else {
        push(fs, t, d.section, l, e); /* before the reply: the reader finds it there */
    }
out:
    fuse_reply_buf(req, d.buf, d.pos);
    rc = 0;
fail:
    listing_unref(l);
    free(d.buf);
    return rc;
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    (void)fi;
    serve(req, do_readdir, &(struct op){.ino = ino, .size = size, .off = off});
}

static void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    (void)fi;
    serve(req, do_readdir, &(struct op){.ino = ino, .size = size, .off = off, .plus = true});
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    if (fs->no_open) { /* from now on the kernel keeps the pages of unchanged files */
        fuse_reply_err(req, ENOSYS);
        return;
    }
    (void)ino;
    /* Any change reaches the kernel as an inode invalidation, so its page cache
     * of an unchanged file stays valid across opens. */
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

static int do_read(fuse_req_t req, struct fs *fs, struct tree *t, const struct op *o)
{
    (void)fs;
    enum inode_kind kind;
    unsigned s;
    struct listing *l = NULL;
    const struct entry *e;
    int rc = resolve(req, t, o->ino, &kind, &l, &e, &s);
    if (rc == 0 && kind != INODE_FILE)
        rc = -EISDIR;
    if (rc == 0) {
        __atomic_store_n(&t->read_ms[s], mono_ms(), __ATOMIC_RELAXED);
        struct iovec v[RECORD_PIECES];
        int n = o->off < 0 ? 0 : record_json_iov(entry_record(e), (size_t)o->off, o->size, v);
        if (n == 0)
            fuse_reply_buf(req, NULL, 0);
        else
            fuse_reply_iov(req, v, n);
    }
    listing_unref(l);
    return rc;
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)fi;
    serve(req, do_read, &(struct op){.ino = ino, .size = size, .off = off});
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
    (void)ino;
    struct fs *fs = fs_of(req);
    struct tree *t = tree_get(fs);
    struct statvfs sv = {0};
    sv.f_bsize = 4096;
    sv.f_frsize = 4096;
    sv.f_files = inode_count() + 1 + t->n;
    sv.f_namemax = 255;
    tree_put(fs, t);
    fuse_reply_statfs(req, &sv);
}

/* Every modifying call: the mount is read-only (also enforced by -o ro). */
static void erofs(fuse_req_t req)
{
    fuse_reply_err(req, EROFS);
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *a, int set,
                       struct fuse_file_info *fi)
{
    (void)ino, (void)a, (void)set, (void)fi;
    erofs(req);
}

static void fs_mknod(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t r)
{
    (void)p, (void)n, (void)m, (void)r;
    erofs(req);
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m)
{
    (void)p, (void)n, (void)m;
    erofs(req);
}

static void fs_unlink(fuse_req_t req, fuse_ino_t p, const char *n)
{
    (void)p, (void)n;
    erofs(req);
}

static void fs_symlink(fuse_req_t req, const char *l, fuse_ino_t p, const char *n)
{
    (void)l, (void)p, (void)n;
    erofs(req);
}

static void fs_rename(fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np, const char *nn,
                      unsigned int flags)
{
    (void)p, (void)n, (void)np, (void)nn, (void)flags;
    erofs(req);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t np, const char *nn)
{
    (void)ino, (void)np, (void)nn;
    erofs(req);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *b, size_t s, off_t o,
                     struct fuse_file_info *fi)
{
    (void)ino, (void)b, (void)s, (void)o, (void)fi;
    erofs(req);
}

static void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *n, const char *v, size_t s,
                        int f)
{
    (void)ino, (void)n, (void)v, (void)s, (void)f;
    erofs(req);
}

static void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *n)
{
    (void)ino, (void)n;
    erofs(req);
}

static void fs_create(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m,
                      struct fuse_file_info *fi)
{
    (void)p, (void)n, (void)m, (void)fi;
    erofs(req);
}

static void fs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t o, off_t l,
                         struct fuse_file_info *fi)
{
    (void)ino, (void)mode, (void)o, (void)l, (void)fi;
    erofs(req);
}

void fs_set_reload_error(struct fs *fs, const char *msg)
{
    pthread_mutex_lock(&fs->rlock);
    snprintf(fs->reload_error, sizeof(fs->reload_error), "%.*s", msg ? (int)strcspn(msg, "\n") : 0,
             msg ? msg : "");
    pthread_mutex_unlock(&fs->rlock);
}

void fs_log_status(struct fs *fs)
{
    struct tree *t = tree_get(fs);
    for (size_t i = 0; i < t->n; i++) {
        struct cache_status st;
        char line[1024];
        cache_status(t->cache[i], &st);
        status_line(t->p[i]->section, &st, line, sizeof(line));
        log_info("%s", line);
    }
    tree_put(fs, t);
}

/* The attributes of a node, from what is in memory: nothing here waits for a
 * walk or starts one, so reading them never costs a request. */
static int node_xattrs(struct fs *fs, struct tree *t, fuse_ino_t ino, struct xattr_set *s)
{
    if (ino == FUSE_ROOT_ID) {
        char err[sizeof(fs->reload_error)];
        pthread_mutex_lock(&fs->rlock);
        memcpy(err, fs->reload_error, sizeof(err));
        pthread_mutex_unlock(&fs->rlock);
        struct xattr_section *sec = calloc(t->n ? t->n : 1, sizeof(*sec));
        if (!sec)
            return -ENOMEM;
        for (size_t i = 0; i < t->n; i++) {
            sec[i].section = t->p[i]->section;
            sec[i].type = t->p[i]->ops->type;
            cache_status(t->cache[i], &sec[i].st);
        }
        int rc = xattr_root(s, CFS_VERSION, err, sec, t->n);
        free(sec);
        return rc;
    }
    long sec = section_of(t, ino);
    if (sec >= 0) {
        struct cache_status st;
        cache_status(t->cache[sec], &st);
        return xattr_section(s, t->p[sec]->section, t->p[sec]->ops->type, &st);
    }
    enum inode_kind kind;
    unsigned id;
    size_t si = 0;
    int rc = inode_lookup(ino, &kind, &id);
    while (rc == 0 && si < t->n && t->id[si] != id)
        si++;
    if (rc < 0 || si >= t->n)
        return -ENOENT;
    const struct provider *p = t->p[si];
    struct xattr_collection c = {.section = p->section, .type = p->ops->type};
    struct listing *l = NULL;
    const struct entry *e;
    char *url = NULL;
    /* by the directory: a file number of before a change is the same collection */
    if (cache_peek(t->cache[si], inode_dir(ino), &l, &e) == 0) {
        /* gone from every listing in memory: provider and type are all there is */
        const struct record *r = entry_record(e);
        c.id = record_id(r);
        c.name = record_name(r, &c.name_len);
        c.has_created = record_created(r, &c.created);
        c.has_updated = record_updated(r, &c.updated);
        c.url = url = p->ops->collection_url ? p->ops->collection_url(p, c.id) : NULL;
    }
    rc = xattr_collection(s, &c);
    free(url);
    listing_unref(l);
    return rc;
}

/* Only user.collectionsfs.* exist. Other namespaces answer EOPNOTSUPP, which
 * coreutils caches per file system (SELinux labels, ACLs) so that `ls -l`
 * asks once, not once per file; the kernel itself caches no xattr answer. */
static void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    struct fs *fs = fs_of(req);
    struct tree *t = tree_get(fs);
    struct xattr_set s = {0};
    /* xattrs = no: ENOSYS, after which the kernel asks no more for the life of
     * the mount (so a reload can turn them off, not on again) */
    int rc = !t->cfg->g.xattrs                                        ? -ENOSYS
             : strncmp(name, "user.", 5) != 0                         ? -EOPNOTSUPP
             : strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)) != 0 ? -ENODATA
                                                                      : node_xattrs(fs, t, ino, &s);
    tree_put(fs, t);
    const struct xattr *x = rc == 0 ? xattr_find(&s, name) : NULL;
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else if (!x)
        fuse_reply_err(req, ENODATA);
    else if (size == 0)
        fuse_reply_xattr(req, x->len);
    else if (size < x->len)
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, x->value, x->len);
    xattr_set_free(&s);
}

static void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    struct fs *fs = fs_of(req);
    struct tree *t = tree_get(fs);
    struct xattr_set s = {0};
    int rc = t->cfg->g.xattrs ? node_xattrs(fs, t, ino, &s) : -ENOSYS;
    tree_put(fs, t);
    size_t n = rc == 0 ? xattr_names(&s, NULL, 0) : 0;
    char *buf = rc == 0 && size >= n ? malloc(n ? n : 1) : NULL;
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else if (size == 0)
        fuse_reply_xattr(req, n);
    else if (size < n)
        fuse_reply_err(req, ERANGE);
    else if (!buf)
        fuse_reply_err(req, ENOMEM);
    else
        fuse_reply_buf(req, buf, xattr_names(&s, buf, n));
    free(buf);
    xattr_set_free(&s);
}

static const struct fuse_lowlevel_ops ops = {
    .init = fs_init,
    .lookup = fs_lookup,
    .forget = fs_forget,
    .forget_multi = fs_forget_multi,
    .getattr = fs_getattr,
    .setattr = fs_setattr,
    .mknod = fs_mknod,
    .mkdir = fs_mkdir,
    .unlink = fs_unlink,
    .rmdir = fs_unlink,
    .symlink = fs_symlink,
    .rename = fs_rename,
    .link = fs_link,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .readdirplus = fs_readdirplus,
    .statfs = fs_statfs,
    .setxattr = fs_setxattr,
    .getxattr = fs_getxattr,
    .listxattr = fs_listxattr,
    .removexattr = fs_removexattr,
    .create = fs_create,
    .fallocate = fs_fallocate,
};

const struct fuse_lowlevel_ops *fs_ops(void)
{
    return &ops;
}
