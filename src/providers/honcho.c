/* Honcho v1.1.0: POST .../collections/list?page=&size=, page numbers with a
 * total, ascending creation order by default. app_name / user_name are resolved
 * to ids once, before the first page (never at mount time). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config.h"
#include "../fetch.h"
#include "../json.h"
#include "../provider.h"
#include "../secret.h"

#define HONCHO_SIZE 100

struct honcho {
    char *app_id, *user_id, *app_name, *user_name;
    char *token;
    char *body; /* {"filter": ...} when a filter is set, else NULL for {} */
};

static const struct config_key keys[] = {
    {"app_id", false}, {"app_name", false}, {"user_id", false}, {"user_name", false},
    {"token", true},   {"filter", false},   {NULL, false}};

static int configure(struct provider *p, const struct config_section *s, char *err, size_t errlen)
{
    struct honcho *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    p->priv = h;
    if (provider_opt(s, "app_id", &h->app_id) < 0 || provider_opt(s, "user_id", &h->user_id) < 0 ||
        (!h->app_id && provider_opt(s, "app_name", &h->app_name) < 0) ||
        (!h->user_id && provider_opt(s, "user_name", &h->user_name) < 0))
        return -ENOMEM;
    if ((!h->app_id && !h->app_name) || (!h->user_id && !h->user_name)) {
        snprintf(err, errlen,
                 "config: [%s] (line %d): honcho needs app_id or app_name, and "
                 "user_id or user_name",
                 s->name, s->line);
        return -EINVAL;
    }
    const char *v = config_get(s, "filter");
    if (v) {
        char perr[128];
        struct json *f = json_parse(v, strlen(v), perr, sizeof(perr));
        bool ok = json_is(f, JSON_OBJECT);
        json_free(f);
        if (!ok) {
            snprintf(err, errlen,
                     "config: [%s]: filter must be a JSON object, like "
                     "{\"kind\": \"notes\"}",
                     s->name);
            return -EINVAL;
        }
        if (asprintf(&h->body, "{\"filter\": %s}", v) < 0) {
            h->body = NULL;
            return -ENOMEM;
        }
    }
    return secret_resolve(s, "token", &h->token, err, errlen);
}

static int add_auth(const struct honcho *h, struct http_req *req)
{
    int rc = http_req_header(req, "Accept: application/json");
    if (rc == 0 && h->token)
        rc = http_req_headerf(req, "Authorization: Bearer %s", h->token);
    return rc;
}

/* GET a name route and keep the "id" of the answer. */
static int resolve(struct provider *p, const char *what, const char *path, char **id, char *why,
                   size_t whylen)
{
    struct honcho *h = p->priv;
    struct http_req req = {.method = "GET", .url = provider_url(p, "/v1", path)};
    struct json *doc = NULL;
    char reason[512] = "out of memory";
    int rc = req.url ? add_auth(h, &req) : -ENOMEM;
    if (rc == 0)
        rc = fetch_json(p, &req, &doc, reason, sizeof(reason), NULL, NULL);
    if (rc == 0) {
        const struct json *v = json_get(doc, "id");
        if (!json_is(v, JSON_STRING) || v->len == 0)
            rc = -EIO, snprintf(reason, sizeof(reason), "the answer has no id");
        else if (!(*id = strdup(v->text)))
            rc = -ENOMEM, snprintf(reason, sizeof(reason), "out of memory");
    }
    if (rc < 0)
        snprintf(why, whylen, "[%s] cannot resolve %s (check it in the config): %s", p->section,
                 what, reason);
    json_free(doc);
    http_req_free(&req);
    return rc;
}

/* "/apps/name/<app_name>" or "/apps/<app_id>/users/name/<user_name>", escaped; malloc'd. */
static char *route(const char *fmt, const char *a, const char *b)
{
    char *ea = provider_escape(a), *eb = b ? provider_escape(b) : NULL, *r = NULL;
    if (ea && (!b || eb) && asprintf(&r, fmt, ea, eb) < 0)
        r = NULL;
    free(ea);
    free(eb);
    return r;
}

static int prepare(struct provider *p, char *why, size_t whylen)
{
    struct honcho *h = p->priv;
    int rc = 0;
    char *path;
    if (!h->app_id) {
        if (!(path = route("/apps/name/%s", h->app_name, NULL)))
            return -ENOMEM;
        rc = resolve(p, "app_name", path, &h->app_id, why, whylen);
        free(path);
    }
    if (rc == 0 && !h->user_id) {
        if (!(path = route("/apps/%s/users/name/%s", h->app_id, h->user_name)))
            return -ENOMEM;
        rc = resolve(p, "user_name", path, &h->user_id, why, whylen);
        free(path);
    }
    return rc;
}

static int request(const struct provider *p, const struct cursor *at, struct http_req *req)
{
    const struct honcho *h = p->priv;
    char *ids = route("/apps/%s/users/%s", h->app_id, h->user_id), *rest = NULL;
    if (!ids || asprintf(&rest, "%s/collections/list?page=%lld&size=%d", ids,
                         (long long)(at->page > 0 ? at->page : 1), HONCHO_SIZE) < 0) {
        free(ids);
        return -ENOMEM;
    }
    free(ids);
    req->method = "POST";
    req->url = provider_url(p, "/v1", rest);
    free(rest);
    req->body = strdup(h->body ? h->body : "{}");
    if (!req->url || !req->body)
        return -ENOMEM;
    int rc = add_auth(h, req);
    return rc ? rc : http_req_header(req, "Content-Type: application/json");
}

static int parse(const struct provider *p, const struct cursor *at, const struct json *doc,
                 struct page *out, char *why, size_t whylen)
{
    const struct json *items = json_get(doc, "items");
    int64_t total, pages, size, page = at->page > 0 ? at->page : 1;
    if (!json_is(items, JSON_ARRAY) || !json_int64(json_get(doc, "total"), &total) || total < 0) {
        snprintf(why, whylen, "[%s] page %lld: expected {\"items\": [...], \"total\": N}",
                 p->section, (long long)page);
        return -EIO;
    }
    if (!json_int64(json_get(doc, "size"), &size) || size < 1)
        size = HONCHO_SIZE;
    if (!json_int64(json_get(doc, "pages"), &pages) || pages < 0)
        pages = total / size + (total % size != 0);
    static const struct provider_fields fields = {"id", NULL, "name", "created_at", NULL};
    if (provider_items(items, &fields, out) < 0)
        return -ENOMEM;
    out->pages = pages;
    out->total = total;
    if (page < pages && items->len == 0)
        out->odd = "an empty page before the last one the total announces";
    else if (page < pages && (int64_t)items->len < size)
        out->odd = "pages shorter than the page size before the last one; some may be missing";
    out->more = page < pages && items->len > 0;
    out->next.page = page + 1;
    return 0;
}

/* FastAPI: {"detail": "..."} for app errors, {"detail": [{"msg": ...}]} for 422. */
static const char *error_text(const struct json *body)
{
    const struct json *d = json_get(body, "detail");
    if (json_is(d, JSON_ARRAY) && d->len > 0)
        return json_str(json_get(d->kids[0], "msg"), NULL);
    return json_str(d, NULL);
}

static void destroy(struct provider *p)
{
    struct honcho *h = p->priv;
    if (!h)
        return;
    free(h->app_id);
    free(h->user_id);
    free(h->app_name);
    free(h->user_name);
    free(h->body);
    secret_free(h->token);
    free(h);
}

/* Only ids from the config: resolved ones are written by prepare() during a walk. */
static char *collection_url(const struct provider *p, const char *id)
{
    const struct honcho *h = p->priv;
    char *ids =
        h->app_name || h->user_name ? NULL : route("/apps/%s/users/%s", h->app_id, h->user_id);
    char *u = NULL;
    if (ids && asprintf(&u, "%s/collections", ids) < 0)
        u = NULL;
    char *url = u ? provider_collection_url(p, "/v1", u, id) : NULL;
    free(ids);
    free(u);
    return url;
}

const struct provider_ops honcho_ops = {
    .type = "honcho",
    .default_url = "https://api.honcho.dev",
    .page_size = HONCHO_SIZE,
    .ordered = true,
    .keys = keys,
    .configure = configure,
    .prepare = prepare,
    .request = request,
    .parse = parse,
    .error_text = error_text,
    .collection_url = collection_url,
    .destroy = destroy,
};
