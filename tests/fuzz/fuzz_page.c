/* libFuzzer target, built once per provider (-DPROVIDER=honcho|hivo|fount|
 * scenario): a list response body goes through json_parse and the provider's
 * parse() exactly as walk.c does after a 2xx answer, at three cursors (the
 * first page, page/offset 2, and a far HIVO-style window near skip 65536 with
 * a createdMin mark), and the error-body readers fetch.c uses on a non-2xx
 * answer run on the same bytes. The items of the first page are then named by
 * the listing (names, duplicates) as the mount would show them.
 *
 * The provider is built by hand: parse() reads only p->section (for its log
 * lines) and constants; p->priv (credentials, ids) is used by configure(),
 * prepare() and request() alone, so NULL is safe here.
 *
 * Properties beyond the sanitizers: every item has a non-empty id and a
 * metadata.json that is valid UTF-8 ending in "\n" with st_size == strlen;
 * "more" always moves the cursor forward (or, for HIVO's window, raises the
 * mark), so a page can never send the walk back to where it was; and every
 * name the listing shows is a valid, unique path component. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "json.h"
#include "listing.h"
#include "provider.h"

#ifndef PROVIDER
#error "build with -DPROVIDER=honcho (or hivo, fount, scenario)"
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(a) #a
#define STR(a) STR_(a)

extern const struct provider_ops CAT(PROVIDER, _ops);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_page(const struct cursor *at, const struct page *pg)
{
    for (size_t i = 0; i < pg->n; i++) {
        const struct item *it = &pg->items[i];
        FUZZ_ASSERT(it->id && it->id[0] != '\0', it->id, it->id ? strlen(it->id) : 0);
        FUZZ_ASSERT(it->json && it->json_len >= 2, it->json, it->json_len);
        FUZZ_ASSERT(strlen(it->json) == it->json_len, it->json, it->json_len);
        FUZZ_ASSERT(it->json[it->json_len - 1] == '\n', it->json, it->json_len);
        FUZZ_ASSERT(fuzz_utf8_valid(it->json, it->json_len), it->json, it->json_len);
        FUZZ_ASSERT(!it->name || it->name[it->name_len] == '\0', it->name, it->name_len);
        FUZZ_ASSERT(!it->has_created ||
                        (it->created.tv_nsec >= 0 && it->created.tv_nsec < 1000000000L),
                    it->json, it->json_len);
        FUZZ_ASSERT(!it->has_updated ||
                        (it->updated.tv_nsec >= 0 && it->updated.tv_nsec < 1000000000L),
                    it->json, it->json_len);
    }
    if (!pg->more)
        return;
    if (pg->next.token) { /* cursor APIs: a non-empty token, the walk stops repeats */
        FUZZ_ASSERT(pg->next.token[0] != '\0', NULL, 0);
        return;
    }
    /* A later window (HIVO's createdMin) may restart the offset; otherwise the
     * page number or offset must grow. Providers without marks drop them. */
    bool new_window = pg->next.has_mark && (!at->has_mark || pg->next.mark > at->mark);
    bool same_window = pg->next.has_mark == at->has_mark && pg->next.mark == at->mark;
    FUZZ_ASSERT(new_window || pg->next.page > at->page, NULL, 0);
    FUZZ_ASSERT(new_window || same_window || !pg->next.has_mark, NULL, 0);
    FUZZ_ASSERT(pg->pages >= 0, NULL, 0);
}

static void check_listing(const struct listing *l)
{
    for (size_t i = 0; i < listing_count(l); i++) {
        const struct entry *e = listing_at(l, i);
        const char *id = entry_id(e), *name = entry_name(e);
        FUZZ_ASSERT(listing_by_id(l, id) == e, id, strlen(id));
        if (!name) {
            /* set_name gave up: this collection is missing from the mount
             * (known finding "hidden-names", tests/fuzz/crashes/README.md) */
            if (fuzz_known("hidden-names"))
                continue;
            fuzz_fail(__FILE__, __LINE__, "a listed collection got no directory name", id,
                      strlen(id));
        }
        fuzz_check_dirname(name, strlen(name), __FILE__, __LINE__);
        FUZZ_ASSERT(listing_by_name(l, name) == e, name, strlen(name));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct provider_ops *ops = &CAT(PROVIDER, _ops);
    struct provider p = {
        .ops = ops,
        .section = "fuzz",
        .url = "http://127.0.0.1:9",
        .timeout_ms = 1000,
        .page_size = 100,
        .priv = NULL,
    };
    const char *text = (const char *)data;

    char err[256];
    struct json *doc = json_parse(text, size, err, sizeof(err));

    /* what fetch.c does with an error body and the rate-limit signal */
    char *msg = provider_error_text(ops, doc, text, size);
    FUZZ_ASSERT(!msg || strlen(msg) <= 160, msg, msg ? strlen(msg) : 0);
    for (size_t i = 0; msg && msg[i]; i++) /* one printable line: no forged log lines */
        FUZZ_ASSERT((unsigned char)msg[i] >= 0x20, msg, strlen(msg));
    free(msg);
    static const long statuses[] = {200, 429, 503};
    for (size_t i = 0; i < 3; i++) {
        struct http_resp r = {.status = statuses[i], .retry_after = -1};
        /* the input doubles as a header block: "name: value\0" lines */
        r.headers_len = size < sizeof(r.headers) ? size : sizeof(r.headers);
        memcpy(r.headers, data, r.headers_len);
        if (r.headers_len)
            r.headers[r.headers_len - 1] = '\0';
        struct rate rate;
        provider_rate(ops, &r, doc, &rate);
        FUZZ_ASSERT(rate.left >= -1, NULL, 0);
        FUZZ_ASSERT(rate.left < 0 || (rate.until >= 0 && rate.until <= 86400), NULL, 0);
    }
    if (!doc)
        return 0;

    const struct cursor at[3] = {
        {0},
        {.page = 2},
        {.page = 65536 - 3, .has_mark = true, .mark = 1700000000, .token = (char *)"dG9rZW4"},
    };
    struct listing *l = listing_new(p.section);
    for (int k = 0; k < 3; k++) {
        struct page pg = {0};
        char why[512] = "";
        int rc = ops->parse(&p, &at[k], doc, &pg, why, sizeof(why));
        FUZZ_ASSERT(rc == 0 || rc == -EIO || rc == -ENOMEM, NULL, 0);
        FUZZ_ASSERT(rc != -EIO || why[0], NULL, 0); /* a refusal says why */
        if (rc == 0) {
            check_page(&at[k], &pg);
            if (k == 0 && l && listing_add(l, pg.items, pg.n) >= 0)
                check_listing(l);
        }
        provider_page_free(&pg);
    }
    listing_unref(l);
    json_free(doc);
    return 0;
}
