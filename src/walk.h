/* The listing engine: one walk over a provider's pages, building a listing.
 * It is a pipeline: the walk hands out pages to fetch (take), the callers fetch
 * them (run) and hand them back in any order (give), and the walk folds them
 * into the listing in page order, stopping at the end, an empty page, a
 * repeated cursor, pages that bring nothing new, or max_collections. A new
 * window (a page whose next cursor carries another mark: a keyset bound) may
 * start with many pages of items already seen; those are let through until the
 * window brings something new, but a window that ends with nothing new stops
 * the walk, so a provider's windows must each end (HIVO's skip cap). Once a
 * page count is known, every page is known; for offset APIs (and page numbers
 * without a count) the next position is predicted from the last step and pages
 * are fetched ahead speculatively, each prediction checked against what the
 * page before it says, and pages past the end or past a wrong guess dropped;
 * cursor tokens go one page after another. It holds no locks: the cache calls
 * take and give under its lock and run without it. */
#ifndef CFS_WALK_H
#define CFS_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "provider.h"

/* The most pages in flight at once (config's `parallel` is at most this). */
#define WALK_MAX_PARALLEL 64
#define WALK_MAX_BATCH WALK_MAX_PARALLEL

struct listing;
struct walk;

/* One page on its way: where it starts and, once run, what came back. */
struct walk_slot {
    struct cursor cur;
    bool prepare; /* run the provider's prepare() first */
    struct page pg;
    int err;
    char why[512]; /* the reason when err */
    /* the walk's own: which walk, which guess and which page in order */
    uint64_t walk_id, epoch;
    int64_t seq;
    struct walk_slot *next;
};

/** A walk from the first page; NULL on ENOMEM. */
struct walk *walk_new(struct provider *p, unsigned long long max_collections);
/** Free a walk (and its reference to the listing); slots still out stay valid. */
void walk_free(struct walk *w);
/** The listing the walk builds (borrowed). */
struct listing *walk_listing(const struct walk *w);
/** True once the listing is complete (or the walk stopped on a stop rule). */
bool walk_done(const struct walk *w);
/** True when the first page was empty yet claimed more: an empty result not to be trusted. */
bool walk_contradicted(const struct walk *w);
/** True when the walk stopped early or saw something odd: the listing may not be all there is. */
bool walk_doubtful(const struct walk *w);
/** The next page to fetch while at most `window` are out waiting for an answer, besides `parsing`
 * whose answer is in and that are not given back yet; NULL when none may start now. */
struct walk_slot *walk_take(struct walk *w, int window, int parsing);
/** Fetch a slot's page (prepare, request, parse); network I/O, call without locks. off_wire(arg),
 * when not NULL, is called once the answer is in, before it is parsed (see fetch_json). */
void walk_run(struct provider *p, struct walk_slot *s, void (*off_wire)(void *), void *arg);
/** Hand a slot back (taken); folds every page now in order. 0, or -errno with the reason in why. */
int walk_give(struct walk *w, struct walk_slot *s, char *why, size_t whylen);
/** Pages taken and not given back yet. */
int walk_busy(const struct walk *w);
/** Free a slot that will not be given back (its walk is gone). */
void walk_slot_free(struct walk_slot *s);

/* A batch: up to WALK_MAX_BATCH slots taken, run and given back together
 * (--check and the unit tests; the cache uses the slots directly). */
struct walk_batch {
    int n;
    bool prepare; /* the first page runs the provider's prepare() first */
    struct cursor cur[WALK_MAX_BATCH];
    struct page pg[WALK_MAX_BATCH];
    int err[WALK_MAX_BATCH];
    char why[512]; /* reason of the first failure */
    struct walk_slot *slot[WALK_MAX_BATCH];
};

/** Take up to `window` pages into b; returns how many (0 when none may start). */
int walk_plan(struct walk *w, int window, struct walk_batch *b);
/** Fetch a planned batch one page after another; network I/O, call without locks. */
void walk_fetch(struct provider *p, struct walk_batch *b);
/** Give a batch back in order; 0, or -errno with the reason in b->why. */
int walk_merge(struct walk *w, struct walk_batch *b);
/** Release what a batch still holds. */
void walk_batch_free(struct walk_batch *b);

#endif
