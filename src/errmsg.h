/* User-facing error messages: a function that fails writes why into the caller's
 * buffer and returns its -errno in one statement. */
#ifndef CFS_ERRMSG_H
#define CFS_ERRMSG_H

#include <stddef.h>

/** Format a message into err (when err is not NULL and errlen > 0, cut to fit); returns rc. */
int errmsg(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
