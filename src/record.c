/* The compact collection record; see record.h for the byte format.
 *
 * In memory a record is a reference count and the length in front of the
 * serialised bytes, in one allocation; every accessor reads the bytes, so what
 * a listing holds and what a shared cache would store are the same thing. */
#include "record.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct record {
    uint32_t refs;
    uint32_t len;
    unsigned char b[]; /* the serialised form, 8-byte aligned */
};

enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 2,
    OFF_FLAGS = 3,
    OFF_ID_LEN = 4,
    OFF_NAME_LEN = 8,
    OFF_JSON_LEN = 12,
    OFF_INO = 16,
    OFF_CREATED = 24,
    OFF_UPDATED = 32,
    OFF_CREATED_NS = 40,
    OFF_UPDATED_NS = 44,
};

enum { F_CREATED = 1, F_UPDATED = 2, F_NAME = 4, F_ALL = 7 };

#define MAGIC0 0x63 /* 'c' */
#define MAGIC1 0x52 /* 'R' */

static uint32_t get32(const unsigned char *b, size_t off)
{
    uint32_t v;
    memcpy(&v, b + off, sizeof(v));
    return le32toh(v);
}

static uint64_t get64(const unsigned char *b, size_t off)
{
    uint64_t v;
    memcpy(&v, b + off, sizeof(v));
    return le64toh(v);
}

static void put32(unsigned char *b, size_t off, uint32_t v)
{
    v = htole32(v);
    memcpy(b + off, &v, sizeof(v));
}

static void put64(unsigned char *b, size_t off, uint64_t v)
{
    v = htole64(v);
    memcpy(b + off, &v, sizeof(v));
}

/* A time as the record keeps it: nanoseconds in [0, 10^9), zero when absent. */
static void norm(bool has, const struct timespec *t, int64_t *sec, uint32_t *nsec)
{
    *sec = 0;
    *nsec = 0;
    if (!has)
        return;
    int64_t s = (int64_t)t->tv_sec, ns = (int64_t)t->tv_nsec;
    s += ns / 1000000000;
    ns %= 1000000000;
    if (ns < 0) {
        ns += 1000000000;
        s--;
    }
    *sec = s;
    *nsec = (uint32_t)ns;
}

struct record *record_encode(const struct item *it, uint64_t ino)
{
    size_t il = strlen(it->id), nl = it->name ? it->name_len : 0, jl = it->json_len;
    if (il > RECORD_MAX || nl > RECORD_MAX || jl > RECORD_MAX ||
        RECORD_HEADER + 2 + il + nl + jl > RECORD_MAX) {
        errno = EOVERFLOW;
        return NULL;
    }
    size_t len = RECORD_HEADER + 2 + il + nl + jl;
    struct record *r = malloc(sizeof(*r) + len);
    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    r->refs = 1;
    r->len = (uint32_t)len;
    unsigned char *b = r->b;
    b[OFF_MAGIC] = MAGIC0;
    b[OFF_MAGIC + 1] = MAGIC1;
    b[OFF_VERSION] = RECORD_VERSION;
    b[OFF_FLAGS] = (unsigned char)((it->has_created ? F_CREATED : 0) |
                                   (it->has_updated ? F_UPDATED : 0) | (it->name ? F_NAME : 0));
    put32(b, OFF_ID_LEN, (uint32_t)il);
    put32(b, OFF_NAME_LEN, (uint32_t)nl);
    put32(b, OFF_JSON_LEN, (uint32_t)jl);
    put64(b, OFF_INO, ino);
    int64_t sec;
    uint32_t ns;
    norm(it->has_created, &it->created, &sec, &ns);
    put64(b, OFF_CREATED, (uint64_t)sec);
    put32(b, OFF_CREATED_NS, ns);
    norm(it->has_updated, &it->updated, &sec, &ns);
    put64(b, OFF_UPDATED, (uint64_t)sec);
    put32(b, OFF_UPDATED_NS, ns);
    unsigned char *p = b + RECORD_HEADER;
    memcpy(p, it->id, il);
    p[il] = 0;
    p += il + 1;
    if (nl)
        memcpy(p, it->name, nl);
    p[nl] = 0;
    p += nl + 1;
    if (jl)
        memcpy(p, it->json, jl);
    return r;
}

int record_check(const void *buf, size_t len)
{
    const unsigned char *b = buf;
    if (!b || len < RECORD_HEADER + 2 || len > RECORD_MAX)
        return -EINVAL;
    if (b[OFF_MAGIC] != MAGIC0 || b[OFF_MAGIC + 1] != MAGIC1 || b[OFF_VERSION] != RECORD_VERSION ||
        (b[OFF_FLAGS] & ~F_ALL))
        return -EINVAL;
    /* in 64 bits: three 32-bit lengths cannot wrap the sum */
    uint64_t il = get32(b, OFF_ID_LEN), nl = get32(b, OFF_NAME_LEN), jl = get32(b, OFF_JSON_LEN);
    if (il == 0 || RECORD_HEADER + 2 + il + nl + jl != len)
        return -EINVAL;
    if (!(b[OFF_FLAGS] & F_NAME) && nl != 0)
        return -EINVAL;
    uint64_t ino = get64(b, OFF_INO);
    if ((ino & 1) || ino < 16)
        return -EINVAL;
    static const struct {
        unsigned flag;
        size_t sec, ns;
    } t[] = {{F_CREATED, OFF_CREATED, OFF_CREATED_NS}, {F_UPDATED, OFF_UPDATED, OFF_UPDATED_NS}};
    for (size_t i = 0; i < 2; i++) {
        uint32_t ns = get32(b, t[i].ns);
        if (ns >= 1000000000u)
            return -EINVAL;
        if (!(b[OFF_FLAGS] & t[i].flag) && (ns != 0 || get64(b, t[i].sec) != 0))
            return -EINVAL;
        if (sizeof(time_t) < 8) {
            int64_t s = (int64_t)get64(b, t[i].sec);
            if (s != (int64_t)(time_t)s)
                return -EINVAL;
        }
    }
    const unsigned char *id = b + RECORD_HEADER;
    if (memchr(id, 0, il) || id[il] != 0 || id[il + 1 + nl] != 0)
        return -EINVAL;
    return 0;
}

int record_parse(const void *buf, size_t len, struct record **out)
{
    *out = NULL;
    int rc = record_check(buf, len);
    if (rc)
        return rc;
    struct record *r = malloc(sizeof(*r) + len);
    if (!r)
        return -ENOMEM;
    r->refs = 1;
    r->len = (uint32_t)len;
    memcpy(r->b, buf, len);
    *out = r;
    return 0;
}

struct record *record_ref(struct record *r)
{
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
    return r;
}

void record_unref(struct record *r)
{
    if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(r);
}

const void *record_bytes(const struct record *r, size_t *len)
{
    *len = r->len;
    return r->b;
}

const char *record_id(const struct record *r)
{
    return (const char *)r->b + RECORD_HEADER;
}

const char *record_name(const struct record *r, size_t *len)
{
    *len = get32(r->b, OFF_NAME_LEN);
    if (!(r->b[OFF_FLAGS] & F_NAME))
        return NULL;
    return (const char *)r->b + RECORD_HEADER + get32(r->b, OFF_ID_LEN) + 1;
}

const char *record_json(const struct record *r, size_t *len)
{
    *len = get32(r->b, OFF_JSON_LEN);
    return (const char *)r->b + RECORD_HEADER + get32(r->b, OFF_ID_LEN) + 1 +
           get32(r->b, OFF_NAME_LEN) + 1;
}

uint64_t record_ino(const struct record *r)
{
    return get64(r->b, OFF_INO);
}

static bool get_time(const struct record *r, unsigned flag, size_t sec, size_t ns,
                     struct timespec *t)
{
    if (!(r->b[OFF_FLAGS] & flag))
        return false;
    t->tv_sec = (time_t)(int64_t)get64(r->b, sec);
    t->tv_nsec = (long)get32(r->b, ns);
    return true;
}

bool record_created(const struct record *r, struct timespec *t)
{
    return get_time(r, F_CREATED, OFF_CREATED, OFF_CREATED_NS, t);
}

bool record_updated(const struct record *r, struct timespec *t)
{
    return get_time(r, F_UPDATED, OFF_UPDATED, OFF_UPDATED_NS, t);
}

bool record_matches(const struct record *r, const struct item *it, uint64_t ino)
{
    const unsigned char *b = r->b;
    size_t il = strlen(it->id), nl = it->name ? it->name_len : 0;
    unsigned flags = (it->has_created ? F_CREATED : 0) | (it->has_updated ? F_UPDATED : 0) |
                     (it->name ? F_NAME : 0);
    if (b[OFF_FLAGS] != flags || get32(b, OFF_ID_LEN) != il || get32(b, OFF_NAME_LEN) != nl ||
        get32(b, OFF_JSON_LEN) != it->json_len || get64(b, OFF_INO) != ino)
        return false;
    int64_t sec;
    uint32_t ns;
    norm(it->has_created, &it->created, &sec, &ns);
    if ((int64_t)get64(b, OFF_CREATED) != sec || get32(b, OFF_CREATED_NS) != ns)
        return false;
    norm(it->has_updated, &it->updated, &sec, &ns);
    if ((int64_t)get64(b, OFF_UPDATED) != sec || get32(b, OFF_UPDATED_NS) != ns)
        return false;
    const unsigned char *p = b + RECORD_HEADER;
    return memcmp(p, it->id, il) == 0 && (nl == 0 || memcmp(p + il + 1, it->name, nl) == 0) &&
           (it->json_len == 0 || memcmp(p + il + 1 + nl + 1, it->json, it->json_len) == 0);
}

bool record_same_content(const struct record *a, const struct record *b)
{
    if (a == b)
        return true;
    unsigned ft = F_CREATED | F_UPDATED;
    if ((a->b[OFF_FLAGS] & ft) != (b->b[OFF_FLAGS] & ft) ||
        memcmp(a->b + OFF_CREATED, b->b + OFF_CREATED, 24) != 0)
        return false;
    size_t al, bl;
    const char *aj = record_json(a, &al), *bj = record_json(b, &bl);
    return al == bl && memcmp(aj, bj, al) == 0;
}

int record_to_item(const struct record *r, struct item *out)
{
    memset(out, 0, sizeof(*out));
    size_t nl, jl;
    const char *name = record_name(r, &nl), *json = record_json(r, &jl);
    out->id = strdup(record_id(r));
    if (name && (out->name = malloc(nl + 1)))
        memcpy(out->name, name, nl + 1);
    out->name_len = name ? nl : 0;
    if ((out->json = malloc(jl ? jl : 1)))
        memcpy(out->json, json, jl);
    out->json_len = jl;
    out->has_created = record_created(r, &out->created);
    out->has_updated = record_updated(r, &out->updated);
    if (!out->id || (name && !out->name) || !out->json) {
        provider_item_free(out);
        memset(out, 0, sizeof(*out));
        return -ENOMEM;
    }
    return 0;
}
