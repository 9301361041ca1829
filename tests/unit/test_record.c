/* The compact record: its byte format field by field, the id and name cut out
 * of metadata.json and put back, the validating parser against truncated and
 * forged input, and two listing generations sharing the records of unchanged
 * collections. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "inode.h"
#include "listing.h"
#include "record.h"

static struct item mk(const char *id, const char *name, const char *json, long created,
                      long updated)
{
    struct item it = {0};
    it.id = strdup(id);
    if (name) {
        it.name = strdup(name);
        it.name_len = strlen(name);
    }
    if (created != -1) {
        it.has_created = true;
        it.created.tv_sec = created;
        it.created.tv_nsec = 5;
    }
    if (updated != -1) {
        it.has_updated = true;
        it.updated.tv_sec = updated;
    }
    it.json = strdup(json);
    it.json_len = strlen(json);
    return it;
}

static uint64_t le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* A copy of a record's bytes with one byte changed must be refused. */
static int refused_with(const unsigned char *b, size_t len, size_t off, unsigned char v)
{
    unsigned char *c = malloc(len);
    memcpy(c, b, len);
    c[off] = v;
    struct record *r = (struct record *)1;
    int rc = record_parse(c, len, &r);
    free(c);
    return rc == -EINVAL && r == NULL;
}

static void format(void)
{
    struct item it = mk("42", "a/b", "{}\n", 1700000000, -1);
    struct record *r = record_encode(&it, 0x1234567890abc000ULL);
    CHECK(r != NULL);
    size_t len;
    const unsigned char *b = record_bytes(r, &len);
    CHECK(len == 48 + 3 + 4 + 3);
    CHECK(b[0] == 'c' && b[1] == 'R' && b[2] == 3);
    CHECK(b[3] == (1 | 4)); /* created, name; no updated */
    CHECK(le(b + 4, 4) == 2 && le(b + 8, 4) == 3 && le(b + 12, 4) == 3);
    CHECK(le(b + 16, 8) == 0x1234567890abc000ULL);
    CHECK(le(b + 24, 8) == 1700000000 && le(b + 40, 4) == 5);
    CHECK(le(b + 32, 8) == 0 && le(b + 44, 4) == 0); /* absent: zero, so equal items match */
    CHECK(memcmp(b + 48, "42\0a/b\0{}\n", 10) == 0);
    CHECK_STR(record_id(r), "42");
    size_t nl, jl;
    CHECK(memcmp(record_name(r, &nl), "a/b", 4) == 0 && nl == 3);
    char *j = record_json_dup(r, &jl);
    CHECK(memcmp(j, "{}\n", 3) == 0 && jl == 3 && record_json_len(r) == 3);
    free(j);
    struct timespec t;
    CHECK(record_created(r, &t) && t.tv_sec == 1700000000 && t.tv_nsec == 5);
    CHECK(!record_updated(r, &t));
    CHECK(record_matches(r, &it, 0x1234567890abc000ULL));
    CHECK(!record_matches(r, &it, 0x1234567890abe000ULL));

    /* every field matters to record_matches */
    struct item o = mk("42", "a/b", "{}\n", 1700000000, -1);
    o.created.tv_nsec = 6;
    CHECK(!record_matches(r, &o, 0x1234567890abc000ULL));
    provider_item_free(&o);
    o = mk("42", "a/c", "{}\n", 1700000000, -1);
    CHECK(!record_matches(r, &o, 0x1234567890abc000ULL));
    provider_item_free(&o);
    o = mk("42", "a/b", "[]\n", 1700000000, -1);
    CHECK(!record_matches(r, &o, 0x1234567890abc000ULL));
    provider_item_free(&o);
    o = mk("42", "a/b", "{}\n", 1700000000, 0);
    CHECK(!record_matches(r, &o, 0x1234567890abc000ULL));
    provider_item_free(&o);

    /* a parsed copy is the same bytes and a reference of its own */
    struct record *c;
    CHECK(record_parse(b, len, &c) == 0);
    size_t cl;
    CHECK(memcmp(record_bytes(c, &cl), b, len) == 0 && cl == len);
    CHECK(record_same_content(r, c));
    CHECK(record_ref(c) == c);
    record_unref(c);
    record_unref(c);

    /* the parser refuses every forged field */
    CHECK(record_check(b, len) == 0);
    for (size_t cut = 0; cut < len; cut++)
        if (record_check(b, cut) != -EINVAL)
            CHECK(!"a truncated record passed");
    CHECK(record_check(NULL, 0) == -EINVAL);
    CHECK(refused_with(b, len, 0, 'x'));        /* magic */
    CHECK(refused_with(b, len, 2, 1));          /* version 1, without cuts */
    CHECK(refused_with(b, len, 2, 2));          /* version 2, with other inode numbers */
    CHECK(refused_with(b, len, 3, 1 | 4 | 32)); /* a reserved flag */
    CHECK(refused_with(b, len, 3, 1));          /* name bytes without the name flag */
    CHECK(refused_with(b, len, 4, 0));          /* empty id (and lengths that do not add up) */
    CHECK(refused_with(b, len, 4, 0xff));       /* an id length past the end */
    CHECK(refused_with(b, len, 7, 0xff));       /* a length of about 4 GiB */
    CHECK(refused_with(b, len, 15, 0x80));
    CHECK(refused_with(b, len, 16, 0xef)); /* an odd inode */
    CHECK(refused_with(b, len, 17, 0x10)); /* a directory inode with a file's bits */
    CHECK(refused_with(b, len, 43, 0x3c)); /* created nanoseconds >= 10^9 */
    CHECK(refused_with(b, len, 32, 1));    /* an updated time without its flag */
    CHECK(refused_with(b, len, 49, 0));    /* a NUL inside the id */
    CHECK(refused_with(b, len, 50, 'x'));  /* the id's NUL */
    CHECK(refused_with(b, len, 54, 'x'));  /* the name's NUL */
    unsigned char *big = malloc(len + 1);
    memcpy(big, b, len);
    big[len] = 0;
    CHECK(record_check(big, len + 1) == -EINVAL); /* a byte too many */
    free(big);

    /* back to an item and encoded again: the same bytes (one form only) */
    struct item back;
    CHECK(record_to_item(r, &back) == 0);
    struct record *again = record_encode(&back, record_ino(r));
    size_t al;
    CHECK(memcmp(record_bytes(again, &al), b, len) == 0 && al == len);
    record_unref(again);
    provider_item_free(&back);
    record_unref(r);
    provider_item_free(&it);

    /* no name and an empty name differ; nanoseconds out of range are carried */
    it = mk("7", NULL, "", -1, 10);
    it.updated.tv_nsec = -1;
    r = record_encode(&it, 8192);
    CHECK(record_name(r, &nl) == NULL && nl == 0);
    CHECK(record_updated(r, &t) && t.tv_sec == 9 && t.tv_nsec == 999999999);
    CHECK(record_json_len(r) == 0 && record_json_iov(r, 0, 10, NULL) == 0);
    b = record_bytes(r, &len);
    CHECK(record_check(b, len) == 0);
    CHECK(record_matches(r, &it, 8192));
    record_unref(r);
    provider_item_free(&it);
    it = mk("7", "", "", -1, -1);
    r = record_encode(&it, 8192);
    CHECK(record_name(r, &nl) != NULL && nl == 0);
    record_unref(r);
    provider_item_free(&it);
}

/* Every window of metadata.json read through record_json_iov is the file's bytes. */
static int windows_ok(const struct record *r, const char *want, size_t wl)
{
    for (size_t off = 0; off <= wl + 1; off++)
        for (size_t n = 0; n <= wl + 1 - (off < wl ? off : wl); n++) {
            struct iovec v[RECORD_PIECES];
            int k = record_json_iov(r, off, n, v);
            size_t got = 0;
            for (int i = 0; i < k; i++) {
                if (v[i].iov_len == 0 || off + got + v[i].iov_len > wl ||
                    memcmp(v[i].iov_base, want + off + got, v[i].iov_len) != 0)
                    return 0;
                got += v[i].iov_len;
            }
            if (got != (off >= wl ? 0 : (n < wl - off ? n : wl - off)))
                return 0;
        }
    return 1;
}

static void cuts(void)
{
    /* the name (first place) and the id (first place apart from the name) are kept once */
    const char *json = "{\"id\": \"abcdefgh\", \"name\": \"Summer assets\", \"path\": "
                       "\"/Summer assets/abcdefgh\"}\n";
    struct item it = mk("abcdefgh", "Summer assets", json, 5, 6);
    struct record *r = record_encode(&it, 8192);
    size_t len, jl = strlen(json);
    const unsigned char *b = record_bytes(r, &len);
    CHECK(b[3] == (1 | 2 | 4 | 8 | 16));
    CHECK(le(b + 48, 4) == 8 && le(b + 52, 4) == 28); /* the id's place, the name's */
    CHECK(len == 56 + 9 + 14 + jl - 8 - 13);
    CHECK_STR(record_id(r), "abcdefgh");
    size_t nl;
    CHECK(memcmp(record_name(r, &nl), "Summer assets", 14) == 0 && nl == 13);
    CHECK(windows_ok(r, json, jl));
    CHECK(record_matches(r, &it, 8192));
    CHECK(record_check(b, len) == 0);
    struct item back;
    CHECK(record_to_item(r, &back) == 0);
    CHECK(back.json_len == jl && memcmp(back.json, json, jl) == 0);
    provider_item_free(&back);

    /* a cut anywhere else than the canonical place is refused: one form only */
    unsigned char *c = malloc(len);
    memcpy(c, b, len);
    c[48] = 68; /* the id's later place, in "path" */
    struct record *x = (struct record *)1;
    CHECK(record_parse(c, len, &x) == -EINVAL && x == NULL);
    c[48] = 8;
    c[52] = 8; /* overlapping the id */
    CHECK(record_check(c, len) == -EINVAL);
    c[52] = 200; /* past the end */
    CHECK(record_check(c, len) == -EINVAL);
    memset(c + 52, 0xff, 4); /* the place that means "no cut" */
    CHECK(record_check(c, len) == -EINVAL);
    free(c);

    /* the same bytes under another name are the same content */
    struct item o = mk("abcdefgh", "Summer", json, 5, 6);
    struct record *s2 = record_encode(&o, 8192);
    CHECK(record_same_content(r, s2) && !record_matches(s2, &it, 8192));
    record_unref(s2);
    provider_item_free(&o);
    record_unref(r);
    provider_item_free(&it);

    /* short fields stay whole; an id inside the name is cut where it stands alone */
    it = mk("7", "abcd", "{\"id\": 7, \"name\": \"abcd\"}\n", -1, -1);
    r = record_encode(&it, 8192);
    b = record_bytes(r, &len);
    CHECK(b[3] == 4 && len == 48 + 2 + 5 + strlen(it.json));
    CHECK(windows_ok(r, it.json, it.json_len));
    record_unref(r);
    provider_item_free(&it);
    it = mk("12345", "x12345x", "{\"name\": \"x12345x\", \"id\": 12345}\n", -1, -1);
    r = record_encode(&it, 8192);
    b = record_bytes(r, &len);
    CHECK(b[3] == (4 | 8 | 16) && le(b + 48, 4) == 26 && le(b + 52, 4) == 10);
    CHECK(windows_ok(r, it.json, it.json_len) && record_check(b, len) == 0);
    record_unref(r);
    provider_item_free(&it);
    /* an id repeated all along a long name: found past the name in two searches, not one per
     * overlapping place (which would take this test minutes) */
    size_t big = 200000;
    char *nm = malloc(big + 1), *js = malloc(3 * big);
    memset(nm, 'a', big);
    nm[big] = 0;
    int w = snprintf(js, 3 * big, "{\"name\": \"%s\", \"id\": \"", nm);
    memset(js + w, 'a', big / 2);
    strcpy(js + w + big / 2, "\"}\n");
    nm[big / 2] = 0;
    it = mk(nm, NULL, js, -1, -1);
    nm[big / 2] = 'a';
    free(it.name);
    it.name = nm;
    it.name_len = big;
    r = record_encode(&it, 8192);
    b = record_bytes(r, &len);
    CHECK(le(b + 52, 4) == 10 && le(b + 48, 4) == (uint64_t)w);
    CHECK(record_check(b, len) == 0 &&
          len == 56 + big / 2 + 1 + big + 1 + strlen(js) - big - big / 2);
    record_unref(r);
    provider_item_free(&it);
    free(js);
    /* a name not in metadata.json (escaped there) stays whole */
    it = mk("id-00001", "say \"hi\"", "{\"name\": \"say \\\"hi\\\"\", \"id\": \"id-00001\"}\n", -1,
            -1);
    r = record_encode(&it, 8192);
    b = record_bytes(r, &len);
    CHECK(b[3] == (4 | 8) && windows_ok(r, it.json, it.json_len) && record_check(b, len) == 0);
    record_unref(r);
    provider_item_free(&it);
}

static void sharing(void)
{
    struct listing *a = listing_new("s");
    struct item v[] = {mk("1", "one", "{\"v\":1}\n", 10, 11), mk("2", "two", "{\"v\":2}\n", 20, 21),
                       mk("3", "three", "{\"v\":3}\n", 30, 31), mk("4", NULL, "{}\n", 40, -1)};
    CHECK(listing_add(a, v, 4) == 4);
    CHECK(v[0].id == NULL && v[0].json == NULL); /* consumed */

    struct listing *b = listing_new("s");
    listing_set_base(b, a);
    CHECK(a->refs == 2);
    struct item w[] = {mk("1", "one", "{\"v\":1}\n", 10, 11),         /* unchanged */
                       mk("2", "two", "{\"v\":2,\"x\":0}\n", 20, 21), /* new bytes */
                       mk("3", "three", "{\"v\":3}\n", 30, 32),       /* new time */
                       mk("4", "four", "{}\n", 40, -1),               /* now named */
                       mk("5", "five", "{}\n", 50, -1)};              /* new */
    CHECK(listing_add(b, w, 5) == 5);
    const struct entry *a1 = listing_by_id(a, "1"), *b1 = listing_by_id(b, "1");
    CHECK(entry_record(a1) == entry_record(b1));
    CHECK(entry_name(b1) == entry_name(a1)); /* the name is the shared record's bytes */
    CHECK(entry_record(listing_by_id(a, "2")) != entry_record(listing_by_id(b, "2")));
    CHECK(entry_record(listing_by_id(a, "3")) != entry_record(listing_by_id(b, "3")));
    CHECK(entry_record(listing_by_id(a, "4")) != entry_record(listing_by_id(b, "4")));
    CHECK(entry_same(a1, b1));
    CHECK(!entry_same(listing_by_id(a, "2"), listing_by_id(b, "2")));
    CHECK(!entry_same(listing_by_id(a, "3"), listing_by_id(b, "3")));
    CHECK(entry_same(listing_by_id(a, "4"), listing_by_id(b, "4"))); /* names aside */
    CHECK_STR(entry_name(listing_by_id(b, "4")), "four");
    CHECK_STR(entry_name(listing_by_id(a, "4")), "4");

    /* done: the base goes, and b's shared records outlive a */
    listing_set_base(b, NULL);
    CHECK(a->refs == 1);
    listing_unref(a);
    size_t jl;
    char *j = record_json_dup(entry_record(listing_by_id(b, "1")), &jl);
    CHECK(memcmp(j, "{\"v\":1}\n", 8) == 0 && jl == 8);
    free(j);
    CHECK_STR(entry_name(listing_by_name(b, "one")), "one");

    /* a new base drops its own base: generations do not chain up */
    struct listing *c = listing_new("s"), *d = listing_new("s");
    listing_set_base(c, b);
    CHECK(b->refs == 2);
    listing_set_base(d, c);
    CHECK(c->refs == 2 && b->refs == 1);
    /* a base of another section shares nothing (the inodes differ) */
    struct listing *e = listing_new("t");
    listing_set_base(e, b);
    struct item x[] = {mk("1", "one", "{\"v\":1}\n", 10, 11)};
    CHECK(listing_add(e, x, 1) == 1);
    CHECK(entry_record(listing_by_id(e, "1")) != entry_record(listing_by_id(b, "1")));
    CHECK(entry_ino(listing_by_id(e, "1")) == inode_collection("t", "1"));
    listing_unref(e);
    listing_unref(d);
    listing_unref(c);
    listing_unref(b);
}

/* Names that are not the record's bytes (encoded, or "<name> (<id>)") are shared between
 * generations like the records, also when a rename within the new one hands one back. */
static void sharing_names(void)
{
    struct listing *a = listing_new("s");
    struct item v[] = {mk("5", "x", "{}\n", 50, -1), mk("6", "x", "{}\n", 60, -1),
                       mk("7", "a/b", "{}\n", 70, -1), mk("8", "c/d", "{}\n", 80, -1)};
    CHECK(listing_add(a, v, 4) == 4);
    const char *a6 = entry_name(listing_by_id(a, "6")), *a7 = entry_name(listing_by_id(a, "7"));
    CHECK_STR(a6, "x (6)");
    CHECK(strcmp(a7, "a/b") != 0); /* encoded */

    /* the younger duplicate first: it shows "x" until the older one comes, then gets "x (6)"
     * back; "c/d" is now "c/e" and needs a name of its own */
    struct listing *b = listing_new("s");
    listing_set_base(b, a);
    struct item w[] = {mk("6", "x", "{}\n", 60, -1), mk("7", "a/b", "{}\n", 70, -1),
                       mk("8", "c/e", "{}\n", 80, -1)};
    CHECK(listing_add(b, w, 3) == 3);
    CHECK_STR(entry_name(listing_by_id(b, "6")), "x");
    struct item w2[] = {mk("5", "x", "{}\n", 50, -1)};
    CHECK(listing_add(b, w2, 1) == 1);
    CHECK(entry_name(listing_by_id(b, "6")) == a6);
    CHECK(entry_name(listing_by_id(b, "7")) == a7);
    CHECK(entry_name(listing_by_id(b, "8")) != entry_name(listing_by_id(a, "8")));
    CHECK_STR(entry_name(listing_by_id(b, "5")), "x");
    listing_set_base(b, NULL);

    /* either generation may go first: the other still shows its names */
    struct listing *c = listing_new("s");
    listing_set_base(c, b);
    struct item x[] = {mk("5", "x", "{}\n", 50, -1), mk("6", "x", "{}\n", 60, -1),
                       mk("7", "a/b", "{}\n", 70, -1)};
    CHECK(listing_add(c, x, 3) == 3);
    listing_set_base(c, NULL);
    CHECK(entry_name(listing_by_id(c, "7")) == a7);
    listing_unref(a);
    CHECK_STR(entry_name(listing_by_id(b, "6")), "x (6)");
    CHECK_STR(entry_name(listing_by_name(c, "x (6)")), "x (6)");
    listing_unref(c);
    CHECK(entry_name(listing_by_id(b, "7")) == a7 && listing_by_name(b, a7) != NULL);
    listing_unref(b);
}

int main(void)
{
    format();
    cuts();
    sharing();
    sharing_names();
    return check_done();
}
