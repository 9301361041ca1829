/* The status of a running daemon, two ways: one log line per provider
 * (SIGUSR1, from the cache's facts) and `collectionsfs --status MOUNTPOINT`, a
 * table read only from the mount's xattrs, so any user who can see the mount
 * can ask and no walk is ever started by asking. */
#ifndef CFS_STATUS_H
#define CFS_STATUS_H

#include <stddef.h>
#include <stdio.h>

#include "cache.h"

/** The log line of one provider's status into buf (always NUL-terminated). */
void status_line(const char *section, const struct cache_status *st, char *buf, size_t size);
/** Print the status table of the mount at path to out (errors to err); the exit code: 0, or 1
 * when path is no collectionsfs mount or cannot be read. -ETIMEDOUT (said on err) when the mount
 * did not answer within timeout_ms: a thread is then still blocked on it, and the caller must
 * end the process with _exit, which nothing waits for. */
int status_print(const char *path, FILE *out, FILE *err, unsigned timeout_ms);

#endif
