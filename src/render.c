/* metadata.json bytes. The layout is Python's json.dumps(indent=2,
 * ensure_ascii=False): ", " never appears, members go one per line, empty
 * containers stay "{}" / "[]", only '"', '\\' and C0 controls are escaped
 * (lowercase \u00XX except the short forms). Invalid UTF-8 becomes U+FFFD so the
 * file is always valid UTF-8. Numbers are copied verbatim from the provider. */
#include "render.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const void *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void indent(struct buf *b, int depth)
{
    static const char spaces[] = "                                ";
    size_t n = (size_t)depth * 2;
    while (n > 0) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        put(b, spaces, k);
        n -= k;
    }
}

static void string(struct buf *b, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)text;
    put(b, "\"", 1);
    size_t run = 0; /* start of bytes not yet copied */
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        const char *esc = NULL;
        char u[7];
        size_t seq = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            memcpy(u, "\\u00", 4);
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            u[6] = '\0';
            esc = u;
        } else if (c >= 0x80) {
            seq = utf8_len(s + i, len - i);
            if (seq == 0) {
                esc = "\xef\xbf\xbd"; /* U+FFFD for one invalid byte */
                seq = 1;
            }
        }
        if (esc) {
            put(b, s + run, i - run);
            puts_(b, esc);
            run = i + seq;
        }
        i += seq;
    }
    put(b, s + run, len - run);
    put(b, "\"", 1);
}

static void value(struct buf *b, const struct json *v, int depth)
{
    switch (v->type) {
    case JSON_NULL:
        puts_(b, "null");
        return;
    case JSON_TRUE:
        puts_(b, "true");
        return;
    case JSON_FALSE:
        puts_(b, "false");
        return;
    case JSON_NUMBER:
        put(b, v->text, v->len);
        return;
    case JSON_STRING:
        string(b, v->text, v->len);
        return;
    case JSON_ARRAY:
    case JSON_OBJECT:
        break;
    }
    bool obj = v->type == JSON_OBJECT;
    if (v->len == 0) {
        puts_(b, obj ? "{}" : "[]");
        return;
    }
    put(b, obj ? "{\n" : "[\n", 2);
    for (size_t i = 0; i < v->len; i++) {
        indent(b, depth + 1);
        if (obj) {
            string(b, v->keys[i], v->keylens[i]);
            put(b, ": ", 2);
        }
        value(b, v->kids[i], depth + 1);
        put(b, i + 1 < v->len ? ",\n" : "\n", i + 1 < v->len ? 2 : 1);
    }
    indent(b, depth);
    put(b, obj ? "}" : "]", 1);
}

int render_json(const struct json *v, char **out, size_t *len)
{
    struct buf b = {0};
    value(&b, v, 0);
    put(&b, "\n", 2); /* the newline, and a NUL that len does not count */
    if (b.oom) {
        free(b.p);
        return -ENOMEM;
    }
    *out = b.p;
    *len = b.len - 1;
    return 0;
}
