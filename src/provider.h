/* The provider interface: everything the daemon knows about one remote API.
 * A provider file fills one struct provider_ops: the config keys it reads
 * (and which are secrets), the request for the page at a cursor, what a page
 * contains and what comes after it, and optionally what an error body says and
 * what a response says about the rate limit. Adding a provider = one file in
 * providers/ and its name in the registry (src/providers/meson.build). */
#ifndef CFS_PROVIDER_H
#define CFS_PROVIDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "http.h"

struct json;
struct provider;

/* Where a page starts. Meaning of the fields is the provider's own. */
struct cursor {
    int64_t page; /* page number, or offset */
    bool has_mark;
    int64_t mark; /* a keyset bound (HIVO's createdMin) */
    char *token;  /* an opaque continuation token, or NULL */
};

/* One collection as parsed from a page. */
struct item {
    char *id;   /* the provider's id as text (integers as their digits) */
    char *name; /* display name bytes, NULL when missing or not a string */
    size_t name_len;
    bool has_created, has_updated;
    struct timespec created, updated;
    char *json; /* metadata.json bytes */
    size_t json_len;
    bool packed; /* name and json live in id's allocation (provider_item_free knows) */
};

struct page {
    struct item *items;
    size_t n;
    bool more; /* a page follows at `next` */
    struct cursor next;
    int64_t pages;   /* > 0: the listing has this many pages, at cursor.page = 1..pages */
    int64_t total;   /* > 0: the number of collections the server claims */
    size_t skipped;  /* collections without a usable id, left out */
    const char *odd; /* what looked wrong with this page though it parsed, for the log */
};

/* The one rate-limit signal: "left requests remain until `until`". left = 0
 * means pause until then; every request to the provider waits, not only the
 * one that was told. */
struct rate {
    long left;    /* -1: the response said nothing; at most RATE_LEFT_MAX */
    double until; /* seconds from now */
    long limit;   /* the window's whole budget when the server names it, else 0 */
};

/* More requests left than any real limit allows: a count the server gives is
 * clamped to it, so the pacing's sums cannot overflow. */
#define RATE_LEFT_MAX 1000000L

struct provider_ops {
    const char *type;
    const char *default_url;
    int page_size; /* the largest the API allows */
    /* Lists in ascending creation order, so a name is final as soon as it is seen. */
    bool ordered;
    /* Section keys besides type, url, ca_file and allow_insecure_http; ends with {NULL}. */
    const struct config_key *keys;
    /* Read the section (secrets with secret_resolve) into p->priv; 0 or -errno + message. */
    int (*configure)(struct provider *p, const struct config_section *s, char *err, size_t errlen);
    /* Optional: one-time network set-up before the first page (Honcho resolves
     * names); 0 or -errno with the reason in why. */
    int (*prepare)(struct provider *p, char *why, size_t whylen);
    /* The request for the page at `at` (cursor of the first page: all zero). */
    int (*request)(const struct provider *p, const struct cursor *at, struct http_req *req);
    /* Items of a 2xx page and what follows; -EIO with the reason in why when malformed. */
    int (*parse)(const struct provider *p, const struct cursor *at, const struct json *doc,
                 struct page *out, char *why, size_t whylen);
    /* Optional: the message in an error body, or NULL (then the common keys are tried). */
    const char *(*error_text)(const struct json *body);
    /* Optional: the rate-limit signal of a response of any status (body parsed, or NULL);
     * default provider_rate_default. */
    void (*rate)(const struct http_resp *r, const struct json *body, struct rate *out);
    /* Optional: the API URL of the collection with this id, for its xattrs; never holds a
     * secret and reads only what configure() set (it runs beside the walk); malloc'd. */
    char *(*collection_url)(const struct provider *p, const char *id);
    void (*destroy)(struct provider *p);
};

/* A pause the server asked for, and the pacing of requests on its rate-limit
 * signal (fetch.c), shared by every request to one provider. All zero is the
 * state before any signal: no pacing. */
struct provider_pace {
    pthread_mutex_t lock;
    struct timespec until;  /* monotonic: no request before this */
    uint64_t sent;          /* requests sent so far; a request's number is its place */
    long flying;            /* requests sent and not yet answered */
    bool known;             /* a window is known: the fields below mean something */
    struct timespec opened; /* monotonic: answers to requests sent before say nothing of it */
    struct timespec end;    /* monotonic: when the server's window ends, as far as known */
    struct timespec next;   /* monotonic: the next paced request's earliest send time */
    long limit;             /* the largest left + 1 seen: the limit, as far as known */
    long budget;            /* requests still to send in the window, headroom kept */
    long budget0;           /* the budget the window opened with */
    uint64_t windows;       /* windows opened so far (atomic: read without the lock) */
    bool streak;            /* a pacing line was logged for the current streak */
    struct timespec waited; /* monotonic: the last time a request waited for its turn */
    /* For status (xattrs, SIGUSR1): requests sent, of them retries, and fetches that failed
     * in the end. Changed and read with __atomic builtins, without the lock. */
    uint64_t requests, retries, errors;
    /* The fleet's rate window (set before the first request, when a shared cache is
     * configured): take says how long a request must wait for its turn across every daemon
     * of the rate group (-errno: ask nobody), tell passes each rate-limit signal on. */
    int (*fleet_take)(void *ctx, long long *wait_ms);
    void (*fleet_tell)(void *ctx, long left, long limit, double until, double age);
    void *fleet_ctx;
};

struct provider {
    const struct provider_ops *ops;
    char *section; /* directory name */
    char *url;     /* base URL without trailing slash */
    struct http_opts http;
    unsigned timeout_ms; /* budget of one request, retries included */
    struct provider_pace *pace;
    int page_size;     /* ops->page_size */
    uint64_t account;  /* a digest of whose data it is: equal across a reload, same data */
    char *listing_key; /* what selects the data, without secrets: the shared cache's key */
    char *rate_group;  /* whose rate budget its requests count against, in the shared cache */
    int cancelled;     /* atomic; set once by provider_cancel */
    void *priv;
};

/** The name of the i-th provider type this binary knows, or NULL past the last. */
const char *provider_type(size_t i);
/** Make a provider for a config section; 0 or -errno with a message in err. */
int provider_create(const struct config_section *s, const struct config_global *g,
                    struct provider **out, char *err, size_t errlen);
/** End its transfers and waits at once, for good (a reload replaced it). */
void provider_cancel(struct provider *p);
/** Free a provider. */
void provider_free(struct provider *p);
/** base + api prefix (unless the base already ends in it) + rest; malloc'd. */
char *provider_url(const struct provider *p, const char *prefix, const char *rest);
/** provider_url of dir + "/" + the escaped id, without any user:password@; malloc'd. */
char *provider_collection_url(const struct provider *p, const char *prefix, const char *dir,
                              const char *id);
/** Percent-encode a string for a URL path segment or query value; malloc'd. */
char *provider_escape(const char *s);
/** Copy an optional key's value into *out (NULL when unset); 0 or -ENOMEM. */
int provider_opt(const struct config_section *s, const char *key, char **out);
/* Where a provider's collection objects keep their fields: member names, with
 * name/created/updated inside the member `attrs` when set (JSON:API). */
struct provider_fields {
    const char *id, *attrs, *name, *created, *updated;
};

/** Fill an item from a collection object: render its JSON, copy id (string or integer), name and
 * times (ISO strings or unix seconds). */
int provider_item(const struct json *obj, const struct json *id, const struct json *name,
                  const struct json *created, const struct json *updated, struct item *out);
/** Turn a JSON list of collection objects into out->items (objects without a usable id counted in
 * out->skipped); 0 or -ENOMEM. */
int provider_items(const struct json *list, const struct provider_fields *f, struct page *out);
/** Free an item's fields. */
void provider_item_free(struct item *it);
/** Free a page's items and cursor. */
void provider_page_free(struct page *pg);
/** Copy a cursor (token duplicated); 0 or -ENOMEM. */
int provider_cursor_copy(struct cursor *dst, const struct cursor *src);
/** Free a cursor's token. */
void provider_cursor_free(struct cursor *c);
/** One printable line of valid UTF-8 (at most 160 bytes, cut between characters) saying what an
 * error body says; body is the parsed raw text or NULL; malloc'd or NULL. */
char *provider_error_text(const struct provider_ops *ops, const struct json *body, const char *raw,
                          size_t len);
/** The rate-limit signal of a response: the provider's own reading, else provider_rate_default. */
void provider_rate(const struct provider_ops *ops, const struct http_resp *r,
                   const struct json *body, struct rate *out);
/** Retry-After on a 429 or 503 means a pause; nothing else is said. */
void provider_rate_default(const struct http_resp *r, const struct json *body, struct rate *out);
/** A retry hint from a JSON number, bounded as http_hint_seconds bounds it, or -1. */
double provider_seconds(const struct json *v);

#endif
