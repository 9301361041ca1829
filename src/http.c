/* libcurl transfers. Easy handles are kept in a pool and reused: a new one costs
 * an internal multi handle, a socketpair and signal calls, and the walk's
 * threads come and go with its window, so a handle per call or per thread would
 * pay that again and again. A handle is reset after every transfer, so an idle
 * one holds no credentials and no pointer into a finished request. The share object keeps
 * connections, DNS answers and TLS sessions between calls and threads, so a
 * listing of many pages reuses a few kept-alive connections (one per page
 * fetched at once) instead of a TCP and TLS handshake per page. Bodies travel
 * compressed (gzip, deflate, br or zstd, whatever this libcurl decodes) and
 * over HTTP/2 where a TLS server offers it. A transfer ends by its deadline
 * (CURLOPT_TIMEOUT_MS), when the body passes max_response, or at shutdown. */
#include "http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "clock.h"
#include "log.h"

/* Idle connections the shared cache keeps. libcurl's default (5 per
 * curl_easy_perform) is fewer than the pages a walk fetches at once across
 * providers, and every connection over it would be closed after its transfer
 * and opened anew for the next page: keep one for every page in flight up to
 * the largest `parallel`. Idle ones close after libcurl's 118 s. */
#define HTTP_KEEP_CONNECTIONS 64L

_Static_assert(HTTP_ERROR_MAX >= CURL_ERROR_SIZE, "http_resp.error holds curl's error buffer");

static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
static volatile int stopping;
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cond;

/* Idle easy handles with the body size of their last transfer (the next one's
 * first guess), at most one per transfer that ever ran at once; http_cleanup
 * frees them before the share, which refuses to go while a handle uses it. */
struct slot {
    CURL *h;
    size_t last_len;
    struct slot *next;
};
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *pool;

/* An idle handle, or a new one; NULL without memory. */
static struct slot *slot_get(void)
{
    pthread_mutex_lock(&pool_lock);
    struct slot *s = pool;
    if (s)
        pool = s->next;
    pthread_mutex_unlock(&pool_lock);
    if (s)
        return s;
    if (!(s = calloc(1, sizeof(*s))))
        return NULL;
    if (!(s->h = curl_easy_init())) {
        free(s);
        return NULL;
    }
    curl_easy_setopt(s->h, CURLOPT_SHARE, share); /* curl_easy_reset keeps it */
    return s;
}

static void slot_put(struct slot *s)
{
    /* drops curl's copies of credentials and its pointers to the request */
    curl_easy_reset(s->h);
    pthread_mutex_lock(&pool_lock);
    s->next = pool;
    pool = s;
    pthread_mutex_unlock(&pool_lock);
}

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *u)
{
    (void)h, (void)a, (void)u;
    pthread_mutex_lock(&share_locks[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *u)
{
    (void)h, (void)u;
    pthread_mutex_unlock(&share_locks[d]);
}

int http_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -EIO;
    clock_cond_init(&sleep_cond);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&share_locks[i], NULL);
    share = curl_share_init();
    if (!share)
        return -ENOMEM;
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    return 0;
}

void http_shutdown(void)
{
    pthread_mutex_lock(&sleep_lock);
    __atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&sleep_cond);
    pthread_mutex_unlock(&sleep_lock);
}

bool http_stopping(void)
{
    return __atomic_load_n(&stopping, __ATOMIC_SEQ_CST);
}

void http_cleanup(void)
{
    /* every thread that made transfers is gone: all handles are idle */
    pthread_mutex_lock(&pool_lock);
    while (pool) {
        struct slot *s = pool;
        pool = s->next;
        curl_easy_cleanup(s->h);
        free(s);
    }
    pthread_mutex_unlock(&pool_lock);
    if (share)
        curl_share_cleanup(share);
    share = NULL;
    curl_global_cleanup();
}

void http_wake(void)
{
    pthread_mutex_lock(&sleep_lock);
    pthread_cond_broadcast(&sleep_cond);
    pthread_mutex_unlock(&sleep_lock);
}

bool http_cancelled(const struct http_opts *o)
{
    return http_stopping() || (o && o->cancel && __atomic_load_n(o->cancel, __ATOMIC_SEQ_CST));
}

bool http_sleep_until(const struct timespec *t, const struct http_opts *o)
{
    return http_sleep_until_or(t, o, NULL, NULL);
}

bool http_sleep_until_or(const struct timespec *t, const struct http_opts *o,
                         bool (*woken)(const void *), const void *arg)
{
    pthread_mutex_lock(&sleep_lock);
    while (!http_cancelled(o) && !(woken && woken(arg))) {
        if (pthread_cond_timedwait(&sleep_cond, &sleep_lock, t) == ETIMEDOUT)
            break;
    }
    bool ok = !http_cancelled(o);
    pthread_mutex_unlock(&sleep_lock);
    return ok;
}

/* The body so far; the first error stops the transfer and is what http_perform reports. */
struct sink {
    struct buf body;
    int err;     /* -EFBIG past max_response, or -ENOMEM */
    CURL *h;     /* for the Content-Length */
    size_t hint; /* the body size of this handle's last transfer */
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n;
    if (!s->body.p) {
        /* One allocation of the expected size instead of a dozen doublings with
         * their copies: the pages of a walk are about the same size, and the
         * Content-Length (of the compressed bytes, if any) is a floor. A wrong
         * guess costs nothing but unused address space, never more than max. */
        curl_off_t cl = -1;
        curl_easy_getinfo(s->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        size_t want = cl > 0 && (uint64_t)cl > s->hint ? (size_t)cl : s->hint;
        if (want > len)
            buf_reserve(&s->body, want < s->body.max ? want : s->body.max);
    }
    s->err = buf_add(&s->body, data, len);
    return s->err ? 0 : len; /* 0 makes curl fail with CURLE_WRITE_ERROR */
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    struct http_resp *r = arg;
    size_t len = size * n;
    /* A redirect or 100-continue starts a new header block: forget the old one. */
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        r->headers_len = 0;
        return len;
    }
    size_t keep = len;
    while (keep > 0 && (line[keep - 1] == '\n' || line[keep - 1] == '\r'))
        keep--;
    if (keep == 0 || memchr(line, '\0', keep) || r->headers_len + keep + 1 > sizeof(r->headers))
        return len;
    memcpy(r->headers + r->headers_len, line, keep);
    r->headers_len += keep;
    r->headers[r->headers_len++] = '\0';
    return len;
}

bool http_resp_header(const struct http_resp *resp, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < resp->headers_len;) {
        const char *line = resp->headers + i;
        size_t len = strlen(line);
        i += len + 1;
        if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
            continue;
        const char *v = line + nl + 1, *end = line + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (outlen == 0 || (size_t)(end - v) >= outlen)
            return false;
        memcpy(out, v, (size_t)(end - v));
        out[end - v] = '\0';
        return true;
    }
    return false;
}

/* One bound for every retry hint, header or body: a server that asks for a
 * pause of a year (or 1e400 s) would otherwise stop a section until a reload,
 * sending nothing and saying so on every access; past a day the hint is more
 * likely wrong than meant, and retrying within the budget costs a few requests. */
double http_hint_seconds(double s)
{
    return isfinite(s) && s >= 0 && s < HTTP_HINT_MAX ? s : -1;
}

/* Retry-After in seconds or as an HTTP date (curl_getdate knows the three formats). */
static double retry_after(const struct http_resp *r)
{
    char v[128], *end;
    if (!http_resp_header(r, "retry-after", v, sizeof(v)))
        return -1;
    double s = strtod(v, &end);
    if (end != v && *end == '\0')
        return http_hint_seconds(s);
    time_t when = curl_getdate(v, NULL);
    if (when <= 0)
        return -1;
    double d = difftime(when, time(NULL));
    return http_hint_seconds(d > 0 ? d : 0);
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return http_cancelled(arg); /* non-zero aborts the transfer */
}

const char *http_url_path(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    return p ? p : "/";
}

char *http_url_public(const char *base, const char *url, bool path)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *p = NULL, *out = NULL;
    if (u && (!base || curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK) &&
        curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent: the scheme's default */
        if (path)
            curl_url_get(u, CURLUPART_PATH, &p, 0);
        if (asprintf(&out, "%s://%s%s%s%s", scheme, host, port ? ":" : "", port ? port : "",
                     p ? p : "") < 0)
            out = NULL;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(p);
    curl_url_cleanup(u);
    return out;
}

bool http_host_loopback(const char *host)
{
    /* addresses only, and the one name that never leaves the machine: "127.x.example" is a
     * name that resolves wherever its DNS says */
    char h[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(host);
    struct in_addr a4;
    struct in6_addr a6;
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(h)) {
        memcpy(h, host + 1, n - 2);
        h[n - 2] = '\0';
        return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    if (inet_pton(AF_INET, host, &a4) == 1)
        return ntohl(a4.s_addr) >> 24 == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return strcasecmp(host, "localhost") == 0;
}

/* TLS failures are permanent: a certificate that does not verify, a name it does
 * not cover or a port that does not speak TLS stays so however often it is
 * asked, and retrying them only made every access wait out the whole budget.
 * A handshake cut by the network, though, is the reset it looks like. */
static int curl_errno(CURLcode c, const char *errbuf)
{
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return -EHOSTUNREACH;
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return -ECONNRESET;
    case CURLE_SSL_CONNECT_ERROR:
        if (strstr(errbuf, "reset") || strstr(errbuf, "SSL_ERROR_SYSCALL"))
            return -ECONNRESET;
        return -EPROTO;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return -EPROTO;
    case CURLE_ABORTED_BY_CALLBACK:
        return -ECANCELED;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

int http_perform(const struct http_req *req, const struct http_opts *o,
                 const struct timespec *deadline, struct http_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    struct timespec start = clock_now();
    long long left = clock_ms(&start, deadline);
    if (left <= 0)
        return -ETIMEDOUT;
    if (http_cancelled(o))
        return -ECANCELED;
    struct slot *slot = slot_get();
    if (!slot)
        return -ENOMEM;
    CURL *h = slot->h;
    struct sink sink = {.err = 0, .h = h, .hint = slot->last_len};
    buf_init(&sink.body, o->max_response);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(left < 10000 ? left : 10000));
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* credentials never follow a redirect */
    curl_easy_setopt(h, CURLOPT_MAXCONNECTS, HTTP_KEEP_CONNECTIONS);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding this libcurl decodes */
    curl_easy_setopt(h, CURLOPT_USERAGENT, "collectionsfs/" CFS_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, req->headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, o);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    /* A loopback url may carry credentials over plain HTTP because they never
     * leave the machine; an http_proxy from the environment would send them on
     * to the proxy, perhaps across the network, in clear. */
    if (o->direct)
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    if (o->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
        curl_easy_setopt(h, CURLOPT_CAPATH, "/etc/ssl/certs");
    }
    if (req->user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, req->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, req->password ? req->password : "");
    }
    if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    }
    CURLcode rc = curl_easy_perform(h);
    curl_off_t wire = 0; /* body bytes as received, before decoding */
    curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &wire);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->retry_after = retry_after(resp);
    char *loc = NULL, *pub = NULL;
    if (resp->status >= 300 && resp->status < 400 &&
        curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc &&
        (pub = http_url_public(NULL, loc, true)))
        snprintf(resp->location, sizeof(resp->location), "%s", pub);
    free(pub);
    slot->last_len = sink.body.len;
    slot_put(slot);
    struct timespec end = clock_now();
    long long ms = clock_ms(&start, &end);
    int err = 0;
    if (sink.err == -EFBIG) {
        log_err("[%s] %s %s: response larger than max_response (%zu bytes); refused "
                "(raise max_response in [global] if the server is right)",
                o->section, req->method, http_url_path(req->url), o->max_response);
        err = -EFBIG;
    } else if (sink.err) {
        log_err("[%s] %s %s: out of memory for the response", o->section, req->method,
                http_url_path(req->url));
        err = sink.err;
    } else if (rc != CURLE_OK) {
        err = curl_errno(rc, errbuf);
        /* errbuf names host and port at most; curl never puts headers in it */
        snprintf(resp->error, sizeof(resp->error), "%s",
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
        for (char *c = resp->error; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = ' ';
        log_debug("[%s] %s %s -> %s (%s) %lld ms", o->section, req->method, http_url_path(req->url),
                  curl_easy_strerror(rc), errbuf, ms);
    } else {
        log_debug("[%s] %s %s -> %ld, %zu bytes (%lld on the wire), %lld ms", o->section,
                  req->method, http_url_path(req->url), resp->status, sink.body.len,
                  (long long)wire, ms);
    }
    if (err)
        buf_free(&sink.body);
    else
        resp->body = buf_take(&sink.body, &resp->len);
    return err;
}

int http_status_errno(long status)
{
    if (status >= 200 && status < 300)
        return 0;
    if (status == 401 || status == 403)
        return -EACCES;
    if (status == 408 || status == 504)
        return -ETIMEDOUT;
    if (status == 429)
        return -EAGAIN;
    return -EIO;
}

bool http_status_transient(long status)
{
    return status == 408 || status == 429 || status >= 500;
}

int http_req_header(struct http_req *req, const char *line)
{
    struct curl_slist *l = curl_slist_append(req->headers, line);
    if (!l)
        return -ENOMEM;
    req->headers = l;
    return 0;
}

int http_req_headerf(struct http_req *req, const char *fmt, ...)
{
    /* buf_vaddf measures first, so the line, which may hold a token, is one
     * allocation of its size that buf_wipe clears: no copy is left by a realloc */
    struct buf line;
    buf_init(&line, SIZE_MAX);
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vaddf(&line, fmt, ap);
    va_end(ap);
    if (rc == 0)
        rc = http_req_header(req, line.p ? line.p : "");
    buf_wipe(&line);
    return rc;
}

void http_req_free(struct http_req *req)
{
    for (struct curl_slist *l = req->headers; l; l = l->next)
        explicit_bzero(l->data, strlen(l->data));
    curl_slist_free_all(req->headers);
    if (req->user)
        explicit_bzero(req->user, strlen(req->user));
    if (req->password)
        explicit_bzero(req->password, strlen(req->password));
    free(req->user);
    free(req->password);
    free(req->url);
    free(req->body);
    memset(req, 0, sizeof(*req));
}

void http_resp_free(struct http_resp *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}
