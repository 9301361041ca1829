/* The listing engine: one walk over a provider's pages, building a listing.
 * It decides which pages come next (in parallel once a page count is known, one
 * after another for cursors and offsets), fetches them, and folds them into the
 * listing in order, stopping at the end, an empty page, a repeated cursor, pages
 * that bring nothing new, or max_collections. It holds no locks: the cache calls
 * plan and merge under its lock and fetch without it. */
#ifndef CFS_WALK_H
#define CFS_WALK_H

#include <stdbool.h>

#include "provider.h"

#define WALK_MAX_BATCH 64

struct listing;
struct walk;

struct walk_batch {
    int n;
    bool prepare; /* run the provider's prepare() first */
    struct cursor cur[WALK_MAX_BATCH];
    struct page pg[WALK_MAX_BATCH];
    int err[WALK_MAX_BATCH];
    char why[512]; /* reason of the first failure */
};

/** A walk from the first page; NULL on ENOMEM. */
struct walk *walk_new(struct provider *p, unsigned long long max_collections);
/** Free a walk (and its reference to the listing). */
void walk_free(struct walk *w);
/** The listing the walk builds (borrowed). */
struct listing *walk_listing(const struct walk *w);
/** True once the listing is complete (or the walk stopped on a stop rule). */
bool walk_done(const struct walk *w);
/** True when the first page was empty yet claimed more: an empty result not to be trusted. */
bool walk_contradicted(const struct walk *w);
/** Plan up to `window` pages into b; returns how many (0 when done). */
int walk_plan(struct walk *w, int window, struct walk_batch *b);
/** Fetch a planned batch; network I/O, call without locks. */
void walk_fetch(struct provider *p, struct walk_batch *b);
/** Fold a fetched batch into the listing; 0, or -errno with the reason in b->why. */
int walk_merge(struct walk *w, struct walk_batch *b);
/** Release what a batch still holds. */
void walk_batch_free(struct walk_batch *b);

#endif
