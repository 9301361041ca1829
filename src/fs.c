/* FUSE low-level callbacks; see fs.h.
 *
 * Inodes: 1 is the root, each section has a fixed even number, a collection
 * directory has inode_collection(section, id) and its metadata.json that | 1.
 * The kernel is told to cache entries and attributes for as long as the
 * listing stays fresh, and negative lookups too, so probes like .hidden or
 * autorun.inf reach us once per ttl at most and never reach the network. */
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

#define FS_FILE_NAME "metadata.json"
#define FS_FIXED_TTL 86400.0      /* the root and section directories change only with the config */
#define FS_DEFAULT_TIME 946684800 /* 2000-01-01: a collection with no time at all */

struct notice {
    struct notice *next;
    uint64_t parent, ino;
    char name[];
};

/* What an open file or directory holds: a reference on the listing it started
 * with. Handles are listed so that those the kernel never releases (a lazy
 * unmount ends the session before its RELEASE requests arrive) are freed with
 * the file system instead of leaking. */
struct handle {
    struct handle *prev, *next;
    struct listing *l; /* NULL for the root and collection directories */
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
    struct init_reply init; /* see fs_writev */
    pthread_t notifier;
    bool notifier_up, stop;
    pthread_mutex_t hlock;
    struct handle *handles; /* open files and directories, see handle_open */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    struct notice *head, **tail;
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

static void handle_open(struct fs *fs, struct handle *h)
{
    pthread_mutex_lock(&fs->hlock);
    h->prev = NULL;
    h->next = fs->handles;
    if (h->next)
        h->next->prev = h;
    fs->handles = h;
    pthread_mutex_unlock(&fs->hlock);
}

/* Unlist (when listed), drop the listing and free; h is the first member of its struct. */
static void handle_close(struct fs *fs, struct handle *h, bool listed)
{
    if (listed) {
        pthread_mutex_lock(&fs->hlock);
        if (h->prev)
            h->prev->next = h->next;
        else
            fs->handles = h->next;
        if (h->next)
            h->next->prev = h->prev;
        pthread_mutex_unlock(&fs->hlock);
    }
    listing_unref(h->l);
    free(h);
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
    pthread_mutex_init(&fs->hlock, NULL);
    pthread_cond_init(&fs->qcond, NULL);
    fs->cache = calloc(n ? n : 1, sizeof(*fs->cache));
    fs->ino = calloc(n ? n : 1, sizeof(*fs->ino));
    if (!fs->cache || !fs->ino)
        goto fail;
    struct cache_hooks hooks = {fs, hook_entry, hook_inode};
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
    if (!fs || !fs->notifier_up)
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
    while (fs->handles) /* never released: the session ended first */
        handle_close(fs, fs->handles, true);
    pthread_mutex_destroy(&fs->hlock);
    free(fs->cache);
    free(fs->ino);
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

enum by { BY_NAME, BY_INO, BY_ALL };

static int cache_get(fuse_req_t req, struct cache *c, enum by by, const char *name, uint64_t ino,
                     struct listing **l, const struct entry **e)
{
    struct pending p = {c, {false}};
    /* calls interrupted() at once if the interrupt came first */
    fuse_req_interrupt_func(req, interrupted, &p);
    int rc = by == BY_NAME  ? cache_by_name(c, name, &p.call, l, e)
             : by == BY_INO ? cache_by_ino(c, ino, &p.call, l, e)
                            : cache_listing(c, &p.call, l);
    /* returns once no interrupted() runs: p may go */
    fuse_req_interrupt_func(req, NULL, NULL);
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

static void reply_entry_of(fuse_req_t req, struct fs *fs, unsigned sec, const struct entry *e,
                           bool file)
{
    struct fuse_entry_param ep = {0};
    double ttl = cache_ttl_left(fs->cache[sec]);
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
    (void)userdata;
    /* Lookups in one directory must not queue behind each other in the kernel:
     * one waiting for a slow provider would hold up the rest (libfuse 3.14
     * needs fs_writev's help to tell the kernel). */
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
        conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs *fs = fs_of(req);
    if (parent == FUSE_ROOT_ID) {
        for (size_t i = 0; i < fs->n; i++) {
            if (strcmp(fs->p[i]->section, name) == 0) {
                struct fuse_entry_param ep = {0};
                dir_attr(fs, fs->ino[i], 1, &ep.attr);
                ep.ino = fs->ino[i];
                ep.attr_timeout = ep.entry_timeout = FS_FIXED_TTL;
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
            reply_entry_of(req, fs, (unsigned)sec, e, false);
        else if (rc == -ENOENT)
            reply_negative(req, cache_ttl_left(fs->cache[sec]));
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
        reply_entry_of(req, fs, s, e, true);
    else if (rc == 0)
        reply_negative(req, cache_ttl_left(fs->cache[s]));
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
    if (ino == FUSE_ROOT_ID || sec >= 0) {
        dir_attr(fs, ino, ino == FUSE_ROOT_ID ? 2 + fs->n : 1, &st);
        fuse_reply_attr(req, &st, FS_FIXED_TTL);
        return;
    }
    enum inode_kind kind;
    unsigned s;
    struct listing *l = NULL;
    const struct entry *e;
    int rc = resolve(req, fs, ino, &kind, &l, &e, &s);
    if (rc == 0) {
        entry_attr(fs, e, kind == INODE_FILE, &st);
        fuse_reply_attr(req, &st, cache_ttl_left(fs->cache[s]));
    } else {
        fuse_reply_err(req, -rc);
    }
    listing_unref(l);
}

/* An open directory: the listing it started with, so offsets stay valid. */
struct dirh {
    struct handle h; /* first: handle_close frees the dirh */
    long section;    /* -1 unless a section directory */
    enum inode_kind kind;
    unsigned s;
    const struct entry *e; /* the collection, for a collection directory */
};

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct dirh *d = calloc(1, sizeof(*d));
    if (!d) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    int rc = 0;
    d->section = section_of(fs, ino);
    d->kind = ino == FUSE_ROOT_ID ? INODE_ROOT : INODE_SECTION;
    if (d->section >= 0) {
        rc = cache_get(req, fs->cache[d->section], BY_ALL, NULL, 0, &d->h.l, NULL);
    } else if (ino != FUSE_ROOT_ID) {
        rc = resolve(req, fs, ino, &d->kind, &d->h.l, &d->e, &d->s);
        if (rc == 0 && d->kind != INODE_DIR)
            rc = -ENOTDIR;
    }
    if (rc < 0) {
        handle_close(fs, &d->h, false);
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uintptr_t)d;
    handle_open(fs, &d->h);
    /* the caller was interrupted (-ENOENT) or the session is gone: no
     * RELEASEDIR will come for a handle the kernel never got */
    if (fuse_reply_open(req, fi) != 0)
        handle_close(fs, &d->h, true);
}

/* Add one entry; false when the buffer is full. With plus, the kernel takes a
 * reference on a collection inode (counted), which the table counts. */
static bool add(fuse_req_t req, char *buf, size_t size, size_t *pos, bool plus, const char *name,
                const struct fuse_entry_param *ep, unsigned s, bool counted, off_t next)
{
    size_t n;
    if (plus)
        n = fuse_add_direntry_plus(req, buf + *pos, size - *pos, name, ep, next);
    else
        n = fuse_add_direntry(req, buf + *pos, size - *pos, name, &ep->attr, next);
    if (n > size - *pos)
        return false;
    if (plus && ep->ino && counted &&
        inode_remember(ep->ino, S_ISDIR(ep->attr.st_mode) ? INODE_DIR : INODE_FILE, s) < 0)
        return false; /* the entry is in the buffer but unnamed in the table: stop here */
    *pos += n;
    return true;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi, bool plus)
{
    struct fs *fs = fs_of(req);
    struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
    char *buf = malloc(size);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    size_t pos = 0;
    struct fuse_entry_param ep = {0};
    /* "." and ".." carry no reference: ino 0 in the entry, only st_ino set */
    if (off < 1) {
        dir_attr(fs, ino, 2, &ep.attr);
        if (!add(req, buf, size, &pos, plus, ".", &ep, 0, false, 1))
            goto out;
    }
    if (off < 2) {
        dir_attr(fs, FUSE_ROOT_ID, 2, &ep.attr);
        if (!add(req, buf, size, &pos, plus, "..", &ep, 0, false, 2))
            goto out;
    }
    off_t i = off < 2 ? 0 : off - 2;
    if (d->kind == INODE_ROOT) {
        for (; (size_t)i < fs->n; i++) {
            memset(&ep, 0, sizeof(ep));
            dir_attr(fs, fs->ino[i], 1, &ep.attr);
            ep.ino = fs->ino[i];
            ep.attr_timeout = ep.entry_timeout = FS_FIXED_TTL;
            if (!add(req, buf, size, &pos, plus, fs->p[i]->section, &ep, 0, false, i + 3))
                break;
        }
    } else if (d->section >= 0) {
        double ttl = cache_ttl_left(fs->cache[d->section]);
        for (; (size_t)i < listing_count(d->h.l); i++) {
            const struct entry *e = listing_at(d->h.l, i);
            if (!entry_name(e))
                continue;
            memset(&ep, 0, sizeof(ep));
            entry_attr(fs, e, false, &ep.attr);
            ep.ino = entry_ino(e);
            ep.attr_timeout = ep.entry_timeout = ttl;
            if (!add(req, buf, size, &pos, plus, entry_name(e), &ep, (unsigned)d->section, true,
                     i + 3))
                break;
        }
    } else if (i == 0) {
        memset(&ep, 0, sizeof(ep));
        entry_attr(fs, d->e, true, &ep.attr);
        ep.ino = entry_ino(d->e) | 1;
        ep.attr_timeout = ep.entry_timeout = cache_ttl_left(fs->cache[d->s]);
        add(req, buf, size, &pos, plus, FS_FILE_NAME, &ep, d->s, true, 3);
    }
out:
    fuse_reply_buf(req, buf, pos);
    free(buf);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    do_readdir(req, ino, size, off, fi, false);
}

static void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    do_readdir(req, ino, size, off, fi, true);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
    handle_close(fs_of(req), &d->h, true);
    fuse_reply_err(req, 0);
}

/* An open metadata.json: the bytes it was opened with. */
struct fileh {
    struct handle h; /* first: handle_close frees the fileh */
    const struct entry *e;
};

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    struct fileh *f = calloc(1, sizeof(*f));
    enum inode_kind kind;
    unsigned s;
    int rc = f ? resolve(req, fs, ino, &kind, &f->h.l, &f->e, &s) : -ENOMEM;
    if (rc == 0 && kind != INODE_FILE)
        rc = -EISDIR;
    if (rc < 0) {
        if (f)
            handle_close(fs, &f->h, false);
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uintptr_t)f;
    /* Any change reaches the kernel as an inode invalidation, so its page cache
     * of an unchanged file stays valid across opens. */
    fi->keep_cache = 1;
    handle_open(fs, &f->h);
    if (fuse_reply_open(req, fi) != 0) /* as in fs_opendir */
        handle_close(fs, &f->h, true);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)ino;
    const struct fileh *f = (const struct fileh *)(uintptr_t)fi->fh;
    size_t len;
    const char *json = entry_json(f->e, &len);
    if (off < 0 || (size_t)off >= len) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    size_t n = len - (size_t)off < size ? len - (size_t)off : size;
    /* The reply is written from the listing's memory, and the kernel may end
     * this read and send RELEASE, freeing the handle in another thread, before
     * writev returns: hold the listing until then. */
    struct listing *l = f->h.l;
    listing_ref(l);
    fuse_reply_buf(req, json + off, n);
    listing_unref(l);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    struct fileh *f = (struct fileh *)(uintptr_t)fi->fh;
    handle_close(fs_of(req), &f->h, true);
    fuse_reply_err(req, 0);
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

/* No extended attributes: ENOSYS makes the kernel stop asking for good. */
static void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *n, size_t s)
{
    (void)ino, (void)n, (void)s;
    fuse_reply_err(req, ENOSYS);
}

static void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t s)
{
    (void)ino, (void)s;
    fuse_reply_err(req, ENOSYS);
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
    .release = fs_release,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .readdirplus = fs_readdirplus,
    .releasedir = fs_releasedir,
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
