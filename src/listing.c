/* Listing entries and the naming of duplicates; see listing.h.
 *
 * Memory is the point of the layout: a listing of a million collections must
 * cost little beyond the metadata.json bytes themselves. Each collection is one
 * record (record.h: id, raw name, times, inode and metadata.json in one
 * allocation, shared between generations when unchanged) and a 16-byte entry
 * (the record and the shown name). The shown name points into the record when
 * it is the raw name or the id as is, which it nearly always is; only encoded
 * and suffixed names have an allocation of their own, with a reference count
 * so that a refresh shares it with the generation before as it shares the
 * record (an account whose every name is encoded or repeated would otherwise
 * hold two copies of each while readers keep the old generation). Entries sit
 * in fixed-size chunks, so they never move, and two open-addressing indexes
 * of 32-bit entry numbers find them: by inode (which also finds an id: the
 * inode is a hash of it) and by shown name.
 *
 * Every entry belongs to the group of its plain (base) name. The group's owner
 * is its oldest member by names_older() and shows the plain name; the others
 * show "<base> (<id>)". Items arrive in list order, which for most providers is
 * creation order, so the owner is normally the first member and nothing is
 * renamed; when an older one arrives later (equal times, or a server that does
 * not keep its promised order) the ownership moves and the old owner is renamed,
 * so the final names never depend on the order pages arrived in. Groups are
 * only stored for bases that repeat (or whose owner could not show the base):
 * a base no group stores is owned by the entry showing it, if that entry's own
 * base is that name. */
#include "listing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "buf.h"
#include "inode.h"
#include "log.h"
#include "names.h"
#include "record.h"

struct entry {
    struct record *r;
    const char *name; /* into r's bytes, or a struct owned_name's, or NULL: not shown */
};

/* An owned name: entries of two generations may show the same copy. */
struct owned_name {
    uint32_t refs;
    char s[];
};

static struct owned_name *owned_of(const char *s)
{
    return (struct owned_name *)(void *)(s - offsetof(struct owned_name, s));
}

static void name_drop(const char *s)
{
    struct owned_name *o = owned_of(s);
    if (__atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(o);
}

struct listing_group {
    char *base;
    uint32_t owner; /* entry index */
    UT_hash_handle hh;
};

#define CHUNK_BITS 12
#define CHUNK (1u << CHUNK_BITS)
#define NONE UINT32_MAX

static struct entry *at(const struct listing *l, size_t i)
{
    return &l->chunk[i >> CHUNK_BITS][i & (CHUNK - 1)];
}

/* Whether e's name is its own allocation rather than bytes of its record. */
static bool owned(const struct entry *e)
{
    size_t len;
    uintptr_t b = (uintptr_t)record_bytes(e->r, &len), p = (uintptr_t)e->name;
    return e->name && (p < b || p >= b + len);
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return h;
}

/* Slot where a key of hash h starts probing: the top bits scaled to the size,
 * so the size need not be a power of two (and the table can stay well filled). */
static size_t home(uint64_t h, size_t cap)
{
    return (size_t)(((h >> 32) * (uint64_t)cap) >> 32);
}

static size_t next(size_t s, size_t cap)
{
    return s + 1 == cap ? 0 : s + 1;
}

static uint64_t ino_key(const struct listing *l, uint32_t i)
{
    return record_ino(at(l, i)->r);
}

static uint64_t name_key(const struct listing *l, uint32_t i)
{
    return hash_str(at(l, i)->name);
}

/* A slot holds entry index + 1 in its low IDX_BITS (0: empty) and a few other
 * bits of the key's hash above them: a probe compares those first and reads
 * the entry (a cache miss into a record) only when they match, so a lookup
 * that finds nothing, the common case while a walk adds entries, seldom leaves
 * the slot array. IDX_BITS covers the largest max_collections (10^8). */
#define IDX_BITS 27
#define IDX_MAX ((1u << IDX_BITS) - 2) /* the most entries a listing holds */

static uint32_t slot_of(uint64_t h, uint32_t i)
{
    return (uint32_t)((h >> 16) << IDX_BITS) | (i + 1);
}

static uint32_t slot_entry(uint32_t s)
{
    return (s & ((1u << IDX_BITS) - 1)) - 1;
}

static bool slot_hash_is(uint32_t s, uint64_t h)
{
    return (s >> IDX_BITS) == (slot_of(h, 0) >> IDX_BITS);
}

/* Put entry i into x (which has room); its key is h. */
static void put(struct listing_index *x, uint64_t h, uint32_t i)
{
    size_t s = home(h, x->cap);
    while (x->slot[s])
        s = next(s, x->cap);
    x->slot[s] = slot_of(h, i);
    x->used++;
}

/* Make room for one more, keeping the load at most 0.8: the probes stay short
 * and a million entries cost about 5 bytes each per index. Entries go into the
 * new table in list order, so of two with one inode the first is still found
 * first. by_name holds the entries that have a name, by_ino all of them. */
static int reserve(const struct listing *l, struct listing_index *x, bool names)
{
    if ((x->used + 1) * 5 <= x->cap * 4)
        return 0;
    size_t cap = x->cap < 64 ? 128 : x->cap + x->cap / 2;
    if (cap > (size_t)UINT32_MAX)
        return -ENOMEM;
    struct listing_index y = {buf_zalloc(cap, sizeof(*y.slot)), cap, 0};
    if (!y.slot)
        return -ENOMEM;
    for (uint32_t i = 0; i < l->n; i++) {
        if (!names)
            put(&y, ino_key(l, i), i);
        else if (at(l, i)->name)
            put(&y, name_key(l, i), i);
    }
    free(x->slot);
    *x = y;
    return 0;
}

/* Remove entry i (whose name hashes to h) from the name index (linear probing:
 * later members of the run move back so no lookup stops early at the hole). */
static void unname(struct listing *l, uint32_t i, uint64_t h)
{
    struct listing_index *x = &l->by_name;
    size_t s = home(h, x->cap);
    while (x->slot[s] != slot_of(h, i))
        s = next(s, x->cap);
    x->slot[s] = 0;
    x->used--;
    for (size_t j = next(s, x->cap); x->slot[j]; j = next(j, x->cap)) {
        size_t hj = home(name_key(l, slot_entry(x->slot[j])), x->cap);
        /* j's entry may fill the hole at s unless its home lies cyclically in (s, j] */
        bool stays = s <= j ? (s < hj && hj <= j) : (s < hj || hj <= j);
        if (!stays) {
            x->slot[s] = x->slot[j];
            x->slot[j] = 0;
            s = j;
        }
    }
}

/* The entry shown as name, whose hash is h. */
static uint32_t find_name_h(const struct listing *l, const char *name, uint64_t h)
{
    const struct listing_index *x = &l->by_name;
    if (!x->cap)
        return NONE;
    for (size_t s = home(h, x->cap); x->slot[s]; s = next(s, x->cap))
        if (slot_hash_is(x->slot[s], h) && strcmp(at(l, slot_entry(x->slot[s]))->name, name) == 0)
            return slot_entry(x->slot[s]);
    return NONE;
}

static uint32_t find_name(const struct listing *l, const char *name)
{
    return find_name_h(l, name, hash_str(name));
}

/* The first entry with inode ino and, when id is given, that id; NONE if none.
 * Then, for a caller about to add (listing_add), the same walk also tells the
 * first entry with that inode under another id (*other) and the free slot that
 * ends the probe run (*end). */
static uint32_t find_ino_run(const struct listing *l, uint64_t ino, const char *id, uint32_t *other,
                             size_t *end)
{
    const struct listing_index *x = &l->by_ino;
    uint32_t first = NONE;
    size_t s = x->cap ? home(ino, x->cap) : 0;
    for (; x->cap && x->slot[s]; s = next(s, x->cap)) {
        if (!slot_hash_is(x->slot[s], ino))
            continue;
        uint32_t j = slot_entry(x->slot[s]);
        const struct record *r = at(l, j)->r;
        if (record_ino(r) != ino)
            continue;
        if (!id || strcmp(record_id(r), id) == 0)
            return j;
        first = first == NONE ? j : first;
    }
    if (other)
        *other = first;
    if (end)
        *end = s;
    return NONE;
}

static uint32_t find_ino(const struct listing *l, uint64_t ino, const char *id)
{
    return find_ino_run(l, ino, id, NULL, NULL);
}

struct listing *listing_new(const char *section)
{
    struct listing *l = calloc(1, sizeof(*l));
    if (!l || !(l->section = strdup(section))) {
        free(l);
        return NULL;
    }
    l->refs = 1;
    return l;
}

void listing_ref(struct listing *l)
{
    __atomic_add_fetch(&l->refs, 1, __ATOMIC_RELAXED);
}

void listing_unref(struct listing *l)
{
    if (!l || __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    struct listing_group *g, *tmp;
    HASH_ITER(hh, l->groups, g, tmp)
    {
        HASH_DEL(l->groups, g);
        free(g->base);
        free(g);
    }
    for (size_t i = 0; i < l->n; i++) {
        struct entry *e = at(l, i);
        if (owned(e))
            name_drop(e->name);
        record_unref(e->r);
    }
    for (size_t c = 0; c < l->nchunk; c++)
        free(l->chunk[c]);
    free(l->chunk);
    free(l->by_ino.slot);
    free(l->by_name.slot);
    listing_unref(l->base);
    free(l->section);
    free(l);
}

void listing_set_base(struct listing *l, const struct listing *base)
{
    /* the reference count is the one field a holder of a const listing may change */
    struct listing *b = (struct listing *)base;
    if (b == l)
        return; /* a listing holding itself would never be freed */
    if (b) {
        listing_ref(b);
        listing_unref(__atomic_exchange_n(&b->base, NULL, __ATOMIC_ACQ_REL));
    }
    listing_unref(__atomic_exchange_n(&l->base, b, __ATOMIC_ACQ_REL));
}

static int older(const struct entry *a, const struct entry *b)
{
    struct names_key ka = {record_id(a->r), false, {0}};
    struct names_key kb = {record_id(b->r), false, {0}};
    ka.has_created = record_created(a->r, &ka.created);
    kb.has_created = record_created(b->r, &kb.created);
    return names_older(&ka, &kb);
}

/* Entry i's owned name, made from the malloc'd `name` (consumed): the copy the
 * generation before showed for this id when it is the same, else a new one. */
static const char *keep(const struct listing *l, uint32_t i, char *name)
{
    const struct entry *e = at(l, i);
    const struct listing *b = l->base;
    if (b && b->section && strcmp(b->section, l->section) == 0) {
        uint32_t j = find_ino(b, record_ino(e->r), record_id(e->r));
        if (j != NONE && owned(at(b, j)) && strcmp(at(b, j)->name, name) == 0) {
            free(name);
            struct owned_name *o = owned_of(at(b, j)->name);
            __atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
            return o->s;
        }
    }
    size_t n = strlen(name) + 1;
    struct owned_name *o = malloc(sizeof(*o) + n);
    if (o) {
        o->refs = 1;
        memcpy(o->s, name, n);
    }
    free(name);
    return o ? o->s : NULL;
}

/* Give entry i the name `name` (malloc'd when own, else bytes of its record),
 * avoiding any name already shown: a literal collection called "x (id)" must
 * not hide the duplicate that became "x (id)". When the id suffix cannot tell
 * them apart (both cut at 255 bytes), a hash of the id can: still derived from
 * the id alone, so the name is stable. */
static int set_name(struct listing *l, uint32_t i, const char *name, bool own)
{
    struct entry *e = at(l, i);
    if (e->name) {
        unname(l, i, hash_str(e->name));
        if (owned(e))
            name_drop(e->name);
        e->name = NULL;
    }
    if (own && !name)
        return -ENOMEM;
    if (reserve(l, &l->by_name, true) < 0) {
        if (own)
            free((char *)name);
        return -ENOMEM;
    }
    const char *id = record_id(e->r);
    char tag[24];
    for (size_t tries = 0; name; tries++) {
        uint64_t h = hash_str(name);
        if (find_name_h(l, name, h) == NONE) {
            if (own && !(name = keep(l, i, (char *)name)))
                return -ENOMEM;
            e->name = name;
            put(&l->by_name, h, i);
            return 0;
        }
        if (tries == 2)
            break;
        if (tries == 1) /* the id's hash as names have always shown it: names outlive numbers */
            snprintf(tag, sizeof(tag), "#%016llx",
                     (unsigned long long)(inode_hash("", id) & ~1ULL));
        char *again = names_with_id(name, tries == 0 ? id : tag);
        if (own)
            free((char *)name);
        name = again;
        own = true;
    }
    if (!name)
        return -ENOMEM;
    if (own)
        free((char *)name);
    char *shown = names_encode(id, strlen(id));
    log_warn("[%s] collection %s: no free directory name; not shown", l->section,
             shown ? shown : "?");
    free(shown);
    return 0;
}

/* The plain name of entry i as its record's bytes when they are it exactly
 * (no copy needed), else NULL. */
static const char *borrowable(const struct entry *e, const char *base)
{
    size_t len;
    const char *raw = record_name(e->r, &len);
    if (raw && len > 0)
        return strlen(base) == len && memcmp(base, raw, len) == 0 ? raw : NULL;
    const char *id = record_id(e->r);
    return strcmp(base, id) == 0 ? id : NULL;
}

static char *base_of(const struct entry *e)
{
    size_t len;
    const char *raw = record_name(e->r, &len);
    return names_base(raw, len, raw != NULL, record_id(e->r));
}

/* Whether the entry shows its own plain name (then it owns that name's group). */
static int shows_base(const struct entry *e)
{
    if (!owned(e))
        return 1; /* a name from the record's bytes is only ever the plain one */
    char *base = base_of(e);
    if (!base)
        return -ENOMEM;
    int same = strcmp(base, e->name) == 0;
    free(base);
    return same;
}

/* The name `base` for entry i: from its record when possible, else a copy. */
static int set_base_name(struct listing *l, uint32_t i, const char *base)
{
    const char *b = borrowable(at(l, i), base);
    return b ? set_name(l, i, b, false) : set_name(l, i, strdup(base), true);
}

static int add_group(struct listing *l, char *base, uint32_t owner, struct listing_group **out)
{
    struct listing_group *g = calloc(1, sizeof(*g));
    if (!g || !(g->base = strdup(base))) {
        free(g);
        return -ENOMEM;
    }
    g->owner = owner;
    HASH_ADD_KEYPTR(hh, l->groups, g->base, strlen(g->base), g);
    *out = g;
    return 0;
}

/* The entry's plain name when it is its record's own bytes, shown as is (a
 * name or id names_is_safe passes encodes to itself and needs no cut), else
 * NULL. Nearly every name is; it then costs no copy and no encoding. */
static const char *plain_bytes(const struct entry *e)
{
    size_t len;
    const char *raw = record_name(e->r, &len);
    if (!raw || len == 0)
        raw = record_id(e->r);
    else if (strlen(raw) != len)
        return NULL; /* a NUL inside: encoded */
    return names_is_safe(raw) ? raw : NULL;
}

static int name_entry(struct listing *l, uint32_t i)
{
    struct entry *e = at(l, i);
    /* The common case first: a plain name no group holds and no entry shows
     * (what the general path below concludes too, with one hash and one probe). */
    const char *plain = plain_bytes(e);
    struct listing_group *g = NULL;
    if (plain)
        HASH_FIND_STR(l->groups, plain, g);
    if (plain && !g) {
        uint64_t h = hash_str(plain);
        if (find_name_h(l, plain, h) == NONE) {
            if (reserve(l, &l->by_name, true) < 0)
                return -ENOMEM;
            e->name = plain;
            put(&l->by_name, h, i);
            return 0;
        }
    }
    char *base = base_of(e);
    if (!base)
        return -ENOMEM;
    int rc = 0;
    HASH_FIND_STR(l->groups, base, g);
    if (!g) {
        uint32_t o = find_name(l, base);
        int sb = o == NONE ? 0 : shows_base(at(l, o));
        if (sb < 0) {
            rc = sb;
        } else if (!sb) { /* a base seen for the first time: i owns it */
            rc = set_base_name(l, i, base);
            e = at(l, i);
            if (!rc && (!e->name || strcmp(e->name, base) != 0))
                rc = add_group(l, base, i, &g); /* owner without its name: remember it */
            free(base);
            return rc;
        } else {
            rc = add_group(l, base, o, &g); /* the second member: the group is stored now */
        }
    }
    if (rc) {
        free(base);
        return rc;
    }
    if (older(e, at(l, g->owner)) < 0) {
        uint32_t was = g->owner;
        g->owner = i;
        rc = set_name(l, was, names_with_id(g->base, record_id(at(l, was)->r)), true);
        if (!rc)
            rc = set_base_name(l, i, g->base);
    } else {
        rc = set_name(l, i, names_with_id(g->base, record_id(e->r)), true);
    }
    free(base);
    return rc;
}

/* A record for the item: base's when the content is the same, else a new one. */
static struct record *record_for(const struct listing *l, const struct item *it, uint64_t ino)
{
    const struct listing *b = l->base;
    if (b && b->section && strcmp(b->section, l->section) == 0) {
        uint32_t j = find_ino(b, ino, it->id);
        if (j != NONE && record_matches(at(b, j)->r, it, ino))
            return record_ref(at(b, j)->r);
    }
    return record_encode(it, ino);
}

long listing_add(struct listing *l, struct item *items, size_t n)
{
    long added = 0;
    for (size_t k = 0; k < n; k++) {
        struct item *it = &items[k];
        uint64_t ino = inode_collection(l->section, it->id);
        if (l->n >= IDX_MAX || reserve(l, &l->by_ino, false) < 0)
            return -ENOMEM;
        /* one walk: a page that repeats an earlier item keeps the first copy;
         * else the entry takes the free slot s, and `same` is an entry of
         * another id with this inode */
        uint32_t same = NONE; /* set by find_ino_run; GCC's -O3 cannot tell */
        size_t s = 0;
        if (find_ino_run(l, ino, it->id, &same, &s) != NONE) {
            provider_item_free(it);
            continue;
        }
        if ((l->n & (CHUNK - 1)) == 0 && (l->n >> CHUNK_BITS) == l->nchunk) {
            struct entry **v = realloc(l->chunk, (l->nchunk + 1) * sizeof(*v));
            if (!v)
                return -ENOMEM;
            l->chunk = v;
            if (!(v[l->nchunk] = malloc(CHUNK * sizeof(struct entry))))
                return -ENOMEM;
            l->nchunk++;
        }
        struct record *r = record_for(l, it, ino);
        if (!r)
            return -ENOMEM; /* an item too big to keep is as good as no memory */
        provider_item_free(it);
        uint32_t i = (uint32_t)l->n++;
        *at(l, i) = (struct entry){r, NULL};
        l->by_ino.slot[s] = slot_of(ino, i);
        l->by_ino.used++;
        if (same != NONE) { /* two ids, one inode: the first keeps it, the other is not shown */
            char *shown = names_encode(record_id(r), strlen(record_id(r)));
            log_err("[%s] collection %s has the inode of collection %s; not shown", l->section,
                    shown ? shown : "?", record_id(at(l, same)->r));
            free(shown);
            added++;
            continue;
        }
        if (name_entry(l, i) < 0)
            return -ENOMEM;
        added++;
    }
    return added;
}

/* An index of m, a copy of l in another order (entry i of l is entry moved[i]
 * of m), of the size of l's: the entries go in in l's order, as reserve()
 * puts them, so of two with one inode the same one is found first. */
static int index_like(const struct listing *m, const struct listing *l, struct listing_index *x,
                      size_t cap, const uint32_t *moved, bool names)
{
    *x = (struct listing_index){buf_zalloc(cap ? cap : 1, sizeof(*x->slot)), cap, 0};
    if (!x->slot)
        return -ENOMEM;
    for (uint32_t i = 0; i < l->n; i++) {
        uint32_t k = moved[i];
        if (!names)
            put(x, ino_key(m, k), k);
        else if (at(m, k)->name)
            put(x, name_key(m, k), k);
    }
    return 0;
}

struct listing *listing_in_order_of(const struct listing *l, const struct listing *old)
{
    /* where each entry stood in old; nothing to do while those rise */
    uint32_t *was = malloc((l->n ? l->n : 1) * sizeof(*was));
    if (!was)
        return NULL;
    bool rising = true;
    for (uint32_t i = 0, last = 0, any = 0; i < l->n; i++) {
        was[i] = find_ino(old, record_ino(at(l, i)->r), record_id(at(l, i)->r));
        if (was[i] == NONE)
            continue;
        rising = rising && (!any || was[i] > last);
        last = was[i];
        any = 1;
    }
    struct listing *m = rising ? NULL : listing_new(l->section);
    uint32_t *from = m ? malloc((old->n ? old->n : 1) * sizeof(*from)) : NULL;
    uint32_t *moved = from ? malloc((l->n ? l->n : 1) * sizeof(*moved)) : NULL;
    if (!moved)
        goto out;
    /* The entries old held fill their own places in l in old's order; new
     * ones keep theirs. order[k] (in was) is the entry of l at place k of m. */
    memset(from, 0xff, (old->n ? old->n : 1) * sizeof(*from));
    for (uint32_t i = 0; i < l->n; i++)
        if (was[i] != NONE)
            from[was[i]] = i;
    for (uint32_t i = 0, j = 0; i < l->n; i++) {
        if (was[i] != NONE) {
            while (from[j] == NONE)
                j++;
            was[i] = from[j++];
        } else {
            was[i] = i;
        }
        moved[was[i]] = i;
    }
    size_t nchunk = (l->n + CHUNK - 1) >> CHUNK_BITS;
    if (nchunk && !(m->chunk = calloc(nchunk, sizeof(*m->chunk))))
        goto fail;
    for (m->nchunk = 0; m->nchunk < nchunk; m->nchunk++)
        if (!(m->chunk[m->nchunk] = malloc(CHUNK * sizeof(struct entry))))
            goto fail;
    for (; m->n < l->n; m->n++) {
        struct entry e = *at(l, was[m->n]);
        record_ref(e.r);
        if (owned(&e))
            __atomic_add_fetch(&owned_of(e.name)->refs, 1, __ATOMIC_RELAXED);
        *at(m, m->n) = e;
    }
    struct listing_group *g, *tmp, *c;
    HASH_ITER(hh, l->groups, g, tmp)
    {
        if (add_group(m, g->base, moved[g->owner], &c) < 0)
            goto fail;
    }
    if (index_like(m, l, &m->by_ino, l->by_ino.cap, moved, false) < 0 ||
        index_like(m, l, &m->by_name, l->by_name.cap, moved, true) < 0)
        goto fail;
    goto out;
fail:
    listing_unref(m);
    m = NULL;
out:
    free(was);
    free(from);
    free(moved);
    return m;
}

const struct entry *listing_by_name(const struct listing *l, const char *name)
{
    uint32_t i = find_name(l, name);
    return i == NONE ? NULL : at(l, i);
}

const struct entry *listing_by_id(const struct listing *l, const char *id)
{
    size_t i;
    return listing_by_id_at(l, id, &i);
}

const struct entry *listing_by_id_at(const struct listing *l, const char *id, size_t *index)
{
    uint32_t i = find_ino(l, inode_collection(l->section, id), id);
    if (i == NONE)
        return NULL;
    *index = i;
    return at(l, i);
}

const struct entry *listing_by_ino(const struct listing *l, uint64_t ino)
{
    uint32_t i = find_ino(l, inode_dir(ino), NULL);
    const struct entry *e = i == NONE ? NULL : at(l, i);
    /* a file number names one size of the file: another generation's, when it differs */
    return e && (ino & 1) && entry_file_ino(e) != ino ? NULL : e;
}

size_t listing_index(const struct listing *l, const struct entry *e)
{
    return find_ino(l, record_ino(e->r), record_id(e->r));
}

size_t listing_count(const struct listing *l)
{
    return l->n;
}

const struct entry *listing_at(const struct listing *l, size_t i)
{
    return at(l, i);
}

const char *entry_id(const struct entry *e)
{
    return record_id(e->r);
}

const char *entry_name(const struct entry *e)
{
    return e->name;
}

uint64_t entry_ino(const struct entry *e)
{
    return record_ino(e->r);
}

uint64_t entry_file_ino(const struct entry *e)
{
    struct timespec t;
    bool has = entry_time(e, &t);
    return inode_file(record_ino(e->r), record_json_len(e->r), has ? &t : NULL);
}

bool entry_time(const struct entry *e, struct timespec *t)
{
    return record_updated(e->r, t) || record_created(e->r, t);
}

bool entry_same(const struct entry *a, const struct entry *b)
{
    return record_same_content(a->r, b->r);
}

const struct record *entry_record(const struct entry *e)
{
    return e->r;
}
