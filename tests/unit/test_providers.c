/* The four providers: the request each builds for a cursor, and how each reads
 * a page (items, ids, names, times, what comes next, malformed pages). */
#include <curl/curl.h>
#include <errno.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "json.h"
#include "provider.h"

static struct provider *make(const char *name, const char *const *kv)
{
    static struct config_kv store[32];
    struct config_section s = {.name = (char *)name, .line = 1, .kv = store};
    for (; kv[0]; kv += 2, s.n++)
        store[s.n] = (struct config_kv){(char *)kv[0], (char *)kv[1], 1};
    struct config_global g;
    config_defaults(&g);
    char err[512] = "";
    struct provider *p = NULL;
    if (provider_create(&s, &g, &p, err, sizeof(err)) < 0)
        printf("# %s\n", err);
    return p;
}

static char *url_of(struct provider *p, struct cursor *c, char **body, char **headers)
{
    struct http_req r = {0};
    if (p->ops->request(p, c, &r) < 0)
        return NULL;
    char *u = strdup(r.url);
    if (body)
        *body = r.body ? strdup(r.body) : NULL;
    if (headers) {
        size_t n = 1;
        for (struct curl_slist *l = r.headers; l; l = l->next)
            n += strlen(l->data) + 1;
        *headers = calloc(1, n);
        for (struct curl_slist *l = r.headers; l; l = l->next) {
            strcat(*headers, l->data);
            strcat(*headers, "\n");
        }
    }
    http_req_free(&r);
    return u;
}

static int parse(struct provider *p, int64_t page, const char *text, struct page *out)
{
    char err[128];
    struct json *doc = json_parse(text, strlen(text), err, sizeof(err));
    struct cursor c = {.page = page};
    memset(out, 0, sizeof(*out));
    char why[256] = "";
    int rc = doc ? p->ops->parse(p, &c, doc, out, why, sizeof(why)) : -99;
    if (rc < 0 && rc != -99 && !why[0])
        rc = -98; /* a refusal must say why */
    json_free(doc);
    return rc;
}

static void honcho(void)
{
    const char *kv[] = {"type",    "honcho", "url",    "https://h:1/base/",     "app_id", "A",
                        "user_id", "U",      "filter", "{\"kind\": \"notes\"}", "token",  "T0K",
                        NULL};
    struct provider *p = make("honcho", kv);
    CHECK(p != NULL);
    if (!p)
        return;
    struct cursor c = {0};
    char *body, *hdr;
    char *u = url_of(p, &c, &body, &hdr);
    CHECK_STR(u, "https://h:1/base/v1/apps/A/users/U/collections/list?page=1&size=100");
    CHECK_STR(body, "{\"filter\": {\"kind\": \"notes\"}}");
    CHECK(hdr && strstr(hdr, "Authorization: Bearer T0K\n"));
    free(u), free(body), free(hdr);
    c.page = 3;
    u = url_of(p, &c, NULL, NULL);
    CHECK(u && strstr(u, "page=3&size=100"));
    free(u);

    struct page pg;
    CHECK(parse(p, 1,
                "{\"items\":[{\"id\":\"a\",\"name\":\"n\",\"metadata\":{\"x\":0.1},"
                "\"created_at\":\"1969-07-20T20:17:40Z\"},{\"name\":\"no id\"},"
                "{\"id\":\"b\",\"name\":null,\"created_at\":\"2025-03-01T14:00:00.5+02:00\"}],"
                "\"total\":250,\"page\":1,\"size\":100,\"pages\":3}",
                &pg) == 0);
    CHECK(pg.n == 2); /* the item without an id is skipped */
    CHECK(pg.pages == 3 && pg.more && pg.next.page == 2);
    CHECK_STR(pg.items[0].id, "a");
    CHECK_STR(pg.items[0].name, "n");
    CHECK(pg.items[0].has_created && pg.items[0].created.tv_sec == -14182940);
    CHECK(!pg.items[0].has_updated);
    CHECK(pg.items[0].json && strstr(pg.items[0].json, "\"x\": 0.1\n"));
    CHECK(pg.items[1].name == NULL);
    CHECK(pg.items[1].created.tv_sec == 1740830400 && pg.items[1].created.tv_nsec == 500000000);
    provider_page_free(&pg);
    /* pages missing: computed from total and size; last page: no more */
    CHECK(parse(p, 3, "{\"items\":[{\"id\":\"z\"}],\"total\":250,\"page\":3,\"size\":100}", &pg) ==
          0);
    CHECK(pg.pages == 3 && !pg.more);
    provider_page_free(&pg);
    CHECK(parse(p, 1, "{\"items\":[],\"total\":0,\"page\":1,\"size\":100,\"pages\":0}", &pg) == 0);
    CHECK(pg.n == 0 && !pg.more);
    provider_page_free(&pg);
    /* wrong types are refused, not guessed */
    CHECK(parse(p, 1, "{\"items\":{},\"total\":1}", &pg) < 0);
    provider_page_free(&pg);
    CHECK(parse(p, 1, "{\"items\":[],\"total\":\"5\"}", &pg) < 0);
    provider_page_free(&pg);
    provider_free(p);

    /* names instead of ids need no id; the url may carry the /v1 prefix already */
    const char *kv2[] = {"type",      "honcho", "url", "https://h/v1", "app_name", "a b",
                         "user_name", "u",      NULL};
    p = make("h2", kv2);
    CHECK(p != NULL);
    provider_free(p);
    const char *bad[] = {"type", "honcho", "app_id", "A", NULL};
    CHECK(make("h3", bad) == NULL);
    const char *badf[] = {"type", "honcho", "app_id", "A", "user_id", "U", "filter", "[1]", NULL};
    CHECK(make("h4", badf) == NULL);
    const char *unknown[] = {"type", "honcho", "app_id", "A", "user_id", "U", "colour", "x", NULL};
    CHECK(make("h5", unknown) == NULL);
}

static void hivo(void)
{
    const char *kv[] = {"type", "hivo",    "url", "https://h", "user_id",
                        "U1",   "api_key", "K3Y", NULL};
    struct provider *p = make("hivo", kv);
    CHECK(p != NULL);
    if (!p)
        return;
    struct cursor c = {0};
    char *hdr;
    char *u = url_of(p, &c, NULL, &hdr);
    CHECK_STR(u, "https://h/v1/collections?limit=256&skip=0&sort=createdAt");
    CHECK(hdr && strstr(hdr, "X-User-Id: U1\n") && strstr(hdr, "X-Api-Key: K3Y\n"));
    free(u), free(hdr);
    c = (struct cursor){.page = 512, .has_mark = true, .mark = -5};
    u = url_of(p, &c, NULL, NULL);
    CHECK_STR(u, "https://h/v1/collections?limit=256&skip=512&sort=createdAt"
                 "&filter%5BcreatedMin%5D=-5");
    free(u);

    struct page pg;
    CHECK(parse(p, 0,
                "{\"meta\":{},\"links\":{\"next\":\"https://h/v1/collections?skip=2\"},"
                "\"data\":[{\"type\":\"collections\",\"id\":\"r1\",\"attributes\":{\"name\":\"x\","
                "\"createdAt\":100,\"lastModified\":200}},{\"type\":\"collections\",\"id\":7}]}",
                &pg) == 0);
    CHECK(pg.n == 2 && pg.more && pg.next.page == 2 && !pg.next.has_mark);
    CHECK(pg.items[0].created.tv_sec == 100 && pg.items[0].updated.tv_sec == 200);
    CHECK_STR(pg.items[1].id, "7");
    CHECK(pg.items[1].name == NULL);
    provider_page_free(&pg);
    /* a short page with no next link ends the walk */
    CHECK(parse(p, 0, "{\"meta\":{},\"links\":{\"next\":null},\"data\":[{\"id\":\"a\"}]}", &pg) ==
          0);
    CHECK(!pg.more);
    provider_page_free(&pg);
    CHECK(parse(p, 0, "{\"meta\":{},\"data\":[]}", &pg) == 0);
    CHECK(!pg.more);
    provider_page_free(&pg);
    CHECK(parse(p, 0, "{\"meta\":{},\"errors\":[{\"status\":\"500\"}]}", &pg) < 0);
    provider_page_free(&pg);

    /* past skip 65,536 the walk continues from the last creation second */
    char *big = malloc(256 * 64 + 256);
    strcpy(big, "{\"meta\":{},\"links\":{\"next\":null},\"data\":[");
    for (int i = 0; i < 256; i++)
        sprintf(big + strlen(big), "%s{\"id\":\"i%d\",\"attributes\":{\"createdAt\":%d}}",
                i ? "," : "", i, 1000 + i);
    strcat(big, "]}");
    CHECK(parse(p, 65536, big, &pg) == 0);
    CHECK(pg.more && pg.next.has_mark && pg.next.mark == 1254 && pg.next.page == 0);
    provider_page_free(&pg);
    /* before the cap, a full page with next == null is the end */
    CHECK(parse(p, 0, big, &pg) == 0);
    CHECK(!pg.more);
    provider_page_free(&pg);
    free(big);
    provider_free(p);

    const char *nokey[] = {"type", "hivo", "user_id", "U1", NULL};
    CHECK(make("h", nokey) == NULL);
}

static void fount(void)
{
    const char *kv[] = {"type", "fount", "url", "https://f/api/v2/", "token", "FT", NULL};
    struct provider *p = make("fount", kv);
    CHECK(p != NULL);
    if (!p)
        return;
    struct cursor c = {0};
    char *hdr;
    char *u = url_of(p, &c, NULL, &hdr);
    CHECK_STR(u, "https://f/api/v2/collections?page=1&per_page=1000&sort=created_at");
    CHECK(hdr && strstr(hdr, "Authorization: Bearer FT\n") &&
          strstr(hdr, "Accept: application/json\n"));
    free(u), free(hdr);

    struct page pg;
    /* the server echoes a smaller per_page: pages come from last_page */
    CHECK(parse(p, 1,
                "{\"data\":[{\"id\":12345678901,\"name\":\"a\",\"created_at\":"
                "\"2020-03-02T10:05:01.000000Z\",\"updated_at\":\"2021-01-01T00:00:00.000000Z\"}],"
                "\"links\":{\"next\":\"x\"},\"meta\":{\"current_page\":1,\"last_page\":80,"
                "\"per_page\":15,\"total\":1200}}",
                &pg) == 0);
    CHECK(pg.n == 1 && pg.pages == 80 && pg.more);
    CHECK_STR(pg.items[0].id, "12345678901");
    CHECK(pg.items[0].updated.tv_sec == 1609459200);
    provider_page_free(&pg);
    CHECK(parse(p, 2, "{\"data\":[{\"id\":1}],\"meta\":{\"total\":1200,\"per_page\":1000}}", &pg) ==
          0);
    CHECK(pg.pages == 2 && !pg.more);
    provider_page_free(&pg);
    CHECK(parse(p, 1, "{\"data\":{\"message\":\"x\"}}", &pg) < 0);
    provider_page_free(&pg);
    provider_free(p);
}

static void scenario(void)
{
    const char *kv[] = {"type",       "scenario", "url",        "https://s", "api_key", "k",
                        "api_secret", "s",        "project_id", "p 1",       NULL};
    struct provider *p = make("scenario", kv);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK(!p->ops->ordered);
    struct cursor c = {0};
    char *u = url_of(p, &c, NULL, NULL);
    CHECK_STR(u, "https://s/v1/collections?pageSize=100&projectId=p%201");
    free(u);
    c.token = "a b+/=";
    u = url_of(p, &c, NULL, NULL);
    CHECK_STR(u, "https://s/v1/collections?pageSize=100&paginationToken=a%20b%2B%2F%3D"
                 "&projectId=p%201");
    free(u);

    struct page pg;
    CHECK(parse(p, 0,
                "{\"collections\":[{\"id\":\"col_1\",\"name\":\"x\",\"itemCount\":3.0,"
                "\"createdAt\":\"2023-02-03T11:19:41.579Z\",\"updatedAt\":"
                "\"2023-02-04T00:00:00Z\"}],\"nextPaginationToken\":\"T2\"}",
                &pg) == 0);
    CHECK(pg.n == 1 && pg.more && pg.next.token && strcmp(pg.next.token, "T2") == 0);
    CHECK(pg.items[0].created.tv_nsec == 579000000);
    CHECK(pg.items[0].json && strstr(pg.items[0].json, "\"itemCount\": 3.0,"));
    provider_page_free(&pg);
    /* an empty page may still carry a token; null, "" or absent all end */
    CHECK(parse(p, 0, "{\"collections\":[],\"nextPaginationToken\":\"T3\"}", &pg) == 0);
    CHECK(pg.more);
    provider_page_free(&pg);
    CHECK(parse(p, 0, "{\"collections\":[],\"nextPaginationToken\":null}", &pg) == 0 && !pg.more);
    provider_page_free(&pg);
    CHECK(parse(p, 0, "{\"collections\":[],\"nextPaginationToken\":\"\"}", &pg) == 0 && !pg.more);
    provider_page_free(&pg);
    CHECK(parse(p, 0, "{\"collections\":\"no\"}", &pg) < 0);
    provider_page_free(&pg);
    provider_free(p);

    const char *half[] = {"type", "scenario", "api_key", "k", NULL};
    CHECK(make("s2", half) == NULL);
}

/* A provider of each type, for the tests of what they say about errors and rates. */
static struct provider *of_type(const char *type)
{
    static const char *const kv[][12] = {
        {"type", "honcho", "url", "http://127.0.0.1:1", "app_id", "A", "user_id", "U", NULL},
        {"type", "hivo", "url", "http://127.0.0.1:1", "user_id", "u", "api_key", "k", NULL},
        {"type", "fount", "url", "http://127.0.0.1:1", "token", "t", NULL},
        {"type", "scenario", "url", "http://127.0.0.1:1", "api_key", "k", "api_secret", "s", NULL},
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (strcmp(kv[i][1], type) == 0)
            return make(type, kv[i]);
    return NULL;
}

static char *error_text(const char *type, const char *body)
{
    struct provider *p = of_type(type);
    char err[64];
    struct json *d = json_parse(body, strlen(body), err, sizeof(err));
    char *t = p ? provider_error_text(p->ops, d, body, strlen(body)) : NULL;
    json_free(d);
    provider_free(p);
    return t;
}

static void error_texts(void)
{
    char *t = error_text("honcho", "{\"detail\":\"Invalid JWT\"}");
    CHECK_STR(t, "Invalid JWT");
    free(t);
    t = error_text(
        "honcho",
        "{\"detail\":[{\"type\":\"x\",\"loc\":[\"query\",\"size\"],\"msg\":\"too big\"}]}");
    CHECK_STR(t, "too big");
    free(t);
    t = error_text("hivo",
                   "{\"meta\":{},\"errors\":[{\"status\":\"401\",\"title\":\"Unauthorized\"}]}");
    CHECK_STR(t, "Unauthorized");
    free(t);
    t = error_text("hivo", "{\"errors\":[{\"title\":\"Bad\",\"detail\":\"limit too big\"}]}");
    CHECK_STR(t, "limit too big");
    free(t);
    t = error_text("fount", "{\"data\":{\"message\":\"nope\\nforged line\"}}");
    CHECK_STR(t, "nope forged line");
    free(t);
    t = error_text("fount", "{\"message\":\"Too Many Attempts.\"}");
    CHECK_STR(t, "Too Many Attempts.");
    free(t);
    t = error_text("scenario", "{\"message\":\"m\",\"reason\":\"the reason\"}");
    CHECK_STR(t, "the reason");
    free(t);
    /* cut at 160 bytes, but never inside a character: 53 three-byte euro signs */
    char euros[300] = "{\"message\":\"";
    for (int i = 0; i < 60; i++)
        strcat(euros, "\xe2\x82\xac");
    strcat(euros, "\"}");
    t = error_text("fount", euros);
    CHECK(t && strlen(t) == 159 && memcmp(t + 156, "\xe2\x82\xac", 3) == 0);
    free(t);
    /* invalid UTF-8 becomes U+FFFD, one per byte of a cut sequence, as in names; DEL a space */
    t = error_text("fount", "{\"message\":\"a\xff\xe2\x82z\x7f\"}");
    CHECK_STR(t, "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz ");
    free(t);
    t = error_text("scenario", "{\"error\":\"e\"}"); /* a common key still counts */
    CHECK_STR(t, "e");
    free(t);
    struct provider *p = of_type("fount");
    t = p ? provider_error_text(p->ops, NULL, "<html>", 6) : NULL;
    CHECK_STR(t, "an HTML page, not JSON");
    free(t);
    t = p ? provider_error_text(p->ops, NULL, "", 0) : (char *)1;
    CHECK(t == NULL);
    provider_free(p);
}

/* The rate signal of a response with this status, headers ("a: b\0c: d\0") and body. */
static struct rate rate_of(const char *type, long status, const char *headers, size_t hlen,
                           double retry_after, const char *body)
{
    struct rate r = {-2, -2, -2};
    struct provider *p = of_type(type);
    struct http_resp resp = {.status = status, .retry_after = retry_after};
    memcpy(resp.headers, headers, hlen);
    resp.headers_len = hlen;
    char err[64];
    struct json *d = body ? json_parse(body, strlen(body), err, sizeof(err)) : NULL;
    if (p)
        provider_rate(p->ops, &resp, d, &r);
    json_free(d);
    provider_free(p);
    return r;
}

static void rates(void)
{
    /* nothing said: no signal, whatever the type */
    const char *types[] = {"honcho", "hivo", "fount", "scenario"};
    for (size_t i = 0; i < 4; i++) {
        struct rate r = rate_of(types[i], 200, "", 0, -1, "{}");
        CHECK(r.left == -1 && r.limit == 0);
        r = rate_of(types[i], 429, "", 0, 7, NULL); /* Retry-After is HTTP's own */
        CHECK(r.left == 0 && r.until == 7);
        r = rate_of(types[i], 500, "", 0, 7, NULL); /* a 500's Retry-After is no pause */
        CHECK(r.left == -1);
    }
    struct rate r = rate_of("hivo", 429, "", 0, -1, "{\"meta\":{\"retryAfter\":3},\"errors\":[]}");
    CHECK(r.left == 0 && r.until == 3);
    r = rate_of("hivo", 429, "", 0, -1, "{\"meta\":{\"retryAfter\":1e9},\"errors\":[]}");
    CHECK(r.left == -1); /* absurd hints are ignored, not obeyed for 30 years */
    r = rate_of("scenario", 429, "", 0, -1, "{\"remainingSeconds\":1.5}");
    CHECK(r.left == 0 && r.until == 1.5);
    r = rate_of("scenario", 200, "", 0, -1, "{\"remainingSeconds\":1.5}");
    CHECK(r.left == -1);
    static const char rl[] = "X-RateLimit-Limit: 500\0x-ratelimit-remaining:  12 \0";
    r = rate_of("fount", 200, rl, sizeof(rl) - 1, -1, "{}");
    CHECK(r.left == 12 && r.until == 60 && r.limit == 500);
    static const char zero[] = "X-RateLimit-Remaining: 0\0";
    r = rate_of("fount", 200, zero, sizeof(zero) - 1, -1, "{}");
    CHECK(r.left == 0 && r.until == 60 && r.limit == 0); /* no limit named */
    char reset[128];
    long long at = (long long)time(NULL) + 30;
    int n = snprintf(reset, sizeof(reset), "X-RateLimit-Remaining: 0%cX-RateLimit-Reset: %lld%c", 0,
                     at, 0);
    /* to the sub-second, not late: between the reset seen from just before and just after (a
     * second may tick between time() above and the provider's own clock) */
    struct timespec t0, t1;
    clock_gettime(CLOCK_REALTIME, &t0);
    r = rate_of("fount", 429, reset, (size_t)n, -1, "{}");
    clock_gettime(CLOCK_REALTIME, &t1);
    CHECK(r.left == 0 && r.until >= (double)at - (t1.tv_sec + t1.tv_nsec / 1e9) &&
          r.until <= (double)at - (t0.tv_sec + t0.tv_nsec / 1e9));
    n = snprintf(reset, sizeof(reset), "X-RateLimit-Remaining: 3%cX-RateLimit-Reset: %lld%c", 0,
                 (long long)time(NULL) - 1, 0);
    r = rate_of("fount", 200, reset, (size_t)n, -1, "{}");
    CHECK(r.left == 3 && r.until == 0); /* the window ended in flight: not a whole minute */
    r = rate_of("fount", 429, zero, sizeof(zero) - 1, 5, "{}"); /* Retry-After wins */
    CHECK(r.left == 0 && r.until == 5);
    /* a count past any real limit is clamped, so the pacing's left + 1 cannot overflow */
    static const char huge[] = "X-RateLimit-Remaining: 9223372036854775807\0";
    r = rate_of("fount", 200, huge, sizeof(huge) - 1, -1, "{}");
    CHECK(r.left == 1000000 && r.until == 60);
    static const char huger[] = "X-RateLimit-Remaining: 99999999999999999999999\0";
    r = rate_of("fount", 200, huger, sizeof(huger) - 1, -1, "{}");
    CHECK(r.left == 1000000);
    static const char junk[] = "X-RateLimit-Remaining: lots\0";
    r = rate_of("fount", 200, junk, sizeof(junk) - 1, -1, "{}");
    CHECK(r.left == -1);
    /* a named limit is bounded like a count, and one that is no count is not one */
    static const struct {
        const char *value;
        long limit;
    } limits[] = {{"99999999999999", 1000000}, {"-500", 0}, {"500 a minute", 0}};
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        char h[96];
        n = snprintf(h, sizeof(h), "X-RateLimit-Limit: %s%cX-RateLimit-Remaining: 3%c",
                     limits[i].value, 0, 0);
        r = rate_of("fount", 200, h, (size_t)n, -1, "{}");
        CHECK(r.left == 3 && r.limit == limits[i].limit);
    }
}

static void response_headers(void)
{
    struct http_resp r = {0};
    static const char h[] = "Content-Type: application/json\0X-Thing:\tv a l \0Empty:\0";
    memcpy(r.headers, h, sizeof(h) - 1);
    r.headers_len = sizeof(h) - 1;
    char v[16];
    CHECK(http_resp_header(&r, "x-thing", v, sizeof(v)) && strcmp(v, "v a l") == 0);
    CHECK(http_resp_header(&r, "empty", v, sizeof(v)) && strcmp(v, "") == 0);
    CHECK(!http_resp_header(&r, "x-thin", v, sizeof(v)));
    CHECK(!http_resp_header(&r, "content-type", v, 4)); /* too long for out: absent */
}

static void sections(void)
{
    const char *unknown[] = {"type", "dropbox", NULL};
    CHECK(make("x", unknown) == NULL);
    /* every type this binary knows is named in the refusal */
    static struct config_kv kv[] = {{"type", "dropbox", 1}};
    struct config_section s = {.name = "x", .line = 1, .kv = kv, .n = 1};
    struct config_global g;
    config_defaults(&g);
    char err[512];
    struct provider *p = NULL;
    CHECK(provider_create(&s, &g, &p, err, sizeof(err)) == -EINVAL);
    for (size_t i = 0; provider_type(i); i++)
        CHECK(strstr(err, provider_type(i)) != NULL);

    /* credentials over plain HTTP to another machine: refused unless allowed */
    const char *remote[] = {"type", "fount", "url", "http://fount.example.com", "token", "t", NULL};
    CHECK(make("f", remote) == NULL);
    const char *remote_env[] = {"type",      "fount", "url", "http://10.1.2.3:8080/x",
                                "token_env", "TOK",   NULL};
    CHECK(make("f", remote_env) == NULL);
    const char *allowed[] = {
        "type", "fount", "url", "http://fount.example.com", "token", "t", "allow_insecure_http",
        "yes",  NULL};
    p = make("f", allowed);
    CHECK(p != NULL);
    provider_free(p);
    const char *tls[] = {"type", "fount", "url", "https://fount.example.com", "token", "t", NULL};
    p = make("f", tls);
    CHECK(p != NULL);
    provider_free(p);
    const char *hosts[] = {"http://localhost:8080", "http://127.0.0.1", "http://127.9.8.7:1/a",
                           "http://[::1]:99", "http://api.localhost"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        const char *loop[] = {"type", "fount", "url", hosts[i], "token", "t", NULL};
        p = make("f", loop);
        CHECK(p != NULL);
        provider_free(p);
    }
    /* no credentials, nothing to protect: Honcho without a token over http is fine */
    const char *open[] = {"type",    "honcho", "url", "http://honcho.example.com", "app_id", "A",
                          "user_id", "U",      NULL};
    p = make("h", open);
    CHECK(p != NULL);
    provider_free(p);
    const char *ftp[] = {"type", "fount", "url", "ftp://x", "token", "t", NULL};
    CHECK(make("f", ftp) == NULL);

    /* a user name or password in url is refused, the message names the secret keys to use
     * instead and never holds the url's credentials */
    const char *in_url[] = {"https://alice:hunter2@fount.example.com", "http://alice@127.0.0.1:9",
                            "http://:hunter2@127.0.0.1:9/x"};
    for (size_t i = 0; i < sizeof(in_url) / sizeof(in_url[0]); i++) {
        static struct config_kv ukv[] = {
            {"type", "scenario", 1}, {"url", NULL, 2}, {"api_key", "k", 3}, {"api_secret", "s", 4}};
        ukv[1].value = (char *)in_url[i];
        struct config_section us = {.name = "u", .line = 1, .kv = ukv, .n = 4};
        p = NULL;
        err[0] = '\0';
        CHECK(provider_create(&us, &g, &p, err, sizeof(err)) == -EINVAL && p == NULL);
        CHECK(strstr(err, "user name or password") && strstr(err, "api_key, api_secret or token"));
        CHECK(!strstr(err, "hunter2") && !strstr(err, "alice"));
    }
}

/* The fleet's names: a listing key and a rate group say whose data without any secret. */
static void fleet_keys(void)
{
    const char *a[] = {"type", "fount", "url", "http://127.0.0.1:9/", "token", "tok-A", NULL};
    const char *a2[] = {"type",       "fount",        "url", "http://127.0.0.1:9", "token", "tok-A",
                        "rate_group", "fount user 7", NULL};
    const char *b[] = {"type", "fount", "url", "http://127.0.0.1:9", "token", "tok-B", NULL};
    const char *h[] = {"type",    "hivo", "url", "http://127.0.0.1:9", "user_id", "u1",
                       "api_key", "K",    NULL};
    const char *h2[] = {"type",    "hivo", "url", "http://127.0.0.1:9", "user_id", "u2",
                        "api_key", "K",    NULL};
    struct provider *pa = make("one", a), *pa2 = make("two", a2), *pb = make("one", b);
    struct provider *ph = make("h", h), *ph2 = make("h", h2);
    CHECK(pa && pa2 && pb && ph && ph2);
    if (pa && pa2 && pb && ph && ph2) {
        /* the same data whatever the section is called; a trailing / and rate_group aside */
        CHECK_STR(pa->listing_key, pa2->listing_key);
        /* a token alone selects Fount's data: another token, another listing */
        CHECK(strcmp(pa->listing_key, pb->listing_key) != 0);
        CHECK(strcmp(ph->listing_key, ph2->listing_key) != 0);
        CHECK(!strstr(pa->listing_key, "tok-A") && !strstr(pa->rate_group, "tok-A"));
        CHECK(!strstr(ph->listing_key, "|api_key") && strstr(ph->listing_key, "|user_id=u1"));
        CHECK(strncmp(pa->listing_key, "fount|as=", 9) == 0 && strlen(pa->listing_key) <= 512);
        for (const char *c = pa->listing_key; *c; c++)
            CHECK(*c > 0x20 && *c < 0x7f);
        CHECK_STR(pa2->rate_group, "fount|group=fount%20user%207");
        CHECK(strcmp(pa->rate_group, pb->rate_group) != 0);
    }
    provider_free(pa);
    provider_free(pa2);
    provider_free(pb);
    provider_free(ph);
    provider_free(ph2);
}

int main(void)
{
    fleet_keys();
    honcho();
    hivo();
    fount();
    scenario();
    error_texts();
    rates();
    response_headers();
    sections();
    return check_done();
}
