/* ISO-8601 / RFC 3339 timestamps as providers send them. Pure functions. */
#ifndef CFS_ISOTIME_H
#define CFS_ISOTIME_H

#include <stddef.h>
#include <time.h>

/** Parse "YYYY-MM-DD[T| ]HH:MM[:SS[.frac]][Z|+hh:mm|+hhmm|+hh]" (or a bare date) into UTC; 0 or
 * -EINVAL. */
int isotime_parse(const char *s, size_t len, struct timespec *out);

#endif
