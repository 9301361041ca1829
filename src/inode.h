/* Inode numbers and the table of inodes the kernel holds. Numbers are hashes of
 * section and collection id, so they survive refreshes and remounts; a
 * metadata.json's number also carries its size and mtime, so that neither
 * changes under one number (DESIGN §2, "Inode numbers"). The table
 * remembers what each number the kernel still references stands for (kept by
 * lookup counts, dropped on forget) so it can be answered after a SIGHUP or a
 * TTL expiry without any listing in memory. */
#ifndef CFS_INODE_H
#define CFS_INODE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

enum inode_kind { INODE_ROOT, INODE_SECTION, INODE_DIR, INODE_FILE };
/* Section numbers the table can hold (0 .. INODE_SECTIONS_MAX - 1). */
#define INODE_SECTIONS_MAX 0xffff

/* A directory's number has these bits 0; its metadata.json's: 1, and 12 bits of size and mtime. */
#define INODE_FILE_BITS 0x1fffULL

/** The hash the numbers are made of (FNV-1a, then splitmix64); section may be "". */
uint64_t inode_hash(const char *section, const char *id);
/** Inode of a section directory (a nonzero multiple of 8192). */
uint64_t inode_section(const char *section);
/** Inode of a collection directory (a nonzero multiple of 8192). */
uint64_t inode_collection(const char *section, const char *id);
/** Inode of the metadata.json of directory dir with that size and mtime (NULL: none). */
uint64_t inode_file(uint64_t dir, uint64_t size, const struct timespec *mtime);
/** The directory of a collection's inode, its own or its metadata.json's. */
uint64_t inode_dir(uint64_t ino);
/** Free the table. */
void inode_cleanup(void);
/** Count one kernel reference to ino, recording what it is; 0 or -ENOMEM (or -EEXIST when ino
 * already stands for something else). */
int inode_remember(uint64_t ino, enum inode_kind kind, unsigned section);
/** Drop n kernel references. */
void inode_forget(uint64_t ino, uint64_t n);
/** What ino is: kind and section number; 0 or -ENOENT. The listing finds the collection by ino. */
int inode_lookup(uint64_t ino, enum inode_kind *kind, unsigned *section);
/** The inodes of a section the kernel references, in *out (malloc'd); their number or -ENOMEM. */
long inode_held(unsigned section, uint64_t **out);
/** Number of inodes the kernel references (for statfs). */
uint64_t inode_count(void);

#endif
