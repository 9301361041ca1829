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

#include "inode.h"

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

enum { F_CREATED = 1, F_UPDATED = 2, F_NAME = 4, F_ID_CUT = 8, F_NAME_CUT = 16, F_ALL = 31 };

/* A cut takes 4 bytes of header, so shorter fields are kept whole. */
#define CUT_MIN 5
#define NO_CUT UINT32_MAX

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

/* The first place where n (of nl bytes) stands in h (of hl) without
 * overlapping [avoid, avoid + al); NO_CUT when none, or when n is too short to
 * be worth a cut. */
static uint32_t find_cut(const char *h, size_t hl, const char *n, size_t nl, uint32_t avoid,
                         size_t al)
{
    if (nl < CUT_MIN || nl > hl || hl >= NO_CUT)
        return NO_CUT;
    const char *p = memmem(h, hl, n, nl);
    if (p && avoid != NO_CUT && (size_t)(p - h) < avoid + al && (size_t)(p - h) + nl > avoid) {
        /* every place from p to the end of the avoided bytes overlaps them too: two
         * searches, each linear, however often a hostile id repeats inside the name */
        size_t from = avoid + al;
        p = from < hl ? memmem(h + from, hl - from, n, nl) : NULL;
    }
    return p ? (uint32_t)(p - h) : NO_CUT;
}

/* The canonical cuts of metadata.json (record.h): name first, then id. */
static void find_cuts(const char *json, size_t jl, const char *id, size_t il, const char *name,
                      size_t nl, uint32_t *idc, uint32_t *namec)
{
    *namec = name ? find_cut(json, jl, name, nl, NO_CUT, 0) : NO_CUT;
    *idc = find_cut(json, jl, id, il, *namec, nl);
}

/* Where a record's parts are: the cuts (NO_CUT when absent) and the offsets of
 * the id, the name and the stored bytes of metadata.json. */
struct layout {
    uint32_t idc, namec;
    size_t il, nl, jl, id, name, stored;
};

/* The header's length: the fixed part and the places of the cuts. */
static size_t head_len(const unsigned char *b)
{
    return RECORD_HEADER + (b[OFF_FLAGS] & F_ID_CUT ? 4 : 0) + (b[OFF_FLAGS] & F_NAME_CUT ? 4 : 0);
}

static struct layout layout_of(const unsigned char *b)
{
    struct layout L;
    size_t h = head_len(b);
    L.idc = b[OFF_FLAGS] & F_ID_CUT ? get32(b, RECORD_HEADER) : NO_CUT;
    L.namec = b[OFF_FLAGS] & F_NAME_CUT ? get32(b, h - 4) : NO_CUT;
    L.il = get32(b, OFF_ID_LEN);
    L.nl = get32(b, OFF_NAME_LEN);
    L.jl = get32(b, OFF_JSON_LEN);
    L.id = h;
    L.name = h + L.il + 1;
    L.stored = L.name + L.nl + 1;
    return L;
}

/* metadata.json as pieces in order: stored bytes, with the id and the name
 * where they were cut out. */
static int pieces(const unsigned char *b, const struct layout *L, struct iovec *v)
{
    struct iovec cut[2];
    size_t at[2];
    int nc = 0, n = 0;
    if (L->idc != NO_CUT) {
        at[nc] = L->idc;
        cut[nc++] = (struct iovec){(void *)(b + L->id), L->il};
    }
    if (L->namec != NO_CUT) {
        at[nc] = L->namec;
        cut[nc++] = (struct iovec){(void *)(b + L->name), L->nl};
    }
    if (nc == 2 && at[1] < at[0]) {
        size_t t = at[0];
        at[0] = at[1];
        at[1] = t;
        struct iovec c = cut[0];
        cut[0] = cut[1];
        cut[1] = c;
    }
    size_t pos = 0, s = L->stored;
    for (int i = 0; i < nc; i++) {
        if (at[i] > pos)
            v[n++] = (struct iovec){(void *)(b + s), at[i] - pos};
        s += at[i] - pos;
        v[n++] = cut[i];
        pos = at[i] + cut[i].iov_len;
    }
    if (pos < L->jl)
        v[n++] = (struct iovec){(void *)(b + s), L->jl - pos};
    return n;
}

/* Copy pieces, in order, into out. */
static void join(const struct iovec *v, int n, char *out)
{
    for (int i = 0; i < n; i++) {
        memcpy(out, v[i].iov_base, v[i].iov_len);
        out += v[i].iov_len;
    }
}

/* Whether two runs of pieces hold the same bytes. */
static bool same_bytes(const struct iovec *a, int na, const struct iovec *b, int nb)
{
    size_t ao = 0, bo = 0;
    int i = 0, j = 0;
    while (i < na && j < nb) {
        size_t n = a[i].iov_len - ao < b[j].iov_len - bo ? a[i].iov_len - ao : b[j].iov_len - bo;
        if (memcmp((const char *)a[i].iov_base + ao, (const char *)b[j].iov_base + bo, n) != 0)
            return false;
        if ((ao += n) == a[i].iov_len)
            i++, ao = 0;
        if ((bo += n) == b[j].iov_len)
            j++, bo = 0;
    }
    for (; i < na; i++, ao = 0)
        if (a[i].iov_len > ao)
            return false;
    for (; j < nb; j++, bo = 0)
        if (b[j].iov_len > bo)
            return false;
    return true;
}

struct record *record_encode(const struct item *it, uint64_t ino)
{
    size_t il = strlen(it->id), nl = it->name ? it->name_len : 0, jl = it->json_len;
    if (il > RECORD_MAX || nl > RECORD_MAX || jl > RECORD_MAX ||
        RECORD_HEADER + 8 + 2 + il + nl + jl > RECORD_MAX) {
        errno = EOVERFLOW;
        return NULL;
    }
    uint32_t idc, namec;
    find_cuts(it->json, jl, it->id, il, it->name, nl, &idc, &namec);
    size_t h = RECORD_HEADER + (idc != NO_CUT ? 4 : 0) + (namec != NO_CUT ? 4 : 0);
    size_t stored = jl - (idc != NO_CUT ? il : 0) - (namec != NO_CUT ? nl : 0);
    size_t len = h + 2 + il + nl + stored;
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
    b[OFF_FLAGS] =
        (unsigned char)((it->has_created ? F_CREATED : 0) | (it->has_updated ? F_UPDATED : 0) |
                        (it->name ? F_NAME : 0) | (idc != NO_CUT ? F_ID_CUT : 0) |
                        (namec != NO_CUT ? F_NAME_CUT : 0));
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
    if (idc != NO_CUT) {
        put32(p, 0, idc);
        p += 4;
    }
    if (namec != NO_CUT) {
        put32(p, 0, namec);
        p += 4;
    }
    memcpy(p, it->id, il);
    p[il] = 0;
    p += il + 1;
    if (nl)
        memcpy(p, it->name, nl);
    p[nl] = 0;
    p += nl + 1;
    /* metadata.json without the cuts: the stored pieces are the gaps between them */
    struct layout L = layout_of(b);
    struct iovec v[RECORD_PIECES];
    int n = pieces(b, &L, v);
    size_t pos = 0;
    for (int i = 0; i < n; i++) {
        const unsigned char *q = v[i].iov_base;
        if (q >= p) /* a stored piece, not the id or the name */
            memcpy(v[i].iov_base, it->json + pos, v[i].iov_len);
        pos += v[i].iov_len;
    }
    return r;
}

int record_check(const void *buf, size_t len)
{
    const unsigned char *b = buf;
    if (!b || len < RECORD_HEADER + 2 || len > RECORD_MAX)
        return -EINVAL;
    unsigned flags = b[OFF_FLAGS];
    if (b[OFF_MAGIC] != MAGIC0 || b[OFF_MAGIC + 1] != MAGIC1 || b[OFF_VERSION] != RECORD_VERSION ||
        (flags & ~F_ALL) || ((flags & F_NAME_CUT) && !(flags & F_NAME)))
        return -EINVAL;
    size_t h = head_len(b);
    if (len < h + 2)
        return -EINVAL;
    struct layout L = layout_of(b);
    if (((flags & F_ID_CUT) && L.idc == NO_CUT) || ((flags & F_NAME_CUT) && L.namec == NO_CUT))
        return -EINVAL; /* a cut's place that means "no cut" */
    /* in 64 bits: 32-bit lengths cannot wrap the sums */
    uint64_t il = L.il, nl = L.nl, jl = L.jl;
    uint64_t cut = (L.idc != NO_CUT ? il : 0) + (L.namec != NO_CUT ? nl : 0);
    if (il == 0 || cut > jl || h + 2 + il + nl + (jl - cut) != len)
        return -EINVAL;
    if (!(flags & F_NAME) && nl != 0)
        return -EINVAL;
    uint64_t ino = get64(b, OFF_INO);
    if (ino != inode_dir(ino) || ino == 0)
        return -EINVAL;
    static const struct {
        unsigned flag;
        size_t sec, ns;
    } t[] = {{F_CREATED, OFF_CREATED, OFF_CREATED_NS}, {F_UPDATED, OFF_UPDATED, OFF_UPDATED_NS}};
    for (size_t i = 0; i < 2; i++) {
        uint32_t ns = get32(b, t[i].ns);
        if (ns >= 1000000000u)
            return -EINVAL;
        if (!(flags & t[i].flag) && (ns != 0 || get64(b, t[i].sec) != 0))
            return -EINVAL;
        if (sizeof(time_t) < 8) {
            int64_t s = (int64_t)get64(b, t[i].sec);
            if (s != (int64_t)(time_t)s)
                return -EINVAL;
        }
    }
    const unsigned char *id = b + L.id;
    if (memchr(id, 0, il) || id[il] != 0 || b[L.name + nl] != 0)
        return -EINVAL;
    /* the cuts lie inside metadata.json, apart, and are the ones encoding would choose */
    if ((L.idc != NO_CUT && (uint64_t)L.idc + il > jl) ||
        (L.namec != NO_CUT && (uint64_t)L.namec + nl > jl))
        return -EINVAL;
    if (L.idc != NO_CUT && L.namec != NO_CUT &&
        !((uint64_t)L.idc + il <= L.namec || (uint64_t)L.namec + nl <= L.idc))
        return -EINVAL;
    struct iovec v[RECORD_PIECES];
    /* a fleet's listing checks every record it takes: most files fit the stack */
    char small[4096];
    char *json = jl <= sizeof(small) ? small : malloc(jl);
    if (!json)
        return -ENOMEM;
    join(v, pieces(b, &L, v), json);
    uint32_t idc, namec;
    find_cuts(json, jl, (const char *)id, il, flags & F_NAME ? (const char *)b + L.name : NULL, nl,
              &idc, &namec);
    if (json != small)
        free(json);
    return idc == L.idc && namec == L.namec ? 0 : -EINVAL;
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
    return (const char *)r->b + head_len(r->b);
}

const char *record_name(const struct record *r, size_t *len)
{
    *len = get32(r->b, OFF_NAME_LEN);
    if (!(r->b[OFF_FLAGS] & F_NAME))
        return NULL;
    return (const char *)r->b + head_len(r->b) + get32(r->b, OFF_ID_LEN) + 1;
}

size_t record_json_len(const struct record *r)
{
    return get32(r->b, OFF_JSON_LEN);
}

int record_json_iov(const struct record *r, size_t off, size_t len, struct iovec *v)
{
    struct layout L = layout_of(r->b);
    struct iovec all[RECORD_PIECES];
    if (off >= L.jl || len == 0)
        return 0;
    int n = pieces(r->b, &L, all), k = 0;
    size_t end = len < L.jl - off ? off + len : L.jl, pos = 0;
    for (int i = 0; i < n && pos < end; i++) {
        size_t a = pos, z = pos + all[i].iov_len;
        pos = z;
        if (z <= off)
            continue;
        size_t from = a < off ? off - a : 0, to = (z < end ? z : end) - a;
        v[k++] = (struct iovec){(char *)all[i].iov_base + from, to - from};
    }
    return k;
}

char *record_json_dup(const struct record *r, size_t *len)
{
    struct iovec v[RECORD_PIECES];
    size_t jl = record_json_len(r);
    char *json = malloc(jl ? jl : 1);
    if (!json)
        return NULL;
    join(v, record_json_iov(r, 0, jl, v), json);
    *len = jl;
    return json;
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
    /* equal id, name and bytes would have the same cuts: only the rest is compared */
    if ((b[OFF_FLAGS] & (F_CREATED | F_UPDATED | F_NAME)) != flags || get32(b, OFF_ID_LEN) != il ||
        get32(b, OFF_NAME_LEN) != nl || get32(b, OFF_JSON_LEN) != it->json_len ||
        get64(b, OFF_INO) != ino)
        return false;
    int64_t sec;
    uint32_t ns;
    norm(it->has_created, &it->created, &sec, &ns);
    if ((int64_t)get64(b, OFF_CREATED) != sec || get32(b, OFF_CREATED_NS) != ns)
        return false;
    norm(it->has_updated, &it->updated, &sec, &ns);
    if ((int64_t)get64(b, OFF_UPDATED) != sec || get32(b, OFF_UPDATED_NS) != ns)
        return false;
    struct layout L = layout_of(b);
    if (memcmp(b + L.id, it->id, il) != 0 || (nl && memcmp(b + L.name, it->name, nl) != 0))
        return false;
    struct iovec v[RECORD_PIECES], w = {it->json, it->json_len};
    return same_bytes(v, pieces(b, &L, v), &w, 1);
}

bool record_same_content(const struct record *a, const struct record *b)
{
    if (a == b)
        return true;
    unsigned ft = F_CREATED | F_UPDATED;
    if ((a->b[OFF_FLAGS] & ft) != (b->b[OFF_FLAGS] & ft) ||
        memcmp(a->b + OFF_CREATED, b->b + OFF_CREATED, 24) != 0 ||
        record_json_len(a) != record_json_len(b))
        return false;
    struct layout La = layout_of(a->b), Lb = layout_of(b->b);
    struct iovec va[RECORD_PIECES], vb[RECORD_PIECES];
    return same_bytes(va, pieces(a->b, &La, va), vb, pieces(b->b, &Lb, vb));
}

int record_to_item(const struct record *r, struct item *out)
{
    memset(out, 0, sizeof(*out));
    size_t nl, jl = 0;
    const char *name = record_name(r, &nl);
    out->id = strdup(record_id(r));
    if (name && (out->name = malloc(nl + 1)))
        memcpy(out->name, name, nl + 1);
    out->name_len = name ? nl : 0;
    out->json = record_json_dup(r, &jl);
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
