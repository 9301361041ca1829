/* The listing engine's rules, without a network: which pages are planned, in
 * what batches, and when a walk stops (end, empty page, repeated cursor, pages
 * with nothing new, a new keyset window with nothing new, max_collections, a
 * failed page); pages given back out of
 * order, offsets guessed ahead, and what a wrong guess or a gone walk drops. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "listing.h"
#include "walk.h"

static const struct provider_ops ops = {.type = "test", .ordered = true};
static struct provider prov = {.ops = &ops, .section = "t", .page_size = 2};

/* A page of n items with ids "<tag>0", "<tag>1", ... */
static void fill(struct page *pg, const char *tag, int n, bool more, int64_t pages,
                 const char *token)
{
    memset(pg, 0, sizeof(*pg));
    pg->items = calloc(n ? n : 1, sizeof(*pg->items));
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "%s%d", tag, i);
        pg->items[i].id = strdup(id);
        pg->items[i].json = strdup("{}\n");
        pg->items[i].json_len = 3;
    }
    pg->n = n;
    pg->more = more;
    pg->pages = pages;
    pg->next.page = 0;
    pg->next.token = token ? strdup(token) : NULL;
}

/* A walk whose first page (two items, more to come) is in: `pages` in all, or,
 * when 0, the next page starting at offset `next`. */
static struct walk *begun(const char *tag, int64_t pages, int64_t next)
{
    char why[512];
    struct walk *w = walk_new(&prov, 1000);
    struct walk_slot *s = walk_take(w, 1, 0);
    fill(&s->pg, tag, 2, true, pages, NULL);
    s->pg.next.page = next;
    walk_give(w, s, why, sizeof(why));
    return w;
}

/* One page at a time: the next page the walk plans holds n items "<tag>0"...
 * and says the one after starts at `page`, in the window of `mark` when
 * has_mark; *at is where the walk asked for it. False when nothing is planned. */
static bool one(struct walk *w, const char *tag, int n, bool more, int64_t page, bool has_mark,
                int64_t mark, struct cursor *at)
{
    struct walk_batch b;
    if (walk_plan(w, 1, &b) != 1)
        return false;
    *at = (struct cursor){b.cur[0].page, b.cur[0].has_mark, b.cur[0].mark, NULL};
    fill(&b.pg[0], tag, n, more, 0, NULL);
    b.pg[0].next = (struct cursor){page, has_mark, mark, NULL};
    walk_merge(w, &b);
    walk_batch_free(&b);
    return true;
}

/* Keyset windows (HIVO past its skip cap, a new createdMin): the pages a new
 * window starts with repeat what the last one ended with. */
static void keyset_windows(void)
{
    struct cursor at;
    char tag[16];
    /* A new window may start with more than WALK_BARREN_MAX pages already
     * seen (a bound that falls in a bulk-imported second): it goes on to the
     * new items, and the repeats are expected, not doubtful. */
    struct walk *w = walk_new(&prov, 1000);
    for (int i = 0; i < 12; i++) {
        snprintf(tag, sizeof(tag), "k%d-", i);
        CHECK(one(w, tag, 2, true, i < 11 ? 2 * (i + 1) : 0, i == 11, 100, &at));
    }
    for (int i = 0; i < 10; i++) {
        snprintf(tag, sizeof(tag), "k%d-", i);
        CHECK(one(w, tag, 2, true, 2 * (i + 1), true, 100, &at));
        CHECK(at.has_mark && at.mark == 100 && at.page == 2 * i);
    }
    CHECK(!walk_done(w) && walk_listing(w)->n == 24);
    CHECK(one(w, "new-", 2, false, 0, true, 100, &at) && at.page == 20);
    CHECK(walk_done(w) && walk_listing(w)->n == 26 && !walk_doubtful(w));
    walk_free(w);

    /* A window of nothing but repeats stops the walk where it ends (the next
     * window starts), not sooner, and the listing is marked doubtful. */
    w = walk_new(&prov, 1000);
    int pages = 0;
    for (int i = 0; i < 3; i++, pages++) {
        snprintf(tag, sizeof(tag), "r%d-", i);
        CHECK(one(w, tag, 2, true, i < 2 ? 2 * (i + 1) : 0, i == 2, 100, &at));
    }
    for (int i = 0; i < 40; i++, pages++) {
        snprintf(tag, sizeof(tag), "r%d-", i % 3);
        if (!one(w, tag, 2, true, i < 19 ? 2 * (i + 1) : 0, true, i < 19 ? 100 : 200, &at))
            break;
        CHECK(at.mark == 100);
    }
    CHECK(walk_done(w) && pages == 23 && walk_listing(w)->n == 6 && walk_doubtful(w));
    walk_free(w);

    /* Once the window brought something new, pages with nothing new count
     * again: a server repeating itself mid-window stops after as many. */
    w = walk_new(&prov, 1000);
    pages = 0;
    for (int i = 0; i < 3; i++, pages++) {
        snprintf(tag, sizeof(tag), "m%d-", i);
        CHECK(one(w, tag, 2, true, i < 2 ? 2 * (i + 1) : 0, i == 2, 100, &at));
    }
    for (int i = 0; i < 40; i++, pages++) {
        snprintf(tag, sizeof(tag), i == 2 ? "fresh-" : "m%d-", i % 3);
        if (!one(w, tag, 2, true, 2 * (i + 1), true, 100, &at))
            break;
    }
    CHECK(walk_done(w) && pages == 6 + 8 && walk_listing(w)->n == 8 && walk_doubtful(w));
    walk_free(w);
}

int main(void)
{
    struct walk_batch b;

    /* page numbers: one first page, then the rest in batches of `window` */
    struct walk *w = walk_new(&prov, 1000);
    CHECK(walk_plan(w, 4, &b) == 1 && b.cur[0].page == 0);
    fill(&b.pg[0], "p1-", 2, true, 7, NULL);
    CHECK(walk_merge(w, &b) == 0);
    walk_batch_free(&b);
    CHECK(walk_plan(w, 4, &b) == 4);
    CHECK(b.cur[0].page == 2 && b.cur[3].page == 5);
    for (int i = 0; i < 4; i++) {
        char tag[16];
        snprintf(tag, sizeof(tag), "p%d-", i + 2);
        fill(&b.pg[i], tag, 2, true, 7, NULL);
    }
    CHECK(walk_merge(w, &b) == 0);
    walk_batch_free(&b);
    CHECK(!walk_done(w) && walk_listing(w)->n == 10);
    CHECK(walk_plan(w, 4, &b) == 2 && b.cur[0].page == 6 && b.cur[1].page == 7);
    /* an empty page ends the walk even when the count says more */
    fill(&b.pg[0], "p6-", 0, false, 7, NULL);
    fill(&b.pg[1], "p7-", 2, true, 7, NULL);
    CHECK(walk_merge(w, &b) == 0);
    walk_batch_free(&b);
    CHECK(walk_done(w) && walk_listing(w)->n == 10);
    CHECK(walk_plan(w, 4, &b) == 0);
    walk_free(w);

    /* window 1 (a lookup): one page at a time */
    w = walk_new(&prov, 1000);
    walk_plan(w, 1, &b);
    fill(&b.pg[0], "a", 2, true, 50, NULL);
    walk_merge(w, &b);
    walk_batch_free(&b);
    CHECK(walk_plan(w, 1, &b) == 1 && b.cur[0].page == 2);
    walk_batch_free(&b);
    walk_free(w);

    /* an absurd total stops at max_collections */
    w = walk_new(&prov, 5);
    walk_plan(w, 4, &b);
    fill(&b.pg[0], "x", 2, true, 67000000, NULL);
    walk_merge(w, &b);
    walk_batch_free(&b);
    walk_plan(w, 4, &b);
    for (int i = 0; i < b.n; i++) {
        char tag[16];
        snprintf(tag, sizeof(tag), "y%d-", i);
        fill(&b.pg[i], tag, 2, true, 67000000, NULL);
    }
    walk_merge(w, &b);
    walk_batch_free(&b);
    CHECK(walk_done(w) && walk_listing(w)->n >= 5 && walk_listing(w)->n <= 6);
    walk_free(w);

    /* a count as large as an int64 goes on to page 2 (it overflowed the cap of
     * a growing count, and the walk ended after page 1) */
    w = walk_new(&prov, 1000);
    walk_plan(w, 4, &b);
    fill(&b.pg[0], "big", 2, true, INT64_MAX, NULL);
    CHECK(walk_merge(w, &b) == 0);
    walk_batch_free(&b);
    CHECK(!walk_done(w) && walk_plan(w, 4, &b) == 4 && b.cur[0].page == 2);
    for (int i = 0; i < b.n; i++) {
        char tag[16];
        snprintf(tag, sizeof(tag), "b%d-", i);
        fill(&b.pg[i], tag, 2, true, INT64_MAX - 1, NULL);
    }
    CHECK(walk_merge(w, &b) == 0);
    walk_batch_free(&b);
    CHECK(!walk_done(w) && walk_listing(w)->n == 10);
    walk_free(w);

    /* cursors: followed one by one; a cursor seen before stops the walk */
    w = walk_new(&prov, 1000);
    const char *tokens[] = {"A", "B", "A"};
    for (int i = 0; i < 3; i++) {
        CHECK(walk_plan(w, 4, &b) == 1);
        if (i > 0)
            CHECK(b.cur[0].token && strcmp(b.cur[0].token, tokens[i - 1]) == 0);
        char tag[16];
        snprintf(tag, sizeof(tag), "c%d-", i);
        fill(&b.pg[0], tag, 1, true, 0, tokens[i]);
        walk_merge(w, &b);
        walk_batch_free(&b);
    }
    CHECK(walk_done(w) && walk_listing(w)->n == 3);
    walk_free(w);

    /* pages that bring nothing new (a server repeating itself) stop the walk */
    w = walk_new(&prov, 1000);
    int pages = 0;
    while (walk_plan(w, 1, &b) == 1 && pages < 100) {
        char tok[16];
        snprintf(tok, sizeof(tok), "t%d", pages++);
        fill(&b.pg[0], "same", 2, true, 0, tok);
        walk_merge(w, &b);
        walk_batch_free(&b);
    }
    CHECK(walk_done(w) && pages < 20 && walk_listing(w)->n == 2);
    walk_free(w);

    keyset_windows();

    /* a failed page fails the merge and adds nothing */
    w = walk_new(&prov, 1000);
    walk_plan(w, 4, &b);
    b.err[0] = -ETIMEDOUT;
    CHECK(walk_merge(w, &b) == -ETIMEDOUT);
    walk_batch_free(&b);
    CHECK(!walk_done(w) && walk_listing(w)->n == 0);
    walk_free(w);

    /* the pipeline: pages come back in any order and are folded in page order */
    struct walk_slot *sl[8];
    char why[512];
    w = walk_new(&prov, 1000);
    sl[0] = walk_take(w, 4, 0);
    CHECK(sl[0] && !walk_take(w, 4, 0)); /* nothing starts before the first page is in */
    fill(&sl[0]->pg, "q1-", 2, true, 5, NULL);
    CHECK(walk_give(w, sl[0], why, sizeof(why)) == 0);
    for (int i = 0; i < 4; i++)
        sl[i] = walk_take(w, 4, 0);
    CHECK(sl[3] && sl[3]->cur.page == 5 && !walk_take(w, 4, 0) && walk_busy(w) == 4);
    for (int i = 3; i >= 0; i--) {
        char tag[16];
        snprintf(tag, sizeof(tag), "q%d-", i + 2);
        fill(&sl[i]->pg, tag, 2, true, 5, NULL);
        CHECK(walk_give(w, sl[i], why, sizeof(why)) == 0);
        CHECK(walk_listing(w)->n == (i ? 2u : 10u)); /* nothing folds before page 2 */
    }
    CHECK(walk_done(w) && walk_busy(w) == 0);
    walk_free(w);

    /* offsets without a count: fetched ahead by the last step, checked on arrival */
    w = begun("o0-", 0, 2);
    for (int i = 0; i < 4; i++)
        sl[i] = walk_take(w, 4, 0);
    CHECK(sl[0] && sl[0]->cur.page == 2 && sl[3] && sl[3]->cur.page == 8);
    CHECK(!walk_take(w, 4, 0));
    /* page 8 is past the end: it failed, which costs nothing */
    sl[3]->err = -EIO;
    CHECK(walk_give(w, sl[3], why, sizeof(why)) == 0);
    fill(&sl[1]->pg, "o4-", 2, true, 0, NULL);
    sl[1]->pg.next.page = 6;
    CHECK(walk_give(w, sl[1], why, sizeof(why)) == 0 && walk_listing(w)->n == 2);
    fill(&sl[0]->pg, "o2-", 2, true, 0, NULL);
    sl[0]->pg.next.page = 4;
    CHECK(walk_give(w, sl[0], why, sizeof(why)) == 0 && walk_listing(w)->n == 6);
    /* page 6 is short and says where the next starts: the guess of 8 is void */
    fill(&sl[2]->pg, "o6-", 1, true, 0, NULL);
    sl[2]->pg.next.page = 7;
    CHECK(walk_give(w, sl[2], why, sizeof(why)) == 0 && walk_listing(w)->n == 7);
    sl[0] = walk_take(w, 4, 0);
    CHECK(sl[0] && sl[0]->cur.page == 7);
    fill(&sl[0]->pg, "o7-", 1, false, 0, NULL);
    CHECK(walk_give(w, sl[0], why, sizeof(why)) == 0);
    CHECK(walk_done(w) && walk_listing(w)->n == 8 && walk_busy(w) == 0);
    walk_free(w);

    /* pages whose answer is in and is being parsed leave the wire to others:
     * known positions take their place, guesses at most one more */
    w = begun("k1-", 10, 0);
    sl[0] = walk_take(w, 2, 0);
    sl[1] = walk_take(w, 2, 0);
    CHECK(sl[1] && sl[1]->cur.page == 3 && !walk_take(w, 2, 0));
    sl[2] = walk_take(w, 2, 2);
    sl[3] = walk_take(w, 2, 2);
    CHECK(sl[3] && sl[3]->cur.page == 5 && !walk_take(w, 2, 2) && walk_busy(w) == 4);
    walk_free(w);
    for (int i = 0; i < 4; i++)
        walk_slot_free(sl[i]);
    w = begun("p0-", 0, 2);
    sl[0] = walk_take(w, 2, 0);
    sl[1] = walk_take(w, 2, 0);
    CHECK(sl[1] && sl[1]->cur.page == 4 && !walk_take(w, 2, 0));
    sl[2] = walk_take(w, 2, 2);
    CHECK(sl[2] && sl[2]->cur.page == 6 && !walk_take(w, 2, 2) && !walk_take(w, 2, 1));
    walk_free(w);
    for (int i = 0; i < 3; i++)
        walk_slot_free(sl[i]);

    /* a wrong guess voids the pages after it, those still in flight included */
    w = begun("g0-", 0, 2);
    for (int i = 0; i < 3; i++)
        sl[i] = walk_take(w, 3, 0);
    fill(&sl[2]->pg, "void6-", 2, true, 0, NULL);
    walk_give(w, sl[2], why, sizeof(why));
    fill(&sl[0]->pg, "g2-", 2, true, 0, NULL);
    sl[0]->pg.next.page = 100; /* a jump */
    CHECK(walk_give(w, sl[0], why, sizeof(why)) == 0 && walk_listing(w)->n == 4);
    sl[0] = walk_take(w, 3, 0);
    CHECK(sl[0] && sl[0]->cur.page == 100);
    fill(&sl[1]->pg, "void4-", 2, true, 0, NULL);
    CHECK(walk_give(w, sl[1], why, sizeof(why)) == 0 && walk_listing(w)->n == 4);
    fill(&sl[0]->pg, "g100-", 2, false, 0, NULL);
    CHECK(walk_give(w, sl[0], why, sizeof(why)) == 0);
    CHECK(walk_done(w) && walk_listing(w)->n == 6 && !listing_by_id(walk_listing(w), "void4-0"));
    walk_free(w);

    /* a failed page in its turn fails the walk; later pages are dropped */
    w = begun("f0-", 0, 2);
    sl[0] = walk_take(w, 2, 0);
    sl[1] = walk_take(w, 2, 0);
    fill(&sl[1]->pg, "f4-", 2, true, 0, NULL);
    walk_give(w, sl[1], why, sizeof(why));
    sl[0]->err = -ECONNRESET;
    snprintf(sl[0]->why, sizeof(sl[0]->why), "reset");
    CHECK(walk_give(w, sl[0], why, sizeof(why)) == -ECONNRESET && strcmp(why, "reset") == 0);
    CHECK(!walk_done(w) && walk_listing(w)->n == 2 && !walk_take(w, 2, 0));
    walk_free(w);

    /* a page of a walk that is gone is no page of the next one */
    struct walk *old = walk_new(&prov, 1000);
    w = walk_new(&prov, 1000);
    sl[0] = walk_take(old, 1, 0);
    walk_free(old);
    fill(&sl[0]->pg, "stale-", 2, false, 0, NULL);
    CHECK(walk_give(w, sl[0], why, sizeof(why)) == 0 && walk_listing(w)->n == 0);
    CHECK(walk_busy(w) == 0 && !walk_done(w));
    walk_free(w);
    return check_done();
}
