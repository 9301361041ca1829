/* metadata.json bytes. The layout is Python's json.dumps(indent=2,
 * ensure_ascii=False): ", " never appears, members go one per line, empty
 * containers stay "{}" / "[]", only '"', '\\' and C0 controls are escaped
 * (lowercase \u00XX except the short forms). Invalid UTF-8 becomes U+FFFD so the
 * file is always valid UTF-8. Numbers are copied verbatim from the provider. */
#include "render.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "utf8.h"

static int puts_(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

static int indent(struct buf *b, int depth)
{
    static const char spaces[] = "                                ";
    size_t n = (size_t)depth * 2;
    int rc = 0;
    while (n > 0 && rc == 0) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        rc = buf_add(b, spaces, k);
        n -= k;
    }
    return rc;
}

static int string(struct buf *b, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)text;
    int rc = buf_addc(b, '"');
    size_t run = 0; /* start of bytes not yet copied */
    for (size_t i = 0; i < len && rc == 0;) {
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
            rc = buf_add(b, s + run, i - run);
            if (rc == 0)
                rc = puts_(b, esc);
            run = i + seq;
        }
        i += seq;
    }
    if (rc == 0)
        rc = buf_add(b, s + run, len - run);
    return rc ? rc : buf_addc(b, '"');
}

static int value(struct buf *b, const struct json *v, int depth)
{
    switch (v->type) {
    case JSON_NULL:
        return puts_(b, "null");
    case JSON_TRUE:
        return puts_(b, "true");
    case JSON_FALSE:
        return puts_(b, "false");
    case JSON_NUMBER:
        return buf_add(b, v->text, v->len);
    case JSON_STRING:
        return string(b, v->text, v->len);
    case JSON_ARRAY:
    case JSON_OBJECT:
        break;
    }
    bool obj = v->type == JSON_OBJECT;
    if (v->len == 0)
        return puts_(b, obj ? "{}" : "[]");
    int rc = puts_(b, obj ? "{\n" : "[\n");
    for (size_t i = 0; i < v->len && rc == 0; i++) {
        rc = indent(b, depth + 1);
        if (rc == 0 && obj)
            rc = string(b, v->keys[i], v->keylens[i]);
        if (rc == 0 && obj)
            rc = puts_(b, ": ");
        if (rc == 0)
            rc = value(b, v->kids[i], depth + 1);
        if (rc == 0)
            rc = puts_(b, i + 1 < v->len ? ",\n" : "\n");
    }
    if (rc == 0)
        rc = indent(b, depth);
    return rc ? rc : buf_addc(b, obj ? '}' : ']');
}

int render_json(const struct json *v, char **out, size_t *len)
{
    /* no limit of its own: the document came from a response already bounded by
     * max_response, and the file must hold all of it */
    struct buf b;
    buf_init(&b, SIZE_MAX);
    int rc = value(&b, v, 0);
    if (rc == 0)
        rc = buf_addc(&b, '\n');
    if (rc < 0) {
        buf_free(&b);
        return -ENOMEM; /* without a limit, memory is the only way to fail */
    }
    *out = buf_take(&b, len);
    return 0;
}
