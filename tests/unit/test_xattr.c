/* xattr encoding: the names and exact values of the three kinds of node,
 * absent facts absent, the raw name capped, the list and lookup. */
#include "xattr.h"

#include "check.h"

#include <stdlib.h>
#include <string.h>

static const char *val(const struct xattr_set *s, const char *name, char *buf, size_t size)
{
    const struct xattr *x = xattr_find(s, name);
    if (!x)
        return NULL;
    snprintf(buf, size, "%.*s", (int)x->len, x->value);
    return buf;
}

#define V(s, n) val(&(s), XATTR_PREFIX n, buf, sizeof(buf))

static void test_time(void)
{
    char buf[64];
    struct timespec t = {1704164645, 678900000};
    CHECK(xattr_time(&t, buf, sizeof(buf)) == strlen("2024-01-02T03:04:05.6789Z"));
    CHECK_STR(buf, "2024-01-02T03:04:05.6789Z");
    t.tv_nsec = 0;
    xattr_time(&t, buf, sizeof(buf));
    CHECK_STR(buf, "2024-01-02T03:04:05Z");
    t = (struct timespec){-1, 1};
    xattr_time(&t, buf, sizeof(buf));
    CHECK_STR(buf, "1969-12-31T23:59:59.000000001Z");
    /* ISO 8601 wants four year digits; glibc's %Y does not pad them, and Go's
     * zero time.Time is 0001-01-01T00:00:00Z */
    t = (struct timespec){-62135596800, 0};
    CHECK(xattr_time(&t, buf, sizeof(buf)) == strlen("0001-01-01T00:00:00Z"));
    CHECK_STR(buf, "0001-01-01T00:00:00Z");
    t = (struct timespec){-30628713600, 500000000};
    xattr_time(&t, buf, sizeof(buf));
    CHECK_STR(buf, "0999-06-01T00:00:00.5Z");
    t = (struct timespec){-62167219200, 0};
    xattr_time(&t, buf, sizeof(buf));
    CHECK_STR(buf, "0000-01-01T00:00:00Z");
    t = (struct timespec){253402300799, 0};
    xattr_time(&t, buf, sizeof(buf));
    CHECK_STR(buf, "9999-12-31T23:59:59Z");
}

static void test_root(void)
{
    char buf[600];
    struct xattr_set s = {0};
    CHECK(xattr_root(&s, "1.2.3", NULL, NULL, 0) == 0);
    CHECK(s.n == 1);
    CHECK_STR(V(s, "version"), "1.2.3");
    CHECK(!V(s, "reload_error"));
    xattr_set_free(&s);
    CHECK(xattr_root(&s, "1.2.3", "config: line 3: bad", NULL, 0) == 0);
    CHECK_STR(V(s, "reload_error"), "config: line 3: bad");
    char names[256];
    size_t n = xattr_names(&s, names, sizeof(names));
    const char want[] = XATTR_PREFIX "version\0" XATTR_PREFIX "reload_error";
    CHECK(n == sizeof(want));
    CHECK(memcmp(names, want, sizeof(want)) == 0);
    CHECK(xattr_names(&s, NULL, 0) == n);
    CHECK(xattr_names(&s, names, n - 1) == n); /* too small: only the size */
    xattr_set_free(&s);
    /* each provider's facts, copied to the root as lines */
    struct xattr_section sec[2] = {{"a", "hivo", {.count = 3, .requests = 4}},
                                   {"b b", "fount", {.fetched_at = 1704164645, .complete = true}}};
    CHECK(xattr_root(&s, "1.2.3", NULL, sec, 2) == 0);
    CHECK(s.n == 3);
    CHECK_STR(V(s, "status.a"), "provider=a\ntype=hivo\ncount=3\ncomplete=0\nstale=0\n"
                                "requests=4\nerrors=0\nretries=0\ncache_hits=0\n");
    CHECK_STR(V(s, "status.b b"),
              "provider=b b\ntype=fount\nfetched_at=2024-01-02T03:04:05Z\ncount=0\ncomplete=1\n"
              "source=provider\nstale=0\nrequests=0\nerrors=0\nretries=0\ncache_hits=0\n");
    xattr_set_free(&s);
}

static void test_section(void)
{
    char buf[600];
    struct xattr_set s = {0};
    struct cache_status st = {0};
    CHECK(xattr_section(&s, "hon", "honcho", &st) == 0);
    CHECK_STR(V(s, "provider"), "hon");
    CHECK_STR(V(s, "type"), "honcho");
    CHECK_STR(V(s, "count"), "0");
    CHECK(!V(s, "source")); /* nothing listed yet: from nowhere */
    CHECK_STR(V(s, "complete"), "0");
    CHECK_STR(V(s, "stale"), "0");
    CHECK_STR(V(s, "requests"), "0");
    CHECK(!V(s, "fetched_at"));
    CHECK(!V(s, "last_error"));
    CHECK(!V(s, "refreshed_at"));
    CHECK(!V(s, "refresh_ms"));
    CHECK(!V(s, "paused_until"));
    xattr_set_free(&s);
    st = (struct cache_status){.fetched_at = 1704164645,
                               .count = 1234,
                               .complete = true,
                               .stale = 17,
                               .refreshed_at = 1704164700,
                               .refresh_ms = 250,
                               .cache_hits = 9,
                               .requests = 12,
                               .retries = 2,
                               .errors = 1,
                               .paused_until = 1704164760};
    snprintf(st.last_error, sizeof(st.last_error), "[hon] GET /v1/x: HTTP 503 after 3 attempts");
    CHECK(xattr_section(&s, "hon", "honcho", &st) == 0);
    CHECK_STR(V(s, "fetched_at"), "2024-01-02T03:04:05Z");
    CHECK_STR(V(s, "count"), "1234");
    CHECK_STR(V(s, "complete"), "1");
    CHECK_STR(V(s, "stale"), "17");
    CHECK_STR(V(s, "last_error"), "[hon] GET /v1/x: HTTP 503 after 3 attempts");
    CHECK_STR(V(s, "requests"), "12");
    CHECK_STR(V(s, "errors"), "1");
    CHECK_STR(V(s, "retries"), "2");
    CHECK_STR(V(s, "cache_hits"), "9");
    CHECK_STR(V(s, "refreshed_at"), "2024-01-02T03:05:00Z");
    CHECK_STR(V(s, "refresh_ms"), "250");
    CHECK_STR(V(s, "paused_until"), "2024-01-02T03:06:00Z");
    CHECK_STR(V(s, "source"), "provider");
    xattr_set_free(&s);
    st.from_fleet = true;
    snprintf(st.fetched_by, sizeof(st.fetched_by), "ws7:4242");
    CHECK(xattr_section(&s, "hon", "honcho", &st) == 0);
    CHECK_STR(V(s, "source"), "fleet (fetched by ws7:4242)");
    CHECK(!V(s, "nonesuch"));
    xattr_set_free(&s);
}

static void test_collection(void)
{
    char buf[8192];
    struct xattr_set s = {0};
    struct xattr_collection c = {.section = "hon", .type = "honcho", .id = "42"};
    CHECK(xattr_collection(&s, &c) == 0);
    CHECK(s.n == 3);
    CHECK(!V(s, "name") && !V(s, "created") && !V(s, "updated") && !V(s, "url"));
    xattr_set_free(&s);
    /* the raw name: control characters and a NUL kept, nothing made safe */
    static const char raw[] = "a/b\n\x01\0z";
    c = (struct xattr_collection){.section = "hon",
                                  .type = "honcho",
                                  .id = "42",
                                  .name = raw,
                                  .name_len = sizeof(raw) - 1,
                                  .has_updated = true,
                                  .updated = {1704164645, 5000000},
                                  .url = "http://h/v1/collections/42"};
    CHECK(xattr_collection(&s, &c) == 0);
    const struct xattr *x = xattr_find(&s, XATTR_PREFIX "name");
    CHECK(x && x->len == sizeof(raw) - 1 && memcmp(x->value, raw, x->len) == 0);
    CHECK(!V(s, "created"));
    CHECK_STR(V(s, "updated"), "2024-01-02T03:04:05.005Z");
    CHECK_STR(V(s, "url"), "http://h/v1/collections/42");
    CHECK_STR(V(s, "id"), "42");
    xattr_set_free(&s);
    /* a long name is cut at the cap */
    size_t big = XATTR_NAME_CAP * 3;
    char *name = malloc(big);
    memset(name, 'n', big);
    c.name = name;
    c.name_len = big;
    CHECK(xattr_collection(&s, &c) == 0);
    x = xattr_find(&s, XATTR_PREFIX "name");
    CHECK(x && x->len == XATTR_NAME_CAP);
    xattr_set_free(&s);
    free(name);
}

int main(void)
{
    test_time();
    test_root();
    test_section();
    test_collection();
    return check_done();
}
