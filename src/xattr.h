/* The extended attributes of every node, as names and values: pure encoding of
 * what the cache already knows (fs.c gathers the facts without waiting and
 * replies). All live under user.collectionsfs.; values are text without a
 * trailing NUL, times ISO 8601 in UTC, absent facts absent. */
#ifndef CFS_XATTR_H
#define CFS_XATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/limits.h>
#include <time.h>

#include "cache.h"

#define XATTR_PREFIX "user.collectionsfs."
/* The most bytes of a raw collection name .name shows: a hostile provider
 * cannot make one attribute larger than this. */
#define XATTR_NAME_CAP 4096
/* The root's copy of a provider directory's facts: XATTR_STATUS + section. */
#define XATTR_STATUS XATTR_PREFIX "status."
/* The longest section name whose XATTR_STATUS name the kernel still takes: it
 * refuses a longer one with ERANGE, which would break --status and getfattr -d. */
#define XATTR_SECTION_MAX (XATTR_NAME_MAX - (sizeof(XATTR_STATUS) - 1))

struct xattr {
    char *name, *value; /* malloc'd; the value has len bytes and no NUL of its own */
    size_t len;
};

/* Zero it before the first use; xattr_set_free after every use. */
struct xattr_set {
    size_t n, cap;
    struct xattr *a;
};

/* One provider as the root shows it. */
struct xattr_section {
    const char *section, *type;
    struct cache_status st;
};

/* One collection as its directory and metadata.json show it. */
struct xattr_collection {
    const char *section, *type, *id;
    const char *name; /* raw name bytes, or NULL when the provider gave none */
    size_t name_len;
    bool has_created, has_updated;
    struct timespec created, updated;
    const char *url; /* or NULL */
};

/** The root's: version, reload_error when not NULL or empty, and for each of the n sections
 * XATTR_STATUS<section> = its directory's attributes as "name=value" lines (so a reader needs
 * nothing but the root, see status.h). 0 or -ENOMEM. */
int xattr_root(struct xattr_set *s, const char *version, const char *reload_error,
               const struct xattr_section *sec, size_t n);
/** A provider directory's: its section, type, the cache's facts and counters. 0 or -ENOMEM. */
int xattr_section(struct xattr_set *s, const char *section, const char *type,
                  const struct cache_status *st);
/** A collection directory's (and its metadata.json's). 0 or -ENOMEM. */
int xattr_collection(struct xattr_set *s, const struct xattr_collection *c);
/** The attribute with this full name, or NULL. */
const struct xattr *xattr_find(const struct xattr_set *s, const char *name);
/** Bytes of the NUL-separated name list; written to buf when it has room (size bytes). */
size_t xattr_names(const struct xattr_set *s, char *buf, size_t size);
/** ISO 8601 UTC text of t ("2024-01-02T03:04:05.6789Z", no fraction when whole); its length. */
size_t xattr_time(const struct timespec *t, char *buf, size_t size);
/** Free the values. */
void xattr_set_free(struct xattr_set *s);

#endif
