/* Inode numbers and the table of inodes the kernel holds. Numbers are hashes of
 * section and collection id, so they survive refreshes and remounts; the table
 * remembers what each number the kernel still references stands for (kept by
 * lookup counts, dropped on forget) so it can be answered after a SIGHUP or a
 * TTL expiry without any listing in memory. */
#ifndef CFS_INODE_H
#define CFS_INODE_H

#include <stdbool.h>
#include <stdint.h>

enum inode_kind { INODE_ROOT, INODE_SECTION, INODE_DIR, INODE_FILE };
/* Section numbers the table can hold (0 .. INODE_SECTIONS_MAX - 1). */
#define INODE_SECTIONS_MAX 0xffff

/** Inode of a section directory (even, never 0 or 1). */
uint64_t inode_section(const char *section);
/** Inode of a collection directory (even); its metadata.json is this | 1. */
uint64_t inode_collection(const char *section, const char *id);
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
