/* One provider's collections as one walk over its pages saw them: entries in
 * list order, indexed by id and by directory name, named by the rules of
 * DESIGN §2 (encoding, 255-byte cut, the oldest keeps a duplicated name).
 * Append-only while the walk runs, immutable once complete, shared by
 * reference count so an open directory or file keeps the data it started with. */
#ifndef CFS_LISTING_H
#define CFS_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <uthash.h>

#include "provider.h"

struct listing_group;

struct entry {
    struct item it; /* id, raw name, times, metadata.json bytes */
    char *name;     /* directory name */
    uint64_t ino;   /* directory inode; metadata.json is ino | 1 */
    size_t pos;     /* index in list order */
    struct listing_group *group;
    UT_hash_handle hh_id, hh_name, hh_ino;
};

struct listing {
    char *section;
    struct entry **v; /* list order */
    size_t n, cap;
    struct entry *by_id, *by_name, *by_ino;
    struct listing_group *groups;
    int refs;
};

/** A new empty listing for a section; NULL on ENOMEM. */
struct listing *listing_new(const char *section);
/** Take one more reference. */
void listing_ref(struct listing *l);
/** Drop a reference; frees at zero. */
void listing_unref(struct listing *l);
/** Append items in list order, taking their fields; a repeated id is dropped. Returns the number
 * added or -ENOMEM. */
long listing_add(struct listing *l, struct item *items, size_t n);
/** The entry with this directory name, or NULL. */
const struct entry *listing_by_name(const struct listing *l, const char *name);
/** The entry with this id, or NULL. */
const struct entry *listing_by_id(const struct listing *l, const char *id);
/** The entry whose directory inode is ino (metadata.json's ino | 1 works too), or NULL. */
const struct entry *listing_by_ino(const struct listing *l, uint64_t ino);
/** Number of entries, shown or not. */
size_t listing_count(const struct listing *l);
/** The position of an entry of l in list order. */
size_t listing_index(const struct listing *l, const struct entry *e);
/** The i-th entry in list order (i < listing_count). */
const struct entry *listing_at(const struct listing *l, size_t i);

/* What fs.c and cache.c may know of an entry; its layout is listing.c's own. */
/** The provider's id. */
const char *entry_id(const struct entry *e);
/** The directory name, or NULL when the entry is not shown (no free name). */
const char *entry_name(const struct entry *e);
/** The directory inode; its metadata.json is this | 1. */
uint64_t entry_ino(const struct entry *e);
/** The metadata.json bytes and their length. */
const char *entry_json(const struct entry *e, size_t *len);
/** The update time, else the creation time; false when the provider gave neither. */
bool entry_time(const struct entry *e, struct timespec *t);
/** True when both show the same bytes and times (names aside). */
bool entry_same(const struct entry *a, const struct entry *b);

#endif
