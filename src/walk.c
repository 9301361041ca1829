/* The listing engine; see walk.h. */
#include "walk.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "fetch.h"
#include "json.h"
#include "listing.h"
#include "log.h"

/* Pages in a row that add no new collection before the walk calls it a loop. */
#define WALK_BARREN_MAX 8

struct seen_token {
    UT_hash_handle hh;
    char token[];
};

struct walk {
    struct provider *p;
    struct listing *l;
    unsigned long long max;
    bool prepared, started, done;
    int64_t pages;      /* page count once a page told it, else 0 */
    int64_t next_page;  /* next page number to plan when pages > 0 */
    struct cursor next; /* next cursor when pages == 0 */
    int barren;
    int64_t first_pages; /* the page count the first page announced */
    /* what went oddly, reported in one line when the walk ends */
    size_t skipped, dupes, repeats;
    const char *odd;
    bool capped, contradicted;
    struct seen_token *tokens;
};

struct walk *walk_new(struct provider *p, unsigned long long max_collections)
{
    struct walk *w = calloc(1, sizeof(*w));
    if (!w || !(w->l = listing_new(p->section))) {
        free(w);
        return NULL;
    }
    w->p = p;
    w->max = max_collections;
    w->prepared = !p->ops->prepare;
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
    provider_cursor_free(&w->next);
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

int walk_plan(struct walk *w, int window, struct walk_batch *b)
{
    memset(b, 0, sizeof(*b));
    if (w->done)
        return 0;
    b->prepare = !w->prepared;
    if (!w->started) {
        b->n = 1; /* the first page, all-zero cursor */
    } else if (w->pages > 0) {
        if (window > WALK_MAX_BATCH)
            window = WALK_MAX_BATCH;
        for (int64_t k = w->next_page; k <= w->pages && b->n < window; k++)
            b->cur[b->n++].page = k;
    } else {
        if (provider_cursor_copy(&b->cur[0], &w->next) < 0)
            return 0;
        b->n = 1;
    }
    return b->n;
}

struct job {
    struct provider *p;
    struct cursor *cur;
    struct page *pg;
    int *err;
    char why[512];
};

static void *fetch_one(void *arg)
{
    struct job *j = arg;
    struct http_req req = {0};
    struct json *doc = NULL;
    int rc = j->p->ops->request(j->p, j->cur, &req);
    if (rc == 0)
        rc = fetch_json(j->p, &req, &doc, j->why, sizeof(j->why));
    else
        snprintf(j->why, sizeof(j->why), "[%s] cannot build the request: %s", j->p->section,
                 strerror(-rc));
    if (rc == 0)
        rc = j->p->ops->parse(j->p, j->cur, doc, j->pg, j->why, sizeof(j->why));
    json_free(doc);
    http_req_free(&req);
    *j->err = rc;
    return NULL;
}

void walk_fetch(struct provider *p, struct walk_batch *b)
{
    if (b->prepare) {
        int rc = p->ops->prepare(p, b->why, sizeof(b->why));
        if (rc < 0) {
            for (int i = 0; i < b->n; i++)
                b->err[i] = rc;
            return;
        }
    }
    struct job jobs[WALK_MAX_BATCH];
    pthread_t tids[WALK_MAX_BATCH];
    bool started[WALK_MAX_BATCH] = {false};
    for (int i = 0; i < b->n; i++)
        jobs[i] = (struct job){p, &b->cur[i], &b->pg[i], &b->err[i], ""};
    /* one thread per extra page; the caller's thread fetches the first */
    for (int i = 1; i < b->n; i++)
        started[i] = pthread_create(&tids[i], NULL, fetch_one, &jobs[i]) == 0;
    fetch_one(&jobs[0]);
    for (int i = 1; i < b->n; i++) {
        if (started[i])
            pthread_join(tids[i], NULL);
        else
            fetch_one(&jobs[i]);
    }
    for (int i = 0; i < b->n; i++)
        if (b->err[i] && !b->why[0])
            snprintf(b->why, sizeof(b->why), "%s", jobs[i].why);
}

static void stop(struct walk *w, const char *why)
{
    w->done = true;
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
                      (long long)w->pages);
    if (n)
        log_warn("[%s] listing of %zu collections may be incomplete%s", w->p->section,
                 listing_count(w->l), line);
}

int walk_merge(struct walk *w, struct walk_batch *b)
{
    if (b->prepare && !b->err[0])
        w->prepared = true;
    for (int i = 0; i < b->n; i++)
        if (b->err[i])
            return b->err[i]; /* a walk with a hole is no listing: the caller retries whole */
    for (int i = 0; i < b->n && !w->done; i++) {
        struct page *pg = &b->pg[i];
        long added = listing_add(w->l, pg->items, pg->n);
        if (added < 0)
            return (int)added;
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
        w->dupes += pg->n - (size_t)added;
        w->repeats += pg->n > 0 && added == 0;
        if (pg->odd && !w->odd)
            w->odd = pg->odd;
        w->barren = added > 0 ? 0 : w->barren + 1;
        if (pg->pages > 0) {
            /* The latest count wins when the total moves, but a count that keeps
             * growing (a server adding as fast as we read, or lying) is followed
             * to half again the first one, so the walk ends. */
            if (!w->first_pages)
                w->first_pages = pg->pages;
            int64_t cap = w->first_pages + w->first_pages / 2 + 1;
            w->capped |= pg->pages > cap;
            w->pages = pg->pages < cap ? pg->pages : cap;
            w->next_page = b->cur[i].page > 0 ? b->cur[i].page + 1 : 2;
        }
        if (!pg->more)
            stop(w, NULL);
        else if (listing_count(w->l) >= w->max)
            stop(w, "max_collections reached (raise it in [global] if this is right)");
        else if (w->barren >= WALK_BARREN_MAX)
            stop(w, "the last pages brought no new collection; the server seems to repeat itself");
        else if (pg->pages > 0 && w->next_page > w->pages)
            stop(w, NULL);
        else if (pg->pages == 0) {
            if (pg->next.token && token_repeats(w, pg->next.token)) {
                stop(w, "the server sent a cursor it had sent before");
            } else {
                provider_cursor_free(&w->next);
                w->next = pg->next;
                memset(&pg->next, 0, sizeof(pg->next));
            }
        }
    }
    if (w->done)
        report(w);
    return 0;
}

void walk_batch_free(struct walk_batch *b)
{
    for (int i = 0; i < b->n; i++) {
        provider_cursor_free(&b->cur[i]);
        provider_page_free(&b->pg[i]);
    }
    b->n = 0;
}
