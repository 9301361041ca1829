/* libFuzzer target for the compact collection record (src/record.h), two ways
 * from the same bytes:
 *
 * Differential: the input as a collection object goes through json_parse and
 * provider_item (id, name, created, updated as the providers read them) into a
 * struct item, the form the daemon showed before records; the record encoded
 * from it, and the listing entry made from it, must give exactly the item's
 * metadata.json bytes and length (st_size), id, raw name and times. Its bytes
 * pass the validating parser, and parsing them back gives the same bytes.
 *
 * Hostile: the input as a serialised record from outside (a shared cache) goes
 * through record_check / record_parse. Whatever the lengths claim, nothing is
 * read outside the input (ASan); what is accepted decodes to fields that encode
 * back to exactly the same bytes, so a record has one form only. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "inode.h"
#include "json.h"
#include "listing.h"
#include "provider.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_time(bool has_a, const struct timespec *a, bool has_b, const struct timespec *b)
{
    return has_a == has_b && (!has_a || (a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec));
}

/* The record holds exactly the item: every field as the item had it. */
static void check_fields(const struct record *r, const struct item *it, uint64_t ino)
{
    size_t len, jl, nl;
    const char *bytes = record_bytes(r, &len);
    FUZZ_ASSERT(record_check(bytes, len) == 0, bytes, len);
    FUZZ_ASSERT(strcmp(record_id(r), it->id) == 0, it->id, strlen(it->id));
    char *json = record_json_dup(r, &jl);
    FUZZ_ASSERT(json != NULL, NULL, 0);
    FUZZ_ASSERT(jl == it->json_len && memcmp(json, it->json, jl) == 0, it->json, it->json_len);
    free(json);
    /* what a READ at any offset gets: the same bytes, in at most RECORD_PIECES pieces */
    for (size_t off = 0; off <= jl; off += 1 + off / 4) {
        struct iovec v[RECORD_PIECES];
        int n = record_json_iov(r, off, jl, v);
        size_t got = 0;
        for (int i = 0; i < n; i++) {
            FUZZ_ASSERT(v[i].iov_len > 0 && off + got + v[i].iov_len <= jl &&
                            memcmp(v[i].iov_base, it->json + off + got, v[i].iov_len) == 0,
                        it->json, it->json_len);
            got += v[i].iov_len;
        }
        FUZZ_ASSERT(got == jl - off, it->json, it->json_len);
    }
    const char *name = record_name(r, &nl);
    FUZZ_ASSERT((name != NULL) == (it->name != NULL), it->name, it->name_len);
    FUZZ_ASSERT(!name || (nl == it->name_len && memcmp(name, it->name, nl) == 0 && !name[nl]),
                it->name, it->name_len);
    FUZZ_ASSERT(record_ino(r) == ino, NULL, 0);
    struct timespec t = {0};
    bool has = record_created(r, &t);
    FUZZ_ASSERT(same_time(has, &t, it->has_created, &it->created), NULL, 0);
    has = record_updated(r, &t);
    FUZZ_ASSERT(same_time(has, &t, it->has_updated, &it->updated), NULL, 0);
    FUZZ_ASSERT(record_matches(r, it, ino), bytes, len);
}

static void differential(const uint8_t *data, size_t size)
{
    char err[256];
    struct json *doc = json_parse((const char *)data, size, err, sizeof(err));
    if (!doc)
        return;
    struct item it = {0};
    if (provider_item(doc, json_get(doc, "id"), json_get(doc, "name"), json_get(doc, "created"),
                      json_get(doc, "updated"), &it) != 0) {
        json_free(doc);
        return;
    }
    /* providers give times with nanoseconds in range; the record keeps them as given */
    FUZZ_ASSERT(!it.has_created || (it.created.tv_nsec >= 0 && it.created.tv_nsec < 1000000000L),
                NULL, 0);
    FUZZ_ASSERT(!it.has_updated || (it.updated.tv_nsec >= 0 && it.updated.tv_nsec < 1000000000L),
                NULL, 0);
    uint64_t ino = inode_collection("fuzz", it.id);
    struct record *r = record_encode(&it, ino);
    FUZZ_ASSERT(r != NULL, NULL, 0);
    check_fields(r, &it, ino);

    /* the serialised form travels and comes back the same */
    size_t len;
    const void *bytes = record_bytes(r, &len);
    struct record *back = NULL;
    FUZZ_ASSERT(record_parse(bytes, len, &back) == 0, bytes, len);
    size_t blen;
    const void *bb = record_bytes(back, &blen);
    FUZZ_ASSERT(blen == len && memcmp(bb, bytes, len) == 0, bb, blen);
    FUZZ_ASSERT(record_same_content(r, back), NULL, 0);
    record_unref(back);

    /* what fs.c reads through the listing: same bytes, st_size and mtime as the item */
    struct item copy = {0};
    FUZZ_ASSERT(record_to_item(r, &copy) == 0, NULL, 0);
    check_fields(r, &copy, ino);
    struct listing *l = listing_new("fuzz");
    if (l && listing_add(l, &copy, 1) == 1) {
        const struct entry *e = listing_by_id(l, it.id);
        FUZZ_ASSERT(e != NULL, it.id, strlen(it.id));
        size_t el;
        char *ej = record_json_dup(entry_record(e), &el);
        FUZZ_ASSERT(ej && el == it.json_len && memcmp(ej, it.json, el) == 0, ej, el);
        free(ej);
        struct timespec t = {0}, want = it.has_updated ? it.updated : it.created;
        bool has = entry_time(e, &t);
        FUZZ_ASSERT(same_time(has, &t, it.has_updated || it.has_created, &want), NULL, 0);
        FUZZ_ASSERT(entry_ino(e) == ino && listing_by_ino(l, entry_file_ino(e)) == e, NULL, 0);
        /* a second generation with the first as its base shares the record */
        struct listing *l2 = listing_new("fuzz");
        struct item again = {0};
        FUZZ_ASSERT(record_to_item(r, &again) == 0, NULL, 0);
        if (l2) {
            listing_set_base(l2, l);
            if (listing_add(l2, &again, 1) == 1) {
                const struct entry *e2 = listing_by_id(l2, it.id);
                FUZZ_ASSERT(e2 && entry_record(e2) == entry_record(e), NULL, 0);
                FUZZ_ASSERT(entry_same(e, e2), NULL, 0);
            }
            listing_set_base(l2, NULL);
        }
        provider_item_free(&again);
        listing_unref(l2);
    }
    provider_item_free(&copy);
    listing_unref(l);
    record_unref(r);
    provider_item_free(&it);
    json_free(doc);
}

static void hostile(const uint8_t *data, size_t size)
{
    struct record *r = NULL;
    int rc = record_parse(data, size, &r);
    FUZZ_ASSERT((rc == 0) == (record_check(data, size) == 0), data, size);
    if (rc != 0) {
        FUZZ_ASSERT(r == NULL, NULL, 0);
        return;
    }
    size_t len;
    const void *bytes = record_bytes(r, &len);
    FUZZ_ASSERT(len == size && memcmp(bytes, data, size) == 0, data, size);
    FUZZ_ASSERT(record_id(r)[0] != '\0', data, size);
    struct item it = {0};
    FUZZ_ASSERT(record_to_item(r, &it) == 0, NULL, 0);
    check_fields(r, &it, record_ino(r));
    struct record *again = record_encode(&it, record_ino(r));
    FUZZ_ASSERT(again != NULL, NULL, 0);
    size_t alen;
    const void *ab = record_bytes(again, &alen);
    FUZZ_ASSERT(alen == size && memcmp(ab, data, size) == 0, ab, alen); /* one form only */
    record_unref(again);
    provider_item_free(&it);
    record_unref(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    differential(data, size);
    hostile(data, size);
    return 0;
}
