/* The Redis layer of the fleet's shared listing cache (DESIGN, issue 9): URL
 * parsing, one command connection behind a mutex that is dropped on any I/O
 * error and redialled at most once a second, leases with fencing tokens, the
 * chunked publication swapped in by one Lua script, the checked reader and the
 * thread that hears publications. Every reply is checked for type and size
 * before use: Redis is trusted for nothing but availability. */
#include "shared.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "clock.h"
#include "http.h"
#include "log.h"
#include "record.h"

/* The version is the record format's (record.h): daemons of another format keep to keys of
 * their own instead of refusing each other's chunks as damaged. */
#define PREFIX "collectionsfs:v3:"
_Static_assert(RECORD_VERSION == 3, "PREFIX names the record format");
#define CHANNEL PREFIX "published"
#define MANIFEST_HEAD "collectionsfs-manifest 1\ngen "
/* Bounds on what a reader accepts before asking for it. */
#define MANIFEST_MAX (16u << 20)
#define CHUNK_MAX (64u << 20)
/* A publication's chunks are cut at about this size. */
#define CHUNK_TARGET (1u << 20)
#define KEY_MAX 512
/* The most bytes a reply to anything but a range read may take. */
#define SMALL_REPLY 4096
/* Old chunks outlive their manifest this long, so a reader mid-way finishes. */
#define OLD_CHUNK_MS "60000"
#define REDIAL_MS 1000
#define WATCH_BACKOFF_MIN_MS 250
#define WATCH_BACKOFF_MAX_MS 8000

struct shared {
    /* where: host and port, or path; db; never the password */
    char host[256];
    int port; /* 0 for a unix socket */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    unsigned db;
    char *password;
    unsigned timeout_ms;
    char where[300]; /* for messages */

    pthread_mutex_t qlock; /* guards q */
    struct lookup *q;      /* the host's lookup under way (or last done): dials share it */

    pthread_mutex_t lock; /* guards c, last_dial, last_err, down */
    redisContext *c;
    struct timespec last_dial;
    bool dialled;
    int last_err;
    bool down;

    bool watching;
    pthread_t watcher;
    int wake[2]; /* shared_close writes here to stop the watcher at once */
    atomic_bool stop;
    void (*changed)(void *ctx, const char *key, uint64_t gen);
    void *changed_ctx;
};

/* ---- URL ---- */

static int parse_uint(const char *p, size_t n, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (n == 0 || n > 10)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -EINVAL;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_url(struct shared *s, const char *url)
{
    unsigned long v;
    if (strncmp(url, "unix:", 5) == 0) {
        const char *p = url + 5, *q = strchr(p, '?');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (p[0] != '/' || n >= sizeof s->path)
            return -EINVAL;
        memcpy(s->path, p, n);
        s->path[n] = '\0';
        s->db = 0;
        if (q) {
            if (strncmp(q, "?db=", 4) != 0 || parse_uint(q + 4, strlen(q + 4), 1u << 20, &v) != 0)
                return -EINVAL;
            s->db = (unsigned)v;
        }
        s->port = 0;
        snprintf(s->where, sizeof s->where, "unix:%s", s->path);
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return -EINVAL;
    const char *h = url + 8, *he, *pp;
    if (strchr(h, '@'))
        return -EINVAL;
    if (*h == '[') {
        he = strchr(h, ']');
        if (!he || he[1] != ':')
            return -EINVAL;
        h++;
        pp = he + 2;
    } else {
        he = strchr(h, ':');
        if (!he)
            return -EINVAL;
        pp = he + 1;
    }
    size_t hn = (size_t)(he - h);
    if (hn == 0 || hn >= sizeof s->host)
        return -EINVAL;
    for (size_t i = 0; i < hn; i++)
        if (!isalnum((unsigned char)h[i]) && !strchr(".-_:", h[i]))
            return -EINVAL;
    memcpy(s->host, h, hn);
    s->host[hn] = '\0';
    const char *slash = strchr(pp, '/');
    size_t pn = slash ? (size_t)(slash - pp) : strlen(pp);
    if (parse_uint(pp, pn, 65535, &v) != 0 || v == 0)
        return -EINVAL;
    s->port = (int)v;
    s->db = 0;
    if (slash) {
        if (parse_uint(slash + 1, strlen(slash + 1), 1u << 20, &v) != 0)
            return -EINVAL;
        s->db = (unsigned)v;
    }
    snprintf(s->where, sizeof s->where, "redis://%s%s%s:%d", strchr(s->host, ':') ? "[" : "",
             s->host, strchr(s->host, ':') ? "]" : "", s->port);
    return 0;
}

bool shared_url_local(const char *url)
{
    struct shared s;
    if (!url || parse_url(&s, url) != 0)
        return false;
    if (s.port == 0)
        return true;
    return http_host_loopback(s.host);
}

/* ---- connection ---- */

static int errno_of(int err, int sys)
{
    if (err == REDIS_ERR_IO) {
        if (sys == EAGAIN || sys == EWOULDBLOCK || sys == ETIMEDOUT || sys == EINPROGRESS)
            return -ETIMEDOUT;
        if (sys == ECONNREFUSED || sys == ENOENT || sys == ECONNRESET || sys == EPIPE ||
            sys == ENETUNREACH || sys == EHOSTUNREACH)
            return sys == ENOENT ? -ECONNREFUSED : -sys;
    }
    if (err == REDIS_ERR_OOM)
        return -ENOMEM;
    return -EIO;
}

/* An error reply's errno: a refused or missing password is EACCES, a full Redis ENOSPC. */
static int reply_errno(const redisReply *r)
{
    if (strncmp(r->str, "NOAUTH", 6) == 0 || strncmp(r->str, "WRONGPASS", 9) == 0 ||
        strstr(r->str, "password"))
        return -EACCES;
    if (strncmp(r->str, "OOM", 3) == 0)
        return -ENOSPC;
    if (strncmp(r->str, "WRONGTYPE", 9) == 0)
        return -EBADMSG; /* one of our keys holds something else: damaged */
    if (strncmp(r->str, "BUSY", 4) == 0 || strncmp(r->str, "LOADING", 7) == 0)
        return -EBUSY;
    return -EIO;
}

/* Why a context failed, in words for the log. */
static void say_failed(const redisContext *c, char *why, size_t whylen)
{
    snprintf(why, whylen, "%s: %s",
             c->err == REDIS_ERR_PROTOCOL ? "unreadable reply" : "connection lost", c->errstr);
}

/* No reply of ours is an array of more elements (a message: 3), nor holds one. hiredis 0.14
 * allocates an array's element vector as soon as it reads the count, and walks all of it to free
 * it: 12 bytes of "*100000000" cost 800 MB and seconds, past every timeout. */
#define ARRAY_MAX 16
static void *(*hiredis_array)(const redisReadTask *, int);
static redisReplyObjectFunctions bounded_fns;
static _Thread_local bool array_refused;

static void *bounded_array(const redisReadTask *t, int elements)
{
    if (elements < 0 || elements > ARRAY_MAX || t->parent) {
        array_refused = true;
        return NULL; /* the reader fails the reply */
    }
    return hiredis_array(t, elements);
}

static void bounded_init(void)
{
    redisReader *r = redisReaderCreate();
    if (!r)
        return;
    bounded_fns = *r->fn;
    hiredis_array = bounded_fns.createArray;
    bounded_fns.createArray = bounded_array;
    redisReaderFree(r);
}

/* Sends what was appended to c, then reads n replies into out, all within timeout_ms, and with
 * no more than max bytes read for them all (hiredis 0.14 would buffer whatever a server sends,
 * and keeps each finished element of an array it still reads). 0, or -errno with c unusable (the
 * caller frees it) and the reason in why. */
static int exchange(redisContext *c, unsigned timeout_ms, size_t max, void **out, size_t n,
                    char *why, size_t whylen)
{
    struct timespec now = clock_now(), dl = clock_after(&now, timeout_ms);
    size_t got = 0, fed = 0;
    int rc = 0, done = 0;
    array_refused = false;
    while (rc == 0 && !done) {
        struct pollfd p = {c->fd, POLLOUT, 0};
        long long left = clock_ms(&now, &dl);
        if (left <= 0 || poll(&p, 1, (int)left) == 0) {
            rc = -ETIMEDOUT;
        } else if (redisBufferWrite(c, &done) != REDIS_OK) {
            rc = errno_of(c->err, errno);
            say_failed(c, why, whylen);
        }
        now = clock_now();
    }
    while (rc == 0 && got < n) {
        void *v = NULL;
        if (redisGetReplyFromReader(c, &v) != REDIS_OK) {
            rc = array_refused ? -EBADMSG : errno_of(c->err, errno);
            if (array_refused)
                snprintf(why, whylen, "a reply of another shape than asked for (an array)");
            else
                say_failed(c, why, whylen);
            break;
        }
        if (v) {
            out[got++] = v;
            continue;
        }
        if (fed > max) {
            rc = -EBADMSG;
            snprintf(why, whylen, "a reply larger than expected (over %zu bytes)", max);
            break;
        }
        struct pollfd p = {c->fd, POLLIN, 0};
        now = clock_now();
        long long left = clock_ms(&now, &dl);
        size_t had = c->reader->len;
        if (left <= 0 || poll(&p, 1, (int)left) == 0) {
            rc = -ETIMEDOUT;
        } else if (redisBufferRead(c) != REDIS_OK) {
            rc = errno_of(c->err, errno);
            say_failed(c, why, whylen);
        } else {
            fed += c->reader->len - had; /* only a reply taken from it shortens the buffer */
        }
    }
    if (rc == -ETIMEDOUT)
        snprintf(why, whylen, "no answer within %u ms", timeout_ms);
    if (rc < 0)
        while (got > 0)
            freeReplyObject(out[--got]);
    return rc;
}

/* A name lookup that may outlive the caller's wait: getaddrinfo cannot be bounded (a resolver
 * that does not answer costs its timeout times its attempts, twice over for hiredis's IPv4 then
 * IPv6 tries), so it runs in a thread of its own, and whichever of the two ends last frees it. */
struct lookup {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;
    bool done;
    int rc; /* getaddrinfo's */
    char host[256];
    char addr[INET6_ADDRSTRLEN];
};

static void lookup_unref(struct lookup *q)
{
    pthread_mutex_lock(&q->lock);
    int refs = --q->refs;
    pthread_mutex_unlock(&q->lock);
    if (refs == 0) {
        pthread_cond_destroy(&q->cond);
        pthread_mutex_destroy(&q->lock);
        free(q);
    }
}

static void *lookup_main(void *arg)
{
    struct lookup *q = arg;
    char addr[INET6_ADDRSTRLEN] = "";
    /* IPv4 first, then IPv6, as hiredis would */
    int families[] = {AF_INET, AF_INET6}, rc = EAI_NONAME;
    for (int i = 0; i < 2 && !addr[0]; i++) {
        struct addrinfo hints = {.ai_family = families[i], .ai_socktype = SOCK_STREAM}, *res;
        if ((rc = getaddrinfo(q->host, NULL, &hints, &res)) != 0)
            continue;
        const void *a = res->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
        if (!inet_ntop(res->ai_family, a, addr, sizeof addr))
            addr[0] = '\0';
        freeaddrinfo(res);
    }
    pthread_mutex_lock(&q->lock);
    q->rc = addr[0] ? 0 : rc ? rc : EAI_FAIL;
    memcpy(q->addr, addr, sizeof addr);
    q->done = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    lookup_unref(q);
    return NULL;
}

/* A reference to the lookup of s's host under way, or to a new one. While a resolver does
 * not answer, each dial (both connections', one a second) would otherwise start a lookup of
 * its own, and each would wait out the resolver's timeouts: up to minutes, thousands of
 * threads. NULL (why says so) when no thread can be started. */
static struct lookup *lookup_get(struct shared *s, char *why, size_t whylen, int *err)
{
    pthread_mutex_lock(&s->qlock);
    struct lookup *q = s->q;
    if (q) {
        pthread_mutex_lock(&q->lock);
        bool done = q->done;
        if (!done)
            q->refs++;
        pthread_mutex_unlock(&q->lock);
        if (!done) {
            pthread_mutex_unlock(&s->qlock);
            return q;
        }
        s->q = NULL; /* answered: a dial after it asks again, the address may have moved */
        lookup_unref(q);
    }
    q = calloc(1, sizeof *q);
    if (!q) {
        pthread_mutex_unlock(&s->qlock);
        snprintf(why, whylen, "out of memory");
        *err = -ENOMEM;
        return NULL;
    }
    clock_cond_init(&q->cond);
    pthread_mutex_init(&q->lock, NULL);
    snprintf(q->host, sizeof q->host, "%s", s->host);
    q->refs = 3; /* s, the thread, the caller */
    pthread_t t;
    pthread_attr_t ta;
    int rc = pthread_attr_init(&ta);
    if (rc == 0) {
        pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&t, &ta, lookup_main, q);
        pthread_attr_destroy(&ta);
    }
    if (rc != 0) {
        q->refs = 1;
        lookup_unref(q);
        pthread_mutex_unlock(&s->qlock);
        snprintf(why, whylen, "cannot resolve %.100s: no thread for the lookup", s->host);
        *err = -rc;
        return NULL;
    }
    s->q = q;
    pthread_mutex_unlock(&s->qlock);
    return q;
}

/* The address of s's host as text in addr, within ms; 0 or -errno with the reason in why. */
static int resolve(struct shared *s, unsigned ms, char *addr, size_t addrlen, char *why,
                   size_t whylen)
{
    const char *host = s->host;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a6) == 1 || inet_pton(AF_INET6, host, &a6) == 1) {
        snprintf(addr, addrlen, "%.45s", host); /* the longest address text */
        return 0;
    }
    int err = 0;
    struct lookup *q = lookup_get(s, why, whylen, &err);
    if (!q)
        return err;
    struct timespec now = clock_now(), dl = clock_after(&now, ms);
    pthread_mutex_lock(&q->lock);
    while (!q->done && pthread_cond_timedwait(&q->cond, &q->lock, &dl) == 0)
        ;
    bool done = q->done;
    int gai = q->rc;
    snprintf(addr, addrlen, "%s", q->addr);
    pthread_mutex_unlock(&q->lock);
    lookup_unref(q);
    if (!done) {
        snprintf(why, whylen, "cannot resolve %.100s: no answer within %u ms", host, ms);
        return -ETIMEDOUT;
    }
    if (gai != 0) {
        snprintf(why, whylen, "cannot resolve %.100s: %s", host, gai_strerror(gai));
        return gai == EAI_AGAIN ? -EAGAIN : -EHOSTUNREACH;
    }
    return 0;
}

/* A connected, authenticated context; 0 or -errno with the reason (never the password) in why. */
static int dial(struct shared *s, redisContext **out, char *why, size_t whylen)
{
    struct timeval tv = {s->timeout_ms / 1000, (long)(s->timeout_ms % 1000) * 1000};
    char addr[INET6_ADDRSTRLEN];
    if (s->port) {
        int rc = resolve(s, s->timeout_ms, addr, sizeof addr, why, whylen);
        if (rc < 0)
            return rc;
    }
    errno = 0;
    redisContext *c = s->port ? redisConnectWithTimeout(addr, s->port, tv)
                              : redisConnectUnixWithTimeout(s->path, tv);
    int sys = errno;
    if (!c) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    if (c->err) {
        int rc = errno_of(c->err, sys);
        if (rc == -EIO)
            rc = -ECONNREFUSED;
        snprintf(why, whylen, "cannot connect: %s", c->errstr);
        redisFree(c);
        return rc;
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, bounded_init);
    if (!hiredis_array) {
        snprintf(why, whylen, "out of memory");
        redisFree(c);
        return -ENOMEM;
    }
    c->reader->fn = &bounded_fns;
    /* A bound on each write that a full socket buffer would block. */
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(why, whylen, "cannot set a timeout on the socket");
        redisFree(c);
        return -EIO;
    }
    char db[16];
    snprintf(db, sizeof db, "%u", s->db);
    const char *auth[] = {"AUTH", s->password}, *sel[] = {"SELECT", db};
    size_t n = 0;
    const char *what[2];
    int rc = 0;
    if (s->password && (what[n++] = "AUTH", redisAppendCommandArgv(c, 2, auth, NULL)) != REDIS_OK)
        rc = -ENOMEM;
    if (s->db && (what[n++] = "SELECT", redisAppendCommandArgv(c, 2, sel, NULL)) != REDIS_OK)
        rc = -ENOMEM;
    redisReply *r[2];
    if (rc == 0 && n > 0 &&
        (rc = exchange(c, s->timeout_ms, 4096, (void **)r, n, why, whylen)) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (rc == 0 && r[i]->type != REDIS_REPLY_STATUS) {
                rc = r[i]->type == REDIS_REPLY_ERROR ? reply_errno(r[i]) : -EIO;
                /* The server's error text names no password. */
                snprintf(why, whylen, "%s refused: %.100s%s", what[i],
                         r[i]->type == REDIS_REPLY_ERROR ? r[i]->str : "unexpected reply",
                         rc == -EACCES ? " (check shared_cache_password)" : "");
            }
            freeReplyObject(r[i]);
        }
    } else if (rc < 0 && n > 0) {
        char tmp[160];
        snprintf(tmp, sizeof tmp, "%s", why);
        snprintf(why, whylen, "%s: %s", what[0], tmp);
    }
    if (rc < 0) {
        redisFree(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* With s->lock held: the command context, dialling when there is none and the last attempt is
 * older than REDIAL_MS (else the last error at once, so a dead Redis costs little). */
static int conn_get(struct shared *s)
{
    if (s->c)
        return 0;
    struct timespec now = clock_now();
    if (s->dialled && clock_ms(&s->last_dial, &now) < REDIAL_MS)
        return s->last_err;
    s->dialled = true;
    s->last_dial = now;
    char why[200];
    int rc = dial(s, &s->c, why, sizeof why);
    if (rc < 0) {
        s->c = NULL;
        s->last_err = rc;
        if (!s->down)
            log_warn("shared cache %s: %s; working alone until it answers", s->where, why);
        s->down = true;
        return rc;
    }
    if (s->down)
        log_info("shared cache %s: connected again", s->where);
    s->down = false;
    return 0;
}

/* With s->lock held: the context failed (I/O, protocol, timeout); drop it and say why, once per
 * streak. The last dial counts from now, so the next one waits REDIAL_MS. */
static int conn_fail(struct shared *s, int rc, const char *why)
{
    if (!s->down)
        log_warn("shared cache %s: %s; working alone until it answers", s->where, why);
    s->down = true;
    s->last_err = rc;
    s->dialled = true;
    s->last_dial = clock_now();
    redisFree(s->c);
    s->c = NULL;
    return rc;
}

/* Takes s->lock, waiting no longer than the timeout (a call queued behind a slow one fails
 * rather than waits for all of them). timedlock, not clocklock: the sanitizers know only the
 * former, and a clock step can only shorten or lengthen this one bounded wait. */
static int lock(struct shared *s)
{
    struct timespec now, dl;
    clock_gettime(CLOCK_REALTIME, &now);
    dl = clock_after(&now, s->timeout_ms);
    return pthread_mutex_timedlock(&s->lock, &dl) == 0 ? 0 : -ETIMEDOUT;
}

/* With s->lock held: n appended commands' replies into out (the caller frees them), each of
 * another type than error, with at most max bytes buffered; 0 or -errno. */
static int run_locked(struct shared *s, size_t max, redisReply **out, size_t n)
{
    char why[200];
    int rc = exchange(s->c, s->timeout_ms, max, (void **)out, n, why, sizeof why);
    if (rc < 0)
        return conn_fail(s, rc, why);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (out[i]->type == REDIS_REPLY_ERROR) {
            rc = reply_errno(out[i]);
            log_debug("shared cache %s: %.200s", s->where, out[i]->str);
        }
    if (rc < 0)
        for (size_t i = 0; i < n; i++)
            freeReplyObject(out[i]);
    return rc;
}

/* One command whose reply is at most max bytes: 0 with a reply of a type other than error in
 * *out (the caller frees it), or -errno. */
static int cmd(struct shared *s, size_t max, redisReply **out, int argc, const char **argv,
               const size_t *len)
{
    int rc = lock(s);
    if (rc < 0)
        return rc;
    if ((rc = conn_get(s)) == 0) {
        if (redisAppendCommandArgv(s->c, argc, argv, len) != REDIS_OK)
            rc = -ENOMEM;
        else
            rc = run_locked(s, max, out, 1);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* A command whose reply must be an integer. */
static int cmd_int(struct shared *s, long long *v, int argc, const char **argv, const size_t *len)
{
    redisReply *r = NULL;
    int rc = cmd(s, SMALL_REPLY, &r, argc, argv, len);
    if (rc < 0)
        return rc;
    if (r->type == REDIS_REPLY_INTEGER)
        *v = r->integer;
    else
        rc = -EIO;
    freeReplyObject(r);
    return rc;
}

int shared_open(const char *url, const char *password, unsigned timeout_ms, struct shared **out,
                char *err, size_t errlen)
{
    *out = NULL;
    struct shared *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "shared cache: out of memory");
        return -ENOMEM;
    }
    if (!url || parse_url(s, url) != 0) {
        /* A URL with '@' may carry a password: do not repeat it. */
        if (url && !strchr(url, '@'))
            snprintf(err, errlen,
                     "shared_cache = %.200s: not a Redis address; write redis://HOST:PORT[/DB] or "
                     "unix:/PATH[?db=N] (the password goes in shared_cache_password)",
                     url);
        else
            snprintf(err, errlen,
                     "shared_cache: not a Redis address; write redis://HOST:PORT[/DB] or "
                     "unix:/PATH[?db=N], without user or password (the password goes in "
                     "shared_cache_password)");
        free(s);
        return -EINVAL;
    }
    if (password && !(s->password = strdup(password))) {
        free(s);
        snprintf(err, errlen, "shared cache: out of memory");
        return -ENOMEM;
    }
    /* poll() takes an int of milliseconds; a minute is already far too long to wait. */
    s->timeout_ms = timeout_ms == 0 ? 1000 : timeout_ms > 60000 ? 60000 : timeout_ms;
    s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->qlock, NULL);
    /* Dial now so a wrong address shows at startup; a Redis that is down is not an error. */
    pthread_mutex_lock(&s->lock); /* nobody else has s yet */
    conn_get(s);
    pthread_mutex_unlock(&s->lock);
    *out = s;
    return 0;
}

void shared_unwatch(struct shared *s)
{
    if (!s || !s->watching)
        return;
    atomic_store(&s->stop, true);
    ssize_t w = write(s->wake[1], "x", 1);
    (void)w;
    pthread_join(s->watcher, NULL);
    s->watching = false;
}

void shared_close(struct shared *s)
{
    if (!s)
        return;
    shared_unwatch(s);
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    if (s->c)
        redisFree(s->c);
    if (s->q)
        lookup_unref(s->q); /* a lookup still under way frees itself when it ends */
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->qlock);
    if (s->password) {
        explicit_bzero(s->password, strlen(s->password));
        free(s->password);
    }
    free(s);
}

/* ---- keys ---- */

static int key_ok(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > KEY_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x20 || key[i] > 0x7e)
            return -EINVAL;
    return 0;
}

/* PREFIX key ":" what; fits: KEY_MAX plus a little. */
#define NAME_MAX_LEN (sizeof PREFIX + KEY_MAX + 64)
static void name(char *out, const char *key, const char *what)
{
    snprintf(out, NAME_MAX_LEN, PREFIX "%s:%s", key, what);
}

static void chunk_name(char *out, const char *key, uint64_t token, uint64_t i)
{
    snprintf(out, NAME_MAX_LEN, PREFIX "%s:c:%" PRIu64 ":%" PRIu64, key, token, i);
}

/* ---- lease ---- */

/* count(k): INCR that never hands out a number again, not even after Redis lost the key (a
 * flush, a restart without persistence): a counter that is not there starts from Redis's clock
 * in microseconds. Daemons still holding a number from before would otherwise take a new token
 * for an old one (a paused holder's listing published over a newer one) and a new generation
 * for the one they hold (a publication not taken). 1.8e15 is exact in Lua's doubles. */
#define COUNT_LUA                                                                                  \
    "local function count(k)\n"                                                                    \
    "  if redis.call('EXISTS', k) == 0 then\n"                                                     \
    "    local t = redis.call('TIME')\n"                                                           \
    "    redis.call('SET', k, t[1] .. string.format('%06d', tonumber(t[2])))\n"                    \
    "  end\n"                                                                                      \
    "  return string.format('%d', redis.call('INCR', k))\n"                                        \
    "end\n"

/* KEYS: fence, lease. ARGV: lease ms. A new token; negative when the lease is taken. */
static const char lease_lua[] =
    COUNT_LUA "local t = count(KEYS[1])\n"
              "if redis.call('SET', KEYS[2], t, 'NX', 'PX', ARGV[1]) then return tonumber(t) end\n"
              "return -tonumber(t)\n";

int shared_lease(struct shared *s, const char *key, unsigned lease_ms, uint64_t *token)
{
    char fence[NAME_MAX_LEN], lease[NAME_MAX_LEN], ms[16];
    if (key_ok(key) < 0 || lease_ms == 0)
        return -EINVAL;
    name(fence, key, "fence");
    name(lease, key, "lease");
    snprintf(ms, sizeof ms, "%u", lease_ms);
    const char *argv[] = {"EVAL", lease_lua, "2", fence, lease, ms};
    long long t;
    int rc = cmd_int(s, &t, 6, argv, NULL);
    if (rc < 0)
        return rc;
    if (t == 0)
        return -EIO;
    if (t < 0)
        return 0;
    *token = (uint64_t)t;
    return 1;
}

static const char renew_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                                "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
                                "end\n"
                                "return 0\n";

static const char release_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                                  "  return redis.call('DEL', KEYS[1])\n"
                                  "end\n"
                                  "return 0\n";

int shared_renew(struct shared *s, const char *key, uint64_t token, unsigned lease_ms)
{
    char lease[NAME_MAX_LEN], tok[24], ms[16];
    if (key_ok(key) < 0 || lease_ms == 0)
        return -EINVAL;
    name(lease, key, "lease");
    snprintf(tok, sizeof tok, "%" PRIu64, token);
    snprintf(ms, sizeof ms, "%u", lease_ms);
    const char *argv[] = {"EVAL", renew_lua, "1", lease, tok, ms};
    long long v;
    int rc = cmd_int(s, &v, 6, argv, NULL);
    if (rc < 0)
        return rc;
    return v == 1 ? 0 : -ESTALE;
}

void shared_release(struct shared *s, const char *key, uint64_t token)
{
    char lease[NAME_MAX_LEN], tok[24];
    if (key_ok(key) < 0)
        return;
    name(lease, key, "lease");
    snprintf(tok, sizeof tok, "%" PRIu64, token);
    const char *argv[] = {"EVAL", release_lua, "1", lease, tok};
    long long v;
    cmd_int(s, &v, 5, argv, NULL);
}

/* ---- the fleet's rate budget ----
 *
 * Per rate group, a hash (limit: the largest limit named or left + 1 any daemon was told;
 * window: the longest "until" told, counted from when the answered request was
 * sent, in whole seconds, at most an hour; pause: the wall-clock ms until which
 * nobody may send) and a sorted set of the send times of the last window. A
 * request may go when fewer than limit less a tenth (at least one) were sent
 * within the window before it. An answer says how far off its window's end
 * is; counted from when the answered request was sent, the window known reaches
 * from that end back to the request at least. So every answered request, those
 * of a burst before the first answer (not paced) too, stays counted until the
 * server's window ends: two requests one window apart never share a server
 * window, and the fleet together stays inside the limit. (Counted from the
 * answer, a slow first answer let the burst drop out early.) Times are Redis's
 * own. */

static const char take_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local h = redis.call('HMGET', KEYS[1], 'limit', 'window', 'pause')\n"
    "local limit, win, pause = tonumber(h[1]), tonumber(h[2]) or 60000, tonumber(h[3]) or 0\n"
    "if pause > now then return pause - now end\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - win)\n"
    "if limit then\n"
    "  local keep = math.max(1, math.floor(limit / 10))\n"
    "  if redis.call('ZCARD', KEYS[2]) >= limit - keep then\n"
    "    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')\n"
    "    return math.max(1, tonumber(first[2]) + win - now + 1)\n"
    "  end\n"
    "end\n"
    "redis.call('ZADD', KEYS[2], now, ARGV[1])\n"
    "redis.call('PEXPIRE', KEYS[2], win + 1000)\n"
    "redis.call('PEXPIRE', KEYS[1], 86400000)\n"
    "return 0\n";

static const char tell_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local left, u, age = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local h = redis.call('HMGET', KEYS[1], 'limit', 'window', 'pause')\n"
    "local limit = math.max(left + 1, tonumber(ARGV[4]))\n"
    "if limit > 0 and (not tonumber(h[1]) or limit > tonumber(h[1])) then\n"
    "  redis.call('HSET', KEYS[1], 'limit', limit)\n"
    "end\n"
    "local w = math.min(3600000, math.max(1000, math.ceil((u + age) / 1000) * 1000))\n"
    "if u > 0 and u <= 3600000 and w > (tonumber(h[2]) or 0) then\n"
    "  redis.call('HSET', KEYS[1], 'window', w)\n"
    "end\n"
    "if left == 0 and now + u > (tonumber(h[3]) or 0) then\n"
    "  redis.call('HSET', KEYS[1], 'pause', now + u)\n"
    "end\n"
    "redis.call('PEXPIRE', KEYS[1], 86400000)\n"
    "return 1\n";

int shared_rate_take(struct shared *s, const char *group, long long *wait_ms)
{
    static atomic_ullong sent;
    char h[NAME_MAX_LEN], z[NAME_MAX_LEN], me[48];
    *wait_ms = 0;
    if (key_ok(group) < 0)
        return -EINVAL;
    name(h, group, "rate");
    name(z, group, "sent");
    snprintf(me, sizeof me, "%ld:%llu", (long)getpid(),
             (unsigned long long)atomic_fetch_add(&sent, 1));
    const char *argv[] = {"EVAL", take_lua, "2", h, z, me};
    long long v;
    int rc = cmd_int(s, &v, 6, argv, NULL);
    if (rc == 0)
        *wait_ms = v > 0 ? v : 0;
    return rc;
}

int shared_rate_tell(struct shared *s, const char *group, long left, long limit, double until_s,
                     double age_s)
{
    char h[NAME_MAX_LEN], l[24], u[24], a[24], n[24];
    if (key_ok(group) < 0)
        return -EINVAL;
    name(h, group, "rate");
    snprintf(l, sizeof l, "%ld", left);
    snprintf(u, sizeof u, "%lld", (long long)(until_s * 1000 + 0.5));
    snprintf(a, sizeof a, "%lld", (long long)(age_s * 1000 + 0.5));
    snprintf(n, sizeof n, "%ld", limit);
    const char *argv[] = {"EVAL", tell_lua, "1", h, l, u, a, n};
    long long v;
    return cmd_int(s, &v, 8, argv, NULL);
}

/* ---- publish ---- */

/* KEYS: lease, current ("<token> <chunks>" of the published listing, never expires, so tokens
 * only go up), manifest, generation. ARGV: token, ttl ms, chunks, chunk-name prefix, manifest
 * head, manifest rest, channel, key. Refuses (-1) unless the lease is free or ours and the token
 * is newer than the published one, deleting our staged chunks; -2 when a staged chunk is gone
 * (evicted). Else swaps the manifest in, lets the old chunks expire soon and announces. */
static const char publish_lua[] = COUNT_LUA
    "local tok, n, pre = ARGV[1], tonumber(ARGV[3]), ARGV[4]\n"
    "local holder = redis.call('GET', KEYS[1])\n"
    "local cur = redis.call('GET', KEYS[2])\n"
    "local last, lastn = nil, 0\n"
    "if cur then last, lastn = string.match(cur, '^(%d+) (%d+)$') end\n"
    "if (holder and holder ~= tok) or (last and tonumber(tok) <= tonumber(last)) then\n"
    "  for i = 0, n - 1 do redis.call('DEL', pre .. tok .. ':' .. i) end\n"
    "  return -1\n"
    "end\n"
    "for i = 0, n - 1 do\n"
    "  if redis.call('PEXPIRE', pre .. tok .. ':' .. i, ARGV[2]) == 0 then return -2 end\n"
    "end\n"
    "local g = count(KEYS[4])\n"
    "redis.call('SET', KEYS[3], ARGV[5] .. g .. '\\n' .. ARGV[6], 'PX', ARGV[2])\n"
    "redis.call('SET', KEYS[2], tok .. ' ' .. n)\n"
    "if last then\n"
    "  for i = 0, tonumber(lastn) - 1 do\n"
    "    redis.call('PEXPIRE', pre .. last .. ':' .. i, " OLD_CHUNK_MS ")\n"
    "  end\n"
    "end\n"
    "redis.call('PUBLISH', ARGV[7], g .. ' ' .. ARGV[8])\n"
    "return tonumber(g)\n";

struct chunk {
    uint64_t records, bytes;
    uint32_t crc;
};

static int put_chunk(struct shared *s, const char *key, uint64_t token, uint64_t i,
                     const struct buf *b, const char *ms)
{
    char cname[NAME_MAX_LEN];
    chunk_name(cname, key, token, i);
    const char *argv[] = {"SET", cname, b->p, "PX", ms};
    size_t len[] = {3, strlen(cname), b->len, 2, strlen(ms)};
    redisReply *r = NULL;
    int rc = cmd(s, SMALL_REPLY, &r, 5, argv, len);
    if (rc < 0)
        return rc;
    rc = r->type == REDIS_REPLY_STATUS ? 0 : -EIO;
    freeReplyObject(r);
    return rc;
}

/* ARGV: a staged publication's chunk-name prefix (up to its token's colon), its chunk count. */
static const char unstage_lua[] = "for i = 0, tonumber(ARGV[2]) - 1 do\n"
                                  "  redis.call('DEL', ARGV[1] .. i)\n"
                                  "end\n"
                                  "return 0\n";

/* A publication that failed before it was swapped in takes its staged chunks back: left to expire
 * after stale_ttl, they would hold a listing's size in Redis for a day, and with maxmemory and
 * noeviction leave it refusing every write (the next lease too) meanwhile. Best effort: with
 * Redis gone they expire. */
static void unstage(struct shared *s, const char *key, uint64_t token, size_t nch)
{
    char pre[NAME_MAX_LEN], n[24];
    snprintf(pre, sizeof pre, PREFIX "%s:c:%" PRIu64 ":", key, token);
    snprintf(n, sizeof n, "%zu", nch);
    const char *argv[] = {"EVAL", unstage_lua, "0", pre, n};
    long long v;
    cmd_int(s, &v, 5, argv, NULL);
}

int shared_publish(struct shared *s, const char *key, uint64_t token, unsigned ttl_s,
                   unsigned lease_ms, struct shared_facts *f, struct record *const *rec, size_t n)
{
    if (key_ok(key) < 0 || ttl_s == 0 || ttl_s > UINT_MAX / 1000 || !f || (n && !rec))
        return -EINVAL;
    char ms[16];
    snprintf(ms, sizeof ms, "%u", ttl_s * 1000);
    struct buf data, man;
    buf_init(&data, CHUNK_MAX);
    buf_init(&man, MANIFEST_MAX - 64);
    struct chunk *ch = NULL;
    size_t nch = 0, cap = 0;
    int rc = 0;
    uint64_t in_chunk = 0;
    /* The walk's last renewal may be a third of the lease ago, and a large listing takes longer
     * than the rest to write: a daemon that took the lease meanwhile would walk again and fence
     * this publication out. Renewing cannot keep a lost lease: the script still checks. */
    struct timespec renewed = {0};
    for (size_t i = 0; i <= n && rc == 0; i++) {
        struct timespec now = clock_now();
        if (lease_ms && (i == 0 || clock_ms(&renewed, &now) >= lease_ms / 3)) {
            shared_renew(s, key, token, lease_ms);
            renewed = now;
        }
        size_t len = 0;
        const void *p = i < n ? record_bytes(rec[i], &len) : NULL;
        if (i < n && len > CHUNK_MAX - 4) {
            rc = -EMSGSIZE;
            break;
        }
        /* Cut the chunk before the record that would take it past the target, and at the end. */
        if (in_chunk && (i == n || data.len + 4 + len > CHUNK_TARGET)) {
            if (nch == cap) {
                size_t nc = cap ? cap * 2 : 16;
                struct chunk *t = realloc(ch, nc * sizeof *ch);
                if (!t) {
                    rc = -ENOMEM;
                    break;
                }
                ch = t;
                cap = nc;
            }
            ch[nch] = (struct chunk){in_chunk, data.len,
                                     (uint32_t)crc32(0, (const Bytef *)data.p, (uInt)data.len)};
            rc = put_chunk(s, key, token, nch, &data, ms);
            nch++;
            data.len = 0;
            in_chunk = 0;
        }
        if (i < n && rc == 0) {
            unsigned char le[4] = {(unsigned char)len, (unsigned char)(len >> 8),
                                   (unsigned char)(len >> 16), (unsigned char)(len >> 24)};
            if (buf_add(&data, le, 4) < 0 || buf_add(&data, p, len) < 0)
                rc = -ENOMEM;
            in_chunk++;
        }
    }
    if (rc == 0) {
        char who[sizeof f->who];
        size_t wn = strnlen(f->who, sizeof f->who - 1);
        for (size_t i = 0; i < wn; i++)
            who[i] = f->who[i] > 0x20 && f->who[i] < 0x7f ? f->who[i] : '_';
        if (wn == 0)
            who[wn++] = '?';
        who[wn] = '\0';
        rc = buf_addf(&man,
                      "token %" PRIu64 "\nfetched_at %lld\ncomplete %d\ncount %zu\nwho %s\n"
                      "chunks %zu\n",
                      token, (long long)f->fetched_at, f->complete ? 1 : 0, n, who, nch);
        for (size_t i = 0; i < nch && rc == 0; i++)
            rc = buf_addf(&man, "%" PRIu64 " %" PRIu64 " %08" PRIx32 "\n", ch[i].records,
                          ch[i].bytes, ch[i].crc);
        if (rc == -EFBIG)
            rc = -EMSGSIZE;
    }
    if (rc == 0) {
        char lease[NAME_MAX_LEN], cur[NAME_MAX_LEN], m[NAME_MAX_LEN], gen[NAME_MAX_LEN];
        char pre[NAME_MAX_LEN], tok[24], nc[24];
        name(lease, key, "lease");
        name(cur, key, "current");
        name(m, key, "manifest");
        name(gen, key, "gen");
        name(pre, key, "c:");
        snprintf(tok, sizeof tok, "%" PRIu64, token);
        snprintf(nc, sizeof nc, "%zu", nch);
        const char *argv[] = {
            "EVAL",        publish_lua,        "4",     lease, cur, m, gen, tok, ms, nc, pre,
            MANIFEST_HEAD, man.p ? man.p : "", CHANNEL, key};
        long long g = 0;
        rc = cmd_int(s, &g, 15, argv, NULL);
        if (rc == 0) {
            if (g == -1)
                rc = -ESTALE; /* the script took the staged chunks back */
            else if (g == -2)
                rc = -ENOSPC; /* Redis evicted a staged chunk: it is full */
            else if (g <= 0)
                rc = -EIO;
            else
                f->gen = (uint64_t)g;
        }
        /* evicted, or refused before its first write (Redis denies a script's OOM
         * command only then): nothing was swapped in */
        if (rc == -ENOSPC)
            unstage(s, key, token, nch);
    } else if (nch) {
        unstage(s, key, token, nch);
    }
    buf_free(&data);
    buf_free(&man);
    free(ch);
    return rc;
}

int shared_generation(struct shared *s, const char *key, uint64_t *gen)
{
    char g[NAME_MAX_LEN];
    if (key_ok(key) < 0)
        return -EINVAL;
    name(g, key, "gen");
    const char *argv[] = {"GET", g};
    redisReply *r = NULL;
    int rc = cmd(s, SMALL_REPLY, &r, 2, argv, NULL);
    if (rc < 0)
        return rc;
    unsigned long long v = 0;
    if (r->type == REDIS_REPLY_STRING) {
        char *end;
        errno = 0;
        v = r->len > 0 && r->len < 21 && isdigit((unsigned char)r->str[0])
                ? strtoull(r->str, &end, 10)
                : 0;
        if (v == 0 || errno || *end)
            rc = -EBADMSG;
    } else if (r->type != REDIS_REPLY_NIL) {
        rc = -EIO;
    }
    freeReplyObject(r);
    if (rc == 0)
        *gen = v;
    return rc;
}

/* ---- read ---- */

/* At most n bytes of a value, asked as a range so the server never sends more. */
static int get_upto(struct shared *s, const char *k, long long n, redisReply **out)
{
    char end[24];
    snprintf(end, sizeof end, "%lld", n - 1);
    const char *argv[] = {"GETRANGE", k, "0", end};
    int rc = cmd(s, (size_t)n + 64, out, 4, argv, NULL);
    if (rc == 0 && (*out)->type != REDIS_REPLY_STRING) {
        freeReplyObject(*out);
        rc = -EIO;
    }
    return rc;
}

/* The next line of the manifest starting with word and a space; its value in *v, or -EBADMSG. */
static int take_line(const char **p, const char *end, const char *word, const char **v,
                     size_t *vlen)
{
    size_t wn = strlen(word);
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl || (size_t)(nl - *p) <= wn + 1 || memcmp(*p, word, wn) != 0 || (*p)[wn] != ' ')
        return -EBADMSG;
    *v = *p + wn + 1;
    *vlen = (size_t)(nl - *v);
    *p = nl + 1;
    return 0;
}

static int take_u64(const char *v, size_t n, int base, uint64_t *out)
{
    uint64_t x = 0;
    if (n == 0 || n > 20)
        return -EBADMSG;
    for (size_t i = 0; i < n; i++) {
        int d = isdigit((unsigned char)v[i])               ? v[i] - '0'
                : base == 16 && v[i] >= 'a' && v[i] <= 'f' ? v[i] - 'a' + 10
                                                           : -1;
        if (d < 0 || x > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return -EBADMSG;
        x = x * (uint64_t)base + (uint64_t)d;
    }
    *out = x;
    return 0;
}

static int take_num(const char **p, const char *end, const char *word, uint64_t *out)
{
    const char *v;
    size_t n;
    if (take_line(p, end, word, &v, &n) < 0)
        return -EBADMSG;
    return take_u64(v, n, 10, out);
}

struct manifest {
    uint64_t gen, token, complete, count, nch;
    int64_t fetched_at;
    char who[64];
    struct chunk *ch;
};

static int parse_manifest(const char *p, size_t len, struct manifest *m)
{
    const char *end = p + len, *v;
    size_t n;
    size_t hn = strlen(MANIFEST_HEAD) - strlen("gen ");
    if (len < hn || memcmp(p, MANIFEST_HEAD, hn) != 0)
        return -EBADMSG;
    p += hn;
    if (take_num(&p, end, "gen", &m->gen) < 0 || m->gen == 0 ||
        take_num(&p, end, "token", &m->token) < 0 || take_line(&p, end, "fetched_at", &v, &n) < 0)
        return -EBADMSG;
    uint64_t t;
    bool neg = n > 0 && v[0] == '-';
    /* 2^40 s is 34,000 years: readers subtract this from the clock and multiply by 1000 */
    if (take_u64(v + neg, n - neg, 10, &t) < 0 || t > (1ull << 40))
        return -EBADMSG;
    m->fetched_at = neg ? -(int64_t)t : (int64_t)t;
    if (take_num(&p, end, "complete", &m->complete) < 0 || m->complete > 1 ||
        take_num(&p, end, "count", &m->count) < 0 || take_line(&p, end, "who", &v, &n) < 0 ||
        n >= sizeof m->who)
        return -EBADMSG;
    for (size_t i = 0; i < n; i++)
        if (v[i] <= 0x20 || v[i] >= 0x7f)
            return -EBADMSG;
    memcpy(m->who, v, n);
    m->who[n] = '\0';
    /* Each chunk line takes at least 6 bytes: that bounds the allocation. */
    if (take_num(&p, end, "chunks", &m->nch) < 0 || m->nch > (uint64_t)(end - p) / 6)
        return -EBADMSG;
    m->ch = calloc(m->nch ? m->nch : 1, sizeof *m->ch);
    if (!m->ch)
        return -ENOMEM;
    uint64_t total = 0;
    for (uint64_t i = 0; i < m->nch; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *a = p, *b = nl ? memchr(a, ' ', (size_t)(nl - a)) : NULL;
        const char *c = b ? memchr(b + 1, ' ', (size_t)(nl - b - 1)) : NULL;
        uint64_t crc;
        if (!c || take_u64(a, (size_t)(b - a), 10, &m->ch[i].records) < 0 ||
            take_u64(b + 1, (size_t)(c - b - 1), 10, &m->ch[i].bytes) < 0 || nl - c - 1 != 8 ||
            take_u64(c + 1, 8, 16, &crc) < 0)
            return -EBADMSG;
        m->ch[i].crc = (uint32_t)crc;
        /* A record takes at least 4 + RECORD_HEADER + 2 bytes. */
        if (m->ch[i].records == 0 || m->ch[i].bytes > CHUNK_MAX ||
            m->ch[i].bytes / (4 + RECORD_HEADER + 2) < m->ch[i].records)
            return -EBADMSG;
        total += m->ch[i].records;
        p = nl + 1;
    }
    if (p != end || total != m->count)
        return -EBADMSG;
    return 0;
}

/* The manifest, in one command: a size asked first could be that of a manifest a publication
 * replaced before the read, and a longer one cut to it looked damaged. One byte more than the
 * most a manifest may hold tells one that is larger. */
static int read_manifest(struct shared *s, const char *key, struct manifest *m)
{
    char mk[NAME_MAX_LEN];
    name(mk, key, "manifest");
    redisReply *r = NULL;
    int rc = get_upto(s, mk, (long long)MANIFEST_MAX + 1, &r);
    if (rc < 0)
        return rc;
    if (r->len == 0)
        rc = -ENOENT;
    else if (r->len > MANIFEST_MAX)
        rc = -EBADMSG;
    else
        rc = parse_manifest(r->str, r->len, m);
    freeReplyObject(r);
    return rc;
}

/* Every chunk's size, before any record is handed out, so an evicted chunk is found before the
 * caller has seen part of the listing. In round trips of at most SIZES_AT_ONCE commands: a
 * forged manifest of 16 MiB names 2.8 million chunks, and one pipeline of them all would take
 * 220 MB (a real listing of a million collections has a few hundred). */
#define SIZES_AT_ONCE 1024
static int check_sizes(struct shared *s, const char *key, const struct manifest *m)
{
    redisReply *r[SIZES_AT_ONCE];
    int rc = 0;
    for (uint64_t at = 0; at < m->nch && rc == 0; at += SIZES_AT_ONCE) {
        size_t k = m->nch - at < SIZES_AT_ONCE ? (size_t)(m->nch - at) : SIZES_AT_ONCE;
        bool held = false;
        if ((rc = lock(s)) < 0)
            return rc;
        if ((rc = conn_get(s)) == 0) {
            for (size_t i = 0; i < k && rc == 0; i++) {
                char cname[NAME_MAX_LEN];
                chunk_name(cname, key, m->token, at + i);
                const char *argv[] = {"STRLEN", cname};
                if (redisAppendCommandArgv(s->c, 2, argv, NULL) != REDIS_OK)
                    rc = -ENOMEM;
            }
            if (rc == 0)
                held = (rc = run_locked(s, SMALL_REPLY * k, r, k)) == 0;
            else
                conn_fail(s, rc, "out of memory");
        }
        pthread_mutex_unlock(&s->lock);
        for (size_t i = 0; i < k && rc == 0; i++)
            if (r[i]->type != REDIS_REPLY_INTEGER || (uint64_t)r[i]->integer != m->ch[at + i].bytes)
                rc = -EBADMSG;
        if (held)
            for (size_t i = 0; i < k; i++)
                freeReplyObject(r[i]);
    }
    return rc;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int shared_read(struct shared *s, const char *key, struct shared_facts *f,
                int (*each)(void *ctx, struct record *r), void *ctx)
{
    if (key_ok(key) < 0 || !f)
        return -EINVAL;
    struct manifest m = {0};
    int rc = read_manifest(s, key, &m);
    if (rc == 0)
        rc = check_sizes(s, key, &m);
    if (rc < 0)
        goto out;
    *f = (struct shared_facts){.fetched_at = (time_t)m.fetched_at,
                               .complete = m.complete == 1,
                               .count = m.count,
                               .gen = m.gen};
    memcpy(f->who, m.who, sizeof f->who);
    for (uint64_t i = 0; i < m.nch && rc == 0; i++) {
        char cname[NAME_MAX_LEN];
        redisReply *r = NULL;
        chunk_name(cname, key, m.token, i);
        if ((rc = get_upto(s, cname, (long long)m.ch[i].bytes, &r)) < 0)
            break;
        if (r->len != m.ch[i].bytes ||
            (uint32_t)crc32(0, (const Bytef *)r->str, (uInt)r->len) != m.ch[i].crc) {
            freeReplyObject(r);
            rc = -EBADMSG;
            break;
        }
        const unsigned char *p = (const unsigned char *)r->str, *end = p + r->len;
        uint64_t k = 0;
        while (rc == 0 && p < end) {
            struct record *rec;
            uint32_t len = (size_t)(end - p) >= 4 ? le32(p) : 0;
            if ((size_t)(end - p) < 4 || len > (size_t)(end - p) - 4 || ++k > m.ch[i].records ||
                record_parse(p + 4, len, &rec) < 0) {
                rc = -EBADMSG;
                break;
            }
            p += 4 + len;
            rc = each(ctx, rec);
        }
        if (rc == 0 && k != m.ch[i].records)
            rc = -EBADMSG;
        freeReplyObject(r);
    }
out:
    free(m.ch);
    return rc;
}

/* ---- watch ---- */

/* Waits up to ms for fd (or only the wake pipe when fd < 0); false when told to stop. */
static bool wait_fd(struct shared *s, int fd, int ms, bool *ready)
{
    struct pollfd p[2] = {{s->wake[0], POLLIN, 0}, {fd, POLLIN, 0}};
    *ready = false;
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    if (atomic_load(&s->stop))
        return false;
    if (n > 0 && fd >= 0 && p[1].revents)
        *ready = true;
    return true;
}

/* One message: ["message", channel, "<gen> <key>"]; anything else is ignored. */
static void heard(struct shared *s, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    const redisReply *k = r->element[0], *m = r->element[2];
    if (k->type != REDIS_REPLY_STRING || strcmp(k->str, "message") != 0 ||
        m->type != REDIS_REPLY_STRING || m->len > KEY_MAX + 22)
        return;
    const char *sp = memchr(m->str, ' ', m->len);
    uint64_t gen;
    if (!sp || take_u64(m->str, (size_t)(sp - m->str), 10, &gen) < 0 || gen == 0 ||
        strlen(sp + 1) != m->len - (size_t)(sp + 1 - m->str) || key_ok(sp + 1) < 0)
        return;
    s->changed(s->changed_ctx, sp + 1, gen);
}

/* Subscribed: reads until the connection fails or shared_close; true when told to stop. */
static bool listen_on(struct shared *s, redisContext *c)
{
    bool confirmed = false, pinged = false;
    /* A connection whose far end vanished without a word (a host gone, a firewall) shows no
     * error: a PING after this much silence must be answered within the timeout. */
    long long idle_ms = 5ll * s->timeout_ms < 2000 ? 2000 : 5ll * s->timeout_ms;
    struct timespec heard_at = clock_now(), now;
    for (;;) {
        void *v = NULL;
        while (redisGetReplyFromReader(c, &v) == REDIS_OK && v) {
            redisReply *r = v;
            heard_at = clock_now();
            pinged = false;
            if (!confirmed && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
                r->element[0]->type == REDIS_REPLY_STRING &&
                strcmp(r->element[0]->str, "subscribe") == 0) {
                confirmed = true;
                /* Messages sent while we were away are lost: let the caller compare. */
                s->changed(s->changed_ctx, NULL, 0);
            } else if (confirmed) {
                heard(s, r);
            }
            freeReplyObject(r);
            v = NULL;
        }
        /* Nothing we subscribe to is bigger: a server sending more is broken or hostile. */
        if (c->err || c->reader->len - c->reader->pos > SMALL_REPLY + KEY_MAX)
            return false;
        now = clock_now();
        long long quiet = clock_ms(&heard_at, &now);
        if ((!confirmed || pinged) && quiet > (long long)s->timeout_ms)
            return false; /* no answer to SUBSCRIBE or PING in time */
        if (confirmed && !pinged && quiet > idle_ms) {
            const char *argv[] = {"PING"};
            char why[160];
            if (redisAppendCommandArgv(c, 1, argv, NULL) != REDIS_OK ||
                exchange(c, s->timeout_ms, 0, NULL, 0, why, sizeof why) < 0)
                return false;
            pinged = true;
            heard_at = clock_now();
        }
        bool ready;
        if (!wait_fd(s, c->fd, pinged || !confirmed ? (int)s->timeout_ms / 4 + 1 : 1000, &ready))
            return true;
        if (ready && redisBufferRead(c) != REDIS_OK)
            return false;
    }
}

static void *watch_main(void *arg)
{
    struct shared *s = arg;
    int backoff = WATCH_BACKOFF_MIN_MS;
    bool said = false;
    for (;;) {
        redisContext *c = NULL;
        char why[200];
        int rc = dial(s, &c, why, sizeof why);
        if (rc == 0) {
            const char *argv[] = {"SUBSCRIBE", CHANNEL};
            if (redisAppendCommandArgv(c, 2, argv, NULL) == REDIS_OK) {
                if (exchange(c, s->timeout_ms, 0, NULL, 0, why, sizeof why) == 0) {
                    backoff = WATCH_BACKOFF_MIN_MS;
                    said = false;
                    if (listen_on(s, c)) {
                        redisFree(c);
                        return NULL;
                    }
                }
            }
            snprintf(why, sizeof why, "subscription lost: %s", c->err ? c->errstr : "no answer");
            redisFree(c);
        }
        if (!said)
            log_debug("shared cache %s: %s; listening again in a moment", s->where, why);
        said = true;
        bool ready;
        if (!wait_fd(s, -1, backoff, &ready))
            return NULL;
        backoff = backoff * 2 > WATCH_BACKOFF_MAX_MS ? WATCH_BACKOFF_MAX_MS : backoff * 2;
    }
}

int shared_watch(struct shared *s, void (*changed)(void *ctx, const char *key, uint64_t gen),
                 void *ctx)
{
    if (!s || !changed || s->watching)
        return -EINVAL;
    if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    s->changed = changed;
    s->changed_ctx = ctx;
    int rc = pthread_create(&s->watcher, NULL, watch_main, s);
    if (rc != 0) {
        close(s->wake[0]);
        close(s->wake[1]);
        s->wake[0] = s->wake[1] = -1;
        return -rc;
    }
    s->watching = true;
    return 0;
}
