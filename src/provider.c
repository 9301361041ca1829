/* What all providers share: the registry of types, URL building, turning a
 * collection object into an item, and reading error bodies. */
#include "provider.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "isotime.h"
#include "json.h"
#include "render.h"

extern const struct provider_ops honcho_ops, hivo_ops, fount_ops, scenario_ops;

static const struct provider_ops *const types[] = {&honcho_ops, &hivo_ops, &fount_ops,
                                                   &scenario_ops};

const char *provider_type(size_t i)
{
    return i < sizeof(types) / sizeof(types[0]) ? types[i]->type : NULL;
}

int provider_create(const struct config_section *s, const struct config_global *g,
                    struct provider **out, char *err, size_t errlen)
{
    const char *type = config_get(s, "type");
    const struct provider_ops *ops = NULL;
    for (size_t i = 0; type && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(types[i]->type, type) == 0)
            ops = types[i];
    if (!ops) {
        snprintf(err, errlen,
                 "config: [%s] (line %d): unknown type '%s'; use honcho, hivo, fount or scenario",
                 s->name, s->line, type ? type : "");
        return -EINVAL;
    }
    struct provider *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->ops = ops;
    pthread_mutex_init(&p->pace_lock, NULL);
    p->section = strdup(s->name);
    p->timeout_ms = g->timeout * 1000;
    p->http.max_response = g->max_response;
    const char *ca = config_get(s, "ca_file");
    p->http.ca_file = ca ? strdup(ca) : NULL;
    p->http.section = p->section;
    int rc = ops->configure(p, s, err, errlen);
    if (rc == 0 && !p->url) {
        snprintf(err, errlen, "config: [%s]: no url", s->name);
        rc = -EINVAL;
    }
    if (rc < 0) {
        provider_free(p);
        return rc;
    }
    /* "https://host/" and "https://host" mean the same base */
    size_t n = strlen(p->url);
    while (n > 0 && p->url[n - 1] == '/')
        p->url[--n] = '\0';
    *out = p;
    return 0;
}

void provider_free(struct provider *p)
{
    if (!p)
        return;
    if (p->ops && p->ops->destroy)
        p->ops->destroy(p);
    pthread_mutex_destroy(&p->pace_lock);
    free((char *)p->http.ca_file);
    free(p->section);
    free(p->url);
    free(p);
}

char *provider_url(const struct provider *p, const char *prefix, const char *rest)
{
    size_t bl = strlen(p->url), pl = strlen(prefix);
    /* Accept a base URL given with or without the API's version prefix. */
    bool has = bl >= pl && strcmp(p->url + bl - pl, prefix) == 0;
    size_t n = bl + (has ? 0 : pl) + strlen(rest) + 1;
    char *u = malloc(n);
    if (u)
        snprintf(u, n, "%s%s%s", p->url, has ? "" : prefix, rest);
    return u;
}

char *provider_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *r = e ? strdup(e) : NULL;
    curl_free(e);
    return r;
}

/* Provider times come as ISO-8601 strings or as unix seconds. */
static bool parse_time(const struct json *v, struct timespec *t)
{
    if (json_is(v, JSON_STRING))
        return isotime_parse(v->text, v->len, t) == 0;
    if (!json_is(v, JSON_NUMBER))
        return false;
    char *end;
    double d = strtod(v->text, &end);
    if (*end || !isfinite(d) || d > 253402300799.0 || d < -62135596800.0)
        return false;
    double s = floor(d);
    t->tv_sec = (time_t)s;
    long ns = (long)((d - s) * 1e9);
    t->tv_nsec = ns < 0 ? 0 : ns > 999999999 ? 999999999 : ns; /* rounding can reach 1e9 */
    return true;
}

int provider_item(const struct json *obj, const struct json *id, const struct json *name,
                  const struct json *created, const struct json *updated, struct item *out)
{
    memset(out, 0, sizeof(*out));
    if (json_is(id, JSON_STRING) && id->len > 0 && !memchr(id->text, '\0', id->len))
        out->id = strdup(id->text);
    else if (json_is(id, JSON_NUMBER) && !strpbrk(id->text, ".eE"))
        out->id = strdup(id->text);
    else
        return -EINVAL;
    if (!out->id)
        return -ENOMEM;
    if (json_is(name, JSON_STRING)) {
        out->name = malloc(name->len + 1);
        if (!out->name)
            goto nomem;
        memcpy(out->name, name->text, name->len + 1);
        out->name_len = name->len;
    }
    out->has_created = parse_time(created, &out->created);
    out->has_updated = parse_time(updated, &out->updated);
    if (render_json(obj, &out->json, &out->json_len) < 0)
        goto nomem;
    return 0;
nomem:
    provider_item_free(out);
    return -ENOMEM;
}

int provider_items(const struct json *list, const struct provider_fields *f, struct page *out)
{
    out->items = calloc(list->len ? list->len : 1, sizeof(*out->items));
    if (!out->items)
        return -ENOMEM;
    for (size_t i = 0; i < list->len; i++) {
        const struct json *c = list->kids[i];
        const struct json *a = f->attrs ? json_get(c, f->attrs) : c;
        int rc = provider_item(c, json_get(c, f->id), json_get(a, f->name),
                               json_get(a, f->created), f->updated ? json_get(a, f->updated) : NULL,
                               &out->items[out->n]);
        if (rc == -ENOMEM)
            return rc;
        if (rc == 0)
            out->n++;
        else
            out->skipped++;
    }
    return 0;
}

void provider_item_free(struct item *it)
{
    free(it->id);
    free(it->name);
    free(it->json);
    memset(it, 0, sizeof(*it));
}

void provider_page_free(struct page *pg)
{
    for (size_t i = 0; i < pg->n; i++)
        provider_item_free(&pg->items[i]);
    free(pg->items);
    provider_cursor_free(&pg->next);
    memset(pg, 0, sizeof(*pg));
}

int provider_cursor_copy(struct cursor *dst, const struct cursor *src)
{
    *dst = *src;
    if (src->token && !(dst->token = strdup(src->token)))
        return -ENOMEM;
    return 0;
}

void provider_cursor_free(struct cursor *c)
{
    free(c->token);
    c->token = NULL;
}

/* The first string found among the places the four APIs put a message. */
static const char *error_string(const struct json *d)
{
    static const char *const keys[] = {"detail", "message", "reason", "error", "title"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct json *v = json_get(d, keys[i]);
        if (json_is(v, JSON_STRING))
            return v->text;
        if (json_is(v, JSON_ARRAY) && v->len > 0) /* FastAPI 422: [{"msg": ...}] */
            return error_string(v->kids[0]) ? error_string(v->kids[0])
                                            : (json_is(json_get(v->kids[0], "msg"), JSON_STRING)
                                                   ? json_get(v->kids[0], "msg")->text
                                                   : NULL);
    }
    const struct json *errs = json_get(d, "errors"); /* JSON:API */
    if (json_is(errs, JSON_ARRAY) && errs->len > 0) {
        const struct json *e = json_get(errs->kids[0], "detail");
        if (!json_is(e, JSON_STRING))
            e = json_get(errs->kids[0], "title");
        if (json_is(e, JSON_STRING))
            return e->text;
    }
    const struct json *data = json_get(d, "data"); /* Fount's documented envelope */
    if (json_is(data, JSON_OBJECT))
        return error_string(data);
    return NULL;
}

char *provider_error_text(const char *body, size_t len)
{
    if (!body || len == 0)
        return NULL;
    char perr[64];
    struct json *d = json_parse(body, len, perr, sizeof(perr));
    if (!d)
        return strdup(len > 0 && body[0] == '<' ? "an HTML page, not JSON" : "not JSON");
    const char *s = error_string(d);
    char *r = NULL;
    if (s) {
        /* one short printable line: a log line must not be forged by the server */
        size_t n = strlen(s) < 160 ? strlen(s) : 160;
        r = malloc(n + 1);
        for (size_t i = 0; r && i < n; i++)
            r[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
        if (r)
            r[n] = '\0';
    }
    json_free(d);
    return r;
}

double provider_retry_hint(const struct json *doc)
{
    const struct json *v = json_get(json_get(doc, "meta"), "retryAfter"); /* HIVO */
    if (!v)
        v = json_get(doc, "remainingSeconds"); /* Scenario */
    if (!json_is(v, JSON_NUMBER))
        return -1;
    double d = strtod(v->text, NULL);
    return isfinite(d) && d >= 0 && d < 86400 ? d : -1;
}
