/* WPP BAV Fount v2: GET /api/v2/collections?page=&per_page=&sort=created_at,
 * Laravel pages with meta.last_page / meta.total, so pages after the first are
 * fetched in parallel. The page count is computed from the per_page the server
 * echoes, which may be smaller than the one asked for. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config.h"
#include "../json.h"
#include "../provider.h"
#include "../secret.h"

#define FOUNT_PER_PAGE 1000

struct fount {
    char *token;
};

static int configure(struct provider *p, const struct config_section *s, char *err, size_t errlen)
{
    static const char *const keys[] = {"type", "url", "ca_file", "token", NULL};
    int rc = config_check_keys(s, keys, err, errlen);
    if (rc < 0)
        return rc;
    struct fount *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    p->priv = f;
    const char *url = config_get(s, "url");
    p->url = strdup(url ? url : "https://fount.wppbav.com");
    p->page_size = FOUNT_PER_PAGE;
    rc = secret_resolve(s, "token", &f->token, err, errlen);
    if (rc == 0 && !f->token) {
        snprintf(err, errlen, "config: [%s]: fount needs token (or token_env, token_file, "
                 "token_command)", s->name);
        rc = -EINVAL;
    }
    return rc;
}

static int request(const struct provider *p, const struct cursor *at, struct http_req *req)
{
    const struct fount *f = p->priv;
    char rest[128], line[4096];
    snprintf(rest, sizeof(rest), "/collections?page=%lld&per_page=%d&sort=created_at",
             (long long)(at->page > 0 ? at->page : 1), FOUNT_PER_PAGE);
    req->method = "GET";
    req->url = provider_url(p, "/api/v2", rest);
    if (!req->url)
        return -ENOMEM;
    /* without Accept: application/json the API answers errors in HTML */
    int rc = http_req_header(req, "Accept: application/json");
    snprintf(line, sizeof(line), "Authorization: Bearer %s", f->token);
    if (rc == 0)
        rc = http_req_header(req, line);
    explicit_bzero(line, sizeof(line));
    return rc;
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
        out->odd = data->len ? "pages shorter than per_page before the last one; some may be missing"
                             : "an empty page before the last_page the server announces";
    if (json_int64(json_get(meta, "total"), &total) && total > 0)
        out->total = total;
    /* without a page count, a next link is the only sign of more */
    out->more = data->len > 0 && (last ? page < last : json_is(next, JSON_STRING));
    out->next.page = page + 1;
    return 0;
}

static void destroy(struct provider *p)
{
    struct fount *f = p->priv;
    if (!f)
        return;
    secret_free(f->token);
    free(f);
}

const struct provider_ops fount_ops = {
    .type = "fount",
    .ordered = true,
    .configure = configure,
    .request = request,
    .parse = parse,
    .destroy = destroy,
};
