/* The compact form of one collection: a single allocation holding a plain,
 * serialisable byte string (what the listing keeps, and what a shared cache
 * stores as is) behind a reference count, so two listing generations can share
 * an unchanged collection.
 *
 * Byte format, version 3. All integers little-endian, no padding, no pointers:
 *
 *   offset size field
 *        0    2 magic "cR" (0x63 0x52)
 *        2    1 version, 2
 *        3    1 flags: bit 0 has created, bit 1 has updated, bit 2 has a name,
 *                 bit 3 the id is cut out of metadata.json, bit 4 the name is;
 *                 the other bits are 0
 *        4    4 id length I (bytes, without the NUL; >= 1)
 *        8    4 name length N (0 when there is no name)
 *       12    4 metadata.json length J (the whole file)
 *       16    8 directory inode (a nonzero multiple of 8192, inode.h)
 *       24    8 created, seconds since the epoch (signed; 0 when absent)
 *       32    8 updated, seconds since the epoch (signed; 0 when absent)
 *       40    4 created, nanoseconds (< 10^9; 0 when absent)
 *       44    4 updated, nanoseconds (< 10^9; 0 when absent)
 *       48    4 with bit 3: where the id's bytes stand in metadata.json
 *        .    4 with bit 4: where the name's bytes stand in metadata.json
 *        H    I id bytes (no NUL among them), then one NUL (H = 48, 52 or 56)
 *    H+1+I    N raw name bytes (any bytes), then one NUL
 *  H+2+I+N    metadata.json without the bytes of the cuts
 *
 * metadata.json nearly always holds the id and the name verbatim; keeping them
 * once saves their length on every collection, whatever their length. The cuts
 * are canonical, so equal collections have equal bytes: the name, when it has
 * at least 5 bytes, at its first place in metadata.json; then the id, when it
 * has at least 5 bytes, at its first place that does not overlap the name's.
 * Absent times and names are all zero. The NULs let the id and the name be
 * handed out as C strings straight from the bytes. */
#ifndef CFS_RECORD_H
#define CFS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#include "provider.h"

#define RECORD_VERSION 3
/* The fixed part of the header; the cuts' places follow it. */
#define RECORD_HEADER 48
/* metadata.json comes back in at most this many pieces: bytes, id, bytes, name, bytes. */
#define RECORD_PIECES 5
/* The largest record, all fields together (lengths and offsets are 32-bit). */
#define RECORD_MAX 0xffffffffu

struct record;

/** A new record (one reference) from an item and its directory inode; NULL with errno ENOMEM or
 * EOVERFLOW (a field too long). The item is only read. */
struct record *record_encode(const struct item *it, uint64_t ino);
/** A new record (one reference) from bytes from outside, after checking every length and field
 * against the format above; 0 or -EINVAL (malformed) or -ENOMEM. */
int record_parse(const void *buf, size_t len, struct record **out);
/** 0 when buf holds a well-formed record of exactly len bytes, else -EINVAL (or -ENOMEM). */
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
/** The length of metadata.json. */
size_t record_json_len(const struct record *r);
/** The bytes [off, off + len) of metadata.json, cut at its end, as at most RECORD_PIECES iovecs
 * into the record; returns how many (0 past the end). */
int record_json_iov(const struct record *r, size_t off, size_t len, struct iovec *v);
/** metadata.json in one piece, malloc'd (its length in *len); NULL when out of memory. */
char *record_json_dup(const struct record *r, size_t *len);
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
