/* Retries and error reasons for one provider request; see fetch.h. */
#include "fetch.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "provider.h"

#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 8000

/* A random delay between half the cap and the cap ("equal jitter") keeps many
 * mounts that failed together from retrying together. */
static long long backoff_ms(int attempt)
{
    long long cap = BACKOFF_FIRST_MS << (attempt < 6 ? attempt : 6);
    if (cap > BACKOFF_MAX_MS)
        cap = BACKOFF_MAX_MS;
    unsigned seed = (unsigned)clock_now().tv_nsec ^ (unsigned)attempt;
    return cap / 2 + rand_r(&seed) % (cap / 2 + 1);
}

static void status_reason(const struct provider *p, const struct http_req *req,
                          const struct http_resp *r, const struct json *body, int attempts,
                          char *why, size_t whylen)
{
    char *text = provider_error_text(p->ops, body, r->body, r->len);
    long status = r->status;
    const char *hint, *to = "", *tail = "";
    if (status == 401 || status == 403) {
        hint = "the credentials were refused; check the secret in this section";
    } else if (status == 404) {
        hint = "not found; check url and ids in this section";
    } else if (status == 429) {
        hint = "rate limited; try again later or lower `parallel`";
    } else if (status >= 500) {
        hint = "server error";
    } else if (status >= 300 && status < 400) {
        /* not followed: the credentials would go along, perhaps to another host */
        hint = "the server redirected, which is not followed (credentials never follow a "
               "redirect); ";
        to = r->location[0] ? r->location : "";
        tail = r->location[0] ? " is where it points: if the API moved there, set url in this "
                                "section to its new base URL"
                              : "it did not say where to: check url in this section";
    } else {
        hint = "the server refused the request";
    }
    snprintf(why, whylen, "[%s] %s %s: HTTP %ld%s%s%s after %d attempt%s: %s%s%s", p->section,
             req->method, http_url_path(req->url), status, text ? " (" : "", text ? text : "",
             text ? ")" : "", attempts, attempts == 1 ? "" : "s", hint, to, tail);
    free(text);
}

static void transport_reason(const struct provider *p, const struct http_req *req,
                             const struct http_resp *r, int err, int attempts, char *why,
                             size_t whylen)
{
    const char *what;
    switch (err) {
    case -ETIMEDOUT:
        what = "no answer within the request budget (timeout)";
        break;
    case -ECONNREFUSED:
        what = "connection refused; is the server up and the url right?";
        break;
    case -EHOSTUNREACH:
        what = "host name did not resolve; check url";
        break;
    case -ECONNRESET:
        what = "connection reset or closed before the response ended";
        break;
    case -EFBIG:
        what = "response larger than max_response";
        break;
    case -ECANCELED:
        what = "cancelled: the file system is being unmounted";
        break;
    case -EPROTO: {
        char *origin = http_url_public(NULL, req->url, false);
        snprintf(why, whylen,
                 "[%s] %s %s: TLS with %s failed (%s); not retried: check that url's scheme, host "
                 "and port are right (https:// only on a port that speaks TLS, a host name the "
                 "server's certificate names), and for a certificate that a private CA signed, set "
                 "ca_file in this section to that CA (%d attempt%s)",
                 p->section, req->method, http_url_path(req->url), origin ? origin : "the server",
                 r->error, attempts, attempts == 1 ? "" : "s");
        free(origin);
        return;
    }
    default:
        what = strerror(-err);
    }
    snprintf(why, whylen, "[%s] %s %s: %s (%d attempt%s)", p->section, req->method,
             http_url_path(req->url), what, attempts, attempts == 1 ? "" : "s");
}

/* Pacing. A rate limit is the provider's, not one request's: every request to
 * it takes its turn from p->pace. The server says "left requests remain until
 * the window ends". Spending them as fast as pages come and then standing still
 * against the wall would make every request, a user's lookup too, wait out the
 * window; so the first half of a window's budget goes as fast as pages come (a
 * listing that needs no more is never slowed) and the second half is spread
 * evenly over the time left. The budget is what the server says is left, less a
 * headroom kept for the user's other clients of the same key: a tenth of the
 * limit, at least one request. The limit is the one the server names (Fount's
 * X-RateLimit-Limit), or the largest left + 1 seen: the first answer's left
 * lacks what the user's other clients spent, and a tenth of that alone was
 * too little headroom for them.
 *
 * Requests are numbered as they go. An answer counts the requests that reached
 * the server before it, so what may still be sent is its `left` less the
 * headroom less the requests that may not have: those sent after it, and those
 * that were on their way when it was sent (one of them can reach the server
 * after it, even be answered first). That holds whatever order requests arrive
 * and answers come back in. Within a window each answer can only lower it,
 * unless the window has turned (below). A window is taken to run until the end
 * the server names (X-RateLimit-Reset, never earlier than the server's) or else
 * a minute after its first answer (never earlier than a fixed window's); the
 * first answer to a request sent after it opens the next one, and answers to
 * requests sent before a window opened say nothing of it. A server whose window
 * turns earlier than that says so in its counts: an answer with more left than
 * the requests still on their way could explain opens the next window then
 * (Fount names the end only in a 429, and its minute need not start with our
 * first request). */
#define PACE_HEADROOM_DIV 10
#define PACE_STREAK_MS 60000 /* a wait this long after the last one starts a new log streak */

/* One request's place in its provider's pacing, counted in p->pace->flying until answered. */
struct turn {
    struct timespec at; /* when it was sent, after every wait (set by fetch()) */
    uint64_t n;         /* its number */
    long ahead;         /* requests on their way when it took its turn */
};

/* The request is answered, or will never be sent. */
static void landed(struct provider_pace *pc)
{
    pthread_mutex_lock(&pc->lock);
    pc->flying--;
    pthread_mutex_unlock(&pc->lock);
}

static long headroom(long limit)
{
    long h = limit / PACE_HEADROOM_DIV;
    return h > 1 ? h : 1;
}

static struct timespec later(struct timespec a, struct timespec b)
{
    return clock_ms(&a, &b) > 0 ? b : a;
}

/* The end of the pause the server asked for (in the past when there is none). */
static struct timespec pause_get(const struct provider *p)
{
    pthread_mutex_lock(&p->pace->lock);
    struct timespec t = p->pace->until;
    pthread_mutex_unlock(&p->pace->lock);
    return t;
}

void fetch_when(time_t t, time_t now, char *out, size_t outlen)
{
    struct tm tt, tn;
    gmtime_r(&t, &tt);
    gmtime_r(&now, &tn);
    bool today = tt.tm_year == tn.tm_year && tt.tm_yday == tn.tm_yday;
    if (outlen && !strftime(out, outlen, today ? "%H:%M:%S UTC" : "%Y-%m-%d %H:%M:%S UTC", &tt))
        out[0] = '\0';
}

/* Say once per streak that requests are being paced, and why they are slower than pages. */
static void pace_log(const struct provider *p, long budget, long keep, long long window_ms,
                     long long interval_ms)
{
    log_info("[%s] pacing requests to the rate limit: %ld left for the next %lld s, %ld kept for "
             "other clients of the key; one request every %lld ms",
             p->section, budget, (window_ms + 999) / 1000, keep, interval_ms);
}

/* Wait for the turn the fleet's rate window gives (when shared), within the budget. */
static int fleet_turn(const struct provider *p, const struct http_req *req,
                      const struct timespec *deadline, int attempt, char *why, size_t whylen)
{
    const struct provider_pace *pc = p->pace;
    long long wait = 0;
    while (pc->fleet_take && pc->fleet_take(pc->fleet_ctx, &wait) == 0 && wait > 0) {
        struct timespec now = clock_now(), t = clock_after(&now, wait);
        if (clock_ms(&t, deadline) <= 0) {
            if (attempt == 1)
                snprintf(why, whylen, "[%s] %s %s: rate limited", p->section, req->method,
                         http_url_path(req->url));
            size_t off = strnlen(why, whylen);
            snprintf(why + off, whylen - off,
                     "; the rate limit shared with the other daemons of this account leaves no "
                     "request for this one for %lld s, beyond the request budget: try again then",
                     (wait + 999) / 1000);
            return -EAGAIN;
        }
        if (!http_sleep_until(&t, &p->http))
            return -ECANCELED;
    }
    return 0;
}

/* A window has opened since the one a sleeping request took its turn in. */
struct turn_wait {
    const struct provider_pace *pc;
    uint64_t windows;
};

static bool window_opened(const void *arg)
{
    const struct turn_wait *w = arg;
    return __atomic_load_n(&w->pc->windows, __ATOMIC_ACQUIRE) != w->windows;
}

/* Wait for this request's turn: the end of a pause the server asked for, and the
 * next paced send time, if both come within the budget; past it, fail at once
 * rather than retry into an announced block. `why` holds the last attempt's
 * reason when there was one; the wait is added to it. */
static int pace(const struct provider *p, const struct http_req *req,
                const struct timespec *deadline, int attempt, struct turn *turn, char *why,
                size_t whylen)
{
    struct provider_pace *pc = p->pace;
again:
    pthread_mutex_lock(&pc->lock);
    struct timespec now = clock_now(), t = later(now, pc->until);
    bool paused = clock_ms(&now, &pc->until) > 0, paced = false, log_it = false;
    long budget = 0, keep = 0;
    long long window_ms = 0, interval_ms = 0;
    struct timespec next = pc->next;
    if (pc->known && clock_ms(&t, &pc->end) > 0) {
        paced = true;
        if (pc->budget > 0) {
            t = later(t, pc->next);
            window_ms = clock_ms(&t, &pc->end);
            /* the first half of a window's budget goes as fast as pages come */
            interval_ms = 2 * pc->budget > pc->budget0 ? 0 : window_ms / pc->budget;
            next = clock_after(&t, interval_ms);
        } else {
            t = pc->end; /* this window's share is spent: the next one starts afresh */
        }
        budget = pc->budget;
        keep = headroom(pc->limit);
    }
    long long ms = clock_ms(&now, &t);
    if (ms > 0 && clock_ms(&t, deadline) <= 0) {
        pthread_mutex_unlock(&pc->lock);
        char when[32];
        time_t wall = time(NULL);
        fetch_when(wall + (time_t)((ms + 999) / 1000), wall, when, sizeof(when));
        if (attempt == 1)
            snprintf(why, whylen, "[%s] %s %s: rate limited", p->section, req->method,
                     http_url_path(req->url));
        size_t off = strnlen(why, whylen);
        snprintf(why + off, whylen - off,
                 "; %s until %s (%lld s), beyond the request budget: try again then",
                 paused && !paced ? "the provider asked for a pause"
                                  : "the provider's rate limit leaves no request for this one",
                 when, (ms + 999) / 1000);
        return -EAGAIN;
    }
    if (paced) {
        if (pc->budget > 0) {
            pc->budget--;
            pc->next = next;
        }
        if (ms > 0) {
            log_it = !pc->streak || clock_ms(&pc->waited, &now) > PACE_STREAK_MS;
            pc->streak = true;
            pc->waited = now;
        }
    }
    *turn = (struct turn){.n = pc->sent++, .ahead = pc->flying++};
    struct turn_wait w = {pc, pc->windows};
    pthread_mutex_unlock(&pc->lock);
    if (log_it)
        pace_log(p, budget, keep, window_ms, interval_ms);
    int err = 0;
    if (ms > 0 && !http_sleep_until_or(&t, &p->http, window_opened, &w)) {
        err = -ECANCELED;
    } else if (ms > 0 && window_opened(&w)) {
        /* a turn taken in a window that has ended: take one in the new window,
         * which may come much sooner (its number stays used: counted as sent) */
        landed(pc);
        goto again;
    } else {
        err = fleet_turn(p, req, deadline, attempt, why, whylen);
    }
    if (err)
        landed(pc);
    return err;
}

/* Act on what the answer to the request at `turn` said about the rate limit. No
 * requests left means a pause for all. */
static void heed(const struct provider *p, const struct turn *turn, const struct rate *r)
{
    if (r->left < 0)
        return;
    struct provider_pace *pc = p->pace;
    /* Each rate() bounds its hints; bounding here too keeps the conversions to
     * milliseconds (here and in the fleet) and the sums below defined whatever
     * one returns. */
    double until = r->until >= 0 ? fmin(r->until, HTTP_HINT_MAX) : 0;
    long left = r->left < RATE_LEFT_MAX ? r->left : RATE_LEFT_MAX;
    long named = r->limit > 0 ? (r->limit < RATE_LEFT_MAX ? r->limit : RATE_LEFT_MAX) : 0;
    /* rounded up: an end taken a fraction of a millisecond early releases the
     * requests that wait for it into the server's old window */
    struct timespec now = clock_now(), end = clock_after(&now, (long long)ceil(until * 1000));
    if (pc->fleet_tell) {
        long long age = clock_ms(&turn->at, &now);
        pc->fleet_tell(pc->fleet_ctx, left, named, until, age > 0 ? age / 1000.0 : 0);
    }
    /* The window it counts in has ended (an answer to a request that reached the
     * server just before the turn): it says nothing of the next one, and taken
     * for the current window it would end that window now. */
    if (until <= 0)
        return;
    pthread_mutex_lock(&pc->lock);
    if (left == 0 && clock_ms(&pc->until, &end) > 0)
        pc->until = end;
    if (left + 1 > pc->limit)
        pc->limit = left + 1;
    if (named > pc->limit)
        pc->limit = named;
    /* Maybe not counted in `left` yet: every request sent since, and those that
     * were on their way when this one was sent (one sent just before can reach
     * the server after it, in its new window, and be answered before it). */
    long after = (long)(pc->sent - turn->n - 1) + turn->ahead;
    long share = left - headroom(pc->limit) - after;
    bool over = pc->known && clock_ms(&pc->end, &now) >= 0;
    /* the first window takes every answer; a later one those sent since the last ended */
    bool ended = !pc->known || (over && clock_ms(&pc->end, &turn->at) >= 0);
    bool within = !ended && !over && clock_ms(&pc->opened, &turn->at) >= 0;
    /* More left than answers out of order can explain: the server's window
     * turned before the end taken here (one that does not name it, its window
     * not aligned with ours), and this answer opens the next, or a whole window
     * would pass with nothing sent. */
    bool turned = within && share > pc->budget + headroom(pc->limit) + pc->flying;
    bool opened = ended || turned;
    if (opened) {
        pc->opened = turned ? turn->at : pc->known ? pc->end : (struct timespec){0, 0};
        pc->known = true;
        pc->end = end;
        pc->next = now;
        pc->budget = pc->budget0 = share;
    } else if (within) {
        /* a server that names the window's end keeps it; one that does not is
         * taken to open a whole window at each answer, which is too late */
        if (clock_ms(&end, &pc->end) > 0)
            pc->end = end;
        if (share < pc->budget)
            pc->budget = share;
    }
    if (opened)
        __atomic_add_fetch(&pc->windows, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&pc->lock);
    if (opened)
        http_wake(); /* requests asleep on the old window's spread take new turns */
}

/* The body of a response as JSON, quietly NULL when it is not. */
static struct json *body_json(const struct http_resp *r)
{
    char perr[64];
    return r->body && r->len ? json_parse(r->body, r->len, perr, sizeof(perr)) : NULL;
}

static void count(uint64_t *n)
{
    __atomic_fetch_add(n, 1, __ATOMIC_RELAXED);
}

static int fetch(const struct provider *p, const struct http_req *req, struct json **doc, char *why,
                 size_t whylen, void (*off_wire)(void *), void *arg)
{
    struct timespec start = clock_now();
    struct timespec deadline = clock_after(&start, p->timeout_ms);
    *doc = NULL;
    for (int attempt = 1;; attempt++) {
        struct http_resp r;
        struct turn turn;
        int err = pace(p, req, &deadline, attempt, &turn, why, whylen);
        if (err)
            return err;
        count(&p->pace->requests);
        if (attempt > 1)
            count(&p->pace->retries);
        turn.at = clock_now(); /* after the fleet's wait too: when it really goes */
        err = http_perform(req, &p->http, &deadline, &r);
        landed(p->pace);
        if (err) {
            transport_reason(p, req, &r, err, attempt, why, whylen);
            if (err == -EFBIG || err == -ECANCELED || err == -ENOMEM || err == -EPROTO)
                return err == -EFBIG ? -EIO : err;
        } else {
            bool ok = r.status >= 200 && r.status < 300;
            if (ok && off_wire)
                off_wire(arg);
            char perr[128];
            struct json *body =
                ok ? json_parse(r.body ? r.body : "", r.len, perr, sizeof(perr)) : body_json(&r);
            struct rate rate;
            provider_rate(p->ops, &r, body, &rate);
            heed(p, &turn, &rate);
            if (ok) {
                if (!body)
                    snprintf(why, whylen,
                             "[%s] %s %s: malformed response, %s (HTTP %ld, %zu bytes)", p->section,
                             req->method, http_url_path(req->url), perr, r.status, r.len);
                http_resp_free(&r);
                *doc = body;
                return body ? 0 : -EIO;
            }
            status_reason(p, req, &r, body, attempt, why, whylen);
            json_free(body);
            err = http_status_errno(r.status);
            bool transient = http_status_transient(r.status);
            http_resp_free(&r);
            if (!transient)
                return err;
            struct timespec now = clock_now(), until = pause_get(p);
            if (clock_ms(&now, &until) > 0)
                continue; /* pace() waits for the pause or says it ends too late */
        }
        struct timespec now = clock_now();
        struct timespec wake = clock_after(&now, backoff_ms(attempt));
        /* A wait that would end past the budget is not worth starting. */
        if (clock_ms(&wake, &deadline) <= 0)
            return err == -ECONNREFUSED || err == -ECONNRESET || err == -EHOSTUNREACH ? -EIO : err;
        if (!http_sleep_until(&wake, &p->http))
            return -ECANCELED;
    }
}

int fetch_json(const struct provider *p, const struct http_req *req, struct json **doc, char *why,
               size_t whylen, void (*off_wire)(void *), void *arg)
{
    int rc = fetch(p, req, doc, why, whylen, off_wire, arg);
    if (rc)
        count(&p->pace->errors);
    return rc;
}

time_t fetch_paused_until(const struct provider *p)
{
    struct provider_pace *pc = p->pace;
    pthread_mutex_lock(&pc->lock);
    struct timespec now = clock_now(), t = pc->until;
    /* a window whose share is spent holds every request until it ends */
    if (pc->known && pc->budget <= 0 && clock_ms(&t, &pc->end) > 0)
        t = pc->end;
    pthread_mutex_unlock(&pc->lock);
    long long ms = clock_ms(&now, &t);
    return ms > 0 ? time(NULL) + (time_t)((ms + 999) / 1000) : 0;
}
