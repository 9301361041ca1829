/* What all providers share: the registry of types, the checks every section
 * gets (known keys, secrets kept out of readable files and off plain HTTP),
 * URL building, turning a collection object into an item, and reading error
 * bodies and rate-limit signals. */
#include "provider.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "errmsg.h"
#include "isotime.h"
#include "json.h"
#include "render.h"
#include "secret.h"
#include "utf8.h"

#define ERROR_TEXT_MAX 160 /* bytes of an error body's text in a log line */

/* The registry: CFS_PROVIDERS is PROVIDER(name) for each name in
 * src/providers/meson.build. */
#define PROVIDER(name) extern const struct provider_ops name##_ops;
CFS_PROVIDERS
#undef PROVIDER

static const struct provider_ops *const types[] = {
#define PROVIDER(name) &name##_ops,
    CFS_PROVIDERS
#undef PROVIDER
};

#define N_TYPES (sizeof(types) / sizeof(types[0]))

/* Keys every section may have, whatever its type. */
static const struct config_key common_keys[] = {
    {"type", false},       {"url", false}, {"ca_file", false}, {"allow_insecure_http", false},
    {"rate_group", false}, {NULL, false}};

const char *provider_type(size_t i)
{
    return i < N_TYPES ? types[i]->type : NULL;
}

static const struct provider_ops *find_type(const char *type)
{
    for (size_t i = 0; type && i < N_TYPES; i++)
        if (strcmp(types[i]->type, type) == 0)
            return types[i];
    return NULL;
}

static int unknown_type(const struct config_section *s, const char *type, char *err, size_t errlen)
{
    int off = snprintf(err, errlen, "config: [%s] (line %d): unknown type '%s'; use", s->name,
                       s->line, type ? type : "");
    for (size_t i = 0; i < N_TYPES && off >= 0 && (size_t)off < errlen; i++)
        off += snprintf(err + off, errlen - off, "%s %s",
                        i == 0             ? ""
                        : i + 1 == N_TYPES ? " or"
                                           : ",",
                        types[i]->type);
    return -EINVAL;
}

/* The type's keys and the common ones in one list for config_check_keys. */
static int check_keys(const struct provider_ops *ops, const struct config_section *s, char *err,
                      size_t errlen)
{
    size_t n = 0, c = sizeof(common_keys) / sizeof(common_keys[0]) - 1;
    while (ops->keys && ops->keys[n].name)
        n++;
    struct config_key *all = calloc(n + c + 1, sizeof(*all));
    if (!all)
        return -ENOMEM;
    memcpy(all, common_keys, c * sizeof(*all));
    if (n)
        memcpy(all + c, ops->keys, n * sizeof(*all));
    int rc = config_check_keys(s, all, err, errlen);
    free(all);
    return rc;
}

/* A secret written into a file that others can read is refused (ssh's rule for keys). */
static int check_inline_secrets(const struct provider_ops *ops, const struct config_section *s,
                                char *err, size_t errlen)
{
    if (!s->exposed)
        return 0;
    for (const struct config_key *k = ops->keys; k && k->name; k++)
        if (k->secret && config_get(s, k->name))
            return snprintf(err, errlen,
                            "config: %s holds an inline secret (%s in [%s]) and is readable by "
                            "group or others; run chmod 600 %s or use %s_env/%s_file/%s_command",
                            s->file, k->name, s->name, s->file, k->name, k->name, k->name),
                   -EACCES;
    return 0;
}

static bool has_secret(const struct provider_ops *ops, const struct config_section *s)
{
    for (const struct config_key *k = ops->keys; k && k->name; k++)
        if (k->secret && config_has_secret(s, k->name))
            return true;
    return false;
}

/* libcurl resolves any *.localhost to loopback itself, whatever the resolver says */
static bool is_loopback(const char *host)
{
    size_t n = strlen(host);
    return http_host_loopback(host) || (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0);
}

/* The secret keys of a type, for a message: "token", "api_key or api_secret". */
static void secret_names(const struct provider_ops *ops, char *out, size_t outlen)
{
    size_t n = 0, off = 0;
    for (const struct config_key *k = ops->keys; k && k->name; k++)
        n += k->secret;
    out[0] = '\0';
    for (const struct config_key *k = ops->keys; k && k->name && off < outlen; k++) {
        if (!k->secret)
            continue;
        int w = snprintf(out + off, outlen - off, "%s%s",
                         off == 0   ? ""
                         : --n == 1 ? " or "
                                    : ", ",
                         k->name);
        off += w > 0 ? (size_t)w : 0;
    }
}

/* Credentials sent over plain HTTP to another machine can be read on the way:
 * refuse unless the section says the network is trusted. A user:password@ in
 * the url is a credential that none of the secret rules would cover (libcurl
 * sends it as Basic auth, over plain HTTP too, and the url goes into the shared
 * cache's key names): refused, without echoing the url. */
static int check_transport(struct provider *p, const struct config_section *s, char *err,
                           size_t errlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL;
    int rc = 0;
    if (!u)
        return -ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, p->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
        rc = -EINVAL;
        snprintf(err, errlen, "config: [%s]: url is not an http:// or https:// URL with a host",
                 s->name);
    } else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
               curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
        char keys[128];
        secret_names(p->ops, keys, sizeof(keys));
        rc = -EINVAL;
        snprintf(err, errlen,
                 "config: [%s]: url holds a user name or password (user:password@ before %s); "
                 "remove it from url and give the credential with %s (inline, or as "
                 "*_env, *_file or *_command)",
                 s->name, host, keys[0] ? keys : "the section's secret keys");
    } else if (strcasecmp(scheme, "http") == 0 && !is_loopback(host) && has_secret(p->ops, s)) {
        const char *allow = config_get(s, "allow_insecure_http");
        bool yes = allow && (strcasecmp(allow, "yes") == 0 || strcasecmp(allow, "true") == 0 ||
                             strcmp(allow, "1") == 0);
        if (!yes) {
            rc = -EINVAL;
            snprintf(err, errlen,
                     "config: [%s]: url is plain http:// to %s, which is not this machine, and the "
                     "section has credentials that would cross the network unencrypted; use "
                     "https://, or add allow_insecure_http = yes if the network is trusted",
                     s->name, host);
        }
    }
    /* what loopback is allowed rests on the request staying on this machine:
     * http_perform keeps it off any proxy */
    if (rc == 0)
        p->http.direct = is_loopback(host);
    if (password)
        explicit_bzero(password, strlen(password));
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(u);
    return rc;
}

int provider_opt(const struct config_section *s, const char *key, char **out)
{
    const char *v = config_get(s, key);
    *out = v ? strdup(v) : NULL;
    return v && !*out ? -ENOMEM : 0;
}

/* A key that gives a secret, in any of its forms. */
static bool secret_key(const struct provider_ops *ops, const char *key)
{
    for (const struct config_key *k = ops->keys; k && k->name; k++) {
        size_t n = strlen(k->name);
        if (!k->secret || strncmp(key, k->name, n) != 0)
            continue;
        for (size_t i = 0; config_secret_forms[i]; i++)
            if (strcmp(key + n, config_secret_forms[i]) == 0)
                return true;
    }
    return false;
}

/* Whose data the section shows: its URL and keys, with the secrets as resolved
 * rather than where they come from (a rotated token may belong to someone
 * else). Only ever compared across a reload, never shown. FNV-1a. */
static uint64_t account_of(const struct provider *p, const struct config_section *s)
{
    uint64_t h = secret_digest();
    const char *parts[2];
    for (size_t i = 0; i <= s->n; i++) {
        parts[0] = i < s->n ? s->kv[i].key : "url";
        parts[1] = i < s->n ? s->kv[i].value : p->url;
        if (i < s->n && (secret_key(p->ops, parts[0]) || strcmp(parts[0], "url") == 0))
            continue;
        for (int j = 0; j < 2; j++) {
            for (const unsigned char *c = (const unsigned char *)parts[j]; *c; c++)
                h = (h ^ *c) * 0x100000001b3ULL;
            h = (h ^ 0xff) * 0x100000001b3ULL;
        }
    }
    return h;
}

/* What selects the data, as text: the type, the URL and every key that is not a
 * secret or a transport setting, escaped. Daemons whose sections give the same
 * text list the same data, whoever's credentials they hold (those are checked
 * with the provider by each daemon itself): the shared cache's key. */
static char *listing_key_of(const struct provider *p, const struct config_section *s,
                            const char *creds)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    /* whose data: the credentials' fingerprint (a token alone selects Fount's and Scenario's) */
    int rc = buf_addf(&b, "%s|as=%s", p->ops->type, creds);
    for (size_t i = 0; rc == 0 && i <= s->n; i++) {
        const char *k = i < s->n ? s->kv[i].key : "url";
        const char *v = i < s->n ? s->kv[i].value : p->url;
        if (i < s->n && (secret_key(p->ops, k) || strcmp(k, "type") == 0 || strcmp(k, "url") == 0 ||
                         strcmp(k, "ca_file") == 0 || strcmp(k, "allow_insecure_http") == 0 ||
                         strcmp(k, "rate_group") == 0))
            continue;
        char *ek = provider_escape(k), *ev = provider_escape(v);
        rc = ek && ev ? buf_addf(&b, "|%s=%s", ek, ev) : -ENOMEM;
        free(ek);
        free(ev);
    }
    /* the shared cache takes keys of up to 512 bytes: a longer one keeps its head and a digest */
    if (rc == 0 && b.len > 480) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < b.len; i++)
            h = (h ^ (unsigned char)b.p[i]) * 0x100000001b3ULL;
        b.len = 460;
        rc = buf_addf(&b, "#%016llx", (unsigned long long)h);
    }
    if (rc < 0) {
        buf_free(&b);
        return NULL;
    }
    return (char *)b.p;
}

/* Whose rate budget: the section's rate_group (one user's several tokens), else the same
 * credentials at the same URL. Escaped, as the listing key is. */
static char *rate_group_of(const struct provider *p, const struct config_section *s,
                           const char *creds)
{
    const char *group = config_get(s, "rate_group");
    char *e = provider_escape(group ? group : p->url), *out = NULL;
    if (e && asprintf(&out, group ? "%s|group=%s" : "%s|as=%s|url=%s", p->ops->type,
                      group ? e : creds, e) < 0)
        out = NULL;
    free(e);
    return out;
}

int provider_create(const struct config_section *s, const struct config_global *g,
                    struct provider **out, char *err, size_t errlen)
{
    const char *type = config_get(s, "type");
    const struct provider_ops *ops = find_type(type);
    if (!ops)
        return unknown_type(s, type, err, errlen);
    int rc = check_keys(ops, s, err, errlen);
    if (rc == 0)
        rc = check_inline_secrets(ops, s, err, errlen);
    struct provider *p = rc == 0 ? calloc(1, sizeof(*p)) : NULL;
    if (p && !(p->pace = calloc(1, sizeof(*p->pace)))) {
        free(p);
        p = NULL;
    }
    if (!p) {
        if (rc == 0 || rc == -ENOMEM)
            snprintf(err, errlen, "config: [%s]: out of memory", s->name);
        return rc ? rc : -ENOMEM;
    }
    pthread_mutex_init(&p->pace->lock, NULL);
    p->ops = ops;
    p->timeout_ms = g->timeout * 1000;
    p->page_size = ops->page_size;
    p->http.max_response = g->max_response;
    const char *url = config_get(s, "url");
    char *ca = NULL;
    if (!(p->section = strdup(s->name)) || !(p->url = strdup(url ? url : ops->default_url)) ||
        provider_opt(s, "ca_file", &ca) < 0) {
        rc = -ENOMEM;
        goto fail;
    }
    p->http.ca_file = ca;
    p->http.section = p->section;
    if (ca && ca[0] != '/') {
        /* libcurl opens it at each handshake, relative to the daemon's directory: / once
         * mounted, so --check would pass and every request of the mount fail */
        rc = errmsg(err, errlen, -EINVAL,
                    "config: [%s]: ca_file = %s is a relative path; give an absolute one (once "
                    "mounted the daemon works in /)",
                    s->name, ca);
        goto fail;
    }
    /* "https://host/" and "https://host" mean the same base */
    size_t n = strlen(p->url);
    while (n > 0 && p->url[n - 1] == '/')
        p->url[--n] = '\0';
    err[0] = '\0';
    p->http.cancel = &p->cancelled;
    secret_digest(); /* start afresh: what configure resolves is this section's */
    secret_fingerprint_begin();
    char creds[33];
    if ((rc = check_transport(p, s, err, errlen)) < 0 ||
        (rc = ops->configure(p, s, err, errlen)) < 0) {
        secret_fingerprint_end(creds);
        goto fail;
    }
    p->account = account_of(p, s);
    if (secret_fingerprint_end(creds) < 0 || !(p->listing_key = listing_key_of(p, s, creds)) ||
        !(p->rate_group = rate_group_of(p, s, creds))) {
        rc = -ENOMEM;
        goto fail;
    }
    *out = p;
    return 0;
fail:
    if (rc == -ENOMEM || !err[0]) /* a provider's calloc failed, or it forgot to say */
        snprintf(err, errlen, "config: [%s]: %s", s->name, strerror(-rc));
    provider_free(p);
    return rc;
}

void provider_cancel(struct provider *p)
{
    __atomic_store_n(&p->cancelled, 1, __ATOMIC_SEQ_CST);
    http_wake();
}

void provider_free(struct provider *p)
{
    if (!p)
        return;
    if (p->ops && p->ops->destroy)
        p->ops->destroy(p);
    if (p->pace) {
        pthread_mutex_destroy(&p->pace->lock);
        free(p->pace);
    }
    free((char *)p->http.ca_file);
    free(p->section);
    free(p->url);
    free(p->listing_key);
    free(p->rate_group);
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

char *provider_collection_url(const struct provider *p, const char *prefix, const char *dir,
                              const char *id)
{
    char *e = provider_escape(id), *rest = NULL, *u = NULL;
    if (e && asprintf(&rest, "%s/%s", dir, e) >= 0)
        u = provider_url(p, prefix, rest);
    free(e);
    free(rest);
    return u; /* no user:password@: check_transport refuses a url with one */
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

/* provider_item, rendering through rb: a page's items share one buffer, so
 * each metadata.json costs one exact malloc instead of a buffer's growth. */
static int fill_item(const struct json *obj, const struct json *id, const struct json *name,
                     const struct json *created, const struct json *updated, struct render_buf *rb,
                     struct item *out)
{
    memset(out, 0, sizeof(*out));
    bool ok = (json_is(id, JSON_STRING) && id->len > 0 && !memchr(id->text, '\0', id->len)) ||
              (json_is(id, JSON_NUMBER) && !strpbrk(id->text, ".eE"));
    if (!ok)
        return -EINVAL;
    if (render_json_to(obj, rb) < 0)
        return -ENOMEM;
    /* One allocation for id, name and metadata.json: the item lives only until
     * listing_add has encoded it, and malloc and free showed in the profile of
     * a cold listing. */
    bool named = json_is(name, JSON_STRING);
    size_t idl = strlen(id->text), nl = named ? name->len : 0;
    char *m = malloc(idl + 1 + (named ? nl + 1 : 0) + rb->len + 1);
    if (!m)
        return -ENOMEM;
    out->packed = true;
    out->id = memcpy(m, id->text, idl + 1);
    m += idl + 1;
    if (named) {
        out->name = memcpy(m, name->text, nl + 1);
        out->name_len = nl;
        m += nl + 1;
    }
    out->has_created = parse_time(created, &out->created);
    out->has_updated = parse_time(updated, &out->updated);
    out->json = memcpy(m, rb->p, rb->len + 1);
    out->json_len = rb->len;
    return 0;
}

int provider_item(const struct json *obj, const struct json *id, const struct json *name,
                  const struct json *created, const struct json *updated, struct item *out)
{
    struct render_buf rb = {0};
    int rc = fill_item(obj, id, name, created, updated, &rb, out);
    render_buf_free(&rb);
    return rc;
}

int provider_items(const struct json *list, const struct provider_fields *f, struct page *out)
{
    out->items = calloc(list->len ? list->len : 1, sizeof(*out->items));
    if (!out->items)
        return -ENOMEM;
    struct render_buf rb = {0};
    int rc = 0;
    for (size_t i = 0; i < list->len && rc != -ENOMEM; i++) {
        const struct json *c = list->kids[i];
        const struct json *a = f->attrs ? json_get(c, f->attrs) : c;
        rc = fill_item(c, json_get(c, f->id), json_get(a, f->name), json_get(a, f->created),
                       f->updated ? json_get(a, f->updated) : NULL, &rb, &out->items[out->n]);
        if (rc == 0)
            out->n++;
        else if (rc != -ENOMEM)
            out->skipped++;
    }
    render_buf_free(&rb);
    return rc == -ENOMEM ? rc : 0;
}

void provider_item_free(struct item *it)
{
    free(it->id);
    if (!it->packed) {
        free(it->name);
        free(it->json);
    }
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

/* The common places for a message: a string under one of these keys. */
static const char *common_error(const struct json *d)
{
    static const char *const keys[] = {"detail", "message", "reason", "error", "title"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct json *v = json_get(d, keys[i]);
        if (json_is(v, JSON_STRING))
            return v->text;
    }
    return NULL;
}

char *provider_error_text(const struct provider_ops *ops, const struct json *body, const char *raw,
                          size_t len)
{
    if (!body)
        return len == 0 ? NULL : strdup(raw[0] == '<' ? "an HTML page, not JSON" : "not JSON");
    const char *s = ops && ops->error_text ? ops->error_text(body) : NULL;
    if (!s)
        s = common_error(body);
    if (!s)
        return NULL;
    /* One short printable line: a log line must not be forged by the server, and
     * must stay valid UTF-8 (journald shows anything else as a blob): cut at a
     * character boundary, invalid bytes replaced as names replace them. */
    char *r = malloc(ERROR_TEXT_MAX + 1);
    if (!r)
        return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t left = strlen(s), o = 0;
    while (left > 0) {
        size_t n = utf8_len(u, left);
        const char *out = n ? (const char *)u : "\xef\xbf\xbd";
        size_t outlen = n ? n : 3;
        if (n == 1 && (*u < 0x20 || *u == 0x7f))
            out = " ";
        if (o + outlen > ERROR_TEXT_MAX)
            break;
        memcpy(r + o, out, outlen);
        o += outlen;
        u += n ? n : 1;
        left -= n ? n : 1;
    }
    r[o] = '\0';
    return r;
}

double provider_seconds(const struct json *v)
{
    if (!json_is(v, JSON_NUMBER))
        return -1;
    return http_hint_seconds(strtod(v->text, NULL));
}

void provider_rate_default(const struct http_resp *r, const struct json *body, struct rate *out)
{
    (void)body;
    out->left = -1;
    out->until = 0;
    out->limit = 0;
    if ((r->status == 429 || r->status == 503) && r->retry_after >= 0) {
        out->left = 0;
        out->until = r->retry_after;
    }
}

void provider_rate(const struct provider_ops *ops, const struct http_resp *r,
                   const struct json *body, struct rate *out)
{
    if (ops && ops->rate)
        ops->rate(r, body, out);
    else
        provider_rate_default(r, body, out);
}
