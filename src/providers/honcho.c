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
    char *filter; /* JSON object text, or NULL */
};

static int configure(struct provider *p, const struct config_section *s, char *err, size_t errlen)
{
    static const char *const keys[] = {"type",    "url",       "ca_file", "app_id", "app_name",
                                       "user_id", "user_name", "token",   "filter", NULL};
    int rc = config_check_keys(s, keys, err, errlen);
    if (rc < 0)
        return rc;
    struct honcho *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    p->priv = h;
    const char *url = config_get(s, "url");
    p->url = strdup(url ? url : "https://api.honcho.dev");
    p->page_size = HONCHO_SIZE;
    const char *v;
    if ((v = config_get(s, "app_id")))
        h->app_id = strdup(v);
    else if ((v = config_get(s, "app_name")))
        h->app_name = strdup(v);
    if ((v = config_get(s, "user_id")))
        h->user_id = strdup(v);
    else if ((v = config_get(s, "user_name")))
        h->user_name = strdup(v);
    if ((!h->app_id && !h->app_name) || (!h->user_id && !h->user_name)) {
        snprintf(err, errlen, "config: [%s] (line %d): honcho needs app_id or app_name, and "
                 "user_id or user_name", s->name, s->line);
        return -EINVAL;
    }
    if ((v = config_get(s, "filter"))) {
        char perr[128];
        struct json *f = json_parse(v, strlen(v), perr, sizeof(perr));
        bool ok = json_is(f, JSON_OBJECT);
        json_free(f);
        if (!ok) {
            snprintf(err, errlen, "config: [%s]: filter must be a JSON object, like "
                     "{\"kind\": \"notes\"}", s->name);
            return -EINVAL;
        }
        h->filter = strdup(v);
    }
    return secret_resolve(s, "token", &h->token, err, errlen);
}

static int add_auth(const struct honcho *h, struct http_req *req)
{
    int rc = http_req_header(req, "Accept: application/json");
    if (rc == 0 && h->token) {
        char line[4096];
        snprintf(line, sizeof(line), "Authorization: Bearer %s", h->token);
        rc = http_req_header(req, line);
        explicit_bzero(line, sizeof(line));
    }
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
        rc = fetch_json(p, &req, &doc, reason, sizeof(reason));
    if (rc == 0) {
        const struct json *v = json_get(doc, "id");
        if (json_is(v, JSON_STRING) && v->len > 0 && (*id = strdup(v->text)))
            rc = 0;
        else
            rc = -EIO, snprintf(reason, sizeof(reason), "the answer has no id");
    }
    if (rc < 0)
        snprintf(why, whylen, "[%s] cannot resolve %s (check it in the config): %s", p->section,
                 what, reason);
    json_free(doc);
    http_req_free(&req);
    return rc;
}

static int prepare(struct provider *p, char *why, size_t whylen)
{
    struct honcho *h = p->priv;
    char path[1024];
    int rc = 0;
    if (!h->app_id) {
        char *n = provider_escape(h->app_name);
        snprintf(path, sizeof(path), "/apps/name/%s", n ? n : "");
        free(n);
        rc = resolve(p, "app_name", path, &h->app_id, why, whylen);
    }
    if (rc == 0 && !h->user_id) {
        char *a = provider_escape(h->app_id), *n = provider_escape(h->user_name);
        snprintf(path, sizeof(path), "/apps/%s/users/name/%s", a ? a : "", n ? n : "");
        free(a);
        free(n);
        rc = resolve(p, "user_name", path, &h->user_id, why, whylen);
    }
    return rc;
}

static int request(const struct provider *p, const struct cursor *at, struct http_req *req)
{
    const struct honcho *h = p->priv;
    char rest[1024];
    char *a = provider_escape(h->app_id), *u = provider_escape(h->user_id);
    snprintf(rest, sizeof(rest), "/apps/%s/users/%s/collections/list?page=%lld&size=%d",
             a ? a : "", u ? u : "", (long long)(at->page > 0 ? at->page : 1), HONCHO_SIZE);
    free(a);
    free(u);
    req->method = "POST";
    req->url = provider_url(p, "/v1", rest);
    size_t n = h->filter ? strlen(h->filter) + 16 : 3;
    req->body = malloc(n);
    if (!req->url || !req->body)
        return -ENOMEM;
    if (h->filter)
        snprintf(req->body, n, "{\"filter\": %s}", h->filter);
    else
        strcpy(req->body, "{}");
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

static void destroy(struct provider *p)
{
    struct honcho *h = p->priv;
    if (!h)
        return;
    free(h->app_id);
    free(h->user_id);
    free(h->app_name);
    free(h->user_name);
    free(h->filter);
    secret_free(h->token);
    free(h);
}

const struct provider_ops honcho_ops = {
    .type = "honcho",
    .ordered = true,
    .configure = configure,
    .prepare = prepare,
    .request = request,
    .parse = parse,
    .destroy = destroy,
};
