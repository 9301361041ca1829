/* The fleet's listings; see fleet.h. */
#include "fleet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "listing.h"
#include "record.h"

/* Items are folded in batches: listing_add costs one call per batch. */
#define FLEET_BATCH 256

struct rebuild {
    struct listing *l;
    const struct shared_facts *f; /* filled before the first record */
    long max_age;
    uint64_t max, seen;
    struct item batch[FLEET_BATCH];
    size_t n;
    int err;
};

static int flush(struct rebuild *r)
{
    long added = listing_add(r->l, r->batch, r->n);
    for (size_t i = 0; i < r->n; i++)
        provider_item_free(&r->batch[i]);
    r->n = 0;
    return added < 0 ? (int)added : 0;
}

static int each(void *ctx, struct record *rec)
{
    struct rebuild *r = ctx;
    time_t now = time(NULL);
    if (r->seen == 0 && r->max_age >= 0 &&
        (r->f->fetched_at > now + 60 || now - r->f->fetched_at >= r->max_age)) {
        record_unref(rec);
        return -ESTALE; /* not worth reading on */
    }
    int rc = ++r->seen > r->max ? -EBADMSG : record_to_item(rec, &r->batch[r->n]);
    record_unref(rec);
    if (rc == 0 && ++r->n == FLEET_BATCH)
        rc = flush(r);
    return rc;
}

int fleet_read(struct shared *sh, const char *key, const char *section, const struct listing *base,
               uint64_t max, long max_age, struct listing **out, struct shared_facts *f)
{
    struct rebuild *r = calloc(1, sizeof(*r));
    if (!r || !(r->l = listing_new(section))) {
        free(r);
        return -ENOMEM;
    }
    r->max = max;
    r->max_age = max_age;
    r->f = f;
    if (base)
        listing_set_base(r->l, base);
    int rc = shared_read(sh, key, f, each, r);
    time_t now = time(NULL);
    if (rc == 0 && max_age >= 0 && (f->fetched_at > now + 60 || now - f->fetched_at >= max_age))
        rc = -ESTALE; /* an empty listing: each() never saw it */
    if (rc == 0 && r->n)
        rc = flush(r);
    for (size_t i = 0; i < r->n; i++)
        provider_item_free(&r->batch[i]);
    /* a repeated id is dropped by listing_add: the count then disagrees */
    if (rc == 0 && (f->count != r->seen || listing_count(r->l) != r->seen))
        rc = -EBADMSG;
    if (base)
        listing_set_base(r->l, NULL);
    if (rc == 0)
        *out = r->l;
    else
        listing_unref(r->l);
    free(r);
    return rc;
}

int fleet_publish(struct shared *sh, const char *key, uint64_t token, unsigned ttl_s,
                  unsigned lease_ms, const struct listing *l, struct shared_facts *f)
{
    size_t n = listing_count(l);
    struct record **rec = malloc((n ? n : 1) * sizeof(*rec));
    if (!rec)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        rec[i] = (struct record *)entry_record(listing_at(l, i));
    f->count = n;
    int rc = shared_publish(sh, key, token, ttl_s, lease_ms, f, rec, n);
    free(rec);
    return rc;
}
