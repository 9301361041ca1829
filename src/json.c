/* JSON tree from yajl's callbacks. yajl does the lexing, escape decoding and
 * grammar; this file only stacks containers, after rewriting the one kind of
 * escape yajl decodes wrongly (a UTF-16 surrogate without its partner). Limits
 * (depth, value count) keep a hostile document from exhausting the stack of the
 * renderer or memory. */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "utf8.h"

#define JSON_MAX_VALUES 2000000

struct builder {
    struct json *root;
    struct json *stack[JSON_MAX_DEPTH];
    int depth;
    char *key; /* key waiting for its value inside an object */
    size_t keylen;
    size_t values;
    const char *fail; /* our own reason when a callback cancels the parse */
};

static void node_free(struct json *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->len && v->kids; i++) {
        node_free(v->kids[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->kids);
    free(v->keys);
    free(v->keylens);
    free(v->text);
    free(v);
}

void json_free(struct json *v)
{
    node_free(v);
}

static int append(struct json *c, struct json *v, char *key, size_t keylen)
{
    if ((c->len & (c->len - 1)) == 0) { /* grow at powers of two */
        size_t cap = c->len ? c->len * 2 : 4;
        struct json **kids = realloc(c->kids, cap * sizeof(*kids));
        if (!kids)
            return -ENOMEM;
        c->kids = kids;
        if (c->type == JSON_OBJECT) {
            char **keys = realloc(c->keys, cap * sizeof(*keys));
            if (!keys)
                return -ENOMEM;
            c->keys = keys;
            size_t *lens = realloc(c->keylens, cap * sizeof(*lens));
            if (!lens)
                return -ENOMEM;
            c->keylens = lens;
        }
    }
    c->kids[c->len] = v;
    if (c->type == JSON_OBJECT) {
        c->keys[c->len] = key;
        c->keylens[c->len] = keylen;
    }
    c->len++;
    return 0;
}

/* Attach a new value to the open container (or make it the root); 1 to go on. */
static int add(struct builder *b, struct json *v)
{
    if (!v) {
        b->fail = "out of memory";
        return 0;
    }
    if (++b->values > JSON_MAX_VALUES) {
        b->fail = "too many values";
        node_free(v);
        return 0;
    }
    if (b->depth == 0) {
        b->root = v;
        return 1;
    }
    struct json *top = b->stack[b->depth - 1];
    char *key = b->key;
    b->key = NULL;
    if (append(top, v, key, b->keylen) < 0) {
        free(key);
        node_free(v);
        b->fail = "out of memory";
        return 0;
    }
    return 1;
}

static struct json *node(enum json_type t, const void *text, size_t len)
{
    struct json *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->type = t;
    if (text) {
        v->text = malloc(len + 1);
        if (!v->text) {
            free(v);
            return NULL;
        }
        memcpy(v->text, text, len);
        v->text[len] = '\0';
        v->len = len;
    }
    return v;
}

static int cb_null(void *ctx)
{
    return add(ctx, node(JSON_NULL, NULL, 0));
}

static int cb_bool(void *ctx, int val)
{
    return add(ctx, node(val ? JSON_TRUE : JSON_FALSE, NULL, 0));
}

static int cb_number(void *ctx, const char *s, size_t len)
{
    return add(ctx, node(JSON_NUMBER, s, len));
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
    return add(ctx, node(JSON_STRING, s, len));
}

static int open_container(struct builder *b, enum json_type t)
{
    if (b->depth >= JSON_MAX_DEPTH) {
        b->fail = "nested too deeply";
        return 0;
    }
    struct json *v = node(t, NULL, 0);
    if (!add(b, v))
        return 0;
    b->stack[b->depth++] = v;
    return 1;
}

static int cb_start_map(void *ctx)
{
    return open_container(ctx, JSON_OBJECT);
}

static int cb_start_array(void *ctx)
{
    return open_container(ctx, JSON_ARRAY);
}

/* Keys are made valid UTF-8 here, before repeated keys are merged: two keys
 * that differ only in invalid bytes would otherwise both be written as "\ufffd". */
static int cb_key(void *ctx, const unsigned char *s, size_t len)
{
    struct builder *b = ctx;
    free(b->key);
    b->key = malloc(len * 3 + 1);
    if (!b->key) {
        b->fail = "out of memory";
        return 0;
    }
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len(s + i, len - i);
        if (n == 0) {
            memcpy(b->key + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(b->key + o, s + i, n);
            o += n;
            i += n;
        }
    }
    b->key[o] = '\0';
    b->keylen = o;
    return 1;
}

static int key_cmp(const struct json *o, size_t a, size_t b)
{
    size_t la = o->keylens[a], lb = o->keylens[b];
    int c = memcmp(o->keys[a], o->keys[b], la < lb ? la : lb);
    if (c)
        return c;
    return la < lb ? -1 : la > lb;
}

static int idx_cmp(const void *pa, const void *pb, void *obj)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = key_cmp(obj, a, b);
    return c ? c : (a < b ? -1 : 1);
}

/* A repeated key keeps its first position and its last value, as Python's
 * json.loads does; the mark array says which members to drop. */
static int dedupe_keys(struct json *o)
{
    if (o->len < 2)
        return 0;
    size_t *idx = malloc(o->len * sizeof(*idx));
    if (!idx)
        return -ENOMEM;
    for (size_t i = 0; i < o->len; i++)
        idx[i] = i;
    qsort_r(idx, o->len, sizeof(*idx), idx_cmp, o);
    bool any = false;
    for (size_t i = 1; i < o->len; i++) {
        if (key_cmp(o, idx[i - 1], idx[i]) != 0)
            continue;
        size_t first = idx[i - 1], later = idx[i];
        /* move the later value into the first slot; mark the later slot dead */
        node_free(o->kids[first]);
        o->kids[first] = o->kids[later];
        o->kids[later] = NULL;
        idx[i] = first; /* a third repeat compares with the surviving slot */
        any = true;
    }
    free(idx);
    if (!any)
        return 0;
    size_t w = 0;
    for (size_t r = 0; r < o->len; r++) {
        if (!o->kids[r]) {
            free(o->keys[r]);
            continue;
        }
        o->kids[w] = o->kids[r];
        o->keys[w] = o->keys[r];
        o->keylens[w] = o->keylens[r];
        w++;
    }
    o->len = w;
    return 0;
}

static int cb_end_map(void *ctx)
{
    struct builder *b = ctx;
    struct json *o = b->stack[--b->depth];
    if (dedupe_keys(o) < 0) {
        b->fail = "out of memory";
        return 0;
    }
    return 1;
}

static int cb_end_array(void *ctx)
{
    struct builder *b = ctx;
    b->depth--;
    return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_bool,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_key,
    .yajl_end_map = cb_end_map,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end_array,
};

/* Value of the escape \uXXXX at text[i] (all 6 bytes checked), or -1 when there is none. */
static long u_escape(const char *text, size_t len, size_t i)
{
    if (len - i < 6 || text[i] != '\\' || text[i + 1] != 'u')
        return -1;
    long v = 0;
    for (size_t k = i + 2; k < i + 6; k++) {
        unsigned char c = (unsigned char)text[k];
        unsigned char lc = c | 0x20;
        if (c >= '0' && c <= '9')
            v = v << 4 | (c - '0');
        else if (lc >= 'a' && lc <= 'f')
            v = v << 4 | (lc - 'a' + 10);
        else
            return -1;
    }
    return v;
}

static bool is_high(long u)
{
    return u >= 0xd800 && u <= 0xdbff;
}

static bool is_low(long u)
{
    return u >= 0xdc00 && u <= 0xdfff;
}

/* yajl 2.1 decodes a high surrogate followed by any \u escape as a pair (so
 * "\ud800\u0041" is a made-up code point), a high surrogate followed by anything
 * else as '?', and a lone low surrogate as the three bytes of an encoded
 * surrogate; afterwards none of this can be told from text the server meant.
 * So every surrogate escape without its partner becomes \ufffd before yajl sees
 * it: the same 6 bytes, so the offsets in yajl's errors stay those of the
 * server's text. Outside strings a backslash is a syntax error at that very
 * byte, so walking escape by escape (a backslash and the byte after it) stays in
 * step with the strings without tracking quotes. *copy is NULL when nothing
 * needed rewriting (the common case costs one memchr pass), else a malloc'd
 * copy to parse instead; 0 or -ENOMEM. */
static int fix_surrogates(const char *text, size_t len, char **copy)
{
    *copy = NULL;
    const char *end = text + len;
    const char *p = text;
    while ((p = memchr(p, '\\', (size_t)(end - p)))) {
        size_t i = (size_t)(p - text);
        long u = u_escape(text, len, i);
        size_t step = 6;
        if (u < 0) {
            step = 2; /* another escape, or a broken one yajl will report */
        } else if (is_high(u) && is_low(u_escape(text, len, i + 6))) {
            step = 12;
        } else if (is_high(u) || is_low(u)) {
            if (!*copy) {
                *copy = malloc(len);
                if (!*copy)
                    return -ENOMEM;
                memcpy(*copy, text, len);
            }
            memcpy(*copy + i + 2, "fffd", 4);
        }
        p = (size_t)(end - p) > step ? p + step : end;
    }
    return 0;
}

struct json *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct builder b = {0};
    char *copy;
    if (fix_surrogates(text, len, &copy) < 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    yajl_handle h = yajl_alloc(&callbacks, NULL, &b);
    if (!h) {
        free(copy);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* Invalid UTF-8 is not fatal: names and metadata.json replace it with U+FFFD,
     * so one bad byte costs one character, not a whole provider's listing. */
    yajl_config(h, yajl_dont_validate_strings, 1);
    yajl_status st = yajl_parse(h, (const unsigned char *)(copy ? copy : text), len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    size_t at = yajl_get_bytes_consumed(h);
    /* yajl 2.1 accepts `{"a":1} "xyz`: after the value its lexer still waits for
     * the closing quote of a string, and yajl_complete_parse does not ask. One
     * more quote closes that string, which yajl then calls trailing garbage;
     * after a clean end the quote only opens a string that nobody finishes. */
    if (st == yajl_status_ok && yajl_parse(h, (const unsigned char *)"\"", 1) != yajl_status_ok) {
        b.fail = "has an unterminated string after its value";
        at = len;
        st = yajl_status_error;
    }
    free(copy); /* the tree holds copies; a non-verbose yajl error does not quote the text */
    if (st != yajl_status_ok) {
        if (b.fail) {
            snprintf(err, errlen, "JSON %s (at byte %zu)", b.fail, at);
        } else {
            unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
            /* yajl's message is "parse error: premature EOF" and a newline or
             * two; a log line must stay one line */
            size_t n = msg ? strcspn((char *)msg, "\r\n") : 0;
            snprintf(err, errlen, "%.*s (at byte %zu)", (int)n, msg ? (char *)msg : "", at);
            if (n == 0)
                snprintf(err, errlen, "invalid JSON (at byte %zu)", at);
            if (msg)
                yajl_free_error(h, msg);
        }
        free(b.key);
        node_free(b.root);
        yajl_free(h);
        return NULL;
    }
    yajl_free(h);
    free(b.key);
    if (!b.root)
        snprintf(err, errlen, "empty document");
    return b.root;
}

const struct json *json_get(const struct json *v, const char *key)
{
    if (!v || v->type != JSON_OBJECT)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < v->len; i++)
        if (v->keylens[i] == kl && memcmp(v->keys[i], key, kl) == 0)
            return v->kids[i];
    return NULL;
}

const char *json_str(const struct json *v, size_t *len)
{
    if (!v || v->type != JSON_STRING)
        return NULL;
    if (len)
        *len = v->len;
    return v->text;
}

bool json_int64(const struct json *v, int64_t *out)
{
    if (!v || v->type != JSON_NUMBER || v->len == 0 || v->len > 20)
        return false;
    if (strpbrk(v->text, ".eE"))
        return false;
    errno = 0;
    char *end;
    long long n = strtoll(v->text, &end, 10);
    if (errno || *end)
        return false;
    *out = n;
    return true;
}

bool json_is(const struct json *v, enum json_type t)
{
    return v && v->type == t;
}
