/* Listing entries and the naming of duplicates; see listing.h.
 *
 * Every entry belongs to the group of its plain (base) name. The group's owner
 * is its oldest member by names_older() and shows the plain name; the others
 * show "<base> (<id>)". Items arrive in list order, which for most providers is
 * creation order, so the owner is normally the first member and nothing is
 * renamed; when an older one arrives later (equal times, or a server that does
 * not keep its promised order) the ownership moves and the old owner is renamed,
 * so the final names never depend on the order pages arrived in. */
#include "listing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"
#include "log.h"
#include "names.h"

struct listing_group {
    char *base;
    struct entry *owner;
    UT_hash_handle hh;
};

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
    HASH_CLEAR(hh_id, l->by_id);
    HASH_CLEAR(hh_name, l->by_name);
    HASH_CLEAR(hh_ino, l->by_ino);
    struct listing_group *g, *tmp;
    HASH_ITER(hh, l->groups, g, tmp)
    {
        HASH_DEL(l->groups, g);
        free(g->base);
        free(g);
    }
    for (size_t i = 0; i < l->n; i++) {
        provider_item_free(&l->v[i]->it);
        free(l->v[i]->name);
        free(l->v[i]);
    }
    free(l->v);
    free(l->section);
    free(l);
}

static int older(const struct entry *a, const struct entry *b)
{
    struct names_key ka = {a->it.id, a->it.has_created, a->it.created};
    struct names_key kb = {b->it.id, b->it.has_created, b->it.created};
    return names_older(&ka, &kb);
}

/* Give e the name `name` (owned), avoiding any name already shown: a literal
 * collection called "x (id)" must not hide the duplicate that became "x (id)".
 * When the id suffix cannot tell them apart (both cut at 255 bytes), a hash of
 * the id can: still derived from the id alone, so the name is stable. */
static int set_name(struct listing *l, struct entry *e, char *name)
{
    if (e->name)
        HASH_DELETE(hh_name, l->by_name, e);
    free(e->name);
    e->name = NULL;
    char tag[24];
    snprintf(tag, sizeof(tag), "#%016llx", (unsigned long long)inode_collection("", e->it.id));
    const char *suffixes[] = {e->it.id, tag};
    for (size_t tries = 0; name; tries++) {
        struct entry *other;
        HASH_FIND(hh_name, l->by_name, name, strlen(name), other);
        if (!other) {
            e->name = name;
            HASH_ADD_KEYPTR(hh_name, l->by_name, e->name, strlen(e->name), e);
            return 0;
        }
        if (tries == 2)
            break;
        char *again = names_with_id(name, suffixes[tries]);
        free(name);
        name = again;
    }
    if (!name)
        return -ENOMEM;
    free(name);
    char *shown = names_encode(e->it.id, strlen(e->it.id));
    log_warn("[%s] collection %s: no free directory name; not shown", l->section,
             shown ? shown : "?");
    free(shown);
    return 0;
}

static int name_entry(struct listing *l, struct entry *e)
{
    char *base = names_base(e->it.name, e->it.name_len, e->it.name != NULL, e->it.id);
    if (!base)
        return -ENOMEM;
    struct listing_group *g;
    HASH_FIND_STR(l->groups, base, g);
    if (!g) {
        if (!(g = calloc(1, sizeof(*g)))) {
            free(base);
            return -ENOMEM;
        }
        g->base = base;
        g->owner = e;
        e->group = g;
        HASH_ADD_KEYPTR(hh, l->groups, g->base, strlen(g->base), g);
        char *n = strdup(base);
        return n ? set_name(l, e, n) : -ENOMEM;
    }
    free(base);
    e->group = g;
    if (older(e, g->owner) < 0) {
        struct entry *was = g->owner;
        g->owner = e;
        int rc = set_name(l, was, names_with_id(g->base, was->it.id));
        char *n = strdup(g->base);
        return rc ? rc : n ? set_name(l, e, n) : -ENOMEM;
    }
    return set_name(l, e, names_with_id(g->base, e->it.id));
}

long listing_add(struct listing *l, struct item *items, size_t n)
{
    long added = 0;
    for (size_t i = 0; i < n; i++) {
        struct entry *dup;
        HASH_FIND(hh_id, l->by_id, items[i].id, strlen(items[i].id), dup);
        if (dup) {
            provider_item_free(&items[i]);
            continue; /* a page that repeats an earlier item: keep the first copy */
        }
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 256;
            struct entry **v = realloc(l->v, cap * sizeof(*v));
            if (!v)
                return -ENOMEM;
            l->v = v;
            l->cap = cap;
        }
        struct entry *e = calloc(1, sizeof(*e));
        if (!e)
            return -ENOMEM;
        e->it = items[i];
        memset(&items[i], 0, sizeof(items[i]));
        e->ino = inode_collection(l->section, e->it.id);
        e->pos = l->n;
        l->v[l->n++] = e;
        HASH_ADD_KEYPTR(hh_id, l->by_id, e->it.id, strlen(e->it.id), e);
        struct entry *same;
        HASH_FIND(hh_ino, l->by_ino, &e->ino, sizeof(e->ino), same);
        if (same) { /* two ids, one inode: the first keeps it, the other is not shown */
            char *shown = names_encode(e->it.id, strlen(e->it.id));
            log_err("[%s] collection %s has the inode of collection %s; not shown", l->section,
                    shown ? shown : "?", same->it.id);
            free(shown);
            added++;
            continue;
        }
        HASH_ADD(hh_ino, l->by_ino, ino, sizeof(e->ino), e);
        if (name_entry(l, e) < 0)
            return -ENOMEM;
        added++;
    }
    return added;
}

const struct entry *listing_by_name(const struct listing *l, const char *name)
{
    struct entry *e;
    HASH_FIND(hh_name, l->by_name, name, strlen(name), e);
    return e;
}

const struct entry *listing_by_id(const struct listing *l, const char *id)
{
    struct entry *e;
    HASH_FIND(hh_id, l->by_id, id, strlen(id), e);
    return e;
}

const struct entry *listing_by_ino(const struct listing *l, uint64_t ino)
{
    struct entry *e;
    ino &= ~(uint64_t)1;
    HASH_FIND(hh_ino, l->by_ino, &ino, sizeof(ino), e);
    return e;
}

size_t listing_index(const struct listing *l, const struct entry *e)
{
    (void)l;
    return e->pos;
}

size_t listing_count(const struct listing *l)
{
    return l->n;
}

const struct entry *listing_at(const struct listing *l, size_t i)
{
    return l->v[i];
}

const char *entry_id(const struct entry *e)
{
    return e->it.id;
}

const char *entry_name(const struct entry *e)
{
    return e->name;
}

uint64_t entry_ino(const struct entry *e)
{
    return e->ino;
}

const char *entry_json(const struct entry *e, size_t *len)
{
    *len = e->it.json_len;
    return e->it.json;
}

bool entry_time(const struct entry *e, struct timespec *t)
{
    if (e->it.has_updated)
        *t = e->it.updated;
    else if (e->it.has_created)
        *t = e->it.created;
    return e->it.has_updated || e->it.has_created;
}

bool entry_same(const struct entry *a, const struct entry *b)
{
    return a->it.json_len == b->it.json_len &&
           memcmp(a->it.json, b->it.json, a->it.json_len) == 0 &&
           a->it.has_updated == b->it.has_updated && a->it.has_created == b->it.has_created &&
           a->it.updated.tv_sec == b->it.updated.tv_sec &&
           a->it.updated.tv_nsec == b->it.updated.tv_nsec &&
           a->it.created.tv_sec == b->it.created.tv_sec &&
           a->it.created.tv_nsec == b->it.created.tv_nsec;
}
