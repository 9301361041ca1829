/* The FUSE low-level callbacks. They only translate: inode numbers to sections
 * and collections, cache answers to replies. Every handler replies exactly once. */
#ifndef CFS_FS_H
#define CFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stddef.h>

struct config;
struct provider;
struct shared;
struct fs;

/** The file system over cfg (malloc'd), its providers p[0..cfg->n) (malloc'd array) and the
 * shared cache sh (or NULL), which it owns from now on, also when it fails; NULL on ENOMEM. */
struct fs *fs_new(struct config *cfg, struct provider **p, struct shared *sh);
/** The callback table for fuse_session_new. */
const struct fuse_lowlevel_ops *fs_ops(void);
/** Start telling the kernel about changes through this session. */
int fs_attach(struct fs *fs, struct fuse_session *se);
/** Stop telling the kernel anything: before the session's device is closed. */
void fs_detach(struct fs *fs);
/** Drop every cached listing (SIGHUP). */
void fs_drop(struct fs *fs);
/** Replace the configuration with cfg, p and sh (owned as by fs_new), telling the kernel what
 * appeared, went or changed account; refreshes every listing; 0 or -ENOMEM (the old one stays). */
int fs_reload(struct fs *fs, struct config *cfg, struct provider **p, struct shared *sh);
/** Show msg (one line, copied; NULL clears) as the root's user.collectionsfs.reload_error. */
void fs_set_reload_error(struct fs *fs, const char *msg);
/** Log one line per provider: its listing, counters and pacing (SIGUSR1). */
void fs_log_status(struct fs *fs);
/** Answer every waiting request now (with EIO): the session is ending. */
void fs_stop(struct fs *fs);
/** Stop the notifier, join the workers (after http_shutdown), free everything. */
void fs_free(struct fs *fs);

#endif
