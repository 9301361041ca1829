/* FUSE low-level callbacks; see fs.h.
 *
 * Inodes: 1 is the root, each section has a fixed even number, a collection
 * directory has inode_collection(section, id) and its metadata.json that | 1.
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
 * goes on after the entry whose inode its offset carries (cache_readdir). */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "init_reply.h"
#include "inode.h"
#include "listing.h"
#include "log.h"
#include "provider.h"
#include "record.h"
#include "status.h"
#include "xattr.h"

#define FS_FILE_NAME "metadata.json"
#define FS_FIXED_TTL 86400.0      /* the root and section directories change only with the config */
#define FS_DEFAULT_TIME 946684800 /* 2000-01-01: a collection with no time at all */

struct notice {
    struct notice *next;
    uint64_t parent, ino;
    char name[];
};

struct fs {
    const struct config *cfg;
    struct provider **p;
    struct cache **cache;
    uint64_t *ino; /* section directory inodes */
    size_t n;
    uid_t uid;
    gid_t gid;
    struct fuse_session *se;
    struct init_reply init;   /* see fs_writev */
    bool no_open, no_opendir; /* the kernel can do without open / opendir */
    pthread_t notifier;
    bool notifier_up, stop;
    pthread_mutex_t slock; /* synchronous invalidations; dead once detached */
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
 * a page lock that a read in progress holds, and reads never wait on a worker. */
static void hook_forget(void *ctx, const uint64_t *ino, size_t n)
{
    struct fs *fs = ctx;
    pthread_mutex_lock(&fs->slock);
    for (size_t i = 0; i < n && !fs->dead && fs->se; i++)
        fuse_lowlevel_notify_inval_inode(fs->se, ino[i], 0, 0); /* -ENOENT: nothing held */
    pthread_mutex_unlock(&fs->slock);
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
        /* -ENOENT only means the kernel held nothing for it */
        if (nt->name[0])
            fuse_lowlevel_notify_inval_entry(fs->se, nt->parent, nt->name, strlen(nt->name));
        else
            fuse_lowlevel_notify_inval_inode(fs->se, nt->ino, 0, 0);
        free(nt);
        pthread_mutex_lock(&fs->qlock);
    }
    pthread_mutex_unlock(&fs->qlock);
    return NULL;
}

struct fs *fs_new(const struct config *cfg, struct provider **p, size_t n)
{
    struct fs *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return NULL;
    fs->cfg = cfg;
    fs->p = p;
    fs->n = n;
    fs->uid = getuid();
    fs->gid = getgid();
    fs->tail = &fs->head;
    pthread_mutex_init(&fs->qlock, NULL);
    pthread_mutex_init(&fs->slock, NULL);
    pthread_mutex_init(&fs->rlock, NULL);
    pthread_cond_init(&fs->qcond, NULL);
    fs->cache = calloc(n ? n : 1, sizeof(*fs->cache));
    fs->ino = calloc(n ? n : 1, sizeof(*fs->ino));
    if (!fs->cache || !fs->ino)
        goto fail;
    struct cache_hooks hooks = {fs, hook_entry, hook_inode, hook_forget};
    for (size_t i = 0; i < n; i++) {
        fs->ino[i] = inode_section(p[i]->section);
        if (!(fs->cache[i] = cache_new(p[i], &cfg->g, fs->ino[i], &hooks)))
            goto fail;
    }
    return fs;
fail:
    fs_free(fs);
    return NULL;
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
    return -err;
}

void fs_drop(struct fs *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        cache_drop(fs->cache[i]);
    log_info("SIGHUP: dropped every cached listing");
}

void fs_stop(struct fs *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        cache_stop(fs->cache[i]);
}

void fs_detach(struct fs *fs)
{
    if (!fs)
        return;
    pthread_mutex_lock(&fs->slock); /* the session goes next: no more notices to it */
    fs->dead = true;
    pthread_mutex_unlock(&fs->slock);
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
    for (size_t i = 0; fs->cache && i < fs->n; i++)
        cache_free(fs->cache[i]);
    log_debug("caches freed");
    while (fs->head) {
        struct notice *nt = fs->head;
        fs->head = nt->next;
        free(nt);
    }
    free(fs->cache);
    free(fs->ino);
    pthread_mutex_destroy(&fs->rlock);
    free(fs);
}

static struct fs *fs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

/* Index of the section whose directory is ino, or -1. */
static long section_of(const struct fs *fs, fuse_ino_t ino)
{
    for (size_t i = 0; i < fs->n; i++)
        if (fs->ino[i] == ino)
            return (long)i;
    return -1;
}

static void dir_attr(const struct fs *fs, fuse_ino_t ino, nlink_t nlink, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = ino;
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = nlink;
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    st->st_blksize = 4096;
    st->st_mtim = st->st_ctim = st->st_atim = fs->cfg->mtime;
}

/* Attributes of a collection directory (file = false) or its metadata.json. */
static void entry_attr(const struct fs *fs, const struct entry *e, bool file, struct stat *st)
{
    struct timespec t;
    if (!entry_time(e, &t))
        t = (struct timespec){FS_DEFAULT_TIME, 0};
    dir_attr(fs, entry_ino(e), 2, st);
    st->st_mtim = st->st_ctim = st->st_atim = t;
    if (file) {
        size_t len;
        entry_json(e, &len);
        st->st_ino = entry_ino(e) | 1;
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
static int section_attr(fuse_req_t req, struct fs *fs, size_t sec, struct stat *st, double *ttl)
{
    struct pending p = {fs->cache[sec], {false}};
    struct timespec changed;
    int rc;
    if (req) {
        fuse_req_interrupt_func(req, interrupted, &p);
        rc = cache_dir_attr(p.c, true, &p.call, &changed, ttl);
        fuse_req_interrupt_func(req, NULL, NULL);
    } else { /* for a directory entry: what is known now */
        rc = cache_dir_attr(p.c, false, NULL, &changed, ttl);
    }
    dir_attr(fs, fs->ino[sec], 1, st);
    if (changed.tv_sec)
        st->st_mtim = st->st_ctim = changed;
    return rc;
}

/* Which collection a directory or file inode stands for, from the inode table. */
static int resolve(fuse_req_t req, struct fs *fs, fuse_ino_t ino, enum inode_kind *kind,
                   struct listing **l, const struct entry **e, unsigned *section)
{
    int rc = inode_lookup(ino, kind, section);
    if (rc == 0)
        rc = *section < fs->n ? cache_get(req, fs->cache[*section], BY_INO, NULL, ino, l, e)
                              : -ENOENT;
    return rc;
}

static void reply_entry_of(fuse_req_t req, struct fs *fs, unsigned sec, const struct listing *l,
                           const struct entry *e, bool file)
{
    struct fuse_entry_param ep = {0};
    double ttl = cache_ttl(fs->cache[sec], l);
    entry_attr(fs, e, file, &ep.attr);
    ep.ino = ep.attr.st_ino;
    ep.attr_timeout = ep.entry_timeout = ttl;
    int rc = inode_remember(ep.ino, file ? INODE_FILE : INODE_DIR, sec);
    if (rc == -EEXIST)
        log_err("[%s] inode %llu stands for two collections; one cannot be shown",
                fs->p[sec]->section, (unsigned long long)ep.ino);
    if (rc < 0)
        fuse_reply_err(req, rc == -EEXIST ? EIO : -rc);
    else
        fuse_reply_entry(req, &ep);
}

static void reply_negative(fuse_req_t req, double ttl)
{
    /* ino 0 with a timeout: the kernel remembers that the name does not exist */
    struct fuse_entry_param ep = {0};
    ep.entry_timeout = ttl;
    fuse_reply_entry(req, &ep);
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
    struct fs *fs = userdata;
    /* Lookups in one directory must not queue behind each other in the kernel:
     * one waiting for a slow provider would hold up the rest (libfuse 3.14
     * needs fs_writev's help to tell the kernel). */
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
        conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
    /* Past their attribute timeout, the kernel asks GETATTR before it reads
     * cached pages or cached directory entries, and drops them when the mtime
     * changed: that is how the ttl reaches its caches. */
    if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
        conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
    fs->no_open = conn->capable & FUSE_CAP_NO_OPEN_SUPPORT;
    fs->no_opendir = conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs *fs = fs_of(req);
    if (parent == FUSE_ROOT_ID) {
        for (size_t i = 0; i < fs->n; i++) {
            if (strcmp(fs->p[i]->section, name) == 0) {
                struct fuse_entry_param ep = {0};
                int rc = section_attr(req, fs, i, &ep.attr, &ep.attr_timeout);
                if (rc < 0) {
                    fuse_reply_err(req, -rc);
                    return;
                }
                ep.ino = fs->ino[i];
                ep.entry_timeout = FS_FIXED_TTL;
                fuse_reply_entry(req, &ep);
                return;
            }
        }
        reply_negative(req, FS_FIXED_TTL);
        return;
    }
    struct listing *l = NULL;
    const struct entry *e = NULL;
    long sec = section_of(fs, parent);
    if (sec >= 0) {
        int rc = cache_get(req, fs->cache[sec], BY_NAME, name, 0, &l, &e);
        if (rc == 0)
            reply_entry_of(req, fs, (unsigned)sec, l, e, false);
        else if (rc == -ENOENT) /* only a complete listing says so */
            reply_negative(req, cache_ttl(fs->cache[sec], NULL));
        else
            fuse_reply_err(req, -rc);
        listing_unref(l);
        return;
    }
    enum inode_kind kind;
    unsigned s;
    int rc = resolve(req, fs, parent, &kind, &l, &e, &s);
    if (rc == 0 && kind != INODE_DIR)
        rc = -ENOTDIR;
    if (rc == 0 && strcmp(name, FS_FILE_NAME) == 0)
        reply_entry_of(req, fs, s, l, e, true);
    else if (rc == 0)
        reply_negative(req, cache_ttl(fs->cache[s], l));
    else
        fuse_reply_err(req, -rc);
    listing_unref(l);
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

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    struct fs *fs = fs_of(req);
    struct stat st;
    long sec = section_of(fs, ino);
    if (ino == FUSE_ROOT_ID) {
        dir_attr(fs, ino, 2 + fs->n, &st);
        fuse_reply_attr(req, &st, FS_FIXED_TTL);
        return;
    }
    if (sec >= 0) {
        double ttl;
        int rc = section_attr(req, fs, (size_t)sec, &st, &ttl);
        if (rc < 0)
            fuse_reply_err(req, -rc);
        else
            fuse_reply_attr(req, &st, ttl);
        return;
    }
    enum inode_kind kind;
    unsigned s;
    struct listing *l = NULL;
    const struct entry *e;
    int rc = resolve(req, fs, ino, &kind, &l, &e, &s);
    if (rc == 0) {
        entry_attr(fs, e, kind == INODE_FILE, &st);
        fuse_reply_attr(req, &st, cache_ttl(fs->cache[s], l));
    } else {
        fuse_reply_err(req, -rc);
    }
    listing_unref(l);
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
    char *buf;
    size_t size, pos;
    bool plus;
    unsigned section;
};

/* Add one entry; false when the buffer is full. With plus, the kernel takes a
 * reference on a collection inode (counted), which the table counts. */
static bool add(struct dirbuf *d, const char *name, const struct fuse_entry_param *ep, bool counted,
                off_t next)
{
    size_t room = d->size - d->pos, n;
    if (d->plus)
        n = fuse_add_direntry_plus(d->req, d->buf + d->pos, room, name, ep, next);
    else
        n = fuse_add_direntry(d->req, d->buf + d->pos, room, name, &ep->attr, next);
    if (n > room)
        return false;
    if (d->plus && ep->ino && counted &&
        inode_remember(ep->ino, S_ISDIR(ep->attr.st_mode) ? INODE_DIR : INODE_FILE, d->section) < 0)
        return false; /* the entry is in the buffer but unnamed in the table: stop here */
    d->pos += n;
    return true;
}

/* A collection's offset is its inode halved (never 1 or 2, the offsets of "."
 * and ".."): a read goes on after that collection in whatever listing is
 * current, so offsets survive a refresh. */
static off_t collection_off(uint64_t ino)
{
    return (off_t)(ino >> 1);
}

static bool fill_collection(void *ctx, const struct entry *e, double ttl)
{
    struct dirbuf *d = ctx;
    struct fuse_entry_param ep = {0};
    entry_attr(d->fs, e, false, &ep.attr);
    ep.ino = entry_ino(e);
    ep.attr_timeout = ep.entry_timeout = ttl;
    return add(d, entry_name(e), &ep, true, collection_off(entry_ino(e)));
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
    struct fs *fs = fs_of(req);
    struct dirbuf d = {req, fs, malloc(size), size, 0, plus, 0};
    if (!d.buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    long sec = section_of(fs, ino);
    enum inode_kind kind = ino == FUSE_ROOT_ID ? INODE_ROOT : INODE_SECTION;
    struct listing *l = NULL;
    const struct entry *e = NULL;
    int rc = 0;
    if (kind == INODE_SECTION && sec < 0) {
        rc = resolve(req, fs, ino, &kind, &l, &e, &d.section);
        if (rc == 0 && kind != INODE_DIR)
            rc = -ENOTDIR;
    }
    if (rc < 0) {
        fuse_reply_err(req, -rc);
        free(d.buf);
        return;
    }
    struct fuse_entry_param ep = {0};
    /* "." and ".." carry no reference: ino 0 in the entry, only st_ino set */
    if (off < 1) {
        dir_attr(fs, ino, 2, &ep.attr);
        if (!add(&d, ".", &ep, false, 1))
            goto out;
    }
    if (off < 2) {
        dir_attr(fs, kind == INODE_DIR ? fs->ino[d.section] : FUSE_ROOT_ID, 2, &ep.attr);
        if (!add(&d, "..", &ep, false, 2))
            goto out;
    }
    if (kind == INODE_ROOT) {
        for (off_t i = off < 2 ? 0 : off - 2; (size_t)i < fs->n; i++) {
            memset(&ep, 0, sizeof(ep));
            section_attr(NULL, fs, (size_t)i, &ep.attr, &ep.attr_timeout);
            ep.ino = fs->ino[i];
            ep.entry_timeout = FS_FIXED_TTL;
            if (!add(&d, fs->p[i]->section, &ep, false, i + 3))
                break;
        }
    } else if (sec >= 0) {
        struct pending p = {fs->cache[sec], {false}};
        d.section = (unsigned)sec;
        fuse_req_interrupt_func(req, interrupted, &p);
        rc = cache_readdir(p.c, off > 2 ? (uint64_t)off << 1 : 0, &p.call, fill_collection, &d);
        fuse_req_interrupt_func(req, NULL, NULL);
        if (rc < 0 && d.pos == 0) {
            fuse_reply_err(req, -rc);
            free(d.buf);
            return;
        }
    } else if (off < 3) {
        memset(&ep, 0, sizeof(ep));
        entry_attr(fs, e, true, &ep.attr);
        ep.ino = entry_ino(e) | 1;
        ep.attr_timeout = ep.entry_timeout = cache_ttl(fs->cache[d.section], l);
        add(&d, FS_FILE_NAME, &ep, true, 3);
    }
out:
    fuse_reply_buf(req, d.buf, d.pos);
    listing_unref(l);
    free(d.buf);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    (void)fi;
    do_readdir(req, ino, size, off, false);
}

static void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    (void)fi;
    do_readdir(req, ino, size, off, true);
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

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)fi;
    struct fs *fs = fs_of(req);
    enum inode_kind kind;
    unsigned s;
    struct listing *l = NULL;
    const struct entry *e;
    int rc = resolve(req, fs, ino, &kind, &l, &e, &s);
    if (rc == 0 && kind != INODE_FILE)
        rc = -EISDIR;
    if (rc < 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    size_t len;
    const char *json = entry_json(e, &len);
    if (off < 0 || (size_t)off >= len)
        fuse_reply_buf(req, NULL, 0);
    else
        fuse_reply_buf(req, json + off, len - (size_t)off < size ? len - (size_t)off : size);
    listing_unref(l);
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
    (void)ino;
    struct statvfs sv = {0};
    sv.f_bsize = 4096;
    sv.f_frsize = 4096;
    sv.f_files = inode_count() + 1 + fs_of(req)->n;
    sv.f_namemax = 255;
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
    for (size_t i = 0; i < fs->n; i++) {
        struct cache_status st;
        char line[1024];
        cache_status(fs->cache[i], &st);
        status_line(fs->p[i]->section, &st, line, sizeof(line));
        log_info("%s", line);
    }
}

/* The attributes of a node, from what is in memory: nothing here waits for a
 * walk or starts one, so reading them never costs a request. */
static int node_xattrs(struct fs *fs, fuse_ino_t ino, struct xattr_set *s)
{
    if (ino == FUSE_ROOT_ID) {
        char err[sizeof(fs->reload_error)];
        pthread_mutex_lock(&fs->rlock);
        memcpy(err, fs->reload_error, sizeof(err));
        pthread_mutex_unlock(&fs->rlock);
        struct xattr_section *sec = calloc(fs->n ? fs->n : 1, sizeof(*sec));
        if (!sec)
            return -ENOMEM;
        for (size_t i = 0; i < fs->n; i++) {
            sec[i].section = fs->p[i]->section;
            sec[i].type = fs->p[i]->ops->type;
            cache_status(fs->cache[i], &sec[i].st);
        }
        int rc = xattr_root(s, CFS_VERSION, err, sec, fs->n);
        free(sec);
        return rc;
    }
    long sec = section_of(fs, ino);
    if (sec >= 0) {
        struct cache_status st;
        cache_status(fs->cache[sec], &st);
        return xattr_section(s, fs->p[sec]->section, fs->p[sec]->ops->type, &st);
    }
    enum inode_kind kind;
    unsigned si;
    int rc = inode_lookup(ino, &kind, &si);
    if (rc < 0 || si >= fs->n)
        return -ENOENT;
    const struct provider *p = fs->p[si];
    struct xattr_collection c = {.section = p->section, .type = p->ops->type};
    struct listing *l = NULL;
    const struct entry *e;
    char *url = NULL;
    if (cache_peek(fs->cache[si], ino, &l, &e) == 0) {
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
    if (strncmp(name, "user.", 5) != 0) {
        fuse_reply_err(req, EOPNOTSUPP);
        return;
    }
    if (strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)) != 0) {
        fuse_reply_err(req, ENODATA);
        return;
    }
    struct xattr_set s = {0};
    int rc = node_xattrs(fs_of(req), ino, &s);
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
    struct xattr_set s = {0};
    int rc = node_xattrs(fs_of(req), ino, &s);
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
