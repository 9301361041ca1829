/* jsonarray: a test-only provider, built with -Dtest_provider=true. Its API is
 * the plainest there is: GET /v1/collections?offset=&limit= answers a bare
 * JSON array of {"id", "title", "created", "modified"}, Bearer auth, no total;
 * a short page is the last. It exists to prove that a provider is this one
 * file plus its name in src/providers/meson.build. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "../json.h"
#include "../provider.h"
#include "../secret.h"

#define JSONARRAY_LIMIT 50

static const struct config_key keys[] = {{"token", true}, {NULL, false}};

static int configure(struct provider *p, const struct config_section *s, char *err, size_t errlen)
{
    char *token = NULL;
    int rc = secret_resolve(s, "token", &token, err, errlen);
    if (rc == 0 && !token) {
        snprintf(err, errlen, "config: [%s]: jsonarray needs token", s->name);
        rc = -EINVAL;
    }
    p->priv = token;
    return rc;
}

static int request(const struct provider *p, const struct cursor *at, struct http_req *req)
{
    char rest[96];
    snprintf(rest, sizeof(rest), "/collections?offset=%lld&limit=%d", (long long)at->page,
             JSONARRAY_LIMIT);
    req->method = "GET";
    if (!(req->url = provider_url(p, "/v1", rest)))
        return -ENOMEM;
    return http_req_headerf(req, "Authorization: Bearer %s", (const char *)p->priv);
}

static int parse(const struct provider *p, const struct cursor *at, const struct json *doc,
                 struct page *out, char *why, size_t whylen)
{
    if (!json_is(doc, JSON_ARRAY)) {
        snprintf(why, whylen, "[%s] offset %lld: expected a JSON array", p->section,
                 (long long)at->page);
        return -EIO;
    }
    static const struct provider_fields fields = {"id", NULL, "title", "created", "modified"};
    if (provider_items(doc, &fields, out) < 0)
        return -ENOMEM;
    out->more = doc->len == JSONARRAY_LIMIT;
    out->next.page = at->page + (int64_t)doc->len;
    return 0;
}

static void destroy(struct provider *p)
{
    secret_free(p->priv);
}

static char *collection_url(const struct provider *p, const char *id)
{
    return provider_collection_url(p, "/v1", "/collections", id);
}

const struct provider_ops jsonarray_ops = {
    .type = "jsonarray",
    .default_url = "http://127.0.0.1:8080",
    .page_size = JSONARRAY_LIMIT,
    .ordered = true,
    .keys = keys,
    .configure = configure,
    .request = request,
    .parse = parse,
    .collection_url = collection_url,
    .destroy = destroy,
};
