/* Listing entries: dedupe by id and the duplicate-name rule (the oldest keeps
 * the plain name whatever order the items arrive in), the indexes at a size
 * where they grow and move entries about, and the inode table against a
 * plain model of it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "inode.h"
#include "listing.h"
#include "record.h"

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
    return e ? entry_name(e) : NULL;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Many entries in few names, created at random: the names come out the same
 * in list order and shuffled (the owner moves, renames delete from the name
 * index), and every entry is found by id, inode and name. */
static void many(void)
{
    enum { N = 20000 };
    static struct item v[N];
    static size_t order[N];
    char **names[2];
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < N; i++)
            order[i] = i;
        if (pass == 1)
            for (size_t i = N - 1; i > 0; i--) {
                size_t j = rnd() % (i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        rng = 7;
        for (size_t i = 0; i < N; i++) {
            char id[32], name[32];
            snprintf(id, sizeof(id), "id%zu", i);
            /* every tenth name is shared by many; "a/b" style names get encoded */
            if (i % 10 == 0)
                snprintf(name, sizeof(name), "grp/%llu", (unsigned long long)(rnd() % 50));
            else
                snprintf(name, sizeof(name), "n%zu", i);
            v[order[i]] = mk(id, name, (long)(rnd() % 1000));
        }
        rng = 99 + (uint64_t)pass;
        struct listing *l = listing_new("big");
        for (size_t i = 0; i < N; i += 1000)
            CHECK(listing_add(l, v + i, 1000) == 1000);
        names[pass] = calloc(N, sizeof(char *));
        size_t ok = 0;
        for (size_t i = 0; i < N; i++) {
            char id[32];
            snprintf(id, sizeof(id), "id%zu", i);
            const struct entry *e = listing_by_id(l, id);
            if (e && entry_name(e) && listing_by_name(l, entry_name(e)) == e &&
                listing_by_ino(l, entry_ino(e)) == e && strcmp(entry_id(e), id) == 0)
                ok++;
            names[pass][i] = e && entry_name(e) ? strdup(entry_name(e)) : NULL;
        }
        CHECK(ok == N);
        CHECK(listing_by_id(l, "id20000") == NULL && listing_by_name(l, "n0") == NULL);
        listing_unref(l);
    }
    size_t same = 0;
    for (size_t i = 0; i < N; i++) {
        same += names[0][i] && names[1][i] && strcmp(names[0][i], names[1][i]) == 0;
        free(names[0][i]);
        free(names[1][i]);
    }
    CHECK(same == N);
    free(names[0]);
    free(names[1]);
}

/* The inode table against a model: random lookups and forgets over a few
 * thousand inodes (the table grows, shrinks and moves slots on removal). */
static void inodes(void)
{
    enum { K = 6000 };
    static uint64_t model[K];
    uint64_t ino0 = inode_collection("s", "x");
    CHECK(inode_remember(ino0, INODE_DIR, 3) == 0);
    CHECK(inode_remember(ino0, INODE_DIR, 3) == 0);
    CHECK(inode_remember(ino0 | 1, INODE_FILE, 3) == 0);
    CHECK(inode_remember(ino0 | 1, INODE_FILE, 4) == -EEXIST);
    CHECK(inode_remember(ino0 | 1, INODE_DIR, 3) == -EINVAL);
    CHECK(inode_remember(ino0, INODE_FILE, 3) == -EINVAL);
    CHECK(inode_remember(1, INODE_ROOT, 0) == 0);
    CHECK(inode_count() == 2);
    enum inode_kind kind;
    unsigned sec;
    CHECK(inode_lookup(ino0 | 1, &kind, &sec) == 0 && kind == INODE_FILE && sec == 3);
    CHECK(inode_remember(ino0 | 2, INODE_DIR, 3) == -EINVAL); /* no directory's number */
    CHECK(inode_lookup(ino0 | 2, &kind, &sec) == -ENOENT);
    inode_forget(ino0, 1);
    CHECK(inode_lookup(ino0, &kind, &sec) == 0 && kind == INODE_DIR);
    inode_forget(ino0, 5);
    CHECK(inode_lookup(ino0, &kind, &sec) == -ENOENT);
    CHECK(inode_lookup(ino0 | 1, &kind, &sec) == 0 && inode_count() == 1);
    inode_forget(ino0 | 1, 1);
    CHECK(inode_count() == 0 && inode_lookup(ino0 | 1, &kind, &sec) == -ENOENT);
    /* two sizes of one file held at once: either finds it while one is held,
     * and inode_held names the one counted last */
    uint64_t f1 = inode_file(ino0, 300, NULL), f2 = inode_file(ino0, 316, NULL), *held;
    CHECK(inode_remember(f1, INODE_FILE, 3) == 0 && inode_remember(f2, INODE_FILE, 3) == 0);
    CHECK(inode_count() == 1 && inode_held(3, &held) == 1 && held[0] == f2);
    free(held);
    inode_forget(f2, 1);
    CHECK(inode_lookup(f1, &kind, &sec) == 0 && kind == INODE_FILE && sec == 3);
    inode_forget(f1, 1);
    CHECK(inode_count() == 0 && inode_lookup(f1, &kind, &sec) == -ENOENT);

    size_t bad = 0;
    uint64_t live = 0;
    for (int round = 0; round < 200000; round++) {
        size_t k = rnd() % K;
        char id[16];
        snprintf(id, sizeof(id), "%zu", k / 2);
        uint64_t ino = inode_collection("s", id) | (k & 1);
        if (rnd() % 3) {
            bad += inode_remember(ino, k & 1 ? INODE_FILE : INODE_DIR, 1) != 0;
            live += model[k] == 0;
            model[k]++;
        } else {
            uint64_t n = rnd() % 3 + 1;
            inode_forget(ino, n);
            live -= model[k] && model[k] <= n;
            model[k] = model[k] > n ? model[k] - n : 0;
        }
        if (round % 50000 == 49999 || round == 199999) /* and everything forgotten at once */
            for (size_t j = 0; j < K; j += 1 + (size_t)(round < 199999)) {
                snprintf(id, sizeof(id), "%zu", j / 2);
                inode_forget(inode_collection("s", id) | (j & 1), model[j]);
                live -= model[j] != 0;
                model[j] = 0;
            }
        if (round % 997 == 0) {
            for (size_t j = 0; j < K; j++) {
                snprintf(id, sizeof(id), "%zu", j / 2);
                int rc = inode_lookup(inode_collection("s", id) | (j & 1), &kind, &sec);
                bad += (rc == 0) != (model[j] != 0);
                bad += rc == 0 && (kind != (j & 1 ? INODE_FILE : INODE_DIR) || sec != 1);
            }
            bad += inode_count() != live;
        }
    }
    CHECK(bad == 0);
    CHECK(inode_count() == 0);
    inode_cleanup();
}

/* A refresh that lists the same collections in another order: the copy shows
 * the ones the old listing held in its order, each new one in its own place,
 * with the same names (a shared name's owner moves with it) and indexes. */
static void reordered(void)
{
    struct item a[] = {mk("a", "x", 5), mk("b", "b", 1), mk("c", "x", 1), mk("d", "d", 1)};
    struct listing *old = listing_new("s");
    CHECK(listing_add(old, a, 4) == 4);
    struct item b[] = {mk("c", "x", 1), mk("n", "n", 1), mk("e", "e", 1), mk("b", "b", 1),
                       mk("a", "x", 5)};
    struct listing *l = listing_new("s");
    CHECK(listing_add(l, b, 5) == 5);
    struct listing *m = listing_in_order_of(l, old);
    CHECK(m && listing_count(m) == 5);
    const char *want[] = {"a", "n", "e", "b", "c"}; /* d gone; a, b, c in old's order */
    for (size_t i = 0; m && i < 5; i++) {
        const struct entry *e = listing_at(m, i);
        CHECK(strcmp(entry_id(e), want[i]) == 0);
        CHECK(listing_by_id(m, want[i]) == e && listing_index(m, e) == i);
        CHECK(listing_by_ino(m, entry_ino(e)) == e);
        CHECK(strcmp(entry_name(e), name_of(l, want[i])) == 0);
        CHECK(listing_by_name(m, entry_name(e)) == e);
    }
    CHECK(m && strcmp(name_of(m, "c"), "x") == 0 && strcmp(name_of(m, "a"), "x (a)") == 0);
    /* in order already, new ones anywhere: nothing to copy */
    struct item c[] = {mk("n", "n", 1), mk("a", "x", 5), mk("c", "x", 1), mk("d", "d", 1)};
    struct listing *k = listing_new("s");
    CHECK(listing_add(k, c, 4) == 4);
    CHECK(listing_in_order_of(k, old) == NULL);
    listing_unref(k);
    listing_unref(l); /* the copy keeps the records and names */
    CHECK(m && strcmp(name_of(m, "a"), "x (a)") == 0);
    listing_unref(m);
    listing_unref(old);
}

int main(void)
{
    many();
    inodes();

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
    CHECK(listing_count(l) == 9);

    /* a repeated id (a page that overlaps the previous one) is dropped, first copy kept */
    struct item b[] = {mk("a1", "other", 1), mk("j10", "new", 40)};
    CHECK(listing_add(l, b, 2) == 1);
    CHECK_STR(name_of(l, "a1"), "dup");
    CHECK(listing_count(l) == 10);

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
    for (size_t i = 0; i < listing_count(l); i++) {
        const struct entry *e = listing_at(l, i);
        if (entry_name(e) && listing_by_name(l, entry_name(e)) == e)
            named++;
        CHECK(entry_ino(e) == inode_collection("sec", entry_id(e)));
        CHECK(listing_by_ino(l, entry_file_ino(e)) == e);
        /* the number of another size or mtime is another generation's */
        size_t len = record_json_len(entry_record(e));
        struct timespec t = {0};
        bool has = entry_time(e, &t);
        CHECK(listing_by_ino(l, inode_file(entry_ino(e), len + 1, has ? &t : NULL)) == NULL);
        t.tv_nsec = (t.tv_nsec + 1) % 1000000000;
        CHECK(listing_by_ino(l, inode_file(entry_ino(e), len, &t)) == NULL);
    }
    CHECK(named == listing_count(l));

    /* inode numbers: stable, even, distinct per section and id */
    CHECK(inode_collection("s", "1") == inode_collection("s", "1"));
    CHECK(inode_collection("s", "1") != inode_collection("t", "1"));
    CHECK(inode_collection("s1", "") != inode_collection("s", "1"));
    CHECK((inode_collection("s", "1") & INODE_FILE_BITS) == 0 && inode_collection("s", "1"));
    CHECK(inode_section("s") > 1 && (inode_section("s") & INODE_FILE_BITS) == 0);
    /* a file's number: odd, its directory's, another for every size within 4 KiB
     * at one mtime, and another for a new mtime at one size */
    uint64_t dir = inode_collection("s", "1");
    struct timespec m1 = {1700000000, 0}, m2 = {1700000001, 0}, m3 = {1700000000, 1000};
    const struct timespec *mt[] = {NULL, &m1, &m2, &m3};
    for (size_t k = 0; k < 4; k++)
        for (uint64_t size = 0; size < 10000; size++) {
            uint64_t f = inode_file(dir, size, mt[k]);
            if (!(f & 1) || inode_dir(f) != dir || inode_dir(dir) != dir ||
                (size >= 4096 && f != inode_file(dir, size - 4096, mt[k])) ||
                (size % 4096 && f == inode_file(dir, size - 1, mt[k])))
                CHECK(!"a file number");
        }
    CHECK(inode_file(dir, 300, &m1) == inode_file(dir, 300, &m1));
    CHECK(inode_file(dir, 300, &m1) != inode_file(dir, 300, &m2));
    CHECK(inode_file(dir, 300, &m1) != inode_file(dir, 300, &m3));
    CHECK(inode_file(dir, 300, &m1) != inode_file(dir, 300, NULL));
    /* two ids of two sections on one number, found by a search (core_inodes.bats uses them) */
    CHECK(inode_collection("honcho", "a64477993") == inode_collection("twin", "b20166223"));

    listing_ref(l);
    listing_unref(l);
    listing_unref(l);
    reordered();
    return check_done();
}
