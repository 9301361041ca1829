/* buf: appends, reserving room, the limit (-EFBIG) and out of memory (-ENOMEM) leaving the buffer
 * as it was, printf-style appends, taking the bytes, arrays of structs,
 * http_req_headerf keeping a long token whole, and buf_zalloc's zeroed tables. */
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "http.h"

static void test_add(void)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    CHECK(b.p == NULL && b.len == 0);
    CHECK(buf_add(&b, "", 0) == 0 && b.p == NULL); /* nothing added, nothing allocated */
    CHECK(buf_add(&b, "abc", 3) == 0);
    CHECK(buf_addc(&b, 'd') == 0);
    CHECK(buf_add(&b, "e\0f", 3) == 0);
    CHECK(b.len == 7 && memcmp(b.p, "abcde\0f", 8) == 0); /* NUL-terminated, NULs inside kept */

    /* many small adds: the content survives every realloc */
    buf_free(&b);
    CHECK(b.p == NULL && b.len == 0 && b.max == SIZE_MAX);
    for (int i = 0; i < 100000; i++)
        if (buf_addc(&b, (char)('a' + i % 26)) != 0)
            break;
    CHECK(b.len == 100000);
    int same = 1;
    for (size_t i = 0; i < b.len; i++)
        same &= b.p[i] == (char)('a' + i % 26);
    CHECK(same && b.p[b.len] == '\0');
    buf_free(&b);
}

static void test_reserve(void)
{
    struct buf b;
    buf_init(&b, 100);
    CHECK(buf_reserve(&b, 101) == -EFBIG && b.p == NULL);
    CHECK(buf_reserve(&b, 80) == 0 && b.cap == 81 && b.len == 0); /* exact: one allocation */
    char *p = b.p;
    for (int i = 0; i < 80; i++)
        buf_addc(&b, 'x');
    CHECK(b.p == p && b.len == 80 && b.p[80] == '\0'); /* filled without a realloc */
    CHECK(buf_reserve(&b, 21) == -EFBIG && b.len == 80);
    buf_free(&b);
}

static void test_limit(void)
{
    struct buf b;
    buf_init(&b, 10);
    CHECK(buf_add(&b, "0123456", 7) == 0);
    char *p = b.p;
    CHECK(buf_add(&b, "789x", 4) == -EFBIG);
    CHECK(b.p == p && b.len == 7 && strcmp(b.p, "0123456") == 0); /* unchanged */
    CHECK(buf_addf(&b, "%s", "abcd") == -EFBIG);
    CHECK(b.len == 7 && strcmp(b.p, "0123456") == 0);
    CHECK(buf_add(&b, "789", 3) == 0); /* exactly max is allowed */
    CHECK(b.len == 10 && strcmp(b.p, "0123456789") == 0);
    CHECK(b.cap <= b.max + 1); /* no reserve past the limit */
    CHECK(buf_addc(&b, 'x') == -EFBIG);
    CHECK(buf_add(&b, "", 0) == 0 && b.len == 10);
    buf_free(&b);

    buf_init(&b, 0);
    CHECK(buf_addc(&b, 'x') == -EFBIG && b.p == NULL && b.len == 0);
    buf_free(&b);

    /* sizes whose sum would wrap around are refused before anything is touched */
    buf_init(&b, SIZE_MAX);
    CHECK(buf_add(&b, "abcde", 5) == 0);
    CHECK(buf_add(&b, "x", SIZE_MAX) == -EFBIG);
    CHECK(buf_add(&b, "x", SIZE_MAX - 5) == -ENOMEM); /* no room for the NUL */
    CHECK(b.len == 5 && strcmp(b.p, "abcde") == 0);
    buf_free(&b);
}

/* realloc's failure needs an impossible size, which ASan reports (or aborts
 * on) instead of returning NULL: the plain build runs this test. */
static void test_nomem(void)
{
#ifndef __SANITIZE_ADDRESS__
    struct buf b;
    buf_init(&b, SIZE_MAX);
    CHECK(buf_add(&b, "keep", 4) == 0);
    char *p = b.p;
    size_t cap = b.cap;
    /* realloc cannot give this much; the pointer is never read */
    CHECK(buf_add(&b, "x", SIZE_MAX / 2) == -ENOMEM);
    CHECK(b.p == p && b.cap == cap && b.len == 4 && strcmp(b.p, "keep") == 0);
    CHECK(buf_add(&b, "!", 1) == 0 && strcmp(b.p, "keep!") == 0); /* still usable */
    buf_free(&b);
#endif
}

static void test_addf(void)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    CHECK(buf_addf(&b, "%s", "") == 0 && b.p == NULL && b.len == 0);
    CHECK(buf_addf(&b, "%d-%s", 42, "x") == 0);
    CHECK(buf_addf(&b, "/%05.1f", 2.5) == 0);
    CHECK_STR(b.p, "42-x/002.5");
    CHECK(b.len == strlen("42-x/002.5"));

    /* longer than any starting size, appended after what is there */
    char *big = malloc(10001);
    memset(big, 'z', 10000);
    big[10000] = '\0';
    CHECK(buf_addf(&b, "[%s]", big) == 0);
    CHECK(b.len == 10 + 10002 && b.p[10] == '[' && b.p[b.len - 1] == ']');
    CHECK(strspn(b.p + 11, "z") == 10000 && b.p[b.len] == '\0');
    free(big);
    buf_free(&b);
}

static void test_take(void)
{
    struct buf b;
    size_t len = 99;
    buf_init(&b, 50);
    CHECK(buf_take(&b, &len) == NULL && len == 0);
    CHECK(buf_addf(&b, "hello %s", "world") == 0);
    char *s = buf_take(&b, &len);
    CHECK_STR(s, "hello world");
    CHECK(len == 11);
    CHECK(b.p == NULL && b.len == 0 && b.cap == 0 && b.max == 50); /* empty, same limit */
    free(s);
    CHECK(buf_add(&b, "again", 5) == 0 && strcmp(b.p, "again") == 0);
    s = buf_take(&b, NULL);
    CHECK_STR(s, "again");
    free(s);

    CHECK(buf_add(&b, "secret", 6) == 0);
    buf_wipe(&b);
    CHECK(b.p == NULL && b.len == 0 && b.cap == 0 && b.max == 50);
    buf_wipe(&b); /* an empty buffer too */
    CHECK(b.p == NULL);
}

/* The shape cache.c's change list needs: a growable array of structs. */
struct item {
    unsigned long long ino;
    char *name;
};

static void test_array(void)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    static char names[3][2] = {"a", "b", "c"};
    for (unsigned i = 0; i < 1000; i++) {
        struct item it = {.ino = 1000 + i, .name = names[i % 3]};
        if (buf_add(&b, &it, sizeof(it)) != 0)
            break;
    }
    const struct item *v = (const struct item *)b.p;
    size_t n = b.len / sizeof(*v);
    CHECK(n == 1000 && b.len % sizeof(*v) == 0);
    CHECK((uintptr_t)v % _Alignof(struct item) == 0);
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= v[i].ino == 1000 + i && v[i].name == names[i % 3];
    CHECK(ok);
    buf_free(&b);

    /* a limit of k items is k * sizeof(item) bytes */
    buf_init(&b, 2 * sizeof(struct item));
    struct item it = {0};
    CHECK(buf_add(&b, &it, sizeof(it)) == 0 && buf_add(&b, &it, sizeof(it)) == 0);
    CHECK(buf_add(&b, &it, sizeof(it)) == -EFBIG && b.len == 2 * sizeof(it));
    buf_free(&b);
}

static void test_headerf(void)
{
    struct http_req req = {0};
    size_t n = 10000;
    char *token = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        token[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."[i % 65];
    token[n] = '\0';
    CHECK(http_req_header(&req, "Accept: application/json") == 0);
    CHECK(http_req_headerf(&req, "Authorization: Bearer %s", token) == 0);
    CHECK(http_req_headerf(&req, "X-User-Id: %d", 7) == 0);
    struct curl_slist *l = req.headers;
    CHECK(l && strcmp(l->data, "Accept: application/json") == 0);
    l = l ? l->next : NULL;
    const char *prefix = "Authorization: Bearer ";
    size_t pn = strlen(prefix);
    CHECK(l && strlen(l->data) == pn + n);
    CHECK(l && strncmp(l->data, prefix, pn) == 0 && strcmp(l->data + pn, token) == 0);
    l = l ? l->next : NULL;
    CHECK(l && strcmp(l->data, "X-User-Id: 7") == 0 && !l->next);
    http_req_free(&req);
    CHECK(req.headers == NULL);
    free(token);
}

/* A table big enough to come from mmap, and one from the heap after its bytes were used. */
static void test_zalloc(void)
{
    size_t n = 1u << 20;
    uint64_t *t = buf_zalloc(n, sizeof(*t));
    CHECK(t != NULL);
    size_t nonzero = 0;
    for (size_t i = 0; t && i < n; i++)
        nonzero += t[i] != 0;
    CHECK(nonzero == 0);
    free(t);
    char *used = malloc(1000);
    CHECK(used != NULL);
    if (used)
        memset(used, 0xa5, 1000);
    free(used);
    char *small = buf_zalloc(10, 100);
    CHECK(small != NULL);
    for (size_t i = 0; small && i < 1000; i++)
        if (small[i]) {
            CHECK(!"a small zeroed table holds a non-zero byte");
            break;
        }
    free(small);
    CHECK(buf_zalloc(SIZE_MAX / 2, 4) == NULL); /* n * size overflows */
}

int main(void)
{
    test_add();
    test_reserve();
    test_limit();
    test_nomem();
    test_addf();
    test_take();
    test_array();
    test_headerf();
    test_zalloc();
    return check_done();
}
