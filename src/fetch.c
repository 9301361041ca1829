/* Retries and error reasons for one provider request; see fetch.h. */
#include "fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "http.h"
#include "json.h"
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
    const char *hint;
    if (status == 401 || status == 403)
        hint = "the credentials were refused; check the secret in this section";
    else if (status == 404)
        hint = "not found; check url and ids in this section";
    else if (status == 429)
        hint = "rate limited; try again later or lower `parallel`";
    else if (status >= 500)
        hint = "server error";
    else
        hint = "the server refused the request";
    snprintf(why, whylen, "[%s] %s %s: HTTP %ld%s%s%s after %d attempt%s: %s", p->section,
             req->method, http_url_path(req->url), status, text ? " (" : "", text ? text : "",
             text ? ")" : "", attempts, attempts == 1 ? "" : "s", hint);
    free(text);
}

static void transport_reason(const struct provider *p, const struct http_req *req, int err,
                             int attempts, char *why, size_t whylen)
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
    default:
        what = strerror(-err);
    }
    snprintf(why, whylen, "[%s] %s %s: %s (%d attempt%s)", p->section, req->method,
             http_url_path(req->url), what, attempts, attempts == 1 ? "" : "s");
}

/* A rate limit is the provider's, not one request's: every request to it waits. */
static struct timespec pause_get(const struct provider *p)
{
    pthread_mutex_lock(&p->pace->lock);
    struct timespec t = p->pace->until;
    pthread_mutex_unlock(&p->pace->lock);
    return t;
}

/* Act on what a response said: no requests left means a pause for all. */
static void heed(const struct provider *p, const struct rate *r)
{
    if (r->left != 0)
        return; /* requests left: the pacing of the shared cache builds on this */
    struct timespec now = clock_now(), t = clock_after(&now, (long long)(r->until * 1000));
    pthread_mutex_lock(&p->pace->lock);
    if (clock_ms(&p->pace->until, &t) > 0)
        p->pace->until = t;
    pthread_mutex_unlock(&p->pace->lock);
}

/* Wait out a pause the server asked for if it ends within the budget; past
 * it, fail at once rather than retry into an announced block. `why` holds the
 * last attempt's reason when there was one; the pause is added to it. */
static int pace(const struct provider *p, const struct http_req *req,
                const struct timespec *deadline, int attempt, char *why, size_t whylen)
{
    struct timespec until = pause_get(p), now = clock_now();
    long long ms = clock_ms(&now, &until);
    if (ms <= 0)
        return 0;
    if (clock_ms(&until, deadline) <= 0) {
        char when[32] = "";
        time_t t = time(NULL) + (time_t)((ms + 999) / 1000);
        struct tm tm;
        strftime(when, sizeof(when), "%H:%M:%S UTC", gmtime_r(&t, &tm));
        if (attempt == 1)
            snprintf(why, whylen, "[%s] %s %s: rate limited", p->section, req->method,
                     http_url_path(req->url));
        size_t off = strnlen(why, whylen);
        snprintf(why + off, whylen - off,
                 "; the provider asked for a pause until %s (%lld s), beyond the request budget: "
                 "try again then",
                 when, (ms + 999) / 1000);
        return -EAGAIN;
    }
    return http_sleep_until(&until) ? 0 : -ECANCELED;
}

/* The body of a response as JSON, quietly NULL when it is not. */
static struct json *body_json(const struct http_resp *r)
{
    char perr[64];
    return r->body && r->len ? json_parse(r->body, r->len, perr, sizeof(perr)) : NULL;
}

int fetch_json(const struct provider *p, const struct http_req *req, struct json **doc, char *why,
               size_t whylen)
{
    struct timespec start = clock_now();
    struct timespec deadline = clock_after(&start, p->timeout_ms);
    *doc = NULL;
    for (int attempt = 1;; attempt++) {
        struct http_resp r;
        int err = pace(p, req, &deadline, attempt, why, whylen);
        if (err)
            return err;
        err = http_perform(req, &p->http, &deadline, &r);
        if (err) {
            transport_reason(p, req, err, attempt, why, whylen);
            if (err == -EFBIG || err == -ECANCELED || err == -ENOMEM)
                return err == -EFBIG ? -EIO : err;
        } else {
            bool ok = r.status >= 200 && r.status < 300;
            char perr[128];
            struct json *body =
                ok ? json_parse(r.body ? r.body : "", r.len, perr, sizeof(perr)) : body_json(&r);
            struct rate rate;
            provider_rate(p->ops, &r, body, &rate);
            heed(p, &rate);
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
        if (!http_sleep_until(&wake))
            return -ECANCELED;
    }
}
