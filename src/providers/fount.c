/* WPP BAV Fount v2: GET /api/v2/collections?page=&per_page=&sort=created_at,
 * Laravel pages with meta.last_page / meta.total, so pages after the first are
 * fetched in parallel. The page count is computed from the per_page the server
 * echoes, which may be smaller than the one asked for. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../config.h"
#include "../json.h"
#include "../provider.h"
#include "../secret.h"

#define FOUNT_PER_PAGE 1000

struct fount {
    char *token;
};

static const struct config_key keys[] = {{"token", true}, {NULL, false}};

static int configure(struct provider *p, const struct config_section *s, char *err, size_t errlen)
{
    struct fount *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    p->priv = f;
    int rc = secret_resolve(s, "token", &f->token, err, errlen);
    if (rc == 0 && !f->token) {
        snprintf(err, errlen,
                 "config: [%s]: fount needs token (or token_env, token_file, "
                 "token_command)",
                 s->name);
        rc = -EINVAL;
    }
    return rc;
}

static int request(const struct provider *p, const struct cursor *at, struct http_req *req)
{
    const struct fount *f = p->priv;
    char rest[128];
    snprintf(rest, sizeof(rest), "/collections?page=%lld&per_page=%d&sort=created_at",
             (long long)(at->page > 0 ? at->page : 1), FOUNT_PER_PAGE);
    req->method = "GET";
    req->url = provider_url(p, "/api/v2", rest);
    if (!req->url)
        return -ENOMEM;
    /* without Accept: application/json the API answers errors in HTML */
    int rc = http_req_header(req, "Accept: application/json");
    return rc ? rc : http_req_headerf(req, "Authorization: Bearer %s", f->token);
}

static int parse(const struct provider *p, const struct cursor *at, const struct json *doc,
                 struct page *out, char *why, size_t whylen)
{
    const struct json *data = json_get(doc, "data"), *meta = json_get(doc, "meta");
    int64_t page = at->page > 0 ? at->page : 1, last = 0, total, per;
    if (!json_is(data, JSON_ARRAY)) {
        snprintf(why, whylen, "[%s] page %lld: expected {\"data\": [...], \"meta\": {...}}",
                 p->section, (long long)page);
        return -EIO;
    }
    if (!json_int64(json_get(meta, "last_page"), &last) || last < 0) {
        last = 0;
        if (json_int64(json_get(meta, "total"), &total) && total >= 0 &&
            json_int64(json_get(meta, "per_page"), &per) && per > 0)
            last = total / per + (total % per != 0);
    }
    static const struct provider_fields fields = {"id", NULL, "name", "created_at", "updated_at"};
    if (provider_items(data, &fields, out) < 0)
        return -ENOMEM;
    const struct json *next = json_get(json_get(doc, "links"), "next");
    out->pages = last;
    if (json_int64(json_get(meta, "per_page"), &per) && page < last && (int64_t)data->len < per)
        out->odd = data->len
                       ? "pages shorter than per_page before the last one; some may be missing"
                       : "an empty page before the last_page the server announces";
    if (json_int64(json_get(meta, "total"), &total) && total > 0)
        out->total = total;
    /* without a page count, a next link is the only sign of more */
    out->more = data->len > 0 && (last ? page < last : json_is(next, JSON_STRING));
    out->next.page = page + 1;
    return 0;
}

/* Laravel: {"message": ...}, or the documented envelope {"data": {"message": ...}}. */
static const char *error_text(const struct json *body)
{
    const char *m = json_str(json_get(body, "message"), NULL);
    return m ? m : json_str(json_get(json_get(body, "data"), "message"), NULL);
}

/* A request count header as a number at most RATE_LEFT_MAX; -1 when absent or not a count. */
static long count_header(const struct http_resp *r, const char *name)
{
    char v[64], *end;
    if (!http_resp_header(r, name, v, sizeof(v)))
        return -1;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < 0)
        return -1;
    return n < RATE_LEFT_MAX ? n : RATE_LEFT_MAX;
}

/* Every response says how many requests are left this minute and of how many; a
 * 429 adds Retry-After and X-RateLimit-Reset (a unix time). */
static void rate(const struct http_resp *r, const struct json *body, struct rate *out)
{
    provider_rate_default(r, body, out);
    char v[64];
    double reset = -1;
    if (http_resp_header(r, "x-ratelimit-reset", v, sizeof(v))) {
        /* to the sub-second: a whole-second "now" puts the end up to a second late,
         * and requests paced into that second land in the server's next window */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        char *end;
        double d = strtod(v, &end) - ((double)now.tv_sec + now.tv_nsec / 1e9);
        /* a reset just past is a window that ended while the answer travelled */
        reset = end == v || d >= 3600 || d <= -3600 ? -1 : d > 0 ? d : 0;
    }
    if (r->status == 429 && out->left < 0 && reset >= 0)
        *out = (struct rate){0, reset};
    /* the window is a minute; without a reset time, assume a whole one */
    long left = out->left < 0 ? count_header(r, "x-ratelimit-remaining") : -1;
    if (left >= 0)
        *out = (struct rate){left, reset >= 0 ? reset : 60};
    /* the limit the user's other clients share: the headroom is a tenth of it */
    long limit = count_header(r, "x-ratelimit-limit");
    if (limit > 0)
        out->limit = limit;
}

static void destroy(struct provider *p)
{
    struct fount *f = p->priv;
    if (!f)
        return;
    secret_free(f->token);
    free(f);
}

static char *collection_url(const struct provider *p, const char *id)
{
    return provider_collection_url(p, "/api/v2", "/collections", id);
}

const struct provider_ops fount_ops = {
    .type = "fount",
    .default_url = "https://fount.wppbav.com",
    .page_size = FOUNT_PER_PAGE,
    .ordered = true,
    .keys = keys,
    .configure = configure,
    .request = request,
    .parse = parse,
    .error_text = error_text,
    .rate = rate,
    .collection_url = collection_url,
    .destroy = destroy,
};
