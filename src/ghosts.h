/* Where a directory read goes on after collections that refreshes deleted.
 *
 * A read resumes after the inode of the last entry it was given (its offset).
 * Each refresh that deletes collections leaves a ghost of each: its inode and
 * the first collection after it, in the listing the refresh replaced, that the
 * refresh kept. A read whose entry is gone goes on at that one, or, when a
 * later refresh deleted it too, where its own ghost leads. A refresh keeps its
 * predecessor's order, so the read neither skips nor repeats a collection it
 * began with. The newest ghost of an inode counts: a collection may come back
 * and go again. Not thread-safe: the cache's lock guards them. */
#ifndef CFS_GHOSTS_H
#define CFS_GHOSTS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The ghosts kept (1 MiB): a read paused on a collection whose ghost newer
 * ones pushed out ends there. A comparison that finds more keeps the newest
 * within twice that while it runs. */
#define GHOSTS_MAX 65536

struct ghosts {
    struct buf b;   /* of struct ghost, oldest first */
    size_t waiting; /* bytes: the first ghost of the comparison under way with no next yet */
};

/** No ghosts. */
void ghosts_init(struct ghosts *g);
/** Free them; empty again. */
void ghosts_free(struct ghosts *g);
/** to (initialised) takes a copy of from's ghosts; -ENOMEM leaves it empty. */
int ghosts_copy(struct ghosts *to, const struct ghosts *from);
/** A refresh begins comparing its predecessor, in order, with what it found. */
void ghosts_begin(struct ghosts *g);
/** Its predecessor's next collection is gone (ENOMEM: a read paused there ends). */
void ghosts_gone(struct ghosts *g, uint64_t ino);
/** Its predecessor's next collection is kept: the ghosts since the last kept one lead to it. */
void ghosts_kept(struct ghosts *g, uint64_t ino);
/** The comparison ended: the newest GHOSTS_MAX stay. */
void ghosts_end(struct ghosts *g);
/** Where a read after the deleted ino goes on: the collection its newest ghost leads to, 0 when
 *  none does (no ghost, or nothing after it was kept). */
uint64_t ghosts_next(const struct ghosts *g, uint64_t ino);

#endif
