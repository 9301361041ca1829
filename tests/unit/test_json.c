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
    CHECK_RENDER("[\"a\xff" "b\xc0\x80" "c\xe2\x82\"]",
                 "[\n  \"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\"\n]\n");
    /* a repeated key keeps its first place and its last value, like Python */
    CHECK_RENDER("{\"a\":1,\"b\":2,\"a\":3,\"a\":4}", "{\n  \"a\": 4,\n  \"b\": 2\n}\n");
    /* unicode keys */
    CHECK_RENDER("{\"\\u00fc\\n\":1}", "{\n  \"ü\\n\": 1\n}\n");

    /* what must be refused, not crash */
    CHECK(!parses(""));
    CHECK(!parses("{\"a\":"));
    CHECK(!parses("<html>oops</html>"));
    CHECK(!parses("{\"a\":1} trailing"));
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
