/* metadata.json bytes. The layout is Python's json.dumps(indent=2,
 * ensure_ascii=False): ", " never appears, members go one per line, empty
 * containers stay "{}" / "[]", only '"', '\\' and C0 controls are escaped
 * (lowercase \u00XX except the short forms). Invalid UTF-8 becomes U+FFFD so the
 * file is always valid UTF-8. Numbers are copied verbatim from the provider. */
#include "render.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

/* The writer: room is made before each copy and a failure sticks, so the
 * renderer below checks once at the end instead of after every token. */
static bool grow(struct render_buf *o, size_t n)
{
    if (o->failed)
        return false;
    size_t cap = o->cap ? o->cap : 256;
    while (cap - o->len < n + 1) { /* + 1: the NUL */
        if (cap > SIZE_MAX / 2) {
            o->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(o->p, cap);
    if (!p) {
        o->failed = true;
        return false;
    }
    o->p = p;
    o->cap = cap;
    return true;
}

static inline void put(struct render_buf *o, const void *s, size_t n)
{
    if (o->cap - o->len <= n && !grow(o, n))
        return;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static inline void putc_(struct render_buf *o, char c)
{
    if (o->cap - o->len <= 1 && !grow(o, 1))
        return;
    o->p[o->len++] = c;
}

#define PUTS(o, lit) put(o, lit, sizeof(lit) - 1)

static void indent(struct render_buf *o, int depth)
{
    size_t n = (size_t)depth * 2;
    if (o->cap - o->len <= n && !grow(o, n))
        return;
    memset(o->p + o->len, ' ', n);
    o->len += n;
}

/* What a byte needs: 0 nothing, 1 an escape, 2 a UTF-8 check. */
static const unsigned char byte_class[256] = {
    [0 ... 0x1f] = 1,
    ['"'] = 1,
    ['\\'] = 1,
    [0x80 ... 0xff] = 2,
};

/* Whether none of 8 bytes needs a look: no C0 control, '"', '\\' or byte
 * >= 0x80 (the usual bit tricks; exact once no byte has its top bit set). */
static inline bool plain8(const unsigned char *s)
{
    const uint64_t ones = 0x0101010101010101ULL, top = 0x8080808080808080ULL;
    uint64_t w, q, b;
    memcpy(&w, s, 8);
    q = w ^ (ones * '"');
    b = w ^ (ones * '\\');
    return !((w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & top);
}

static void string(struct render_buf *o, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)text;
    putc_(o, '"');
    size_t run = 0; /* start of bytes not yet copied */
    size_t i = 0;
    while (i < len) {
        while (len - i >= 8 && plain8(s + i)) /* most text: 8 bytes at a time */
            i += 8;
        if (i == len)
            break;
        unsigned char c = s[i];
        unsigned char k = byte_class[c];
        if (k == 0) {
            i++;
            continue;
        }
        if (k == 2) {
            size_t seq = utf8_len(s + i, len - i);
            if (seq) {
                i += seq;
                continue;
            }
        }
        put(o, s + run, i - run);
        switch (c) {
        case '"':
            PUTS(o, "\\\"");
            break;
        case '\\':
            PUTS(o, "\\\\");
            break;
        case '\n':
            PUTS(o, "\\n");
            break;
        case '\r':
            PUTS(o, "\\r");
            break;
        case '\t':
            PUTS(o, "\\t");
            break;
        case '\b':
            PUTS(o, "\\b");
            break;
        case '\f':
            PUTS(o, "\\f");
            break;
        default:
            if (c < 0x20) {
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                put(o, u, sizeof(u));
            } else {
                PUTS(o, "\xef\xbf\xbd"); /* U+FFFD for one invalid byte */
            }
        }
        i++;
        run = i;
    }
    put(o, s + run, len - run);
    putc_(o, '"');
}

static void value(struct render_buf *o, const struct json *v, int depth)
{
    switch (v->type) {
    case JSON_NULL:
        PUTS(o, "null");
        return;
    case JSON_TRUE:
        PUTS(o, "true");
        return;
    case JSON_FALSE:
        PUTS(o, "false");
        return;
    case JSON_NUMBER:
        put(o, v->text, v->len);
        return;
    case JSON_STRING:
        string(o, v->text, v->len);
        return;
    case JSON_ARRAY:
    case JSON_OBJECT:
        break;
    }
    bool obj = v->type == JSON_OBJECT;
    if (v->len == 0) {
        put(o, obj ? "{}" : "[]", 2);
        return;
    }
    put(o, obj ? "{\n" : "[\n", 2);
    for (size_t i = 0; i < v->len && !o->failed; i++) {
        indent(o, depth + 1);
        if (obj) {
            string(o, v->keys[i], v->keylens[i]);
            PUTS(o, ": ");
        }
        value(o, v->kids[i], depth + 1);
        if (i + 1 < v->len)
            PUTS(o, ",\n");
        else
            putc_(o, '\n');
    }
    indent(o, depth);
    putc_(o, obj ? '}' : ']');
}

int render_json_to(const struct json *v, struct render_buf *o)
{
    /* no limit of its own: the document came from a response already bounded by
     * max_response, and the file must hold all of it */
    o->len = 0;
    o->failed = false;
    value(o, v, 0);
    putc_(o, '\n');
    if (o->failed)
        return -ENOMEM; /* without a limit, memory is the only way to fail */
    o->p[o->len] = '\0';
    return 0;
}

void render_buf_free(struct render_buf *o)
{
    free(o->p);
    *o = (struct render_buf){0};
}

int render_json(const struct json *v, char **out, size_t *len)
{
    struct render_buf o = {0};
    if (render_json_to(v, &o) < 0) {
        render_buf_free(&o);
        return -ENOMEM;
    }
    char *p = realloc(o.p, o.len + 1); /* only shrinks */
    *out = p ? p : o.p;
    *len = o.len;
    return 0;
}
