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

#include "provider.h"

/* The one file of a collection's directory. */
#define ENTRY_FILE "metadata.json"

struct record;
struct entry; /* one collection: its record and directory name; listing.c's own */
struct listing_group;

/* An open-addressing index: a slot holds entry index + 1 (0 is empty) and a
 * few bits of the key's hash above it (listing.c). */
struct listing_index {
    uint32_t *slot;
    size_t cap, used;
};

/* The fields are listing.c's own; n is the number of entries (listing_count). */
struct listing {
    char *section;
    size_t n;
    struct entry **chunk; /* entries in list order, in fixed-size chunks: they never move */
    size_t nchunk;
    struct listing_index by_ino; /* also finds an id, through its inode */
    struct listing_index by_name;
    struct listing_group *groups; /* bases that repeat, or whose owner does not show them */
    struct listing *base;         /* the generation whose unchanged records are reused */
    int refs;
};

/** A new empty listing for a section; NULL on ENOMEM. */
struct listing *listing_new(const char *section);
/** Take one more reference. */
void listing_ref(struct listing *l);
/** Drop a reference; frees at zero. */
void listing_unref(struct listing *l);
/** Append items in list order, consuming them (their fields are freed and zeroed); a repeated id
 * is dropped. Returns the number added or -ENOMEM. */
long listing_add(struct listing *l, struct item *items, size_t n);
/** While a walk fills l: an item whose id is in base with byte-identical content reuses base's
 * record instead of a copy, so a refresh of an unchanged listing costs no second copy of the data.
 * Takes a reference to base (and drops base's own base, a walk long finished); call again with
 * NULL when the walk ends so the old generation can go once its readers are done. */
void listing_set_base(struct listing *l, const struct listing *base);
/** A copy of complete listing l whose entries that old holds stand in old's order, each new one in
 * its place in l; NULL when they already do (or on ENOMEM): a directory read that goes on across
 * a refresh resumes by position (cache.c). */
struct listing *listing_in_order_of(const struct listing *l, const struct listing *old);
/** The entry with this directory name, or NULL. */
const struct entry *listing_by_name(const struct listing *l, const char *name);
/** The entry with this id, or NULL. */
const struct entry *listing_by_id(const struct listing *l, const char *id);
/** The entry with this id and its position in list order (*index), or NULL. */
const struct entry *listing_by_id_at(const struct listing *l, const char *id, size_t *index);
/** The entry whose directory or metadata.json has inode ino (the file's at its size in l), or
 * NULL. */
const struct entry *listing_by_ino(const struct listing *l, uint64_t ino);
/** Number of entries, shown or not. */
size_t listing_count(const struct listing *l);
/** The position in list order of an entry of l. */
size_t listing_index(const struct listing *l, const struct entry *e);
/** The i-th entry in list order (i < listing_count). */
const struct entry *listing_at(const struct listing *l, size_t i);

/* What fs.c and cache.c may know of an entry; its layout is listing.c's own. */
/** The provider's id. */
const char *entry_id(const struct entry *e);
/** The directory name, or NULL when the entry is not shown (no free name). */
const char *entry_name(const struct entry *e);
/** The directory inode. */
uint64_t entry_ino(const struct entry *e);
/** The inode of its metadata.json (inode_file). */
uint64_t entry_file_ino(const struct entry *e);
/** The update time, else the creation time; false when the provider gave neither. */
bool entry_time(const struct entry *e, struct timespec *t);
/** True when both show the same bytes and times (names aside). */
bool entry_same(const struct entry *a, const struct entry *b);
/** The entry's compact record, which holds its metadata.json (borrowed; record_ref it to keep it
 * past the listing). */
const struct record *entry_record(const struct entry *e);

#endif
