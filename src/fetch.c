/* Retries and error reasons for one provider request; see fetch.h. */
#include "fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http.h"
#include "json.h"
#include "provider.h"

#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 8000

/* Full jitter keeps many mounts that failed together from retrying together. */
static long long backoff_ms(int attempt)
{
    long long cap = BACKOFF_FIRST_MS << (attempt < 6 ? attempt : 6);
    if (cap > BACKOFF_MAX_MS)
        cap = BACKOFF_MAX_MS;
    unsigned seed = (unsigned)clock_now().tv_nsec ^ (unsigned)attempt;
    return cap / 2 + rand_r(&seed) % (cap / 2 + 1);
}

static void status_reason(const struct provider *p, const struct http_req *req, long status,
                          const struct http_resp *r, int attempts, char *why, size_t whylen)
{
    char *text = provider_error_text(r->body, r->len);
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
    struct provider *mp = (struct provider *)p;
    pthread_mutex_lock(&mp->pace_lock);
    struct timespec t = mp->pause_until;
    pthread_mutex_unlock(&mp->pace_lock);
    return t;
}

static void pause_set(const struct provider *p, double seconds)
{
    struct provider *mp = (struct provider *)p;
    struct timespec now = clock_now(), t = clock_after(&now, (long long)(seconds * 1000));
    pthread_mutex_lock(&mp->pace_lock);
    if (clock_ms(&mp->pause_until, &t) > 0)
        mp->pause_until = t;
    pthread_mutex_unlock(&mp->pace_lock);
}

/* Wait out a pause the server asked for, if it ends within the budget. */
static int pace(const struct provider *p, const struct http_req *req,
                const struct timespec *deadline, char *why, size_t whylen)
{
    struct timespec until = pause_get(p), now = clock_now();
    if (clock_ms(&now, &until) <= 0)
        return 0;
    if (clock_ms(&until, deadline) <= 0) {
        snprintf(why, whylen, "[%s] %s %s: rate limit reached; the provider asked to wait %lld s "
                 "more, beyond the request budget", p->section, req->method, http_url_path(req->url),
                 clock_ms(&now, &until) / 1000 + 1);
        return -EAGAIN;
    }
    return http_sleep_until(&until) ? 0 : -ECANCELED;
}

int fetch_json(const struct provider *p, const struct http_req *req, struct json **doc, char *why,
               size_t whylen)
{
    struct timespec start = clock_now();
    struct timespec deadline = clock_after(&start, p->timeout_ms);
    *doc = NULL;
    for (int attempt = 1;; attempt++) {
        struct http_resp r;
        int err = pace(p, req, &deadline, why, whylen);
        if (err)
            return err;
        err = http_perform(req, &p->http, &deadline, &r);
        double hint = -1;
        /* "0 requests left this minute" (Fount): hold the next ones back */
        if (!err && r.rate_remaining == 0)
            pause_set(p, r.retry_after >= 0 ? r.retry_after : r.rate_reset >= 0 ? r.rate_reset : 60);
        if (!err && r.status >= 200 && r.status < 300) {
            char perr[128];
            *doc = json_parse(r.body ? r.body : "", r.len, perr, sizeof(perr));
            if (!*doc)
                snprintf(why, whylen, "[%s] %s %s: malformed response, %s (HTTP %ld, %zu bytes)",
                         p->section, req->method, http_url_path(req->url), perr, r.status, r.len);
            http_resp_free(&r);
            return *doc ? 0 : -EIO;
        }
        if (!err) {
            if (!http_status_transient(r.status)) {
                long status = r.status;
                status_reason(p, req, status, &r, attempt, why, whylen);
                http_resp_free(&r);
                return http_status_errno(status);
            }
            hint = r.retry_after;
            if (hint < 0 && r.body) {
                char perr[64];
                struct json *body = json_parse(r.body, r.len, perr, sizeof(perr));
                hint = provider_retry_hint(body);
                json_free(body);
            }
            if (r.status == 429 && hint >= 0)
                pause_set(p, hint); /* the other pages of this provider wait too */
            status_reason(p, req, r.status, &r, attempt, why, whylen);
            err = http_status_errno(r.status);
            http_resp_free(&r);
        } else {
            transport_reason(p, req, err, attempt, why, whylen);
            if (err == -EFBIG || err == -ECANCELED || err == -ENOMEM)
                return err == -EFBIG ? -EIO : err;
        }
        struct timespec now = clock_now();
        long long delay = hint >= 0 ? (long long)(hint * 1000) : backoff_ms(attempt);
        struct timespec wake = clock_after(&now, delay);
        /* A wait that would end past the budget is not worth starting. */
        if (clock_ms(&wake, &deadline) <= 0)
            return err == -ECONNREFUSED || err == -ECONNRESET || err == -EHOSTUNREACH ? -EIO
                                                                                         : err;
        if (!http_sleep_until(&wake))
            return -ECANCELED;
    }
}
