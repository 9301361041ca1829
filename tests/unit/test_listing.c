/* Listing entries: dedupe by id and the duplicate-name rule (the oldest keeps
 * the plain name whatever order the items arrive in). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "inode.h"
#include "listing.h"

static struct item mk(const char *id, const char *name, long created)
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
    }
    it.json = strdup("{}\n");
    it.json_len = 3;
    return it;
}

static const char *name_of(struct listing *l, const char *id)
{
    const struct entry *e = listing_by_id(l, id);
    return e ? e->name : NULL;
}

int main(void)
{
    struct listing *l = listing_new("sec");
    struct item a[] = {mk("b2", "dup", 20), mk("a1", "dup", 10), mk("c3", "dup", 30),
                       mk("d4", "x/y", 5),  mk("e5", "", 5),     mk("f6", NULL, 5),
                       mk("g7", ".", 1),    mk("h8", "Case", 1), mk("i9", "case", 1)};
    CHECK(listing_add(l, a, sizeof(a) / sizeof(a[0])) == 9);
    /* a1 is the oldest even though b2 came first: b2 is renamed */
    CHECK_STR(name_of(l, "a1"), "dup");
    CHECK_STR(name_of(l, "b2"), "dup (b2)");
    CHECK_STR(name_of(l, "c3"), "dup (c3)");
    CHECK_STR(name_of(l, "d4"), "x\xef\xbc\x8fy");
    CHECK_STR(name_of(l, "e5"), "e5");
    CHECK_STR(name_of(l, "f6"), "f6");
    CHECK_STR(name_of(l, "g7"), "\xef\xbc\x8e");
    CHECK_STR(name_of(l, "h8"), "Case");
    CHECK_STR(name_of(l, "i9"), "case");
    CHECK(listing_by_name(l, "dup (b2)") == listing_by_id(l, "b2"));
    CHECK(listing_by_name(l, "nope") == NULL);
    CHECK(l->n == 9);

    /* a repeated id (a page that overlaps the previous one) is dropped, first copy kept */
    struct item b[] = {mk("a1", "other", 1), mk("j10", "new", 40)};
    CHECK(listing_add(l, b, 2) == 1);
    CHECK_STR(name_of(l, "a1"), "dup");
    CHECK(l->n == 10);

    /* equal times: the smallest id wins; numeric ids compare by value */
    struct item c[] = {mk("10", "tie", 7), mk("9", "tie", 7), mk("z", "notime", -1),
                       mk("y", "notime", 3)};
    CHECK(listing_add(l, c, 4) == 4);
    CHECK_STR(name_of(l, "9"), "tie");
    CHECK_STR(name_of(l, "10"), "tie (10)");
    /* a collection with a time is older than one without */
    CHECK_STR(name_of(l, "y"), "notime");
    CHECK_STR(name_of(l, "z"), "notime (z)");

    /* a collection literally named like a suffixed duplicate does not hide it */
    struct item d[] = {mk("k", "lit", 1), mk("m", "lit", 2), mk("n", "lit (m)", 3)};
    CHECK(listing_add(l, d, 3) == 3);
    CHECK_STR(name_of(l, "m"), "lit (m)");
    const char *nn = name_of(l, "n");
    CHECK(nn && strcmp(nn, "lit (m)") != 0);
    CHECK(listing_by_name(l, nn) == listing_by_id(l, "n"));

    /* every name unique, every entry reachable by its name */
    size_t named = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct entry *e = l->v[i];
        if (e->name && listing_by_name(l, e->name) == e)
            named++;
        CHECK(e->ino == inode_collection("sec", e->it.id));
    }
    CHECK(named == l->n);

    /* inode numbers: stable, even, distinct per section and id */
    CHECK(inode_collection("s", "1") == inode_collection("s", "1"));
    CHECK(inode_collection("s", "1") != inode_collection("t", "1"));
    CHECK(inode_collection("s1", "") != inode_collection("s", "1"));
    CHECK((inode_collection("s", "1") & 1) == 0);
    CHECK(inode_section("s") > 1 && (inode_section("s") & 1) == 0);

    listing_ref(l);
    listing_unref(l);
    listing_unref(l);
    return check_done();
}
