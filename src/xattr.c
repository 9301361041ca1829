/* Extended attribute encoding; see xattr.h. */
#include "xattr.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Add name = the len bytes at v (both copied). */
static int add(struct xattr_set *s, const char *name, const char *v, size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct xattr *a = realloc(s->a, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        s->a = a;
        s->cap = cap;
    }
    char *c = malloc(len ? len : 1), *n = strdup(name);
    if (!c || !n) {
        free(c);
        free(n);
        return -ENOMEM;
    }
    memcpy(c, v, len);
    s->a[s->n++] = (struct xattr){n, c, len};
    return 0;
}

static int addf(struct xattr_set *s, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int addf(struct xattr_set *s, const char *name, const char *fmt, ...)
{
    char v[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    return n < 0 ? -ENOMEM : add(s, name, v, (size_t)n < sizeof(v) ? (size_t)n : sizeof(v) - 1);
}

static int add_str(struct xattr_set *s, const char *name, const char *v)
{
    return v && v[0] ? add(s, name, v, strlen(v)) : 0;
}

static int add_time(struct xattr_set *s, const char *name, const struct timespec *t)
{
    char v[64];
    return add(s, name, v, xattr_time(t, v, sizeof(v)));
}

/* A wall-clock second, absent when 0 (never). */
static int add_sec(struct xattr_set *s, const char *name, time_t sec)
{
    struct timespec t = {sec, 0};
    return sec ? add_time(s, name, &t) : 0;
}

size_t xattr_time(const struct timespec *t, char *buf, size_t size)
{
    struct tm tm;
    time_t sec = t->tv_sec;
    if (!gmtime_r(&sec, &tm) || size < 32) {
        if (size)
            buf[0] = '\0';
        return 0;
    }
    /* not strftime's %Y: glibc does not pad it, and ISO 8601 wants year 1 as 0001 */
    char frac[16] = "";
    if (t->tv_nsec > 0 && t->tv_nsec < 1000000000) {
        snprintf(frac, sizeof(frac), ".%09ld", t->tv_nsec);
        size_t f = strlen(frac);
        while (frac[f - 1] == '0')
            f--;
        frac[f] = '\0';
    }
    int n = snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900LL,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n < size ? (size_t)n : size - 1;
}

int xattr_root(struct xattr_set *s, const char *version, const char *reload_error,
               const struct xattr_section *sec, size_t n)
{
    int rc = add_str(s, XATTR_PREFIX "version", version);
    if (rc == 0)
        rc = add_str(s, XATTR_PREFIX "reload_error", reload_error);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct xattr_set one = {0};
        char *text = NULL, *name = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        rc = f ? xattr_section(&one, sec[i].section, sec[i].type, &sec[i].st) : -ENOMEM;
        for (size_t j = 0; rc == 0 && j < one.n; j++)
            fprintf(f, "%s=%.*s\n", one.a[j].name + strlen(XATTR_PREFIX), (int)one.a[j].len,
                    one.a[j].value);
        if (f && fclose(f) != 0)
            rc = -ENOMEM;
        if (rc == 0 && asprintf(&name, "%s%s", XATTR_STATUS, sec[i].section) < 0)
            name = NULL, rc = -ENOMEM;
        if (rc == 0)
            rc = add(s, name, text, len);
        free(name);
        free(text);
        xattr_set_free(&one);
    }
    return rc;
}

int xattr_section(struct xattr_set *s, const char *section, const char *type,
                  const struct cache_status *st)
{
    int rc = 0;
    rc = rc ? rc : add_str(s, XATTR_PREFIX "provider", section);
    rc = rc ? rc : add_str(s, XATTR_PREFIX "type", type);
    rc = rc ? rc : add_sec(s, XATTR_PREFIX "fetched_at", st->fetched_at);
    rc = rc ? rc : addf(s, XATTR_PREFIX "count", "%zu", st->count);
    rc = rc ? rc : addf(s, XATTR_PREFIX "complete", "%d", st->fetched_at && st->complete);
    /* whose walk the listing is: this daemon's, or another one's through the shared cache */
    if (st->fetched_at)
        rc = rc ? rc
                : addf(s, XATTR_PREFIX "source", "%s%s%s%s", st->from_fleet ? "fleet" : "provider",
                       st->from_fleet ? " (fetched by " : "", st->from_fleet ? st->fetched_by : "",
                       st->from_fleet ? ")" : "");
    rc = rc ? rc : addf(s, XATTR_PREFIX "stale", "%lld", st->stale);
    rc = rc ? rc : add_str(s, XATTR_PREFIX "last_error", st->last_error);
    rc = rc ? rc : addf(s, XATTR_PREFIX "requests", "%" PRIu64, st->requests);
    rc = rc ? rc : addf(s, XATTR_PREFIX "errors", "%" PRIu64, st->errors);
    rc = rc ? rc : addf(s, XATTR_PREFIX "retries", "%" PRIu64, st->retries);
    rc = rc ? rc : addf(s, XATTR_PREFIX "cache_hits", "%" PRIu64, st->cache_hits);
    rc = rc ? rc : add_sec(s, XATTR_PREFIX "refreshed_at", st->refreshed_at);
    if (st->refreshed_at)
        rc = rc ? rc : addf(s, XATTR_PREFIX "refresh_ms", "%lld", st->refresh_ms);
    rc = rc ? rc : add_sec(s, XATTR_PREFIX "paused_until", st->paused_until);
    return rc;
}

int xattr_collection(struct xattr_set *s, const struct xattr_collection *c)
{
    int rc = 0;
    rc = rc ? rc : add_str(s, XATTR_PREFIX "provider", c->section);
    rc = rc ? rc : add_str(s, XATTR_PREFIX "type", c->type);
    rc = rc ? rc : add_str(s, XATTR_PREFIX "id", c->id);
    /* raw bytes, NULs and control characters included: only the length is bounded */
    if (c->name)
        rc = rc ? rc
                : add(s, XATTR_PREFIX "name", c->name,
                      c->name_len < XATTR_NAME_CAP ? c->name_len : XATTR_NAME_CAP);
    if (c->has_created)
        rc = rc ? rc : add_time(s, XATTR_PREFIX "created", &c->created);
    if (c->has_updated)
        rc = rc ? rc : add_time(s, XATTR_PREFIX "updated", &c->updated);
    rc = rc ? rc : add_str(s, XATTR_PREFIX "url", c->url);
    return rc;
}

const struct xattr *xattr_find(const struct xattr_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->a[i].name, name) == 0)
            return &s->a[i];
    return NULL;
}

size_t xattr_names(const struct xattr_set *s, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += strlen(s->a[i].name) + 1;
    if (buf && size >= n)
        for (size_t i = 0, at = 0; i < s->n; i++) {
            size_t l = strlen(s->a[i].name) + 1;
            memcpy(buf + at, s->a[i].name, l);
            at += l;
        }
    return n;
}

void xattr_set_free(struct xattr_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->a[i].name);
        free(s->a[i].value);
    }
    free(s->a);
    *s = (struct xattr_set){0};
}
