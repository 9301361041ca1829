/* The compact form of one collection: a single allocation holding a plain,
 * serialisable byte string (what the listing keeps, and what a shared cache
 * stores as is) behind a reference count, so two listing generations can share
 * an unchanged collection.
 *
 * Byte format, version 1. All integers little-endian, no padding, no pointers:
 *
 *   offset size field
 *        0    2 magic "cR" (0x63 0x52)
 *        2    1 version, 1
 *        3    1 flags: bit 0 has created, bit 1 has updated, bit 2 has a name;
 *                 the other bits are 0
 *        4    4 id length I (bytes, without the NUL; >= 1)
 *        8    4 name length N (0 when there is no name)
 *       12    4 metadata.json length J
 *       16    8 directory inode (even, >= 16); metadata.json is this | 1
 *       24    8 created, seconds since the epoch (signed; 0 when absent)
 *       32    8 updated, seconds since the epoch (signed; 0 when absent)
 *       40    4 created, nanoseconds (< 10^9; 0 when absent)
 *       44    4 updated, nanoseconds (< 10^9; 0 when absent)
 *       48    I id bytes (no NUL among them), then one NUL
 *   49 + I    N raw name bytes (any bytes), then one NUL
 * 50 + I + N  J metadata.json bytes
 *
 * Total length: exactly 50 + I + N + J, at most RECORD_MAX. Absent times
 * and names are all zero, so equal collections have equal bytes. The NULs let the id and the name
 * be handed out as C strings straight from the bytes. */
#ifndef CFS_RECORD_H
#define CFS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "provider.h"

#define RECORD_VERSION 1
#define RECORD_HEADER 48
/* The largest record, all fields together (lengths and offsets are 32-bit). */
#define RECORD_MAX 0xffffffffu

struct record;

/** A new record (one reference) from an item and its directory inode; NULL with errno ENOMEM or
 * EOVERFLOW (a field too long). The item is only read. */
struct record *record_encode(const struct item *it, uint64_t ino);
/** A new record (one reference) from bytes from outside, after checking every length and field
 * against the format above; 0 or -EINVAL (malformed) or -ENOMEM. */
int record_parse(const void *buf, size_t len, struct record **out);
/** 0 when buf holds a well-formed record of exactly len bytes, else -EINVAL. */
int record_check(const void *buf, size_t len);
/** Take one more reference; returns r. */
struct record *record_ref(struct record *r);
/** Drop a reference; frees at zero. NULL is fine. */
void record_unref(struct record *r);

/** The serialised form and its length (valid while the reference is held). */
const void *record_bytes(const struct record *r, size_t *len);
/** The provider's id, NUL-terminated. */
const char *record_id(const struct record *r);
/** The raw name bytes (NUL-terminated, may contain NULs) and length; NULL when there is no
 * name. */
const char *record_name(const struct record *r, size_t *len);
/** The metadata.json bytes and their length. */
const char *record_json(const struct record *r, size_t *len);
/** The directory inode. */
uint64_t record_ino(const struct record *r);
/** The creation time; false when the provider gave none. */
bool record_created(const struct record *r, struct timespec *t);
/** The update time; false when the provider gave none. */
bool record_updated(const struct record *r, struct timespec *t);
/** True when encoding it with ino would give exactly r's bytes. */
bool record_matches(const struct record *r, const struct item *it, uint64_t ino);
/** True when both show the same metadata.json and times (id, name and inode aside). */
bool record_same_content(const struct record *a, const struct record *b);
/** Fill an item with copies of the fields (for code that wants a struct item); 0 or -ENOMEM. */
int record_to_item(const struct record *r, struct item *out);

#endif
