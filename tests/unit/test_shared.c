/* The Redis layer of the shared cache against a real redis-server started here
 * (a unix socket in a temp dir, no persistence): URL forms, leases and fencing,
 * publish and read back, damaged chunks and manifests, the watch thread, and a
 * Redis that dies, comes back, never answers or answers garbage. A Redis that
 * cannot start is a failure, not a skip. */
#include <dlfcn.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netdb.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "check.h"
#include "clock.h"
#include "fleet.h"
#include "listing.h"
#include "provider.h"
#include "record.h"
#include "shared.h"

#define PASSWORD "s3cret-pw"
#define TIMEOUT_MS 500
#define P "collectionsfs:v3:"
/* A counter's first number is Redis's clock in microseconds: past this since 2001. */
#define FIRST_MIN 1000000000000000ULL

static char dir[64], sock[128], url[160];
static int port;
static pid_t redis_pid = -1;

static redisContext *raw(void)
{
    redisContext *c = redisConnectUnix(sock);
    if (c && c->err) {
        redisFree(c);
        c = NULL;
    }
    if (!c)
        return NULL;
    freeReplyObject(redisCommand(c, "AUTH %s", PASSWORD));
    freeReplyObject(redisCommand(c, "SELECT 2")); /* the db the url names */
    return c;
}

static bool redis_start(void)
{
    unlink(sock);
    redis_pid = fork();
    if (redis_pid == 0) {
        freopen("/dev/null", "w", stdout);
        char p[16];
        snprintf(p, sizeof p, "%d", port);
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--unixsocket",
               sock, "--save", "", "--appendonly", "no", "--dir", dir, "--requirepass", PASSWORD,
               "--loglevel", "warning", (char *)NULL);
        _exit(127);
    }
    if (redis_pid < 0)
        return false;
    struct timespec t0 = clock_now(), now;
    do {
        redisContext *c = raw();
        if (c) {
            redisReply *r = redisCommand(c, "PING");
            bool ok = r && r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            redisFree(c);
            if (ok)
                return true;
        }
        usleep(20000);
        now = clock_now();
    } while (clock_ms(&t0, &now) < 10000);
    return false;
}

static void redis_stop(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
        redis_pid = -1;
    }
}

static long long raw_int(const char *fmt, const char *a)
{
    redisContext *c = raw();
    long long v = -999;
    redisReply *r = c ? redisCommand(c, fmt, a) : NULL;
    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    freeReplyObject(r);
    if (c)
        redisFree(c);
    return v;
}

static bool raw_set(const char *key, const void *v, size_t len)
{
    redisContext *c = raw();
    redisReply *r = c ? redisCommand(c, "SET %s %b", key, v, len) : NULL;
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (c)
        redisFree(c);
    return ok;
}

/* A value's bytes (malloc'd) and length; NULL when missing. */
static char *raw_get(const char *key, size_t *len)
{
    redisContext *c = raw();
    redisReply *r = c ? redisCommand(c, "GET %s", key) : NULL;
    char *v = NULL;
    if (r && r->type == REDIS_REPLY_STRING) {
        v = malloc(r->len + 1);
        memcpy(v, r->str, r->len + 1);
        *len = r->len;
    }
    freeReplyObject(r);
    if (c)
        redisFree(c);
    return v;
}

static struct record *mkrec(unsigned i, size_t jsonlen)
{
    struct item it = {0};
    char id[32], name[64];
    snprintf(id, sizeof id, "id%u", i);
    snprintf(name, sizeof name, "name %u", i);
    char *json = malloc(jsonlen + 1);
    memset(json, 'a' + (char)(i % 26), jsonlen);
    json[jsonlen] = '\0';
    it.id = id;
    it.name = name;
    it.name_len = strlen(name);
    it.json = json;
    it.json_len = jsonlen;
    it.has_created = true;
    it.created.tv_sec = 1700000000 + i;
    struct record *r = record_encode(&it, 8192 * (1 + (uint64_t)i));
    free(json);
    return r;
}

struct got {
    struct record **r;
    size_t n, cap;
};

static int collect(void *ctx, struct record *r)
{
    struct got *g = ctx;
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 64;
        g->r = realloc(g->r, g->cap * sizeof *g->r);
    }
    g->r[g->n++] = r;
    return 0;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        record_unref(g->r[i]);
    free(g->r);
    *g = (struct got){0};
}

static bool same(struct record *const *a, struct record *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t la, lb;
        const void *pa = record_bytes(a[i], &la), *pb = record_bytes(b[i], &lb);
        if (la != lb || memcmp(pa, pb, la) != 0)
            return false;
    }
    return true;
}

static struct shared *open_ok(const char *pw)
{
    struct shared *s = NULL;
    char err[256];
    if (!CHECK(shared_open(url, pw, TIMEOUT_MS, &s, err, sizeof err) == 0))
        printf("# %s\n", err);
    return s;
}

static void urls(void)
{
    const char *bad[] = {"http://h:1",
                         "redis://h",
                         "redis://:1",
                         "redis://h:0",
                         "redis://h:70000",
                         "redis://h:1/x",
                         "unix:relative",
                         "unix:/a?db=x",
                         "unix:/a?x=1",
                         "redis://h:1/1/2",
                         "",
                         "redis://h h:1",
                         "redis://[::1]1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct shared *s = (struct shared *)1;
        char err[256] = "";
        int rc = shared_open(bad[i], NULL, TIMEOUT_MS, &s, err, sizeof err);
        if (!CHECK(rc == -EINVAL && s == NULL && strstr(err, "redis://HOST:PORT[/DB]") &&
                   strstr(err, "unix:/PATH[?db=N]")))
            printf("# %s: %d %s\n", bad[i], rc, err);
    }
    /* A password in the URL is refused and never repeated. */
    struct shared *s = NULL;
    char err[256] = "";
    CHECK(shared_open("redis://:hunter2@h:1", NULL, TIMEOUT_MS, &s, err, sizeof err) == -EINVAL);
    CHECK(strstr(err, "hunter2") == NULL && strstr(err, "shared_cache_password"));

    CHECK(shared_url_local("unix:/run/redis.sock"));
    CHECK(shared_url_local("redis://127.0.0.1:6379/2"));
    CHECK(shared_url_local("redis://localhost:6379"));
    CHECK(shared_url_local("redis://[::1]:6379"));
    CHECK(!shared_url_local("redis://10.0.0.1:6379"));
    CHECK(!shared_url_local("redis://cache.example:6379"));
    /* Names that only look like loopback addresses resolve wherever their DNS says. */
    CHECK(!shared_url_local("redis://127.attacker.example:6379"));
    CHECK(!shared_url_local("redis://127.0.0.1.nip.io:6379"));
    CHECK(!shared_url_local("redis://127:6379"));
    CHECK(shared_url_local("redis://127.1.2.3:6379"));
    CHECK(!shared_url_local("bogus"));

    /* Nothing listening: open succeeds (the daemon must start), calls fail fast. */
    char dead[200];
    snprintf(dead, sizeof dead, "unix:%s/none.sock?db=3", dir);
    CHECK(shared_open(dead, NULL, TIMEOUT_MS, &s, err, sizeof err) == 0 && s);
    uint64_t g = 7;
    struct timespec t0 = clock_now();
    int rc = shared_generation(s, "k", &g);
    struct timespec t1 = clock_now();
    CHECK(rc == -ECONNREFUSED && g == 7);
    CHECK(clock_ms(&t0, &t1) < TIMEOUT_MS);
    shared_close(s);
    shared_close(NULL);
}

static void auth(void)
{
    struct shared *s = open_ok(NULL);
    uint64_t g;
    CHECK(shared_generation(s, "k", &g) == -EACCES);
    shared_close(s);
    s = open_ok("wrong");
    CHECK(shared_generation(s, "k", &g) == -EACCES);
    shared_close(s);
}

/* The same Redis over TCP on loopback. */
static void tcp(void)
{
    char u[64], err[256];
    struct shared *s = NULL;
    uint64_t t;
    snprintf(u, sizeof u, "redis://127.0.0.1:%d/2", port);
    CHECK(shared_open(u, PASSWORD, TIMEOUT_MS, &s, err, sizeof err) == 0);
    CHECK(shared_lease(s, "tcp", 1000, &t) == 1);
    CHECK(raw_int("EXISTS %s", P "tcp:lease") == 1); /* db 2, as the unix url */
    shared_release(s, "tcp", t);
    shared_close(s);
    snprintf(u, sizeof u, "redis://localhost:%d/2", port); /* a name, looked up */
    CHECK(shared_open(u, PASSWORD, TIMEOUT_MS, &s, err, sizeof err) == 0);
    CHECK(shared_lease(s, "tcp", 1000, &t) == 1);
    shared_release(s, "tcp", t);
    shared_close(s);
}

/* A resolver that takes 5 s to answer for one name, as during a DNS outage (this definition
 * stands in for libc's, for hiredis too); slow_lookups counts the lookups of that name. */
static atomic_int slow_lookups;

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
    if (node && strcmp(node, "slow-dns.example") == 0) {
        if (hints && hints->ai_family == AF_INET) /* each lookup asks IPv4 first */
            atomic_fetch_add(&slow_lookups, 1);
        sleep(5);
        return EAI_AGAIN;
    }
    return real(node, service, hints, res);
}

/* A name the resolver does not answer for costs no more than the timeout. */
static void slow_dns(void)
{
    char err[256];
    struct shared *s = NULL;
    struct timespec t0 = clock_now();
    CHECK(shared_open("redis://slow-dns.example:6379", NULL, TIMEOUT_MS, &s, err, sizeof err) == 0);
    struct timespec t1 = clock_now();
    if (!CHECK(clock_ms(&t0, &t1) <= TIMEOUT_MS + 200))
        printf("# shared_open took %lld ms\n", clock_ms(&t0, &t1));
    usleep(1100 * 1000); /* past the redial pause, so the next call dials */
    uint64_t g;
    t0 = clock_now();
    int rc = shared_generation(s, "k", &g);
    t1 = clock_now();
    CHECK(rc == -ETIMEDOUT);
    if (!CHECK(clock_ms(&t0, &t1) <= TIMEOUT_MS + 200))
        printf("# shared_generation: %d after %lld ms\n", rc, clock_ms(&t0, &t1));
    /* Dials while the resolver stays silent wait for the one lookup under way rather than each
     * starting one more (a thread each, for as long as the resolver's timeouts). */
    usleep(1100 * 1000);
    CHECK(shared_generation(s, "k", &g) == -ETIMEDOUT);
    if (!CHECK(atomic_load(&slow_lookups) == 1))
        printf("# %d lookups of one name at once\n", atomic_load(&slow_lookups));
    shared_close(s);
}

/* A free loopback port for redis-server (bound, then let go). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int p = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        p = ntohs(a.sin_port);
    close(fd);
    return p;
}

static void leases(struct shared *s)
{
    uint64_t a = 0, b = 0, c = 0;
    CHECK(shared_lease(s, "lease1", 10000, &a) == 1 && a > 0);
    CHECK(shared_lease(s, "lease1", 10000, &b) == 0);
    CHECK(shared_renew(s, "lease1", a, 20000) == 0);
    long long pttl = raw_int("PTTL %s", P "lease1:lease");
    CHECK(pttl > 10000 && pttl <= 20000);
    CHECK(shared_renew(s, "lease1", a + 100, 20000) == -ESTALE);
    shared_release(s, "lease1", a + 100); /* not ours: kept */
    CHECK(raw_int("EXISTS %s", P "lease1:lease") == 1);
    shared_release(s, "lease1", a);
    CHECK(raw_int("EXISTS %s", P "lease1:lease") == 0);
    CHECK(shared_lease(s, "lease1", 10000, &c) == 1 && c > a);
    CHECK(shared_renew(s, "lease1", a, 10000) == -ESTALE);
    shared_release(s, "lease1", c);
    CHECK(shared_lease(s, "bad\nkey", 1000, &c) == -EINVAL);
    CHECK(shared_lease(s, "", 1000, &c) == -EINVAL);
}

/* Waits (bounded) until a lease has expired. */
static bool lease_gone(const char *key)
{
    char k[200];
    snprintf(k, sizeof k, P "%s:lease", key);
    struct timespec t0 = clock_now(), now;
    do {
        if (raw_int("EXISTS %s", k) == 0)
            return true;
        usleep(10000);
        now = clock_now();
    } while (clock_ms(&t0, &now) < 5000);
    return false;
}

static void fencing(struct shared *s)
{
    struct record *r[3] = {mkrec(1, 10), mkrec(2, 20), mkrec(3, 30)};
    struct shared_facts f = {.fetched_at = 5, .complete = true, .who = "hostA:1"};
    uint64_t a, b;

    /* A's lease expires, B takes it and publishes: A's late publish is refused. */
    CHECK(shared_lease(s, "fence1", 50, &a) == 1);
    CHECK(lease_gone("fence1"));
    CHECK(shared_lease(s, "fence1", 10000, &b) == 1 && b > a);
    CHECK(shared_publish(s, "fence1", b, 60, 0, &f, r, 2) == 0 && f.gen > FIRST_MIN);
    uint64_t g1 = f.gen;
    CHECK(shared_publish(s, "fence1", a, 60, 0, &f, r, 3) == -ESTALE);
    char k[200];
    snprintf(k, sizeof k, P "fence1:c:%llu:0", (unsigned long long)a);
    CHECK(raw_int("EXISTS %s", k) == 0); /* the refused publisher's staged chunk is gone */
    struct shared_facts rf;
    struct got g = {0};
    CHECK(shared_read(s, "fence1", &rf, collect, &g) == 0 && g.n == 2 && rf.gen == g1);
    got_free(&g);
    /* Even with the lease free again, an older token cannot overwrite a newer listing. */
    shared_release(s, "fence1", b);
    CHECK(shared_publish(s, "fence1", a, 60, 0, &f, r, 3) == -ESTALE);

    /* A publishing while B holds the lease is refused; B's publication then goes through. */
    CHECK(shared_lease(s, "fence2", 50, &a) == 1);
    CHECK(lease_gone("fence2"));
    CHECK(shared_lease(s, "fence2", 10000, &b) == 1);
    CHECK(shared_publish(s, "fence2", a, 60, 0, &f, r, 3) == -ESTALE);
    uint64_t gen = 99;
    CHECK(shared_generation(s, "fence2", &gen) == 0 && gen == 0);
    CHECK(shared_read(s, "fence2", &rf, collect, &g) == -ENOENT && g.n == 0);
    CHECK(shared_publish(s, "fence2", b, 60, 0, &f, r, 3) == 0 && f.gen > FIRST_MIN);
    CHECK(shared_generation(s, "fence2", &gen) == 0 && gen == f.gen);
    /* The same token cannot publish twice. */
    CHECK(shared_publish(s, "fence2", b, 60, 0, &f, r, 3) == -ESTALE);
    shared_release(s, "fence2", b);
    for (int i = 0; i < 3; i++)
        record_unref(r[i]);
}

/* Redis flushed (or restarted without persistence) under a fleet: the numbers handed out after
 * are all above those before, so a daemon holding one of them neither takes a new publication for
 * the one it holds nor gets its old token's listing published over a newer one. */
static void flushed(struct shared *s)
{
    struct record *r[2] = {mkrec(1, 10), mkrec(2, 20)};
    struct shared_facts f = {.fetched_at = 5, .complete = true, .who = "hostA:1"};
    uint64_t old, fresh, g0;
    CHECK(shared_lease(s, "flush", 10000, &old) == 1 && old > FIRST_MIN);
    CHECK(shared_publish(s, "flush", old, 60, 0, &f, r, 2) == 0);
    g0 = f.gen;
    raw_int("FLUSHALL %s", "SYNC"); /* a status reply: the EXISTS below checks it */
    CHECK(raw_int("EXISTS %s", P "flush:gen") == 0);
    CHECK(shared_lease(s, "flush", 10000, &fresh) == 1 && fresh > old);
    /* the holder from before the flush finishes its walk: fenced out */
    CHECK(shared_publish(s, "flush", old, 60, 0, &f, r, 2) == -ESTALE);
    CHECK(shared_publish(s, "flush", fresh, 60, 0, &f, r, 1) == 0 && f.gen > g0);
    shared_release(s, "flush", fresh);
    for (int i = 0; i < 2; i++)
        record_unref(r[i]);
}

/* A publication Redis has no room for takes its staged chunks back: under maxmemory with
 * noeviction, left to expire they would refuse every later write, the next walk's lease too. */
static void full(struct shared *s)
{
    enum { M = 8 };
    struct record *r[M];
    for (unsigned i = 0; i < M; i++)
        r[i] = mkrec(i, 512 * 1024); /* 4 MB: four chunks */
    struct shared_facts f = {.fetched_at = 9, .complete = true, .who = "h:1"};
    uint64_t t;
    raw_int("CONFIG SET maxmemory-policy %s", "noeviction");
    raw_int("CONFIG SET maxmemory %s", "3mb"); /* an empty Redis takes about 1 MB */
    CHECK(shared_lease(s, "full", 10000, &t) == 1);
    CHECK(shared_publish(s, "full", t, 60, 10000, &f, r, M) == -ENOSPC);
    CHECK(raw_int("EVAL %s 0", "return #redis.call('KEYS', '" P "full:c:*')") == 0);
    shared_release(s, "full", t);
    /* room again: the next walk's lease and publication go through */
    CHECK(shared_lease(s, "full", 10000, &t) == 1);
    CHECK(shared_publish(s, "full", t, 60, 10000, &f, r, 1) == 0);
    shared_release(s, "full", t);
    raw_int("CONFIG SET maxmemory %s", "0");
    for (unsigned i = 0; i < M; i++)
        record_unref(r[i]);
}

/* A second daemon that takes the lease the moment it is free. */
static atomic_bool thief_stop, thief_won;
static const char *thief_key;

static void *thief_main(void *arg)
{
    (void)arg;
    redisContext *c = raw();
    while (c && !atomic_load(&thief_stop) && !atomic_load(&thief_won)) {
        redisReply *r = redisCommand(c, "SET %s thief NX PX 10000", thief_key);
        if (r && r->type == REDIS_REPLY_STATUS)
            atomic_store(&thief_won, true);
        freeReplyObject(r);
        usleep(5000);
    }
    if (c)
        redisFree(c);
    return NULL;
}

/* A publication that takes longer than what is left of the lease when it starts keeps the
 * lease: a walk's last renewal may be up to a third of the lease before it. */
static void slow_publish(struct shared *s)
{
    enum { M = 48 };
    struct record *r[M];
    for (unsigned i = 0; i < M; i++)
        r[i] = mkrec(i, 512 * 1024); /* 24 MB */
    struct shared_facts f = {.fetched_at = 9, .complete = true, .who = "h:1"};
    uint64_t t;
    CHECK(shared_lease(s, "slow", 600, &t) == 1);
    usleep(450 * 1000);
    thief_key = P "slow:lease";
    atomic_store(&thief_stop, false);
    atomic_store(&thief_won, false);
    pthread_t th;
    pthread_create(&th, NULL, thief_main, NULL);
    struct timespec t0 = clock_now();
    int rc = shared_publish(s, "slow", t, 60, 600, &f, r, M);
    struct timespec t1 = clock_now();
    atomic_store(&thief_stop, true);
    pthread_join(th, NULL);
    printf("# a publication of 24 MB took %lld ms; the lease had 150 ms left\n",
           clock_ms(&t0, &t1));
    if (!CHECK(rc == 0 && !atomic_load(&thief_won)))
        printf("# publish: %d, lease taken meanwhile: %d\n", rc, (int)atomic_load(&thief_won));
    shared_release(s, "slow", t);
    for (unsigned i = 0; i < M; i++)
        record_unref(r[i]);
}

#define N 3000
static struct record *big[N];

static uint64_t publish_big(struct shared *s, const char *key, size_t n, struct shared_facts *f)
{
    uint64_t t;
    if (!CHECK(shared_lease(s, key, 10000, &t) == 1))
        return 0;
    int rc = shared_publish(s, key, t, 60, 10000, f, big, n);
    if (!CHECK(rc == 0))
        printf("# publish: %d\n", rc);
    shared_release(s, key, t);
    return t;
}

static void roundtrip(struct shared *s)
{
    for (unsigned i = 0; i < N; i++)
        big[i] = mkrec(i, 900 + i % 300); /* about 3.5 MB: several chunks */
    struct shared_facts f = {.fetched_at = 1700000123, .complete = true, .who = "host-a:42"};
    uint64_t t1 = publish_big(s, "big", N, &f);
    uint64_t g1 = f.gen;
    CHECK(g1 > FIRST_MIN);
    struct shared_facts rf;
    struct got g = {0};
    CHECK(shared_read(s, "big", &rf, collect, &g) == 0);
    CHECK(g.n == N && same(g.r, big, N));
    CHECK(rf.gen == g1 && rf.count == N && rf.complete && rf.fetched_at == 1700000123);
    CHECK_STR(rf.who, "host-a:42");
    got_free(&g);
    char k[200];
    snprintf(k, sizeof k, P "big:c:%llu:3", (unsigned long long)t1);
    CHECK(raw_int("EXISTS %s", k) == 1);

    /* A second publication: the next generation, other facts, the old chunks expire soon. */
    f = (struct shared_facts){.fetched_at = 7, .complete = false, .who = "b c\n"};
    publish_big(s, "big", N - 1000, &f);
    CHECK(f.gen == g1 + 1);
    long long pttl = raw_int("PTTL %s", k);
    CHECK(pttl > 0 && pttl <= 60000);
    CHECK(shared_read(s, "big", &rf, collect, &g) == 0);
    CHECK(g.n == N - 1000 && same(g.r, big, N - 1000));
    CHECK(rf.gen == g1 + 1 && rf.count == N - 1000 && !rf.complete && rf.fetched_at == 7);
    CHECK_STR(rf.who, "b_c_");
    got_free(&g);
    uint64_t gen;
    CHECK(shared_generation(s, "big", &gen) == 0 && gen == g1 + 1);

    /* An empty listing is a listing. */
    f = (struct shared_facts){.fetched_at = 8, .complete = true, .who = "h:1"};
    publish_big(s, "empty", 0, &f);
    CHECK(shared_read(s, "empty", &rf, collect, &g) == 0 && g.n == 0 && rf.count == 0 &&
          rf.gen > FIRST_MIN);

    /* each() stops the read with its own value. */
    CHECK(shared_read(s, "big", &rf, collect, &g) == 0);
    got_free(&g);
}

static int stop_at_5(void *ctx, struct record *r)
{
    int *n = ctx;
    record_unref(r);
    return ++*n == 5 ? 42 : 0;
}

static int drop(void *ctx, struct record *r)
{
    (void)ctx;
    record_unref(r);
    return 0;
}

static void damage(struct shared *s)
{
    struct shared_facts f = {.fetched_at = 1, .complete = true, .who = "h:1"}, rf;
    int n = 0;
    uint64_t t = publish_big(s, "dmg", N, &f);
    CHECK(shared_read(s, "dmg", &rf, stop_at_5, &n) == 42 && n == 5);
    CHECK(shared_read(s, "nothing", &rf, drop, NULL) == -ENOENT);

    char k[200], mk[200];
    snprintf(k, sizeof k, P "dmg:c:%llu:1", (unsigned long long)t);
    snprintf(mk, sizeof mk, P "dmg:manifest");
    size_t len, mlen;
    char *chunk = raw_get(k, &len), *man = raw_get(mk, &mlen);
    CHECK(chunk && man);
    if (!chunk || !man)
        return;

    CHECK(raw_int("DEL %s", k) == 1);
    CHECK(shared_read(s, "dmg", &rf, drop, NULL) == -EBADMSG);
    chunk[len / 2] ^= 1; /* same length, one bit off */
    CHECK(raw_set(k, chunk, len));
    CHECK(shared_read(s, "dmg", &rf, drop, NULL) == -EBADMSG);
    chunk[len / 2] ^= 1;
    CHECK(raw_set(k, chunk, len - 1));
    CHECK(shared_read(s, "dmg", &rf, drop, NULL) == -EBADMSG);
    CHECK(raw_set(k, "garbage", 7));
    CHECK(shared_read(s, "dmg", &rf, drop, NULL) == -EBADMSG);
    CHECK(raw_set(k, chunk, len));
    CHECK(shared_read(s, "dmg", &rf, drop, NULL) == 0);

    CHECK(raw_set(mk, man, mlen / 2));
    CHECK(shared_read(s, "dmg", &rf, drop, NULL) == -EBADMSG);
    CHECK(raw_set(mk, man, mlen - 1)); /* last newline gone */
    CHECK(shared_read(s, "dmg", &rf, drop, NULL) == -EBADMSG);
    CHECK(raw_set(mk, "\xff\x00zz", 4));
    CHECK(shared_read(s, "dmg", &rf, drop, NULL) == -EBADMSG);
    /* a manifest claiming a huge number of chunks */
    char forged[512];
    int fl = snprintf(forged, sizeof forged,
                      "collectionsfs-manifest 1\ngen 1\ntoken %llu\nfetched_at 1\ncomplete 1\n"
                      "count 1\nwho h\nchunks 99999999999\n",
                      (unsigned long long)t);
    CHECK(raw_set(mk, forged, (size_t)fl));
    CHECK(shared_read(s, "dmg", &rf, drop, NULL) == -EBADMSG);

    /* A chunk whose checksum matches its manifest but whose record is malformed. */
    unsigned char bad[60] = {56, 0, 0, 0, 'c', 'R', 1};
    uint32_t crc = (uint32_t)crc32(0, bad, sizeof bad);
    fl = snprintf(forged, sizeof forged,
                  "collectionsfs-manifest 1\ngen 1\ntoken 77\nfetched_at -3\ncomplete 0\n"
                  "count 1\nwho h\nchunks 1\n1 60 %08x\n",
                  (unsigned)crc);
    CHECK(raw_set(P "dmg:c:77:0", bad, sizeof bad));
    CHECK(raw_set(mk, forged, (size_t)fl));
    CHECK(shared_read(s, "dmg", &rf, drop, NULL) == -EBADMSG);
    /* ... and the same framing with a record length past the chunk's end */
    bad[0] = 57;
    crc = (uint32_t)crc32(0, bad, sizeof bad);
    fl = snprintf(forged, sizeof forged,
                  "collectionsfs-manifest 1\ngen 1\ntoken 77\nfetched_at -3\ncomplete 0\n"
                  "count 1\nwho h\nchunks 1\n1 60 %08x\n",
                  (unsigned)crc);
    CHECK(raw_set(P "dmg:c:77:0", bad, sizeof bad));
    CHECK(raw_set(mk, forged, (size_t)fl));
    CHECK(shared_read(s, "dmg", &rf, drop, NULL) == -EBADMSG);
    /* A walk's time that no walk had: 2^63 s ago is neither a time nor a difference to take. */
    fl = snprintf(forged, sizeof forged,
                  "collectionsfs-manifest 1\ngen 1\ntoken 78\nfetched_at -9223372036854775807\n"
                  "complete 1\ncount 0\nwho h\nchunks 0\n");
    CHECK(raw_set(mk, forged, (size_t)fl));
    struct listing *l = NULL;
    int rc = fleet_read(s, "dmg", "sec", NULL, 100, 60, &l, &rf);
    if (!CHECK(rc == -EBADMSG))
        printf("# fleet_read: %d, fetched_at %lld\n", rc, (long long)rf.fetched_at);
    if (rc == 0)
        listing_unref(l);
    /* A manifest key of another type. */
    redisContext *c = raw();
    freeReplyObject(redisCommand(c, "DEL %s", mk));
    freeReplyObject(redisCommand(c, "RPUSH %s x", mk));
    redisFree(c);
    CHECK(shared_read(s, "dmg", &rf, drop, NULL) == -EBADMSG);
    /* A forged generation that is not a number. */
    CHECK(raw_set(P "dmg:gen", "12x", 3));
    uint64_t gen;
    CHECK(shared_generation(s, "dmg", &gen) == -EBADMSG);
    free(chunk);
    free(man);
}

/* Publications that swap a manifest for a longer one while a daemon reads: every read gets one
 * of them whole. (Read as its size, then that many bytes, a longer manifest was read cut to the
 * shorter one's size, and the listing called damaged.) */
static atomic_bool swap_stop;

static void *swapper(void *arg)
{
    char *const *m = arg; /* two manifests */
    redisContext *c = raw();
    for (unsigned i = 0; c && !atomic_load(&swap_stop); i++)
        freeReplyObject(redisCommand(c, "SET %s %s", P "swap:manifest", m[i & 1]));
    if (c)
        redisFree(c);
    return NULL;
}

static void swapped(struct shared *s)
{
    struct shared_facts f = {.fetched_at = 1, .complete = true, .who = "h:1"}, rf;
    publish_big(s, "swap", 3, &f);
    size_t len;
    char *man = raw_get(P "swap:manifest", &len);
    if (!CHECK(man && strstr(man, "\nwho h:1\n")))
        return;
    char *m[2] = {man, NULL};
    const char *w = strstr(man, "\nwho h:1\n");
    CHECK(asprintf(&m[1], "%.*s\nwho a-much-longer-host-name:123456\n%s", (int)(w - man), man,
                   w + strlen("\nwho h:1\n")) > 0);
    atomic_store(&swap_stop, false);
    pthread_t th;
    pthread_create(&th, NULL, swapper, m);
    int bad = 0, reads = 0;
    for (struct timespec t0 = clock_now(), now = t0; clock_ms(&t0, &now) < 2000;
         now = clock_now(), reads++)
        bad += shared_read(s, "swap", &rf, drop, NULL) != 0;
    atomic_store(&swap_stop, true);
    pthread_join(th, NULL);
    if (!CHECK(bad == 0))
        printf("# %d of %d reads failed while the manifest was swapped\n", bad, reads);
    free(man);
    free(m[1]);
}

/* A listing of one record per chunk: more chunks than one round trip asks the sizes of, and a
 * chunk gone in the last round trip is still found before any record is handed out. */
static void many_chunks(struct shared *s)
{
    struct buf man;
    buf_init(&man, SIZE_MAX);
    buf_addf(&man,
             "collectionsfs-manifest 1\ngen 1\ntoken 90\nfetched_at 1\ncomplete 1\ncount %u\n"
             "who h\nchunks %u\n",
             N, N);
    bool stored = true; /* one check for them all: one TAP line, not 3,000 */
    for (unsigned i = 0; i < N && stored; i++) {
        size_t len;
        const unsigned char *b = record_bytes(big[i], &len);
        unsigned char *c = malloc(len + 4);
        if (!(stored = c != NULL))
            break;
        c[0] = (unsigned char)len, c[1] = (unsigned char)(len >> 8);
        c[2] = (unsigned char)(len >> 16), c[3] = (unsigned char)(len >> 24);
        memcpy(c + 4, b, len);
        char k[200];
        snprintf(k, sizeof k, P "many:c:90:%u", i);
        stored = raw_set(k, c, len + 4);
        buf_addf(&man, "1 %zu %08x\n", len + 4, (unsigned)crc32(0, c, (uInt)(len + 4)));
        free(c);
    }
    CHECK(stored && raw_set(P "many:manifest", man.p, man.len));
    buf_free(&man);
    struct shared_facts rf;
    struct got g = {0};
    CHECK(shared_read(s, "many", &rf, collect, &g) == 0);
    CHECK(g.n == N && same(g.r, big, N));
    got_free(&g);
    CHECK(raw_int("DEL %s", P "many:c:90:2999") == 1);
    int n = 0;
    CHECK(shared_read(s, "many", &rf, stop_at_5, &n) == -EBADMSG && n == 0);
}

/* What the watch thread heard. */
static pthread_mutex_t w_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t w_cond = PTHREAD_COND_INITIALIZER;
static int w_connects, w_msgs;
static char w_key[600];
static uint64_t w_gen;

static void changed(void *ctx, const char *key, uint64_t gen)
{
    (void)ctx;
    pthread_mutex_lock(&w_lock);
    if (!key) {
        w_connects++;
    } else {
        w_msgs++;
        snprintf(w_key, sizeof w_key, "%s", key);
        w_gen = gen;
    }
    pthread_cond_broadcast(&w_cond);
    pthread_mutex_unlock(&w_lock);
}

/* Waits up to ms for *v to reach at least want. */
static bool wait_count(int *v, int want, int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w_lock);
    int rc = 0;
    while (*v < want && rc == 0)
        rc = pthread_cond_timedwait(&w_cond, &w_lock, &dl);
    bool ok = *v >= want;
    pthread_mutex_unlock(&w_lock);
    return ok;
}

static void watch(struct shared *s, struct shared *w)
{
    CHECK(shared_watch(w, changed, NULL) == 0);
    CHECK(shared_watch(w, changed, NULL) == -EINVAL);
    CHECK(wait_count(&w_connects, 1, 5000));
    /* Malformed messages are ignored; the next good one is heard. */
    redisContext *c = raw();
    const char *junk[] = {"", "x", "12", "0 k", "-1 k", "1 bad\nkey", "99999999999999999999999 k"};
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++)
        freeReplyObject(redisCommand(c, "PUBLISH " P "published %s", junk[i]));
    redisFree(c);
    struct shared_facts f = {.fetched_at = 1, .complete = true, .who = "h:1"};
    publish_big(s, "watched", 10, &f);
    CHECK(wait_count(&w_msgs, 1, 5000));
    pthread_mutex_lock(&w_lock);
    CHECK(w_msgs == 1 && w_gen == f.gen && strcmp(w_key, "watched") == 0);
    pthread_mutex_unlock(&w_lock);
}

/* Redis dies: every call fails within the timeout; it returns: calls work again, the watcher
 * reconnects and says so. */
static void outage(struct shared *s)
{
    redis_stop();
    uint64_t gen, t;
    int worst = 0;
    for (int i = 0; i < 20; i++) {
        struct timespec t0 = clock_now();
        int rc = i % 2 ? shared_generation(s, "big", &gen) : shared_lease(s, "big", 1000, &t);
        struct timespec t1 = clock_now();
        if (!CHECK(rc == -ECONNREFUSED || rc == -EIO || rc == -ETIMEDOUT || rc == -ECONNRESET ||
                   rc == -EPIPE))
            printf("# rc %d\n", rc);
        if (clock_ms(&t0, &t1) > worst)
            worst = (int)clock_ms(&t0, &t1);
        usleep(100000); /* spread the calls over two redial periods */
    }
    if (!CHECK(worst <= TIMEOUT_MS + 200))
        printf("# slowest call while Redis was down: %d ms\n", worst);
    int before;
    pthread_mutex_lock(&w_lock);
    before = w_connects;
    pthread_mutex_unlock(&w_lock);

    CHECK(redis_start());
    struct timespec t0 = clock_now(), now;
    int rc;
    do {
        rc = shared_generation(s, "big", &gen);
        usleep(50000);
        now = clock_now();
    } while (rc != 0 && clock_ms(&t0, &now) < 5000);
    CHECK(rc == 0 && gen == 0); /* a new, empty Redis */
    CHECK(wait_count(&w_connects, before + 1, 15000));
    struct shared_facts f = {.fetched_at = 1, .complete = true, .who = "h:1"};
    publish_big(s, "after", 5, &f);
    struct shared_facts rf;
    CHECK(shared_read(s, "after", &rf, drop, NULL) == 0 && rf.count == 5);
}

/* A server that accepts and never answers, answers garbage, or answers AUTH and then starts a
 * 100 MB reply to the next command. */
enum fake_mode { SILENT, GARBAGE, HUGE, ARRAY };
static int fake_fd;
static enum fake_mode fake_mode;
static _Atomic long long fake_sent;

static void *fake_main(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(fake_fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char b[256];
        ssize_t n;
        if (fake_mode == GARBAGE) {
            n = read(c, b, sizeof b);
            n = write(c, "?garbage\r\n$999999999\r\nxx", 24);
            close(c);
        } else if (fake_mode == HUGE) {
            n = read(c, b, sizeof b);
            n = write(c, "+OK\r\n", 5);
            n = read(c, b, sizeof b);
            n = write(c, "$100000000\r\n", 13);
            static char junk[65536];
            while ((n = write(c, junk, sizeof junk)) > 0)
                fake_sent += n;
            close(c);
        } else if (fake_mode == ARRAY) {
            /* small elements of a huge array: each is parsed (and kept) as it comes, so
             * hiredis's buffer stays small while its reply grows */
            n = read(c, b, sizeof b);
            n = write(c, "+OK\r\n", 5);
            n = read(c, b, sizeof b);
            n = write(c, "*100000000\r\n", 12);
            static char ints[65536];
            for (size_t i = 0; i + 4 <= sizeof ints; i += 4)
                memcpy(ints + i, ":1\r\n", 4);
            while ((n = write(c, ints, sizeof ints)) > 0)
                fake_sent += n;
            close(c);
        }
        (void)n;
        /* else: kept open, silent (leaked on purpose until the test exits) */
    }
}

static void hostile(enum fake_mode mode)
{
    const char *names[] = {"silent", "garbage", "huge", "array"};
    char path[100], u[220], err[256];
    snprintf(path, sizeof path, "%s/%s.sock", dir, names[mode]);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    fake_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    fake_mode = mode;
    fake_sent = 0;
    CHECK(bind(fake_fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fake_fd, 16) == 0);
    pthread_t th;
    pthread_create(&th, NULL, fake_main, NULL);
    snprintf(u, sizeof u, "unix:%s", path);
    struct shared *s = NULL;
    struct timespec t0 = clock_now();
    CHECK(shared_open(u, PASSWORD, TIMEOUT_MS, &s, err, sizeof err) == 0);
    struct timespec t1 = clock_now();
    CHECK(clock_ms(&t0, &t1) <= TIMEOUT_MS + 200);
    uint64_t g;
    usleep(1100 * 1000); /* past the redial pause, so the next call dials */
    t0 = clock_now();
    int rc = shared_generation(s, "k", &g);
    t1 = clock_now();
    int want[] = {-ETIMEDOUT, -EIO, -EBADMSG, -EBADMSG};
    if (!CHECK(rc == want[mode]))
        printf("# rc %d\n", rc);
    if (mode == HUGE || mode == ARRAY) { /* given up long before the 100 MB were read */
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("# %s: %lld bytes sent in %lld ms, peak RSS %ld MB\n", names[mode],
               (long long)fake_sent, clock_ms(&t0, &t1), ru.ru_maxrss / 1024);
        CHECK(fake_sent < 8 << 20);
        CHECK(clock_ms(&t0, &t1) <= TIMEOUT_MS + 200);
    }
    /* Within a second of a failed dial, calls fail at once with the same error. */
    t0 = clock_now();
    CHECK(shared_generation(s, "k", &g) == want[mode]);
    t1 = clock_now();
    CHECK(clock_ms(&t0, &t1) < 50);
    CHECK(clock_ms(&t0, &t1) <= TIMEOUT_MS + 200);
    CHECK(shared_watch(s, changed, NULL) == 0);
    usleep(200 * 1000);
    t0 = clock_now();
    shared_close(s);
    t1 = clock_now();
    CHECK(clock_ms(&t0, &t1) <= TIMEOUT_MS + 200);
    shutdown(fake_fd, SHUT_RDWR);
    close(fake_fd);
    pthread_join(th, NULL);
}

/* A server that confirms SUBSCRIBE, then says nothing more, PING or not: the watcher must
 * notice within a few timeouts and subscribe again. */
static void *mute_conn(void *arg)
{
    int c = (int)(intptr_t)arg;
    char b[512];
    ssize_t n = read(c, b, sizeof b - 1);
    if (n > 0 && memmem(b, (size_t)n, "SUBSCRIBE", 9)) {
        static const char ok[] = "*3\r\n$9\r\nsubscribe\r\n$26\r\n" P "published\r\n:1\r\n";
        n = write(c, ok, sizeof ok - 1);
    }
    while (n > 0)
        n = read(c, b, sizeof b);
    close(c);
    return NULL;
}

static void *mute_main(void *arg)
{
    int fd = (int)(intptr_t)arg, c;
    while ((c = accept(fd, NULL, NULL)) >= 0) {
        pthread_t t;
        pthread_create(&t, NULL, mute_conn, (void *)(intptr_t)c);
        pthread_detach(t);
    }
    return NULL;
}

static void mute(void)
{
    char path[100], u[120], err[256];
    snprintf(path, sizeof path, "%s/mute.sock", dir);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 16) == 0);
    pthread_t th;
    pthread_create(&th, NULL, mute_main, (void *)(intptr_t)fd);
    snprintf(u, sizeof u, "unix:%s", path);
    struct shared *s = NULL;
    CHECK(shared_open(u, NULL, TIMEOUT_MS, &s, err, sizeof err) == 0);
    pthread_mutex_lock(&w_lock);
    int before = w_connects;
    pthread_mutex_unlock(&w_lock);
    CHECK(shared_watch(s, changed, NULL) == 0);
    CHECK(wait_count(&w_connects, before + 1, 3000));
    /* silence for 2 s, then a PING unanswered for 0.5 s, a redial within 0.25 s */
    CHECK(wait_count(&w_connects, before + 2, 6000));
    struct timespec t0 = clock_now();
    shared_close(s);
    struct timespec t1 = clock_now();
    CHECK(clock_ms(&t0, &t1) <= TIMEOUT_MS + 200);
    shutdown(fd, SHUT_RDWR);
    close(fd);
    pthread_join(th, NULL);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the daemon does: hiredis writes with write(2) */
    snprintf(dir, sizeof dir, "/tmp/cfs-shared-XXXXXX");
    if (!CHECK(mkdtemp(dir) != NULL))
        return check_done();
    snprintf(sock, sizeof sock, "%s/r.sock", dir);
    snprintf(url, sizeof url, "unix:%s?db=2", sock);
    urls();
    slow_dns();
    port = free_port();
    if (CHECK(port > 0 && redis_start())) {
        struct shared *s = open_ok(PASSWORD), *w = open_ok(PASSWORD);
        if (s && w) {
            auth();
            tcp();
            leases(s);
            fencing(s);
            flushed(s);
            full(s);
            slow_publish(s);
            roundtrip(s);
            many_chunks(s);
            damage(s);
            swapped(s);
            watch(s, w);
            outage(s);
            struct timespec t0 = clock_now();
            shared_close(w);
            struct timespec t1 = clock_now();
            CHECK(clock_ms(&t0, &t1) < 500); /* the watcher stops at once */
            w = NULL;
        }
        shared_close(s);
        shared_close(w);
    }
    redis_stop();
    hostile(SILENT);
    hostile(GARBAGE);
    hostile(HUGE);
    hostile(ARRAY);
    mute();
    for (unsigned i = 0; i < N; i++)
        record_unref(big[i]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_done();
}
