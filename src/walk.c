/* The listing engine; see walk.h.
 *
 * Pages carry a sequence number in list order; they are folded strictly in
 * that order, so a page that comes back early waits in `ready`. Positions
 * handed out before the page in front of them was folded are guesses: the
 * position each was given is kept in `planned`, and when the page in front
 * says where the next one really starts, a wrong guess starts a new epoch,
 * which drops every later page, those still in flight included, when they come
 * back. A page that failed only fails the walk when its turn to be folded
 * comes, so a failure past the end or past a wrong guess costs nothing. */
#include "walk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "fetch.h"
#include "json.h"
#include "listing.h"
#include "log.h"

/* Pages in a row that add no new collection before the walk calls it a loop
 * (not counted at the start of a new window: see `grace`). */
#define WALK_BARREN_MAX 8
/* Pages handed out and not yet folded, at most: twice the window when every
 * position is known (a slow page does not idle the others), the window when
 * positions are guessed (fewer requests past the end). */
#define WALK_RING (2 * WALK_MAX_PARALLEL)

struct seen_token {
    UT_hash_handle hh;
    char token[];
};

/* Where a page was handed out to start (guesses are never tokens). */
struct planned {
    int64_t page, mark;
    bool has_mark;
};

struct walk {
    struct provider *p;
    struct listing *l;
    unsigned long long max;
    uint64_t id;
    bool prepared, started, done, failed;
    int64_t pages;       /* page count once a page told it, else 0 */
    int64_t first_pages; /* the page count the first page announced */
    int barren;
    /* In a window the provider opened with a new mark (HIVO's createdMin past
     * the skip cap) that has brought nothing new yet: its first pages repeat
     * what the last window ended with, as many as share the mark's seconds. */
    bool grace;
    /* the pipeline */
    int64_t fold_seq, plan_seq; /* next page to fold, next to hand out */
    bool known;                 /* plan_cur is where plan_seq starts */
    struct cursor plan_cur;
    int64_t step; /* > 0: each position is the one before plus step (a guess) */
    int busy;     /* handed out, not given back */
    uint64_t epoch;
    struct walk_slot *ready; /* given back early, by seq */
    struct planned planned[WALK_RING];
    /* what went oddly, reported in one line when the walk ends */
    size_t skipped, dupes, repeats;
    const char *odd;
    bool capped, contradicted;
    bool cut; /* stopped on a stop rule before the server's end */
    struct seen_token *tokens;
};

static void drop_ready(struct walk *w)
{
    while (w->ready) {
        struct walk_slot *s = w->ready;
        w->ready = s->next;
        walk_slot_free(s);
    }
}

struct walk *walk_new(struct provider *p, unsigned long long max_collections)
{
    /* A slot names its walk by id, not by pointer: a new walk may get the
     * address of a freed one while the old walk's pages are still in flight. */
    static uint64_t ids;
    struct walk *w = calloc(1, sizeof(*w));
    if (!w || !(w->l = listing_new(p->section))) {
        free(w);
        return NULL;
    }
    w->p = p;
    w->max = max_collections;
    w->prepared = !p->ops->prepare;
    w->id = __atomic_add_fetch(&ids, 1, __ATOMIC_RELAXED);
    w->known = true; /* the first page, all-zero cursor */
    return w;
}

void walk_free(struct walk *w)
{
    if (!w)
        return;
    struct seen_token *t, *tmp;
    HASH_ITER(hh, w->tokens, t, tmp)
    {
        HASH_DEL(w->tokens, t);
        free(t);
    }
    drop_ready(w);
    provider_cursor_free(&w->plan_cur);
    listing_unref(w->l);
    free(w);
}

struct listing *walk_listing(const struct walk *w)
{
    return w->l;
}

bool walk_done(const struct walk *w)
{
    return w->done;
}

bool walk_contradicted(const struct walk *w)
{
    return w->contradicted;
}

bool walk_doubtful(const struct walk *w)
{
    return w->cut || w->capped || w->contradicted || w->skipped || w->dupes || w->repeats || w->odd;
}

int walk_busy(const struct walk *w)
{
    return w->busy;
}

void walk_slot_free(struct walk_slot *s)
{
    if (!s)
        return;
    provider_cursor_free(&s->cur);
    provider_page_free(&s->pg);
    free(s);
}

struct walk_slot *walk_take(struct walk *w, int window, int parsing)
{
    if (w->done || w->failed || !w->known || window < 1 || parsing < 0)
        return NULL;
    window += parsing;
    if (window > WALK_MAX_PARALLEL)
        window = WALK_MAX_PARALLEL;
    /* Guessed positions may run past the end: while pages are being parsed, one
     * more guess at most, so no more than the caller's window land past it. */
    int64_t ahead = w->pages > 0 ? 2 * (int64_t)window : window - parsing + (parsing > 0);
    if (w->busy >= window || w->plan_seq - w->fold_seq >= ahead)
        return NULL;
    if (w->pages > 0 && w->plan_cur.page > w->pages)
        return NULL; /* every page is out */
    struct walk_slot *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (provider_cursor_copy(&s->cur, &w->plan_cur) < 0) {
        free(s);
        return NULL;
    }
    s->prepare = !w->prepared; /* only the first page: nothing else starts before it is in */
    s->walk_id = w->id;
    s->epoch = w->epoch;
    s->seq = w->plan_seq++;
    w->planned[s->seq % WALK_RING] =
        (struct planned){s->cur.page, s->cur.has_mark ? s->cur.mark : 0, s->cur.has_mark};
    w->busy++;
    if (w->pages > 0) {
        w->plan_cur.page++;
    } else if (w->step > 0 && w->plan_cur.page <= INT64_MAX - w->step) {
        w->plan_cur.page += w->step;
    } else {
        provider_cursor_free(&w->plan_cur);
        w->known = false; /* the page itself will say where the next starts */
    }
    return s;
}

void walk_run(struct provider *p, struct walk_slot *s, void (*off_wire)(void *), void *arg)
{
    struct http_req req = {0};
    struct json *doc = NULL;
    int rc = 0;
    if (s->prepare)
        rc = p->ops->prepare(p, s->why, sizeof(s->why));
    if (rc == 0 && (rc = p->ops->request(p, &s->cur, &req)) < 0)
        snprintf(s->why, sizeof(s->why), "[%s] cannot build the request: %s", p->section,
                 strerror(-rc));
    if (rc == 0)
        rc = fetch_json(p, &req, &doc, s->why, sizeof(s->why), off_wire, arg);
    if (rc == 0)
        rc = p->ops->parse(p, &s->cur, doc, &s->pg, s->why, sizeof(s->why));
    json_free(doc);
    http_req_free(&req);
    s->err = rc;
}

static void stop(struct walk *w, const char *why)
{
    w->done = true;
    w->cut = why != NULL;
    if (why)
        log_warn("[%s] listing stopped after %zu collections: %s", w->p->section,
                 listing_count(w->l), why);
}

/* A cursor token seen before means the server is walking in a circle. */
static bool token_repeats(struct walk *w, const char *token)
{
    struct seen_token *t;
    HASH_FIND_STR(w->tokens, token, t);
    if (t)
        return true;
    size_t n = strlen(token) + 1;
    if ((t = malloc(sizeof(*t) + n))) {
        memcpy(t->token, token, n);
        HASH_ADD_KEYPTR(hh, w->tokens, t->token, n - 1, t);
    }
    return false;
}

/* The last page followed when the count keeps growing: half again the first
 * count, saturated (the count is the server's number, as large as it likes). */
static int64_t page_cap(int64_t first)
{
    return first > (INT64_MAX - 1) / 3 * 2 ? INT64_MAX : first + first / 2 + 1;
}

/* One line for everything odd the walk saw: the listing is what the server
 * sent, but the user should know it may not be all there is. */
static void report(const struct walk *w)
{
    char line[512] = "";
    size_t n = 0;
    if (w->skipped)
        n += snprintf(line + n, sizeof(line) - n, "; %zu without a usable id left out", w->skipped);
    if (w->dupes && n < sizeof(line))
        n += snprintf(line + n, sizeof(line) - n, "; %zu repeated id%s dropped", w->dupes,
                      w->dupes == 1 ? "" : "s");
    if (w->repeats && n < sizeof(line))
        n += snprintf(line + n, sizeof(line) - n, "; %zu page%s brought nothing new", w->repeats,
                      w->repeats == 1 ? "" : "s");
    if (w->odd && n < sizeof(line))
        n += snprintf(line + n, sizeof(line) - n, "; %s", w->odd);
    if (w->capped && n < sizeof(line))
        n += snprintf(line + n, sizeof(line) - n,
                      "; the page count kept growing, followed up to page %lld",
                      (long long)page_cap(w->first_pages));
    if (n)
        log_warn("[%s] listing of %zu collections may be incomplete%s", w->p->section,
                 listing_count(w->l), line);
}

/* Whether the page after s was handed out at exactly `next`. */
static bool guessed(const struct walk *w, const struct walk_slot *s, const struct cursor *next)
{
    const struct planned *g = &w->planned[(s->seq + 1) % WALK_RING];
    return !next->token && g->page == next->page && g->has_mark == next->has_mark &&
           (!next->has_mark || g->mark == next->mark);
}

/* Fold one page, the next in order: its items, the stop rules, and where the
 * next page starts (which checks the guess the page after it was fetched at). */
static int fold(struct walk *w, struct walk_slot *s, char *why, size_t whylen)
{
    if (s->prepare && !s->err)
        w->prepared = true;
    if (s->err) {
        /* a walk with a hole is no listing: the caller retries whole */
        snprintf(why, whylen, "%s", s->why);
        w->failed = true;
        return s->err;
    }
    struct page *pg = &s->pg;
    long added = listing_add(w->l, pg->items, pg->n);
    if (added < 0) {
        snprintf(why, whylen, "[%s] out of memory", w->p->section);
        w->failed = true;
        return (int)added;
    }
    /* A first page that holds nothing but says there is more contradicts
     * itself: shown as empty when nothing is cached, but never allowed to
     * replace a listing that has collections (see cache.c). */
    if (!w->started && pg->n == 0 && (pg->total > 0 || pg->odd)) {
        w->contradicted = true;
        if (!pg->odd)
            pg->odd = "the first page holds no collection although the server counts some";
    }
    w->started = true;
    w->skipped += pg->skipped;
    /* Repeats before a new window's first new item are what a keyset window
     * is expected to start with, not a sign of a server repeating itself or
     * of a listing with holes: they neither count toward the barren limit nor
     * make the listing doubtful. A window that ends before anything new is
     * stopped below, so a server that only repeats costs one window. */
    if (!w->grace) {
        w->dupes += pg->n - (size_t)added;
        w->repeats += pg->n > 0 && added == 0;
        w->barren = added > 0 ? 0 : w->barren + 1;
    } else if (added > 0) {
        w->grace = false;
        w->barren = 0;
    }
    if (pg->odd && !w->odd)
        w->odd = pg->odd;
    struct cursor next = {0};
    if (pg->pages > 0) {
        /* The latest count wins when the total moves, but a count that keeps
         * growing (a server adding as fast as we read, or lying) is followed
         * to half again the first one, so the walk ends. */
        if (!w->first_pages)
            w->first_pages = pg->pages;
        int64_t cap = page_cap(w->first_pages);
        w->capped |= pg->pages > cap;
        w->pages = pg->pages < cap ? pg->pages : cap;
        next.page = s->cur.page > 0 ? s->cur.page + 1 : 2;
    } else {
        w->pages = 0;
        next = pg->next;
        memset(&pg->next, 0, sizeof(pg->next));
    }
    bool new_window = !next.token && (next.has_mark != s->cur.has_mark ||
                                      (next.has_mark && next.mark != s->cur.mark));
    if (!pg->more)
        stop(w, NULL);
    else if (listing_count(w->l) >= w->max)
        stop(w, "max_collections reached (raise it in [global] if this is right)");
    else if (w->barren >= WALK_BARREN_MAX)
        stop(w, "the last pages brought no new collection; the server seems to repeat itself");
    else if (w->grace && new_window)
        stop(w, "a whole keyset window brought no new collection; the server seems to repeat "
                "itself");
    else if (pg->pages > 0 && next.page > w->pages)
        stop(w, NULL);
    else if (next.token && token_repeats(w, next.token))
        stop(w, "the server sent a cursor it had sent before");
    if (w->done) {
        provider_cursor_free(&next);
        return 0;
    }
    w->grace |= new_window;
    /* Without a count, a position that moved forward by a fixed step (an
     * offset, or a page number) is guessed to keep doing so; a token, or a
     * jump (HIVO's new createdMin window), is followed as it comes. */
    w->step = pg->pages == 0 && !next.token && next.page > s->cur.page &&
                      next.has_mark == s->cur.has_mark &&
                      (!next.has_mark || next.mark == s->cur.mark)
                  ? next.page - s->cur.page
                  : 0;
    if (w->plan_seq > s->seq + 1) {
        if (guessed(w, s, &next)) {
            provider_cursor_free(&next);
            return 0;
        }
        /* a wrong guess: everything handed out after this page is void */
        w->epoch++;
        drop_ready(w);
        w->plan_seq = s->seq + 1;
    }
    provider_cursor_free(&w->plan_cur);
    w->plan_cur = next;
    w->known = true;
    return 0;
}

int walk_give(struct walk *w, struct walk_slot *s, char *why, size_t whylen)
{
    if (s->walk_id != w->id) {
        walk_slot_free(s);
        return 0;
    }
    w->busy--;
    if (w->done || w->failed || s->epoch != w->epoch) {
        walk_slot_free(s); /* past the end, past a failure, or past a wrong guess */
        return 0;
    }
    struct walk_slot **pp = &w->ready;
    while (*pp && (*pp)->seq < s->seq)
        pp = &(*pp)->next;
    s->next = *pp;
    *pp = s;
    int rc = 0;
    while (rc == 0 && !w->done && w->ready && w->ready->seq == w->fold_seq) {
        struct walk_slot *r = w->ready;
        w->ready = r->next;
        w->fold_seq++;
        rc = fold(w, r, why, whylen);
        walk_slot_free(r);
        if (w->done)
            report(w);
    }
    if (w->done || w->failed)
        drop_ready(w);
    return rc;
}

int walk_plan(struct walk *w, int window, struct walk_batch *b)
{
    memset(b, 0, sizeof(*b));
    while (b->n < window && b->n < WALK_MAX_BATCH) {
        struct walk_slot *s = walk_take(w, window, 0);
        if (!s)
            break;
        b->slot[b->n] = s;
        b->cur[b->n++] = s->cur; /* the token stays the slot's: shown, not owned */
    }
    b->prepare = b->n > 0 && b->slot[0]->prepare;
    return b->n;
}

void walk_fetch(struct provider *p, struct walk_batch *b)
{
    for (int i = 0; i < b->n; i++) {
        struct walk_slot *s = b->slot[i];
        if (!s)
            continue;
        walk_run(p, s, NULL, NULL);
        b->pg[i] = s->pg;
        memset(&s->pg, 0, sizeof(s->pg));
        b->err[i] = s->err;
        if (s->err && !b->why[0])
            snprintf(b->why, sizeof(b->why), "%s", s->why);
    }
}

int walk_merge(struct walk *w, struct walk_batch *b)
{
    int rc = 0;
    for (int i = 0; i < b->n; i++) {
        struct walk_slot *s = b->slot[i];
        if (!s)
            continue;
        b->slot[i] = NULL;
        provider_page_free(&s->pg);
        s->pg = b->pg[i];
        memset(&b->pg[i], 0, sizeof(b->pg[i]));
        s->err = b->err[i];
        char why[sizeof(b->why)] = "";
        int r = walk_give(w, s, why, sizeof(why));
        if (r && !rc) {
            rc = r;
            if (!b->why[0])
                snprintf(b->why, sizeof(b->why), "%s", why);
        }
    }
    return rc;
}

void walk_batch_free(struct walk_batch *b)
{
    for (int i = 0; i < b->n; i++) {
        provider_page_free(&b->pg[i]);
        walk_slot_free(b->slot[i]);
        b->slot[i] = NULL;
        b->cur[i].token = NULL; /* borrowed from the slot */
    }
    b->n = 0;
}
