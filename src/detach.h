/* Starting in the background without losing the start's outcome. libfuse's
 * fuse_daemonize lets the starting process exit 0 as soon as it has forked, so a
 * daemon that then could not start its threads left `collectionsfs MOUNTPOINT`
 * successful, silent and unmounted. Here the starting process waits until the
 * daemon serves, and a failure reaches its terminal and its exit status. */
#ifndef CFS_DETACH_H
#define CFS_DETACH_H

/** Fork; the caller goes on as the daemon in a session of its own, in /, its stdio kept until
 * detach_done; the starting process exits then (0) or when the daemon ends (1). 0 or -errno. */
int detach_start(void);
/** The daemon serves: stdio to /dev/null, and the starting process exits 0. Once; no-op unless
 * detach_start forked. */
void detach_done(void);

#endif
