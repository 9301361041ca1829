/* HIVO: GET /v1/collections?limit=&skip=&sort=createdAt, JSON:API documents.
 * No total is given, so pages come one after another. The server refuses skip
 * beyond 65,536; past it the walk goes on in a new window that starts at the
 * creation second of the last item seen (filter[createdMin]), so a large account
 * is listed whole. The window starts one second early because the bound's
 * inclusiveness is undocumented; the repeated items are dropped by id. They are
 * fetched again, not skipped by count: the order within one second is
 * unspecified, so the new window's first items of the last second need not be
 * the ones seen, and the earlier second's are there only if the bound is
 * inclusive. The walk lets a new window's opening repeats through (walk.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config.h"
#include "../json.h"
#include "../log.h"
#include "../provider.h"
#include "../secret.h"

#define HIVO_LIMIT 256
#define HIVO_MAX_SKIP 65536

struct hivo {
    char *user_id;
    char *api_key;
};

static const struct config_key keys[] = {{"user_id", false}, {"api_key", true}, {NULL, false}};

static int configure(struct provider *p, const struct config_section *s, char *err, size_t errlen)
{
    struct hivo *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    p->priv = h;
    if (provider_opt(s, "user_id", &h->user_id) < 0)
        return -ENOMEM;
    if (!h->user_id) {
        snprintf(err, errlen, "config: [%s] (line %d): hivo needs user_id", s->name, s->line);
        return -EINVAL;
    }
    int rc = secret_resolve(s, "api_key", &h->api_key, err, errlen);
    if (rc == 0 && !h->api_key) {
        snprintf(err, errlen,
                 "config: [%s]: hivo needs api_key (or api_key_env, api_key_file, "
                 "api_key_command)",
                 s->name);
        rc = -EINVAL;
    }
    return rc;
}

static int request(const struct provider *p, const struct cursor *at, struct http_req *req)
{
    const struct hivo *h = p->priv;
    /* the server refuses it; only a guess of the walk's can ask (the next page
     * a page names past the cap starts a createdMin window), so it costs no request */
    if (at->page > HIVO_MAX_SKIP)
        return -ERANGE;
    char rest[256];
    int n = snprintf(rest, sizeof(rest), "/collections?limit=%d&skip=%lld&sort=createdAt",
                     HIVO_LIMIT, (long long)at->page);
    if (at->has_mark)
        snprintf(rest + n, sizeof(rest) - n, "&filter%%5BcreatedMin%%5D=%lld", (long long)at->mark);
    req->method = "GET";
    req->url = provider_url(p, "/v1", rest);
    if (!req->url)
        return -ENOMEM;
    int rc = http_req_header(req, "Accept: application/json");
    if (rc == 0)
        rc = http_req_headerf(req, "X-User-Id: %s", h->user_id);
    return rc ? rc : http_req_headerf(req, "X-Api-Key: %s", h->api_key);
}

static int parse(const struct provider *p, const struct cursor *at, const struct json *doc,
                 struct page *out, char *why, size_t whylen)
{
    const struct json *data = json_get(doc, "data");
    if (!json_is(data, JSON_ARRAY)) {
        snprintf(why, whylen, "[%s] skip %lld: expected a JSON:API document with a \"data\" list",
                 p->section, (long long)at->page);
        return -EIO;
    }
    static const struct provider_fields fields = {"id", "attributes", "name", "createdAt",
                                                  "lastModified"};
    if (provider_items(data, &fields, out) < 0)
        return -ENOMEM;
    /* the next window starts from the creation second of the last item */
    const struct item *last = out->n ? &out->items[out->n - 1] : NULL;
    bool last_has_time = last && last->has_created;
    int64_t last_time = last_has_time ? last->created.tv_sec : 0;
    size_t n = data->len;
    const struct json *links = json_get(doc, "links");
    const struct json *next = json_get(links, "next");
    /* "no next link" only counts when the server sends links at all */
    bool said_last = links && (!next || json_is(next, JSON_NULL));
    if (n == 0 && json_is(next, JSON_STRING))
        out->odd = "an empty page whose links.next points further";
    int64_t skip = at->page + (int64_t)n;
    if (n == 0 || (said_last && (n < HIVO_LIMIT || skip <= HIVO_MAX_SKIP)) ||
        (!links && n < HIVO_LIMIT))
        return 0; /* out->more stays false */
    out->more = true;
    out->next.has_mark = at->has_mark;
    out->next.mark = at->mark;
    out->next.page = skip;
    if (skip > HIVO_MAX_SKIP) {
        int64_t mark = last_time - 1;
        if (!last_has_time || (at->has_mark && mark <= at->mark)) {
            log_err("[%s] more than %d collections share one creation second, or they have "
                    "no createdAt: the API cannot list past skip=%d; listing stops here",
                    p->section, HIVO_MAX_SKIP + HIVO_LIMIT, HIVO_MAX_SKIP);
            out->more = false;
            return 0;
        }
        out->next.has_mark = true;
        out->next.mark = mark;
        out->next.page = 0;
    }
    return 0;
}

/* JSON:API: {"errors": [{"title": ..., "detail": ...}]}, detail optional. */
static const char *error_text(const struct json *body)
{
    const struct json *errs = json_get(body, "errors");
    const struct json *e = json_is(errs, JSON_ARRAY) && errs->len > 0 ? errs->kids[0] : NULL;
    const char *d = json_str(json_get(e, "detail"), NULL);
    return d ? d : json_str(json_get(e, "title"), NULL);
}

/* A 429 carries meta.retryAfter (seconds, by the look of it) and no header. */
static void rate(const struct http_resp *r, const struct json *body, struct rate *out)
{
    provider_rate_default(r, body, out);
    double s = provider_seconds(json_get(json_get(body, "meta"), "retryAfter"));
    if (r->status == 429 && out->left < 0 && s >= 0)
        *out = (struct rate){0, s};
}

static void destroy(struct provider *p)
{
    struct hivo *h = p->priv;
    if (!h)
        return;
    free(h->user_id);
    secret_free(h->api_key);
    free(h);
}

static char *collection_url(const struct provider *p, const char *id)
{
    return provider_collection_url(p, "/v1", "/collections", id);
}

const struct provider_ops hivo_ops = {
    .type = "hivo",
    .default_url = "https://app.hivo.com.au/api/rest",
    .page_size = HIVO_LIMIT,
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
