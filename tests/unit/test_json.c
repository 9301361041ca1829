/* The JSON tree and metadata.json rendering: numbers keep their text, the
 * layout is Python's json.dumps(indent=2, ensure_ascii=False) + "\n". */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "render.h"

static char *render(const char *in)
{
    char err[128];
    struct json *v = json_parse(in, strlen(in), err, sizeof(err));
    if (!v) {
        printf("# parse error: %s\n", err);
        return NULL;
    }
    char *out = NULL;
    size_t len;
    if (render_json(v, &out, &len) == 0 && strlen(out) != len) {
        free(out);
        out = NULL;
    }
    json_free(v);
    return out;
}

#define CHECK_RENDER(in, want)                                                                     \
    do {                                                                                           \
        char *got_ = render(in);                                                                   \
        CHECK_STR(got_, want);                                                                     \
        free(got_);                                                                                \
    } while (0)

/* The decoded bytes of the string `in` (a JSON document that is one string). */
static bool decodes_to(const char *in, const char *want, size_t wantlen)
{
    char err[128];
    struct json *v = json_parse(in, strlen(in), err, sizeof(err));
    size_t len = 0;
    const char *s = json_str(v, &len);
    bool ok = s && len == wantlen && memcmp(s, want, len) == 0;
    if (!ok && s) {
        printf("# decoded %s as [", in);
        for (size_t i = 0; i < len; i++)
            printf((unsigned char)s[i] >= 0x20 && s[i] != 0x7f ? "%c" : "\\x%02x",
                   (unsigned char)s[i]);
        printf("]\n");
    }
    json_free(v);
    return ok;
}

#define CHECK_DECODE(in, want) CHECK(decodes_to(in, want, sizeof(want) - 1))

static bool parses(const char *in)
{
    char err[128];
    struct json *v = json_parse(in, strlen(in), err, sizeof(err));
    json_free(v);
    return v != NULL;
}

int main(void)
{
    /* the numbers the issue names, byte for byte */
    CHECK_RENDER("{\"a\":0.1,\"b\":1e-7,\"c\":12345678901234567890,"
                 "\"d\":123456789012345678901234567890,\"e\":-0.0,\"f\":2.50,\"g\":1E+400}",
                 "{\n  \"a\": 0.1,\n  \"b\": 1e-7,\n  \"c\": 12345678901234567890,\n"
                 "  \"d\": 123456789012345678901234567890,\n  \"e\": -0.0,\n  \"f\": 2.50,\n"
                 "  \"g\": 1E+400\n}\n");
    /* layout: nesting, empty containers, literals, key order kept */
    CHECK_RENDER("{\"z\":{\"a\":[1,[],{}],\"n\":null},\"t\":true,\"f\":false,\"l\":[]}",
                 "{\n  \"z\": {\n    \"a\": [\n      1,\n      [],\n      {}\n    ],\n"
                 "    \"n\": null\n  },\n  \"t\": true,\n  \"f\": false,\n  \"l\": []\n}\n");
    CHECK_RENDER("[]", "[]\n");
    CHECK_RENDER("{}", "{}\n");
    CHECK_RENDER("\"x\"", "\"x\"\n");
    CHECK_RENDER("  7 ", "7\n");
    /* strings: only quote, backslash and C0 controls escaped; '/' and UTF-8 as is */
    CHECK_RENDER("[\"a/b\\/c\", \"tab\\there\", \"q\\\"b\\\\\", \"\\u0001\\u001f\\b\\f\\r\\n\", "
                 "\"\\u00e9 \\ud83d\\ude00 é\", \"\\u007f\", \"\\u0000\"]",
                 "[\n  \"a/b/c\",\n  \"tab\\there\",\n  \"q\\\"b\\\\\",\n"
                 "  \"\\u0001\\u001f\\b\\f\\r\\n\",\n  \"é 😀 é\",\n  \"\x7f\",\n"
                 "  \"\\u0000\"\n]\n");
    /* invalid UTF-8 becomes U+FFFD, one per bad byte, and the rest survives */
    CHECK_RENDER("[\"a\xff"
                 "b\xc0\x80"
                 "c\xe2\x82\"]",
                 "[\n  \"a\xef\xbf\xbd"
                 "b\xef\xbf\xbd\xef\xbf\xbd"
                 "c\xef\xbf\xbd\xef\xbf\xbd\"\n]\n");
    /* A UTF-16 surrogate escape without its partner is U+FFFD (yajl alone made it
     * '?', a made-up code point or an encoded surrogate); a real pair is one code
     * point. Checked as decoded bytes and as metadata.json text. */
#define FFFD "\xef\xbf\xbd"
    CHECK_DECODE("\"a\\ud800b\"", "a" FFFD "b");  /* lone high */
    CHECK_DECODE("\"a\\udc00b\"", "a" FFFD "b");  /* lone low */
    CHECK_DECODE("\"\\ud800\\u0041\"", FFFD "A"); /* high, then not a low */
    CHECK_DECODE("\"\\ud800\\ud800\\udc00\"", FFFD "\xf0\x90\x80\x80");
    CHECK_DECODE("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80"); /* a pair */
    CHECK_DECODE("\"\\ud800\\udc00\"", "\xf0\x90\x80\x80"); /* U+10000 */
    CHECK_DECODE("\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf"); /* U+10FFFF, upper case */
    CHECK_DECODE("\"\\uD83D\\uDe00\"", "\xf0\x9f\x98\x80"); /* mixed case */
    CHECK_DECODE("\"\\uD800\"", FFFD);                      /* at the end of the string */
    CHECK_DECODE("\"\\uDfFf\"", FFFD);
    CHECK_DECODE("\"\\ud800\\n\"", FFFD "\n"); /* before another escape */
    CHECK_DECODE("\"\\ud800\\\\\"", FFFD "\\");
    CHECK_DECODE("\"\\ud800\\\"\"", FFFD "\"");
    CHECK_DECODE("\"\\udc00\\ud800\"", FFFD FFFD); /* a pair in the wrong order */
    CHECK_DECODE("\"\\ud800\\u0000x\"", FFFD "\0x");
    CHECK_DECODE("\"\\\\ud800\"", "\\ud800");   /* an escaped backslash, then text */
    CHECK_DECODE("\"\\\\\\ud800\"", "\\" FFFD); /* backslash, then a lone high */
    CHECK_DECODE("\"\\\\\\\\ud800\"", "\\\\ud800");
    CHECK_DECODE("\"\\ud800\\\\udc00\"", FFFD "\\udc00"); /* the "low" is text */
    CHECK_DECODE("\"\\ufffd\"", FFFD);                    /* what the rewrite produces */
    CHECK_RENDER("[\"a\\ud800b\", \"a\\udc00b\", \"\\ud800\\u0041\", \"\\ud800\\ud800\\udc00\", "
                 "\"\\ud83d\\ude00\", \"\\uD800\", \"\\ud800\\n\", \"\\\\ud800\"]",
                 "[\n  \"a" FFFD "b\",\n  \"a" FFFD "b\",\n  \"" FFFD "A\",\n  \"" FFFD
                 "\xf0\x90\x80\x80\",\n  \"\xf0\x9f\x98\x80\",\n  \"" FFFD "\",\n  \"" FFFD
                 "\\n\",\n  \"\\\\ud800\"\n]\n");
    /* in keys: two lone surrogates are one key U+FFFD, as two invalid bytes are */
    CHECK_RENDER("{\"k\\ud800\":1,\"\\udc00\\ud83d\\ude00\":2,\"\\ud800\":3,\"\\uDFFF\":4}",
                 "{\n  \"k" FFFD "\": 1,\n  \"" FFFD "\xf0\x9f\x98\x80\": 2,\n  \"" FFFD
                 "\": 4\n}\n");
    /* the rewrite keeps every byte offset: an error after it is reported where it is */
    {
        char e1[128], e2[128];
        const char *lone = "[\"\\ud800\\udc00\\udc00\", x]",
                   *plain = "[\"\\u0041\\u0042\\u0043\", x]";
        CHECK(json_parse(lone, strlen(lone), e1, sizeof(e1)) == NULL);
        CHECK(json_parse(plain, strlen(plain), e2, sizeof(e2)) == NULL);
        CHECK_STR(e1, e2);
        CHECK(strstr(e1, "(at byte 24)") != NULL); /* just past the x */
        CHECK(strpbrk(e1, "\r\n") == NULL);        /* one line, for the log */
    }
    /* broken escapes are still refused (and read no byte past the end) */
    CHECK(!parses("\"\\ud80\""));
    CHECK(!parses("\"\\ud800\\udc0\""));
    CHECK(!parses("\"\\ud800\\"));
    CHECK(!parses("\"\\ud800"));
    CHECK(!parses("\\ud800"));
    CHECK(!parses("[1]\\ud800"));
    /* the caller's text is not changed */
    {
        char doc[] = "\"\\ud800\"";
        struct json *v = json_parse(doc, strlen(doc), NULL, 0);
        CHECK(v != NULL);
        CHECK_STR(doc, "\"\\ud800\"");
        json_free(v);
    }

    /* a repeated key keeps its first place and its last value, like Python */
    CHECK_RENDER("{\"a\":1,\"b\":2,\"a\":3,\"a\":4}", "{\n  \"a\": 4,\n  \"b\": 2\n}\n");
    /* unicode keys */
    CHECK_RENDER("{\"\\u00fc\\n\":1}", "{\n  \"ü\\n\": 1\n}\n");

    /* what must be refused, not crash */
    CHECK(!parses(""));
    CHECK(!parses("{\"a\":"));
    CHECK(!parses("<html>oops</html>"));
    CHECK(!parses("{\"a\":1} trailing"));
    /* yajl alone took an unterminated string after the value for the end of input */
    CHECK(!parses("{\"a\":1} \"abc"));
    CHECK(!parses("{\"name\": \"cut\"}\"just a"));
    CHECK(!parses("[1]\""));
    CHECK(!parses("1 \"x\\\""));
    CHECK(!parses("\"a\" \"b\\\\"));
    CHECK(parses("{\"a\":1} \n"));
    CHECK(parses("12"));
    CHECK(parses("\"a\\\"\""));
    {
        char e[128];
        const char *doc = "{\"a\":1} \"abc";
        CHECK(json_parse(doc, strlen(doc), e, sizeof(e)) == NULL);
        CHECK_STR(e, "JSON has an unterminated string after its value (at byte 12)");
    }
    CHECK(!parses("[01]"));
    size_t deep = 100000;
    char *d = malloc(2 * deep + 1);
    memset(d, '[', deep);
    memset(d + deep, ']', deep);
    d[2 * deep] = '\0';
    CHECK(!parses(d)); /* 100,000 levels: refused, no stack overflow */
    memset(d, '[', 500);
    memset(d + 500, ']', 500);
    d[1000] = '\0';
    CHECK(parses(d)); /* 500 levels: fine */
    free(d);

    /* accessors */
    char err[128];
    const char *doc = "{\"id\":42,\"big\":12345678901234567890,\"f\":1.5,\"s\":\"x\\u0000y\"}";
    struct json *v = json_parse(doc, strlen(doc), err, sizeof(err));
    int64_t n = 0;
    size_t len = 0;
    CHECK(v && json_int64(json_get(v, "id"), &n) && n == 42);
    CHECK(!json_int64(json_get(v, "big"), &n));
    CHECK(!json_int64(json_get(v, "f"), &n));
    CHECK(json_str(json_get(v, "s"), &len) && len == 3);
    CHECK(json_get(v, "missing") == NULL);
    CHECK(json_get(json_get(v, "id"), "x") == NULL);
    json_free(v);
    return check_done();
}
