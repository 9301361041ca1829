/* HTTP transport on libcurl: one transfer at a time per call, connections, DNS
 * and TLS sessions shared between threads, every wait bounded by a deadline, every
 * body bounded in size. Knows nothing of providers or JSON. */
#ifndef CFS_HTTP_H
#define CFS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct curl_slist;

struct http_req {
    const char *method;         /* "GET" or "POST" */
    char *url;                  /* absolute URL; its path and query are logged */
    char *body;                 /* JSON body of a POST, or NULL */
    struct curl_slist *headers; /* may hold credentials: never logged */
    char *user, *password;      /* HTTP Basic credentials, or NULL */
};

#define HTTP_HEADERS_MAX 4096 /* bytes of response headers kept for the provider */
#define HTTP_ERROR_MAX 256    /* CURL_ERROR_SIZE */
#define HTTP_HINT_MAX 86400.0 /* seconds: a longer retry hint is not believed */

struct http_resp {
    long status;
    char *body;
    size_t len;
    double retry_after; /* seconds from Retry-After (http_hint_seconds), or -1 */
    /* The last header block as "name: value\0" lines (bounded; longer lines
     * and what does not fit are dropped), for headers only a provider knows. */
    char headers[HTTP_HEADERS_MAX];
    size_t headers_len;
    /* libcurl's own words for a transport failure (its error buffer, which
     * names at most host and port, never a header), or "" */
    char error[HTTP_ERROR_MAX];
    /* where a 3xx points (not followed), as http_url_public with its path: no
     * userinfo or query, which may hold credentials; "" when it does not say */
    char location[512];
};

struct http_opts {
    const char *section; /* for log lines */
    const char *ca_file; /* extra CA, or NULL */
    size_t max_response; /* bytes */
    const int *cancel;   /* non-zero (atomic) ends transfers and sleeps at once, or NULL */
    bool direct;         /* never through a proxy: the url is this machine's (loopback) */
};

/** Set up libcurl and the shared connection cache; 0 or -errno. */
int http_init(void);
/** Abort transfers in flight and wake sleepers: the daemon is stopping. */
void http_shutdown(void);
/** True once http_shutdown was called. */
bool http_stopping(void);
/** Release what http_init set up. */
void http_cleanup(void);
/** One transfer that ends by the deadline; 0 with any HTTP status in resp, or -errno for transport
 * failures. */
int http_perform(const struct http_req *req, const struct http_opts *o,
                 const struct timespec *deadline, struct http_resp *resp);
/** Wake every sleeper to look at its cancel flag again (see http_opts). */
void http_wake(void);
/** True once http_shutdown was called or o's cancel flag is set. */
bool http_cancelled(const struct http_opts *o);
/** Sleep until t, shutdown or o's cancel; false when woken by one of those. */
bool http_sleep_until(const struct timespec *t, const struct http_opts *o);
/** http_sleep_until, also ending early (true) once woken(arg) holds after an http_wake. */
bool http_sleep_until_or(const struct timespec *t, const struct http_opts *o,
                         bool (*woken)(const void *), const void *arg);
/** The part of a URL that may be logged: path and query, never host or userinfo. */
const char *http_url_path(const char *url);
/** url (resolved against base when relative and base is not NULL) as scheme://host[:port], with
 * its path when `path`; never userinfo, query or fragment; malloc'd, NULL when not a URL. */
char *http_url_public(const char *base, const char *url, bool path);
/** Whether host (a URL's host; IPv6 with or without brackets) is this machine: localhost,
 * 127.0.0.0/8 or ::1. Credentials may go to it over plain HTTP or Redis's plain protocol. */
bool http_host_loopback(const char *host);
/** A server's retry hint in seconds as believed: s when finite and in [0, HTTP_HINT_MAX), else -1
 * (then the hint is ignored and the usual backoff applies). */
double http_hint_seconds(double s);
/** The errno a file operation reports for an HTTP status. */
int http_status_errno(long status);
/** True for statuses worth retrying (408, 429, 5xx). */
bool http_status_transient(long status);
/** Add a header line ("Name: value"); 0 or -ENOMEM. */
int http_req_header(struct http_req *req, const char *line);
/** Add a printf-style header line, never cut, its temporary wiped; 0, -ENOMEM or -EOVERFLOW. */
int http_req_headerf(struct http_req *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Free what a request owns (wiping headers, which may hold secrets). */
void http_req_free(struct http_req *req);
/** Value of response header `name` (case-insensitive, blanks trimmed) copied into out; false when
 * absent. */
bool http_resp_header(const struct http_resp *resp, const char *name, char *out, size_t outlen);
/** Free a response body. */
void http_resp_free(struct http_resp *resp);

#endif
