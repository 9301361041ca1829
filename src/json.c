/* JSON tree from yajl's callbacks. yajl does the lexing, escape decoding and
 * grammar; this file only stacks containers, after rewriting the one kind of
 * escape yajl decodes wrongly (a UTF-16 surrogate without its partner). Limits
 * (depth, value count) keep a hostile document from exhausting the stack of the
 * renderer or memory. */
#include "json.h"

#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "utf8.h"

#define JSON_MAX_VALUES 2000000
/* Arena chunks: the first sized from the document, later ones doubling up to a cap. */
#define CHUNK_MIN 4096
#define CHUNK_MAX (8u << 20)

/* The whole tree lives in a few large chunks freed together: a page of a
 * hundred collections is thousands of values, and one malloc and one free each
 * cost more than the parse itself. Container members are collected on the
 * builder's per-depth stacks (reused from container to container) and copied
 * into the arena once, at their exact size, when the container closes. */
struct chunk {
    struct chunk *next;
    size_t cap, used;
    _Alignas(max_align_t) char data[];
};

/* What json_parse hands out: the root, with the arena behind it. */
struct doc {
    struct chunk *chunks;
    struct json root;
};

/* The members of one open container. */
struct frame {
    struct json *node;
    struct json **kids;
    char **keys;
    size_t *keylens;
    size_t n, cap;
};

struct builder {
    struct doc *doc;
    struct json *root;
    struct frame stack[JSON_MAX_DEPTH];
    int depth, frames; /* open containers; frames with buffers allocated */
    char *key;         /* key waiting for its value inside an object (in the arena) */
    size_t keylen;
    size_t values;
    size_t next_chunk;
    const char *fail; /* our own reason when a callback cancels the parse */
};

static void *arena(struct builder *b, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    struct chunk *c = b->doc->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = b->next_chunk > n ? b->next_chunk : n;
        if (!(c = malloc(sizeof(*c) + cap)))
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = b->doc->chunks;
        b->doc->chunks = c;
        if (b->next_chunk < CHUNK_MAX)
            b->next_chunk *= 2;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

/* Give back the tail of the last allocation p (of had bytes), keeping n. */
static void arena_trim(struct builder *b, void *p, size_t had, size_t n)
{
    struct chunk *c = b->doc->chunks;
    had = (had + 7) & ~(size_t)7;
    n = (n + 7) & ~(size_t)7;
    if (c && (char *)p + had == c->data + c->used)
        c->used -= had - n;
}

static void doc_free(struct doc *d)
{
    if (!d)
        return;
    while (d->chunks) {
        struct chunk *c = d->chunks;
        d->chunks = c->next;
        free(c);
    }
    free(d);
}

void json_free(struct json *v)
{
    if (v)
        doc_free((struct doc *)((char *)v - offsetof(struct doc, root)));
}

static int push(struct frame *f, struct json *v, char *key, size_t keylen, bool obj)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        struct json **kids = realloc(f->kids, cap * sizeof(*kids));
        if (!kids)
            return -ENOMEM;
        f->kids = kids;
        char **keys = realloc(f->keys, cap * sizeof(*keys));
        if (!keys)
            return -ENOMEM;
        f->keys = keys;
        size_t *lens = realloc(f->keylens, cap * sizeof(*lens));
        if (!lens)
            return -ENOMEM;
        f->keylens = lens;
        f->cap = cap;
    }
    f->kids[f->n] = v;
    if (obj) {
        f->keys[f->n] = key;
        f->keylens[f->n] = keylen;
    }
    f->n++;
    return 0;
}

/* A new value, attached to the open container (or the root); NULL when out of
 * memory or over the limit, with the reason in b->fail. */
static struct json *node(struct builder *b, enum json_type t, const void *text, size_t len)
{
    if (++b->values > JSON_MAX_VALUES) {
        b->fail = "too many values";
        return NULL;
    }
    struct json *v = b->depth == 0 ? &b->doc->root : arena(b, sizeof(*v));
    if (!v)
        goto nomem;
    memset(v, 0, sizeof(*v));
    v->type = t;
    if (text) {
        if (!(v->text = arena(b, len + 1)))
            goto nomem;
        memcpy(v->text, text, len);
        v->text[len] = '\0';
        v->len = len;
    }
    if (b->depth == 0) {
        b->root = v;
        return v;
    }
    struct frame *f = &b->stack[b->depth - 1];
    bool obj = f->node->type == JSON_OBJECT;
    char *key = b->key;
    b->key = NULL;
    if (push(f, v, key, b->keylen, obj) < 0)
        goto nomem;
    return v;
nomem:
    b->fail = "out of memory";
    return NULL;
}

static int cb_null(void *ctx)
{
    return node(ctx, JSON_NULL, NULL, 0) != NULL;
}

static int cb_bool(void *ctx, int val)
{
    return node(ctx, val ? JSON_TRUE : JSON_FALSE, NULL, 0) != NULL;
}

static int cb_number(void *ctx, const char *s, size_t len)
{
    return node(ctx, JSON_NUMBER, s, len) != NULL;
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
    return node(ctx, JSON_STRING, s, len) != NULL;
}

static int open_container(struct builder *b, enum json_type t)
{
    if (b->depth >= JSON_MAX_DEPTH) {
        b->fail = "nested too deeply";
        return 0;
    }
    struct json *v = node(b, t, NULL, 0);
    if (!v)
        return 0;
    struct frame *f = &b->stack[b->depth++];
    if (b->depth > b->frames)
        b->frames = b->depth;
    f->node = v;
    f->n = 0;
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
    size_t ascii = 0;
    while (ascii < len && s[ascii] < 0x80)
        ascii++;
    size_t room = ascii == len ? len + 1 : len * 3 + 1;
    b->key = arena(b, room);
    if (!b->key) {
        b->fail = "out of memory";
        return 0;
    }
    memcpy(b->key, s, ascii);
    size_t o = ascii;
    for (size_t i = ascii; i < len;) {
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
    arena_trim(b, b->key, room, o + 1);
    return 1;
}

static bool key_eq(const struct json *o, size_t a, size_t b)
{
    return o->keylens[a] == o->keylens[b] && memcmp(o->keys[a], o->keys[b], o->keylens[a]) == 0;
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

/* Drop the members whose value was moved away (kids[i] == NULL). */
static void compact(struct json *o)
{
    size_t w = 0;
    for (size_t r = 0; r < o->len; r++) {
        if (!o->kids[r])
            continue;
        o->kids[w] = o->kids[r];
        o->keys[w] = o->keys[r];
        o->keylens[w] = o->keylens[r];
        w++;
    }
    o->len = w;
}

/* Whether a small object repeats a key. Keys go into 64 buckets by length and
 * first and last byte; only keys that share a bucket are compared, so an
 * object of twenty distinct keys costs twenty steps, not 190 comparisons. */
static bool repeats_key(const struct json *o)
{
    unsigned char bucket[32];
    uint64_t seen = 0;
    for (size_t i = 0; i < o->len; i++) {
        size_t n = o->keylens[i];
        const unsigned char *k = (const unsigned char *)o->keys[i];
        unsigned b = (unsigned)(n * 31 + (n ? k[0] * 7u + k[n - 1] : 0)) & 63;
        if (seen >> b & 1)
            for (size_t j = 0; j < i; j++)
                if (bucket[j] == b && key_eq(o, i, j))
                    return true;
        bucket[i] = (unsigned char)b;
        seen |= 1ULL << b;
    }
    return false;
}

/* A repeated key keeps its first position and its last value, as Python's
 * json.loads does. Small objects (the common case) compare the pairs once a
 * repeat is known to exist; large ones sort an index. */
static int dedupe_keys(struct json *o)
{
    if (o->len < 2)
        return 0;
    bool any = false;
    if (o->len <= 32) {
        if (!repeats_key(o))
            return 0;
        for (size_t i = 0; i < o->len; i++)
            for (size_t j = i + 1; o->kids[i] && j < o->len; j++)
                if (o->kids[j] && key_eq(o, i, j)) {
                    o->kids[i] = o->kids[j];
                    o->kids[j] = NULL;
                    any = true;
                }
        if (any)
            compact(o);
        return 0;
    }
    size_t *idx = malloc(o->len * sizeof(*idx));
    if (!idx)
        return -ENOMEM;
    for (size_t i = 0; i < o->len; i++)
        idx[i] = i;
    qsort_r(idx, o->len, sizeof(*idx), idx_cmp, o);
    for (size_t i = 1; i < o->len; i++) {
        if (key_cmp(o, idx[i - 1], idx[i]) != 0)
            continue;
        size_t first = idx[i - 1], later = idx[i];
        /* move the later value into the first slot; mark the later slot dead */
        o->kids[first] = o->kids[later];
        o->kids[later] = NULL;
        idx[i] = first; /* a third repeat compares with the surviving slot */
        any = true;
    }
    free(idx);
    if (any)
        compact(o);
    return 0;
}

/* Close the open container: its members move into the arena at their exact size. */
static int close_container(struct builder *b)
{
    struct frame *f = &b->stack[--b->depth];
    struct json *o = f->node;
    if (f->n == 0)
        return 1;
    bool obj = o->type == JSON_OBJECT;
    if (!(o->kids = arena(b, f->n * sizeof(*o->kids))) ||
        (obj && (!(o->keys = arena(b, f->n * sizeof(*o->keys))) ||
                 !(o->keylens = arena(b, f->n * sizeof(*o->keylens)))))) {
        b->fail = "out of memory";
        return 0;
    }
    memcpy(o->kids, f->kids, f->n * sizeof(*o->kids));
    if (obj) {
        memcpy(o->keys, f->keys, f->n * sizeof(*o->keys));
        memcpy(o->keylens, f->keylens, f->n * sizeof(*o->keylens));
    }
    o->len = f->n;
    if (obj && dedupe_keys(o) < 0) {
        b->fail = "out of memory";
        return 0;
    }
    return 1;
}

static int cb_end_map(void *ctx)
{
    return close_container(ctx);
}

static int cb_end_array(void *ctx)
{
    return close_container(ctx);
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

static void builder_free(struct builder *b)
{
    for (int i = 0; i < b->frames; i++) {
        free(b->stack[i].kids);
        free(b->stack[i].keys);
        free(b->stack[i].keylens);
    }
}

struct json *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct builder *b = calloc(1, sizeof(*b));
    char *copy = NULL;
    if (!b || !(b->doc = calloc(1, sizeof(*b->doc))) || fix_surrogates(text, len, &copy) < 0) {
        if (b)
            free(b->doc);
        free(b);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* the tree takes about as many bytes as the text; the first chunk holds a page's */
    b->next_chunk = len + len / 2 < CHUNK_MIN   ? CHUNK_MIN
                    : len + len / 2 > CHUNK_MAX ? CHUNK_MAX
                                                : len + len / 2;
    yajl_handle h = yajl_alloc(&callbacks, NULL, b);
    if (!h) {
        free(copy);
        doc_free(b->doc);
        free(b);
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
        b->fail = "has an unterminated string after its value";
        at = len;
        st = yajl_status_error;
    }
    free(copy); /* the tree holds copies; a non-verbose yajl error does not quote the text */
    struct json *root = b->root;
    if (st != yajl_status_ok) {
        if (b->fail) {
            snprintf(err, errlen, "JSON %s (at byte %zu)", b->fail, at);
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
        root = NULL;
    }
    yajl_free(h);
    builder_free(b);
    if (!root) {
        doc_free(b->doc);
        if (st == yajl_status_ok)
            snprintf(err, errlen, "empty document");
    }
    free(b);
    return root;
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
