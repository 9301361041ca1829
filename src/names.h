/* Directory names for collections: the rclone-style encoding of unsafe bytes, the
 * 255-byte cut, and the "oldest keeps the plain name" ordering. Pure functions. */
#ifndef CFS_NAMES_H
#define CFS_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NAMES_MAX 255

/* What decides which of two same-named collections is the oldest. */
struct names_key {
    const char *id;
    bool has_created;
    struct timespec created;
};

/** Encode raw name bytes into a safe path component (no length cut); malloc'd, NULL on ENOMEM. */
char *names_encode(const char *raw, size_t len);
/** "<encoded> (<encoded id>)", the name cut at a UTF-8 boundary so it fits NAMES_MAX bytes. */
char *names_with_id(const char *encoded, const char *id);
/** The plain directory name: encoded name, or the id when empty or missing, cut with the id when
 * too long. */
char *names_base(const char *raw, size_t len, bool has_name, const char *id);
/** <0 when a is older than b: created time ascending (missing last), then id (numeric ids by
 * value). */
int names_older(const struct names_key *a, const struct names_key *b);
/** True when s is a name the mount can show as is (used to vet config section names). */
bool names_is_safe(const char *s);

#endif
