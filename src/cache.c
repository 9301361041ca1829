/* The listing cache; see cache.h.
 *
 * State, all under c->lock:
 *   cur    the last complete listing, fresh until fresh_until, servable as stale
 *          for stale_ttl after it completed; old is the one before it, kept to
 *          answer file numbers it had (earlier); ghosts say where a directory
 *          read goes on after a collection a refresh deleted (resume);
 *   walk   the walk in progress (possibly paused when nobody needs more);
 *   worker whether a worker thread is driving the walk; thread is the last one
 *          started, joined before the next one starts and by cache_free, so no
 *          worker outlives the cache, the provider or libcurl. The worker and
 *          its `parallel` helpers (joined by the worker) each keep one page in
 *          flight (pump): take a page under the lock, fetch it without, give
 *          it back under the lock; at most `parallel` of them wait for an
 *          answer (flying), so one can parse while the others' requests go;
 *   waiters the callers waiting for the walk, each with what it needs (the whole
 *          listing, entries after a position, one name or one inode); the
 *          pumps keep `parallel` pages in flight while someone needs the whole
 *          listing or a directory read waits (or a SIGHUP refresh runs), one
 *          page while only lookups wait, and pause as soon as every waiter is
 *          served, so a lookup costs only the pages up to its name;
 *   fails  a counter bumped when a walk fails, so each waiter can tell that the
 *          walk it waited for is gone;
 *   gen    bumped by cache_drop, so a pump back from the network can tell that
 *          its page belongs to a walk that no longer exists.
 * Only pumps fold pages in; waiters only read, under the lock, and take a
 * reference before they leave, so entries stay valid while replies are built. */
#include "cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "fetch.h"
#include "fleet.h"
#include "ghosts.h"
#include "inode.h"
#include "listing.h"
#include "log.h"
#include "provider.h"
#include "shared.h"
#include "walk.h"

enum want { WANT_ALL, WANT_NAME, WANT_INO, WANT_MORE };

/* How long a failed walk's error answers new accesses (see decide). */
#define CACHE_FAILURE_MEMORY_MS 1000
/* Pumps beyond `parallel`: one parses and folds the page it got while the
 * spare's request takes its place on the wire. More spares gain little and cost
 * wake-ups (RESULTS.md, R). */
#define PUMP_SPARE 1

struct waiter {
    enum want want;
    const char *name; /* WANT_NAME */
    uint64_t ino;     /* WANT_INO; WANT_MORE: entries after this one (0: from the start) */
    struct waiter *next;
};

/* How many refreshes that each deleted where it would go on a paused read follows. */
#define GHOST_HOPS 64

/* Changes between the listing the kernel may have seen and the new one. */
struct change {
    uint64_t ino; /* inode to invalidate; with a name, the directory it is in (0: the section) */
    char *name;   /* name to invalidate, or NULL */
};

struct cache {
    struct provider *p;
    const struct config_global *g;
    uint64_t parent;
    struct cache_hooks hooks;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct listing *cur;
    struct listing *prev; /* what the kernel may hold with no cur: dropped by SIGHUP, or a
                           * first walk that ended early (keep_partial) */
    struct listing *old;  /* the generation before cur: answers the file numbers it had */
    struct ghosts ghosts; /* where a read goes on after a deleted collection (resume) */
    struct timespec cur_done, fresh_until;
    struct timespec changed; /* wall clock: when a refresh last changed the names; 0: never */
    struct walk *walk;
    struct timespec walk_start, progress;
    long long took_ms;       /* the last walk that ran to its end without a pause; 0: none yet */
    bool paused;             /* the walk's worker stopped before its end: its time says nothing */
    size_t read_upto;        /* a directory read of the walk has been handed entries up to here */
    struct timespec read_at; /* and when it was last handed some */
    bool worker, stopping, failing;
    int stop_err;    /* what accesses get once stopping: -EIO, or -ECANCELED when retired */
    bool refresh;    /* walk to the end with nobody waiting (SIGHUP, stale reads) */
    bool publishing; /* complete() waits for the kernel to forget changed inodes */
    bool superseded; /* a reload's cache took over: its refresh tells the kernel, not ours */
    struct buf told; /* changes found under the lock, for unlock() to tell the kernel */
    struct timespec failed_at;
    pthread_t thread;
    bool joinable; /* thread was started and not joined yet */
    struct waiter *waiters;
    uint64_t fails, gen;
    int last_err;
    /* for cache_status */
    time_t fetched_wall, refreshed_wall;
    long long refresh_ms;
    bool doubtful; /* cur's walk stopped early or saw something odd */
    uint64_t hits;
    char last_why[512];
    /* The fleet (see fleet_turn), when a shared cache is configured. */
    struct shared *sh;
    uint64_t walks, consulted;      /* walks started; the one the fleet was consulted for */
    bool forced;                    /* SIGHUP: the next walk asks the provider, not the fleet */
    bool adopting;                  /* a publication was heard: the next walk takes it if newer */
    struct timespec accepted_until; /* the provider took our credentials this recently */
    uint64_t token;                 /* the lease the worker's walk holds; 0: none */
    struct listing *to_publish;     /* what that walk found, for the worker to publish */
    uint64_t heard;      /* publications heard of (a count: any one wakes a waiting walk) */
    uint64_t held;       /* the generation cur is (0: our own walk, not published yet) */
    int pumps;           /* helper pumps running */
    int flying;          /* pumps whose request has no answer yet (the others parse theirs) */
    bool from_fleet;     /* cur came from the fleet */
    bool no_room;        /* Redis had no room for the last publication (said once a streak) */
    char fetched_by[64]; /* who walked for cur, when it came from the fleet */
};

/* A walk ended, done or failed: when, and how long it took. */
static void ended(struct cache *c, const struct timespec *now)
{
    c->refreshed_wall = time(NULL);
    c->refresh_ms = clock_ms(&c->walk_start, now);
}

struct cache *cache_new(struct provider *p, const struct config_global *g, uint64_t parent,
                        const struct cache_hooks *hooks)
{
    struct cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->p = p;
    c->g = g;
    c->parent = parent;
    if (hooks)
        c->hooks = *hooks;
    buf_init(&c->told, SIZE_MAX);
    ghosts_init(&c->ghosts);
    pthread_mutex_init(&c->lock, NULL);
    clock_cond_init(&c->cond);
    return c;
}

static void stop(struct cache *c, int err)
{
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    c->stop_err = err;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

void cache_stop(struct cache *c)
{
    stop(c, -EIO);
}

void cache_retire(struct cache *c)
{
    stop(c, -ECANCELED);
}

void cache_free(struct cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_broadcast(&c->cond);
    bool join = c->joinable;
    c->joinable = false;
    pthread_mutex_unlock(&c->lock);
    /* http_shutdown() has aborted the transfers and every other wait in a worker
     * is bounded, so this returns soon; nothing below may go while it runs. */
    if (join) {
        pthread_join(c->thread, NULL);
        log_debug("[%s] worker joined", c->p->section);
    }
    walk_free(c->walk);
    buf_free(&c->told); /* empty: every unlock() told what it held */
    ghosts_free(&c->ghosts);
    listing_unref(c->cur);
    listing_unref(c->prev);
    listing_unref(c->old);
    listing_unref(c->to_publish);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return clock_ms(a, b) > 0;
}

/* A change list is a buf of struct change. */
static void note(struct buf *ch, uint64_t ino, const char *name)
{
    struct change c = {ino, name ? strdup(name) : NULL};
    if ((name && !c.name) || buf_add(ch, &c, sizeof(c)) < 0)
        free(c.name); /* the kernel's timeouts still bound how long it keeps old data */
}

/* Collections of old that new shows otherwise or not at all: their names,
 * and those of files with a new number, to ch; the inodes of changed ones to
 * inos (a buf of uint64_t); true when a name of old is not in new. *rising
 * (when given) is cleared when new holds two of old's in the other order.
 * Those new lacks leave ghosts (when given). */
static bool changed(const struct listing *old, const struct listing *new, struct buf *ch,
                    struct buf *inos, bool *rising, struct ghosts *ghosts)
{
    bool names = false;
    if (ghosts)
        ghosts_begin(ghosts);
    for (size_t i = 0, j, last = SIZE_MAX; i < listing_count(old); i++) {
        const struct entry *o = listing_at(old, i);
        const struct entry *n = listing_by_id_at(new, entry_id(o), &j);
        if (ghosts)
            (n ? ghosts_kept : ghosts_gone)(ghosts, entry_ino(o));
        if (n && rising) {
            *rising = *rising && (last == SIZE_MAX || j > last);
            last = j;
        }
        const char *on = entry_name(o), *nn = n ? entry_name(n) : NULL;
        if (on && (!nn || strcmp(on, nn) != 0)) {
            note(ch, 0, on);
            names = true;
        }
        if (n && !entry_same(o, n)) {
            /* Bytes that change under one number (neither size nor mtime
             * moved it) must go before new ones are answered. A file with a
             * new number keeps its bytes under the old one: only the name
             * must lead to the new. */
            uint64_t v[2] = {entry_ino(o), entry_file_ino(o)};
            bool renumbered = v[1] != entry_file_ino(n);
            if (renumbered)
                note(ch, v[0], ENTRY_FILE);
            buf_add(inos, v, renumbered ? sizeof(v[0]) : sizeof(v)); /* ENOMEM: the ttl bounds it */
        }
    }
    if (ghosts)
        ghosts_end(ghosts);
    return names;
}

/* Names go to ch, changed inodes to inos (a buf of uint64_t); returns whether
 * the set of shown names changed. *rising, ghosts: see changed(). */
static bool diff(const struct listing *old, const struct listing *new, struct buf *ch,
                 struct buf *inos, bool *rising, struct ghosts *ghosts)
{
    bool names = changed(old, new, ch, inos, rising, ghosts);
    /* a name that is new may sit in the kernel as a cached "no such file" */
    for (size_t i = 0; i < listing_count(new); i++) {
        const char *nn = entry_name(listing_at(new, i));
        if (nn && !listing_by_name(old, nn)) {
            note(ch, 0, nn);
            names = true;
        }
    }
    return names;
}

/* The walk finished, or the fleet brought a listing (f: its facts) that
 * replaces it: l becomes the current one. */
static void complete(struct cache *c, struct buf *ch, struct listing *l, bool doubtful,
                     const struct shared_facts *f)
{
    struct walk *w = c->walk;
    struct listing *old = c->cur ? c->cur : c->prev;
    struct buf inos;
    buf_init(&inos, SIZE_MAX);
    bool rising = true;
    bool names = old && diff(old, l, ch, &inos, &rising, &c->ghosts);
    if (inos.len && c->hooks.inodes_forget) {
        /* The kernel may hold sizes and pages of the old generation under
         * numbers the new one keeps: it must forget them before anything is
         * answered from the new one, or a read of sizes 4096 apart could get
         * new bytes cut to an old size. Reads by inode are answered from the
         * old generation meanwhile, without waiting (answerable). */
        uint64_t gen = c->gen;
        c->publishing = true;
        pthread_mutex_unlock(&c->lock);
        c->hooks.inodes_forget(c->hooks.ctx, (const uint64_t *)inos.p, inos.len / sizeof(uint64_t));
        pthread_mutex_lock(&c->lock);
        c->publishing = false;
        if (c->gen != gen || c->walk != w || c->stopping) { /* dropped meanwhile */
            buf_free(&inos);
            return;
        }
    }
    /* A read the forget waited for was answered by the old generation and
     * put its page back; at the same size and time nothing would drop it
     * again within the ttl. Once more, now that only the new one answers. */
    const uint64_t *v = (const uint64_t *)inos.p;
    for (size_t i = 0; i < inos.len / sizeof(*v); i++)
        note(ch, v[i], NULL);
    buf_free(&inos);
    /* A directory read that goes on resumes by position (resume): what both
     * hold keeps the order of the one it began in, whatever order the server
     * gave this time (ties of its sort key come in any order). Not against a
     * partial first walk: readers may have read this one as it streamed.
     * ENOMEM keeps the server's order. */
    struct listing *copy = c->cur && !rising ? listing_in_order_of(l, c->cur) : NULL;
    listing_set_base(l, NULL);
    if (copy)
        l = copy;
    else
        listing_ref(l); /* c->cur's; the copy comes with it */
    c->doubtful = doubtful;
    walk_free(c->walk);
    c->walk = NULL;
    /* The kernel caches the directory's entries until told: tell it when the
     * names changed (a listing torn by a refresh mid-read is dropped too). */
    if (names) {
        note(ch, c->parent, NULL);
        clock_gettime(CLOCK_REALTIME, &c->changed);
    }
    listing_unref(c->old);
    if (c->cur)
        listing_unref(c->prev);
    c->old = old; /* its reference moves here */
    c->prev = NULL;
    c->cur = l;
    c->refresh = false;
    c->cur_done = clock_now();
    if (!f && !c->paused)
        c->took_ms = clock_ms(&c->walk_start, &c->cur_done);
    c->fetched_wall = time(NULL);
    long long age = f && f->fetched_at < c->fetched_wall ? c->fetched_wall - f->fetched_at : 0;
    /* a listing from the fleet is as fresh as its walk, so the fleet refreshes together */
    c->fresh_until = clock_after(&c->cur_done, ((long long)c->g->ttl - age) * 1000);
    c->from_fleet = f != NULL;
    snprintf(c->fetched_by, sizeof(c->fetched_by), "%s", f ? f->who : "");
    if (f) {
        c->fetched_wall = f->fetched_at;
        c->held = f->gen;
    } else {
        c->held = 0;
        c->accepted_until = clock_after(&c->cur_done, (long long)c->g->ttl * 1000);
        if (c->token) {
            listing_unref(c->to_publish);
            listing_ref(c->to_publish = l);
        }
    }
    ended(c, &c->cur_done);
    c->last_why[0] = '\0';
    if (c->failing)
        log_info("[%s] listing fetched again (%zu collections); the provider is back",
                 c->p->section, listing_count(l));
    c->failing = false;
}

/* Whether the last listing is young enough to be served when a refresh fails. */
static bool stale_ok(const struct cache *c, const struct timespec *now)
{
    return c->cur && clock_ms(&c->cur_done, now) <= (long long)c->g->stale_ttl * 1000;
}

/* A first walk's entries stay in the kernel once handed out: names, sizes,
 * and a read of the directory that never expires by time and that a later
 * read completes. When the walk ends without completing, what it had becomes
 * prev, so that the next walk tells the kernel what changed, as a refresh
 * does, and a read by inode meanwhile gets the bytes whose size the kernel
 * holds. true when the walk had handed out entries. */
static bool keep_partial(struct cache *c, struct buf *ch)
{
    struct listing *l = c->walk ? walk_listing(c->walk) : NULL;
    if (c->cur || !l || !c->p->ops->ordered || listing_count(l) == 0)
        return false; /* only an ordered walk hands out entries before its end */
    if (c->prev) {
        /* A listing before it, ended early too or dropped: the kernel may hold
         * parts of either. What the two show differently goes now; then, both
         * being the first pages of one order, the longer names all it holds. */
        bool longer = listing_count(c->prev) >= listing_count(l);
        struct buf inos;
        buf_init(&inos, SIZE_MAX);
        changed(longer ? l : c->prev, longer ? c->prev : l, ch, &inos, NULL, NULL);
        const uint64_t *v = (const uint64_t *)inos.p;
        for (size_t i = 0; i < inos.len / sizeof(*v); i++)
            note(ch, v[i], NULL);
        buf_free(&inos);
        if (longer)
            return true;
        listing_unref(c->prev);
    }
    listing_ref(l);
    listing_set_base(l, NULL);
    c->prev = l;
    return true;
}

/* End the walk before its end (a failure, a pause given up, SIGHUP), keeping
 * what it handed out; what the kernel must forget goes to ch. true when the
 * walk had handed out entries. */
static bool drop_walk(struct cache *c, struct buf *ch)
{
    bool kept = keep_partial(c, ch);
    walk_free(c->walk);
    c->walk = NULL;
    return kept;
}

static void fail(struct cache *c, struct buf *ch, int err, const char *why)
{
    struct timespec t = clock_now();
    const char *line = why[0] ? why : "listing failed";
    ended(c, &t);
    snprintf(c->last_why, sizeof(c->last_why), "%.*s", (int)strcspn(line, "\n"), line);
    if (drop_walk(c, ch))
        note(ch, c->parent, NULL); /* a reader's partial read of the directory goes now */
    c->refresh = false;
    c->fails++;
    c->failed_at = clock_now();
    c->last_err = err;
    struct timespec now = clock_now();
    bool stale = stale_ok(c, &now);
    if (!c->failing)
        log_err("%s%s", why[0] ? why : "listing failed",
                stale ? "; serving the last listing until the provider answers again" : "");
    c->failing = true;
    if (stale) /* try again after another ttl, not on every access */
        c->fresh_until = clock_after(&now, (long long)c->g->ttl * 1000);
}

/* Find what a caller wants in a listing; NULL when it is not there (yet). */
static const struct entry *find(const struct listing *l, const struct waiter *w)
{
    return w->want == WANT_NAME ? listing_by_name(l, w->name) : listing_by_ino(l, w->ino);
}

/* Whether a walk's listing has entries after `after` whose names are final:
 * in an ordered walk every name seen is final, elsewhere none before the end. */
static bool more(const struct cache *c, const struct listing *l, uint64_t after)
{
    if (!c->p->ops->ordered)
        return false;
    if (!after)
        return listing_count(l) > 0;
    const struct entry *e = listing_by_ino(l, after);
    return e && listing_index(l, e) + 1 < listing_count(l);
}

/* Whether the walk in progress can already answer this waiter. */
static bool served(const struct cache *c, const struct waiter *w)
{
    if (!c->walk || walk_done(c->walk))
        return true; /* the waiter will look at the outcome itself */
    if (w->want == WANT_ALL)
        return false;
    /* A refresh's pages are not handed out while a complete listing exists: a
     * read that mixed them with the old one would be torn if the refresh
     * failed half-way. Only a first walk streams. */
    if (w->want == WANT_MORE)
        return !c->cur && more(c, walk_listing(c->walk), w->ino);
    /* A name already seen in an ordered walk is final; an id is final anywhere. */
    return find(walk_listing(c->walk), w) && (w->want == WANT_INO || c->p->ops->ordered);
}

/* A directory read of the walk comes back for more as soon as the kernel has
 * passed on what it got. Keep 2 * parallel pages' worth of entries fetched
 * beyond what it was handed, so it never finds the network idle when it
 * catches up (each stall costs a round trip), while a reader that stops early
 * (ls -f | head -1) leaves the walk paused soon after. */
static bool reading_ahead(const struct cache *c)
{
    size_t ahead = 2 * (size_t)c->g->parallel * (size_t)c->p->page_size;
    return c->read_upto && c->walk && !walk_done(c->walk) &&
           listing_count(walk_listing(c->walk)) < c->read_upto + ahead;
}

/* Pages needed at once: 0 when every waiter is served, 1 while only lookups
 * wait (each page is folded before the next starts, so a lookup costs only the
 * pages up to its name), else `parallel`, and *streaming is set: the next page
 * may start while the last one is being parsed. */
static int window(const struct cache *c, bool *streaming)
{
    int n = 0;
    *streaming = true;
    if (c->refresh || reading_ahead(c))
        return (int)c->g->parallel;
    for (const struct waiter *w = c->waiters; w; w = w->next) {
        if (w->want == WANT_ALL || w->want == WANT_MORE)
            return (int)c->g->parallel;
        if (!served(c, w))
            n = 1;
    }
    *streaming = false;
    return n;
}

/* Tell the FUSE layer what changed; without the lock, as the hooks require. */
static void tell(struct cache *c, struct buf *ch)
{
    struct change *v = (struct change *)ch->p;
    for (size_t i = 0; i < ch->len / sizeof(*v); i++) {
        if (v[i].name && c->hooks.entry_changed)
            c->hooks.entry_changed(c->hooks.ctx, v[i].ino ? v[i].ino : c->parent, v[i].name);
        else if (v[i].ino && c->hooks.inode_changed)
            c->hooks.inode_changed(c->hooks.ctx, v[i].ino);
        free(v[i].name);
    }
    buf_free(ch);
}

/* A pump's request, counted in c->flying until its answer is in (off_wire). */
struct flight {
    struct cache *c;
    bool in; /* the answer is in: no longer counted in c->flying */
};

static void off_wire(void *arg)
{
    struct flight *f = arg;
    pthread_mutex_lock(&f->c->lock);
    f->c->flying--;
    f->in = true;
    pthread_cond_broadcast(&f->c->cond);
    pthread_mutex_unlock(&f->c->lock);
}

/* One fetching thread of a worker: take the next page the walk offers, fetch
 * it without the lock, give it back. Each gives its page back the moment it
 * lands and takes another, so `window` requests stay in flight without a
 * barrier between batches. It returns once nothing it waits for is in flight
 * and no page may start (the walk is done, failed, dropped, or paused because
 * every waiter is served); every wait ends when a page in flight lands, and
 * cache_free's broadcast ends the others. A pump whose answer is in parses and
 * folds it while another pump's request takes its place on the wire (a page's
 * parsing can cost a tenth of a round trip: RESULTS.md, R). */
static void *pump(void *arg)
{
    struct cache *c = arg;
    struct buf ch;
    char why[512];
    buf_init(&ch, SIZE_MAX);
    pthread_mutex_lock(&c->lock);
    while (!c->stopping && c->walk) {
        struct walk *w = c->walk;
        uint64_t gen = c->gen;
        bool streaming;
        int n = window(c, &streaming);
        /* n requests on the wire; when streaming, pages whose answer is in, being
         * parsed and folded by their pumps meanwhile, do not count against it */
        int parsing = walk_busy(w) - c->flying; /* c->flying may count a dropped walk's */
        if (!streaming || parsing < 0)
            parsing = 0;
        struct walk_slot *s = n > 0 ? walk_take(w, n, parsing) : NULL;
        if (!s) {
            if (walk_busy(w) == 0)
                break;
            pthread_cond_wait(&c->cond, &c->lock);
            continue;
        }
        c->flying++;
        struct flight f = {c, false};
        pthread_mutex_unlock(&c->lock);
        walk_run(c->p, s, off_wire, &f);
        pthread_mutex_lock(&c->lock);
        if (!f.in)
            c->flying--;
        if (c->gen != gen || c->stopping || c->walk != w) { /* gone while we were away */
            walk_slot_free(s);
            pthread_cond_broadcast(&c->cond);
            continue;
        }
        why[0] = '\0';
        int err = walk_give(w, s, why, sizeof(why));
        c->progress = clock_now();
        if (!err && walk_done(w) && walk_contradicted(w) && c->cur && listing_count(c->cur) > 0) {
            err = -EIO;
            snprintf(why, sizeof(why),
                     "[%s] the refresh came back empty on a page that claims more; keeping "
                     "the %zu collections listed before",
                     c->p->section, listing_count(c->cur));
        }
        if (err)
            fail(c, &ch, err, why);
        else if (walk_done(w) && !c->publishing)
            complete(c, &ch, walk_listing(w), walk_doubtful(w), NULL);
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    tell(c, &ch);
    return NULL;
}

/* A helper pump of a worker: pumps, then says it is gone (lead() waits for that). */
static void *helper(void *arg)
{
    struct cache *c = arg;
    pump(c);
    pthread_mutex_lock(&c->lock);
    c->pumps--;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* ---- the fleet: one walk per listing per ttl across every daemon sharing it ----
 *
 * A worker with a fresh walk consults the fleet before it walks alone (fleet_turn):
 *   1. the provider must accept our own credentials once per ttl: the walk's
 *      first page is that check, and an error there is answered as always;
 *   2. a listing the fleet published within the ttl is taken as it is;
 *   3. else whoever gets the lease walks (renewing it meanwhile, in lead())
 *      and the worker publishes the result; the others wait for that
 *      publication, heard on the channel, for as long as the lease is held and
 *      their budget lasts, then take it.
 * Any failure of the shared cache means walking alone (shared.c logs once per streak).
 * A publication heard while the current listing is fresh is taken at once
 * (cache_heard), and the kernel told what changed, as after a refresh. */

static unsigned lease_ms(const struct cache *c)
{
    return c->p->timeout_ms > 5000 ? c->p->timeout_ms : 5000;
}

/* Fetch the walk's first page here: the provider's word on our credentials. true when the walk
 * goes on; false when it failed, finished, or was dropped meanwhile. */
static bool first_page(struct cache *c, struct walk *w)
{
    struct buf ch;
    char why[512] = "";
    buf_init(&ch, SIZE_MAX);
    pthread_mutex_lock(&c->lock);
    uint64_t gen = c->gen;
    struct walk_slot *s = walk_take(w, 1, 0);
    pthread_mutex_unlock(&c->lock);
    if (!s)
        return true;
    walk_run(c->p, s, NULL, NULL);
    pthread_mutex_lock(&c->lock);
    bool go = false;
    if (c->gen != gen || c->stopping || c->walk != w) {
        walk_slot_free(s);
    } else {
        int err = walk_give(w, s, why, sizeof(why));
        c->progress = clock_now();
        if (err)
            fail(c, &ch, err, why);
        else if (walk_done(w))
            complete(c, &ch, walk_listing(w), walk_doubtful(w), NULL);
        else
            c->accepted_until = clock_after(&c->progress, (long long)c->g->ttl * 1000);
        go = !err && c->walk == w;
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    tell(c, &ch);
    return go;
}

/* Take the fleet's listing l (facts f, reference consumed) in place of walk w, if w is still
 * the walk and l is not the listing held already; true when taken. */
static bool take(struct cache *c, struct walk *w, uint64_t gen, struct listing *l,
                 const struct shared_facts *f)
{
    struct buf ch;
    buf_init(&ch, SIZE_MAX);
    pthread_mutex_lock(&c->lock);
    bool taken =
        c->walk == w && c->gen == gen && !c->stopping && !c->publishing && f->gen != c->held;
    if (taken) {
        keep_partial(c, &ch); /* the first page may have been handed out: compare with it */
        complete(c, &ch, l, !f->complete, f);
        log_debug("[%s] listing of %zu collections taken from the fleet (generation %llu, "
                  "fetched by %s)",
                  c->p->section, listing_count(l), (unsigned long long)f->gen, f->who);
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    listing_unref(l);
    tell(c, &ch);
    return taken;
}

/* Read the fleet's listing; 0 with *l when it is there and, unless any is true, fresh; -ENOENT
 * when there is none (f->gen 0) or it is stale (f->gen its generation). */
static int fleet_get(struct cache *c, bool any, struct listing **l, struct shared_facts *f)
{
    pthread_mutex_lock(&c->lock);
    struct listing *base = c->cur ? c->cur : c->prev;
    if (base)
        listing_ref(base);
    pthread_mutex_unlock(&c->lock);
    f->gen = 0;
    int rc = fleet_read(c->sh, c->p->listing_key, c->p->section, base, c->g->max_collections,
                        any ? -1 : (long)c->g->ttl, l, f);
    listing_unref(base);
    if (rc == -EBADMSG)
        log_err("[%s] shared cache: the fleet's listing is damaged or incomplete; fetching it "
                "from the provider",
                c->p->section);
    return rc == -ESTALE ? -ENOENT : rc;
}

static void fleet_turn(struct cache *c)
{
    pthread_mutex_lock(&c->lock);
    struct walk *w = c->walk;
    uint64_t gen = c->gen;
    bool fresh = w && c->consulted != c->walks && walk_busy(w) == 0 &&
                 listing_count(walk_listing(w)) == 0 && !c->stopping;
    bool forced = c->forced, adopting = c->adopting;
    struct timespec now = clock_now();
    bool check = !before(&now, &c->accepted_until);
    if (fresh) {
        c->consulted = c->walks;
        c->forced = c->adopting = false;
    }
    pthread_mutex_unlock(&c->lock);
    if (!fresh || (check && !first_page(c, w)))
        return;
    struct listing *l;
    struct shared_facts f;
    uint64_t seen = 0;
    if (!forced) {
        int rc = fleet_get(c, adopting, &l, &f);
        if (rc == 0 && take(c, w, gen, l, &f))
            return;
        if (rc != 0 && rc != -ENOENT && rc != -EBADMSG)
            return; /* the shared cache is down: walk alone */
        seen = rc == -EBADMSG ? 0 : f.gen;
    }
    if (adopting) { /* nothing newer after all; walk only if someone needs it */
        pthread_mutex_lock(&c->lock);
        if (c->walk == w && c->cur && before(&now, &c->fresh_until) && !c->waiters) {
            walk_free(c->walk);
            c->walk = NULL;
        }
        pthread_mutex_unlock(&c->lock);
        return;
    }
    /* What was published when we looked (0: nothing usable): anything published since is
     * newer than our reason to walk, and taken instead. */
    if (forced || seen == 0)
        shared_generation(c->sh, c->p->listing_key, &seen);
    pthread_mutex_lock(&c->lock);
    uint64_t heard0 = c->heard;
    pthread_mutex_unlock(&c->lock);
    struct timespec start = clock_now();
    for (;;) {
        uint64_t token = 0, g = seen;
        int rc = shared_lease(c->sh, c->p->listing_key, lease_ms(c), &token);
        if (rc < 0)
            return;
        if (shared_generation(c->sh, c->p->listing_key, &g) < 0)
            g = seen;
        if (g != seen) { /* published since we looked: no second walk */
            if (rc == 1)
                shared_release(c->sh, c->p->listing_key, token);
            int got = fleet_get(c, true, &l, &f);
            if (got == 0 && take(c, w, gen, l, &f))
                return;
            if (got != -EBADMSG)
                return;
            seen = g; /* damaged: someone must walk again */
            continue;
        }
        pthread_mutex_lock(&c->lock);
        if (rc == 1) {
            c->token = token;
            c->refresh = true; /* the fleet gets the whole listing */
            pthread_mutex_unlock(&c->lock);
            return;
        }
        /* Another daemon walks: wait for its publication while it holds the lease. */
        now = clock_now();
        struct timespec until = clock_after(&now, lease_ms(c) / 4);
        c->progress = now; /* the fleet's walk is this walk's progress */
        while (c->heard == heard0 && !c->stopping && c->walk == w && before(&now, &until)) {
            pthread_cond_timedwait(&c->cond, &c->lock, &until);
            now = clock_now();
        }
        bool gone = c->stopping || c->walk != w, listed = c->cur != NULL;
        heard0 = c->heard;
        pthread_mutex_unlock(&c->lock);
        /* A holder that died leaves its lease to run out: the next try takes it. One that
         * lives renews it while it walks: a refresh waits for it however long its walk
         * takes (the last listing answers meanwhile; a second walk would only halve both
         * walks' share of the rate budget), a first walk for a lease and a bit, then
         * walks alone, so that its readers get entries as pages arrive. */
        if (gone || (!listed && clock_ms(&start, &now) >= (long long)lease_ms(c) * 5 / 4))
            return; /* walk alone */
    }
}

/* While the worker's pumps walk under the lease, keep the lease. */
static void lead(struct cache *c)
{
    unsigned ms = lease_ms(c);
    pthread_mutex_lock(&c->lock);
    while (c->pumps > 0 && !c->stopping) {
        struct timespec now = clock_now(), until = clock_after(&now, ms / 3);
        while (c->pumps > 0 && !c->stopping && before(&now, &until)) {
            pthread_cond_timedwait(&c->cond, &c->lock, &until);
            now = clock_now();
        }
        if (c->pumps == 0 || c->stopping)
            break;
        uint64_t token = c->token;
        pthread_mutex_unlock(&c->lock);
        int rc = shared_renew(c->sh, c->p->listing_key, token, ms);
        if (rc < 0)
            log_debug("[%s] shared cache: renewing the lease: %s", c->p->section, strerror(-rc));
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
}

/* After a walk under the lease: publish what it found, give the lease back. */
static void publish(struct cache *c)
{
    pthread_mutex_lock(&c->lock);
    struct listing *l = c->to_publish;
    uint64_t token = c->token;
    struct shared_facts f = {.fetched_at = c->fetched_wall, .complete = !c->doubtful};
    c->to_publish = NULL;
    pthread_mutex_unlock(&c->lock);
    if (l) {
        char host[32] = "?";
        gethostname(host, sizeof(host) - 1);
        snprintf(f.who, sizeof(f.who), "%s:%ld", host, (long)getpid());
        int rc =
            fleet_publish(c->sh, c->p->listing_key, token, c->g->stale_ttl, lease_ms(c), l, &f);
        pthread_mutex_lock(&c->lock);
        bool was = c->no_room;
        if (rc == 0 && c->cur == l)
            c->held = f.gen;
        if (rc == 0 || rc == -ENOSPC)
            c->no_room = rc == -ENOSPC;
        pthread_mutex_unlock(&c->lock);
        if (rc == 0) {
            log_debug("[%s] listing of %zu collections published to the fleet (generation %llu)",
                      c->p->section, listing_count(l), (unsigned long long)f.gen);
            if (was)
                log_info("[%s] shared cache: Redis has room for the listing again; it is shared",
                         c->p->section);
        } else if (rc == -ESTALE) {
            log_info("[%s] shared cache: another daemon took the lease while this one walked; "
                     "its listing stands",
                     c->p->section);
        } else if (rc == -ENOSPC && !was) {
            log_warn("[%s] shared cache: Redis has no room for the listing of %zu collections "
                     "(maxmemory), so the other daemons walk it themselves: raise Redis's "
                     "maxmemory or lower stale_ttl",
                     c->p->section, listing_count(l));
        }
        listing_unref(l);
    }
    shared_release(c->sh, c->p->listing_key, token);
    pthread_mutex_lock(&c->lock);
    c->token = 0; /* until here, a publication heard is our own (cache_heard) */
    pthread_mutex_unlock(&c->lock);
}

static void *worker(void *arg)
{
    struct cache *c = arg;
    if (c->sh)
        fleet_turn(c);
    bool leading = c->token != 0; /* only this thread sets it */
    /* parallel + PUMP_SPARE - 1 helpers besides this thread (one more when leading:
     * this thread keeps the lease); a walk that needs fewer (a lookup) leaves them
     * idle, and they return with it. Joined here, so none outlives the worker
     * and cache_free's join covers them. */
    pthread_t helpers[WALK_MAX_PARALLEL];
    int started = 0;
    pthread_mutex_lock(&c->lock);
    unsigned pumps = c->g->parallel + PUMP_SPARE;
    for (unsigned i = leading ? 0 : 1; i < pumps && i < WALK_MAX_PARALLEL; i++)
        started += pthread_create(&helpers[started], NULL, helper, c) == 0;
    c->pumps = started;
    pthread_mutex_unlock(&c->lock);
    if (leading)
        lead(c);
    else
        pump(c);
    for (int i = 0; i < started; i++)
        pthread_join(helpers[i], NULL);
    if (leading)
        publish(c);
    /* Last: the next worker joins this one under the lock, so from here on this
     * thread must need nothing but to return. */
    pthread_mutex_lock(&c->lock);
    c->worker = false;
    c->paused = c->paused || c->walk;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* One access in progress: what it wants, and what it has seen so far. */
struct access {
    struct waiter me;
    struct cache_call *call; /* or NULL */
    struct timespec start;
    uint64_t fails0; /* c->fails when it began: a change means its walk failed */
};

/* The listing before the last complete one that holds the file number w
 * wants, when the last shows that file under another number: its bytes,
 * which never change under the number, answer at once (with ttl 0) a reader
 * that had that number before the change (DESIGN §2). NULL otherwise. */
static struct listing *earlier(const struct cache *c, const struct waiter *w)
{
    if (w->want != WANT_INO || !(w->ino & 1))
        return NULL;
    const struct listing *last = c->cur ? c->cur : c->prev;
    const struct entry *e = last ? listing_by_ino(last, inode_dir(w->ino)) : NULL;
    if (!e || entry_file_ino(e) == w->ino)
        return NULL;
    struct listing *v[] = {c->prev, c->old};
    for (size_t i = 0; i < 2; i++)
        if (v[i] && v[i] != last && listing_by_ino(v[i], w->ino))
            return v[i];
    return NULL;
}

/* A directory read that goes on (offset past 0) is one access, not one per
 * request: with a ttl shorter than a budget (0: refresh on every access) each
 * of its requests started a refresh or gave up the walk it read, and a slow
 * read of 40 pages cost 746 requests. It reads on for a budget instead. */
static bool reads_on(const struct waiter *w)
{
    return w->want == WANT_MORE && w->ino;
}

/* Can a listing answer this access now? The current one while fresh (or
 * completed since the access began), or the walk in progress once the name
 * the access wants is final in it. NULL when it must wait. */
static struct listing *answerable(const struct cache *c, const struct access *a,
                                  const struct timespec *now)
{
    struct listing *was = earlier(c, &a->me);
    if (was)
        return was;
    if (c->cur && (before(now, &c->fresh_until) || !before(&c->cur_done, &a->start)))
        return c->cur;
    if (c->cur && reads_on(&a->me) && clock_ms(&c->cur_done, now) <= (long long)c->p->timeout_ms)
        return c->cur;
    /* While a walk runs, an inode the last complete generation holds is
     * answered from it, at once (with ttl 0): the kernel may hold its size and
     * pages, and the walk's bytes must not reach it before complete() has made
     * the kernel forget those. A file number it no longer shows gets ESTALE
     * from it too (acquire), rather than wait for the walk. */
    const struct listing *last = c->cur ? c->cur : c->prev;
    if (a->me.want == WANT_INO && c->walk && last && listing_by_ino(last, inode_dir(a->me.ino)))
        return (struct listing *)last;
    /* A name already seen in an ordered walk is final: answer before it ends;
     * a directory read gets the entries already final. */
    if (c->walk && a->me.want != WANT_ALL && !walk_done(c->walk) && served(c, &a->me))
        return walk_listing(c->walk);
    /* A refresh that will not end within a budget (a paced walk of a big
     * account takes minutes): once it has had one, or at once when the last
     * walk took longer, the last listing answers, with ttl 0, rather than
     * hold accesses for a wait that cannot bring the new one. */
    long long budget = (long long)c->p->timeout_ms;
    if (c->walk && c->cur && stale_ok(c, now) &&
        (c->took_ms > budget || clock_ms(&c->walk_start, now) >= budget))
        return c->cur;
    return NULL;
}

/* The walk failed or ran out of time: 0 with the last listing in *out while it
 * is young enough to be served stale, else err. */
static int fallback(const struct cache *c, const struct timespec *now, int err,
                    struct listing **out)
{
    *out = stale_ok(c, now) ? c->cur : NULL;
    return *out ? 0 : err;
}

/* A paused partial walk older than ttl is too old to finish or to answer
 * from: the next access starts over. What it handed out stays in the
 * kernel's read of the section directory, which the kernel would complete
 * with the new walk's entries: it must go before anyone reads on. A walk
 * that waits because it is ahead of a directory read that goes on is not
 * paused: it was started over under every read longer than the ttl. A
 * read that goes on (reads_on) keeps it for a budget when the ttl is shorter. */
static void give_up_paused(struct cache *c, const struct timespec *now, const struct waiter *w)
{
    long long ttl = (long long)c->g->ttl * 1000, budget = (long long)c->p->timeout_ms;
    long long reader = reads_on(w) && budget > ttl ? budget : ttl;
    if (!c->walk || c->worker || clock_ms(&c->walk_start, now) <= ttl ||
        (c->read_upto && clock_ms(&c->read_at, now) <= reader))
        return;
    if (drop_walk(c, &c->told))
        note(&c->told, c->parent, NULL);
}

/* Release the lock, then tell the kernel what give_up_paused asked it to forget. */
static void unlock(struct cache *c)
{
    if (c->told.len == 0) { /* every access comes here: nothing to hand over */
        pthread_mutex_unlock(&c->lock);
        return;
    }
    struct buf ch = c->told;
    buf_init(&c->told, SIZE_MAX);
    pthread_mutex_unlock(&c->lock);
    tell(c, &ch);
}

/* Make sure a walk exists, without starting a worker. */
static int ensure_walk(struct cache *c, const struct timespec *now)
{
    if (!c->walk) {
        if (!(c->walk = walk_new(c->p, c->g->max_collections)))
            return -ENOMEM;
        /* unchanged collections keep the records of the generation before */
        listing_set_base(walk_listing(c->walk), c->cur ? c->cur : c->prev);
        c->walk_start = c->progress = *now;
        c->paused = false;
        c->read_upto = 0;
        c->walks++;
    }
    return 0;
}

/* Start or resume a walk: a walk exists and a worker drives it afterwards. */
static int drive(struct cache *c, const struct timespec *now)
{
    int rc = ensure_walk(c, now);
    if (rc < 0)
        return rc;
    if (!c->worker) {
        if (c->joinable) /* it has cleared c->worker: nothing left but to return */
            pthread_join(c->thread, NULL);
        c->joinable = false;
        if (pthread_create(&c->thread, NULL, worker, c) != 0)
            return -EAGAIN;
        c->joinable = true;
        c->worker = true;
        c->progress = *now;
    }
    return 0;
}

/* Wait while pages keep coming: true when woken (look again), false once one
 * budget has passed since the last page. */
static bool wait_walk(struct cache *c, const struct timespec *start, const struct timespec *now)
{
    long long budget = (long long)c->p->timeout_ms;
    struct timespec deadline = clock_after(&c->progress, budget + 1000);
    if (!before(now, &deadline))
        return false;
    /* The caller's budget and the refresh's end a wait too (await, answerable):
     * with slow pages, the next one may come a budget later. */
    struct timespec ends[] = {clock_after(start, budget), clock_after(&c->walk_start, budget)};
    for (size_t i = 0; i < 2; i++)
        if (before(now, &ends[i]) && before(&ends[i], &deadline))
            deadline = ends[i];
    pthread_cond_timedwait(&c->cond, &c->lock, &deadline);
    return true;
}

/* Is the access over? true with a listing to answer from in *out or an error in
 * *rc; false when it must wait for the walk. */
static bool decide(struct cache *c, struct access *a, const struct timespec *now,
                   struct listing **out, int *rc)
{
    /* retired by a reload: its data may be another account's, the new cache answers */
    if (c->stopping && c->stop_err == -ECANCELED) {
        *out = NULL;
        *rc = -ECANCELED;
        return true;
    }
    if ((*out = answerable(c, a, now))) {
        /* a stale answer by inode: the walk must finish to bring it up to date */
        if (c->walk && *out != walk_listing(c->walk) && !before(now, &c->fresh_until)) {
            c->refresh = true;
            drive(c, now); /* paused, it would wait for the next directory read */
        }
        return true;
    }
    if (c->stopping) {
        *rc = c->stop_err ? c->stop_err : -EIO;
        return true;
    }
    if (c->fails != a->fails0) { /* the walk it waited for failed */
        *rc = fallback(c, now, c->last_err ? c->last_err : -EIO, out);
        return true;
    }
    if (a->call && a->call->interrupted) { /* the walk goes on: others may wait for it */
        *rc = -EINTR;
        return true;
    }
    /* A failure is remembered for a moment: the kernel retries a failed
     * READDIRPLUS as READDIR at once, and a burst of readers of a failing
     * provider should cost one walk, not one each. */
    if (!c->walk && c->fails && clock_ms(&c->failed_at, now) < CACHE_FAILURE_MEMORY_MS) {
        *rc = fallback(c, now, c->last_err ? c->last_err : -EIO, out);
        return true;
    }
    return false;
}

/* The core of every access: wait until a listing can answer; *out is then
 * valid until the lock is released. Called and returns with the lock held. */
static int await(struct cache *c, const struct waiter *want, struct cache_call *call,
                 struct listing **out)
{
    int rc = 0;
    struct access a = {*want, call, clock_now(), 0};
    *out = NULL;
    a.fails0 = c->fails;
    a.me.next = c->waiters; /* the worker serves what the waiters need */
    c->waiters = &a.me;
    for (bool first = true;; first = false) {
        struct timespec now = clock_now();
        /* before anything is answered from it */
        give_up_paused(c, &now, &a.me);
        if (decide(c, &a, &now, out, &rc)) {
            c->hits += first && *out;
            break;
        }
        bool starts = !c->walk;
        if ((rc = drive(c, &now)) < 0)
            break;
        if (starts) /* with a walk running, an inode the last generation holds answers at once */
            continue;
        /* A walk that moves but has not reached what this caller wants within
         * its budget (a paced walk of a million collections takes minutes):
         * "try again", as for a rate-limit pause past the budget, rather than
         * hold a lookup for minutes or claim the name does not exist. A
         * directory read is not held: it gets entries as they arrive. */
        if (a.me.want != WANT_MORE && before(&a.start, &c->progress) &&
            clock_ms(&a.start, &now) >= (long long)c->p->timeout_ms) {
            rc = fallback(c, &now, -EAGAIN, out);
            break;
        }
        if (!wait_walk(c, &a.start, &now)) {
            if ((rc = fallback(c, &now, -ETIMEDOUT, out)) < 0)
                log_err("[%s] no listing within timeout=%u s; try again later", c->p->section,
                        c->g->timeout);
            break;
        }
    }
    struct waiter **pp = &c->waiters;
    while (*pp != &a.me)
        pp = &(*pp)->next;
    *pp = a.me.next;
    return rc;
}

/* await, then hand out a reference. Called and returns with the lock not held. */
static int acquire(struct cache *c, const struct waiter *want, struct cache_call *call,
                   struct listing **out, const struct entry **entry)
{
    pthread_mutex_lock(&c->lock);
    int rc = await(c, want, call, out);
    if (*out) {
        if (want->want != WANT_ALL && !(*entry = find(*out, want))) {
            /* a file number no listing held has any more: the kernel
             * looks its name up again (a path walk retries on ESTALE) */
            bool gone = want->want == WANT_INO && (want->ino & 1) &&
                        listing_by_ino(*out, inode_dir(want->ino));
            *out = NULL;
            rc = gone ? -ESTALE : -ENOENT;
        } else {
            listing_ref(*out);
        }
    }
    unlock(c);
    return rc;
}

int cache_by_name(struct cache *c, const char *name, struct cache_call *call, struct listing **l,
                  const struct entry **e)
{
    struct waiter w = {.want = WANT_NAME, .name = name};
    return acquire(c, &w, call, l, e);
}

int cache_by_ino(struct cache *c, uint64_t ino, struct cache_call *call, struct listing **l,
                 const struct entry **e)
{
    struct waiter w = {.want = WANT_INO, .ino = ino};
    return acquire(c, &w, call, l, e);
}

/* With the lock held: see cache_ttl. */
static double ttl_of(const struct cache *c, const struct listing *l)
{
    struct timespec now = clock_now();
    if (!l)
        l = c->cur;
    /* While complete() makes the kernel forget the changed inodes, the old
     * generation still answers: what it says must not outlive the change. A
     * fresh cur is replaced that way when the fleet brings a newer listing. */
    if (!l || c->failing || c->publishing)
        return 0;
    if (l == c->cur) {
        long long ms = clock_ms(&now, &c->fresh_until);
        return ms > 0 ? ms / 1000.0 : 0;
    }
    /* a walk's listing is fresh for ttl after it ends, so for ttl from now */
    return c->walk && l == walk_listing(c->walk) ? c->g->ttl : 0;
}

/* Where a read after `after` goes on in l: the next index, or SIZE_MAX when
 * there is nothing after it. An entry refreshes deleted: where its ghosts
 * lead (ghosts.h). */
static size_t resume(const struct cache *c, const struct listing *l, uint64_t after)
{
    if (!after)
        return 0;
    const struct entry *e = listing_by_ino(l, after);
    if (e)
        return listing_index(l, e) + 1;
    for (int hop = 0; hop < GHOST_HOPS && (after = ghosts_next(&c->ghosts, after)); hop++)
        if ((e = listing_by_ino(l, after)))
            return listing_index(l, e);
    return SIZE_MAX;
}

int cache_readdir(struct cache *c, uint64_t after, struct cache_call *call,
                  int (*fill)(void *ctx, const struct entry *e, double ttl), void *ctx)
{
    pthread_mutex_lock(&c->lock);
    int rc = 0;
    for (;;) {
        struct waiter w = {.want = WANT_MORE, .ino = after};
        struct listing *l;
        if ((rc = await(c, &w, call, &l)) < 0)
            break;
        bool partial = c->walk && l == walk_listing(c->walk) && !walk_done(c->walk);
        size_t i = resume(c, l, after), n = listing_count(l), filled = 0;
        double ttl = ttl_of(c, l);
        for (; i < n; i++) {
            const struct entry *e = listing_at(l, i);
            if (!entry_name(e))
                continue;
            int f = fill(ctx, e, ttl);
            if (f < 0)
                break;
            filled += f > 0;
        }
        if (partial && filled && i > c->read_upto) {
            c->read_upto = i;
            struct timespec now = c->read_at = clock_now();
            if (!c->worker && reading_ahead(c))
                drive(c, &now); /* a failure to start shows at the next read, which waits */
        }
        /* an empty reply ends the read: only a complete listing may give one */
        if (filled || !partial || i >= SIZE_MAX)
            break;
        after = entry_ino(listing_at(l, n - 1));
    }
    unlock(c);
    return rc;
}

int cache_dir_attr(struct cache *c, bool wait, struct cache_call *call, struct timespec *changed,
                   double *ttl)
{
    pthread_mutex_lock(&c->lock);
    struct timespec now = clock_now();
    int rc = 0;
    /* the kernel asks this first when its attributes expired: a reader's
     * partial read of the directory goes before the reader opens it again */
    give_up_paused(c, &now, &(struct waiter){.want = WANT_ALL});
    /* Past the ttl the kernel asks this before it trusts the entries it
     * cached: the answer waits for the refresh, and its mtime tells the kernel
     * whether the names changed. With nothing listed yet there is nothing to
     * wait for: a directory read may begin before the walk ends. */
    if (wait && c->cur && !before(&now, &c->fresh_until)) {
        struct waiter w = {.want = WANT_ALL};
        struct listing *l;
        rc = await(c, &w, call, &l);
        now = clock_now();
    }
    /* While a walk runs with nothing listed the attributes cannot change
     * before its end, and complete() makes the kernel forget them when the
     * names (so the mtime) changed. With a timeout of 0 there, every path
     * through the directory while it streams would cost a GETATTR: with
     * default_permissions the kernel checks each one against fresh attributes
     * (rsync -a's lstat of every entry as it reads it). */
    long long ms = c->failing ? 0
                   : c->cur   ? clock_ms(&now, &c->fresh_until)
                   : c->walk  ? (long long)c->g->ttl * 1000
                              : 0;
    *ttl = ms > 0 ? ms / 1000.0 : 0;
    *changed = c->changed;
    /* Stale data must reach every reader through us (until stale_ttl ends
     * it): an mtime that moves makes the kernel read the directory anew. */
    if (c->failing)
        clock_gettime(CLOCK_REALTIME, changed);
    unlock(c);
    return rc == -EINTR ? rc : 0; /* the directory is there whatever the provider says */
}

void cache_interrupt(struct cache *c, struct cache_call *call)
{
    pthread_mutex_lock(&c->lock);
    call->interrupted = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

double cache_ttl(struct cache *c, const struct listing *l)
{
    pthread_mutex_lock(&c->lock);
    double t = ttl_of(c, l);
    pthread_mutex_unlock(&c->lock);
    return t;
}

bool cache_current(struct cache *c, const struct listing *l)
{
    pthread_mutex_lock(&c->lock);
    bool r = l && l == c->cur && !c->publishing && !c->stopping && !c->superseded;
    pthread_mutex_unlock(&c->lock);
    return r;
}

/* Start the refresh a SIGHUP starts, with the listing to compare it with already in prev. */
static void refresh_now(struct cache *c)
{
    struct timespec now = clock_now();
    if (!c->stopping && c->prev) {
        c->refresh = true;
        if (drive(c, &now) < 0)
            c->refresh = false;
    }
    pthread_cond_broadcast(&c->cond);
}

void cache_adopt(struct cache *c, struct cache *from)
{
    struct buf ch;
    buf_init(&ch, SIZE_MAX);
    pthread_mutex_lock(&from->lock);
    /* what a first walk handed out is in the kernel: it goes over as the
     * generation before, so that c's walk tells the kernel what changed */
    if (!from->cur && from->walk) {
        from->gen++;
        drop_walk(from, &ch);
    }
    struct listing *last = from->cur ? from->cur : from->prev, *old = from->old;
    struct timespec changed = from->changed;
    bool no_room = from->no_room; /* the same account's streak goes on */
    struct ghosts ghosts;         /* a copy: from answers the reads under way until it goes */
    ghosts_init(&ghosts);
    ghosts_copy(&ghosts, &from->ghosts); /* ENOMEM: a read paused on a deleted one ends */
    if (last)
        listing_ref(last);
    if (old)
        listing_ref(old);
    from->superseded = true; /* before c's refresh can make the kernel forget anything */
    pthread_mutex_unlock(&from->lock);
    pthread_mutex_lock(&c->lock);
    listing_unref(c->prev);
    listing_unref(c->old);
    c->prev = last;
    c->old = old;
    ghosts_free(&c->ghosts);
    c->ghosts = ghosts;
    c->changed = changed;
    c->no_room = no_room;
    c->forced = true;
    refresh_now(c);
    pthread_mutex_unlock(&c->lock);
    note(&ch, c->parent, NULL);
    tell(c, &ch);
}

void cache_drop(struct cache *c)
{
    struct buf ch;
    buf_init(&ch, SIZE_MAX);
    pthread_mutex_lock(&c->lock);
    c->gen++;
    drop_walk(c, &ch); /* with nothing listed, what a first walk handed out becomes prev */
    if (c->cur) {
        listing_unref(c->prev);
        c->prev = c->cur;
        c->cur = NULL;
    }
    c->forced = true; /* the point of a SIGHUP is the provider's word, not the fleet's copy */
    /* The kernel keeps entries, pages and "no such file" answers without
     * asking while their timeouts last: only a refresh that tells it what
     * changed reaches them, so it starts now rather than on an access. */
    refresh_now(c);
    pthread_mutex_unlock(&c->lock);
    note(&ch, c->parent, NULL);
    tell(c, &ch);
}

void cache_status(struct cache *c, struct cache_status *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->lock);
    struct timespec now = clock_now();
    if (c->cur) {
        out->fetched_at = c->fetched_wall;
        out->count = listing_count(c->cur);
        out->complete = !c->doubtful;
        if (c->failing) {
            struct timespec end = clock_after(&c->cur_done, (long long)c->g->ttl * 1000);
            long long ms = clock_ms(&end, &now);
            out->stale = ms > 0 ? ms / 1000 : 0;
        }
    }
    memcpy(out->last_error, c->last_why, sizeof(out->last_error));
    out->from_fleet = c->cur && c->from_fleet;
    memcpy(out->fetched_by, c->fetched_by, sizeof(out->fetched_by));
    out->refreshed_at = c->refreshed_wall;
    out->refresh_ms = c->refresh_ms;
    out->cache_hits = c->hits;
    pthread_mutex_unlock(&c->lock);
    const struct provider_pace *pc = c->p->pace;
    out->requests = __atomic_load_n(&pc->requests, __ATOMIC_RELAXED);
    out->retries = __atomic_load_n(&pc->retries, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&pc->errors, __ATOMIC_RELAXED);
    out->paused_until = fetch_paused_until(c->p);
}

int cache_peek(struct cache *c, uint64_t ino, struct listing **l, const struct entry **e)
{
    pthread_mutex_lock(&c->lock);
    /* newest first: the current listing, the walk filling the next one, the ones before */
    struct listing *v[] = {c->cur, c->walk ? walk_listing(c->walk) : NULL, c->prev, c->old};
    *l = NULL;
    *e = NULL;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]) && !*e; i++)
        if (v[i] && (*e = listing_by_ino(v[i], ino)))
            listing_ref(*l = v[i]);
    pthread_mutex_unlock(&c->lock);
    return *e ? 0 : -ENOENT;
}

static int rate_take(void *ctx, long long *wait_ms)
{
    struct cache *c = ctx;
    return shared_rate_take(c->sh, c->p->rate_group, wait_ms);
}

static void rate_tell(void *ctx, long left, long limit, double until, double age)
{
    struct cache *c = ctx;
    shared_rate_tell(c->sh, c->p->rate_group, left, limit, until, age);
}

void cache_share(struct cache *c, struct shared *sh)
{
    c->sh = sh;
    /* the provider's requests take their turns from the fleet's rate window too */
    c->p->pace->fleet_take = rate_take;
    c->p->pace->fleet_tell = rate_tell;
    c->p->pace->fleet_ctx = c;
}

void cache_heard(struct cache *c, uint64_t gen)
{
    pthread_mutex_lock(&c->lock);
    c->heard++;
    pthread_cond_broadcast(&c->cond);
    /* Newer than what we hold, or maybe (messages lost): take it now, if we hold anything;
     * a daemon that holds nothing reads the fleet on its next access anyway. */
    struct timespec now = clock_now();
    if (gen != c->held && !c->token && c->cur && !c->worker && !c->walk && !c->stopping &&
        before(&now, &c->fresh_until)) {
        c->adopting = true;
        if (drive(c, &now) < 0)
            c->adopting = false;
    }
    pthread_mutex_unlock(&c->lock);
}
