/* ghosts: where a read goes on after deleted collections, over one refresh
 * and several, the newest ghost of a number counting, and the bound (the
 * newest kept, a comparison that deletes more than the bound included). */
#include <stdint.h>

#include "check.h"
#include "ghosts.h"

/* One refresh: its predecessor's inodes in order, each kept (k) or gone (g). */
static void refresh(struct ghosts *g, const uint64_t *ino, const char *fate, size_t n)
{
    ghosts_begin(g);
    for (size_t i = 0; i < n; i++)
        (fate[i] == 'k' ? ghosts_kept : ghosts_gone)(g, ino[i]);
    ghosts_end(g);
}

static void test_one_refresh(void)
{
    struct ghosts g;
    ghosts_init(&g);
    CHECK(ghosts_next(&g, 5) == 0); /* no ghost */
    /* 1 2 3 4 5 6: 2 and 3 go, 6 (the last) goes */
    refresh(&g, (uint64_t[]){1, 2, 3, 4, 5, 6}, "kggkkg", 6);
    CHECK(ghosts_next(&g, 2) == 4);
    CHECK(ghosts_next(&g, 3) == 4);
    CHECK(ghosts_next(&g, 6) == 0); /* nothing after it was kept */
    CHECK(ghosts_next(&g, 1) == 0); /* kept: no ghost */
    ghosts_free(&g);
}

static void test_chain(void)
{
    struct ghosts g;
    ghosts_init(&g);
    refresh(&g, (uint64_t[]){1, 2, 3, 4, 5}, "kgkkk", 5); /* 2 -> 3 */
    refresh(&g, (uint64_t[]){1, 3, 4, 5}, "kggk", 4);     /* 3 -> 5, 4 -> 5 */
    CHECK(ghosts_next(&g, 2) == 3);
    CHECK(ghosts_next(&g, 3) == 5); /* the second hop of a read paused on 2 */
    /* 3 comes back after 5 and goes again: its newest ghost counts */
    refresh(&g, (uint64_t[]){1, 5, 3, 7}, "kkgk", 4);
    CHECK(ghosts_next(&g, 3) == 7);
    CHECK(ghosts_next(&g, 2) == 3); /* older ones stay */
    ghosts_free(&g);
}

static void test_copy(void)
{
    struct ghosts g, h;
    ghosts_init(&g);
    ghosts_init(&h);
    refresh(&g, (uint64_t[]){1, 2, 3}, "kgk", 3);
    CHECK(ghosts_copy(&h, &g) == 0);
    ghosts_free(&g);
    CHECK(ghosts_next(&h, 2) == 3);
    refresh(&h, (uint64_t[]){1, 3, 4}, "kgk", 3); /* the copy goes on */
    CHECK(ghosts_next(&h, 3) == 4 && ghosts_next(&h, 2) == 3);
    ghosts_free(&h);
}

/* A refresh that deletes more than the bound: the newest stay, and those
 * that lost their older neighbours still find the collection after them. */
static void test_bound(void)
{
    struct ghosts g;
    ghosts_init(&g);
    refresh(&g, (uint64_t[]){10, 11, 12}, "kgk", 3); /* an old ghost, pushed out below */
    size_t n = 3 * GHOSTS_MAX + 7;
    ghosts_begin(&g);
    ghosts_kept(&g, 1);
    for (size_t i = 0; i < n; i++)
        ghosts_gone(&g, 100 + i);
    ghosts_kept(&g, 99);
    ghosts_gone(&g, 50);
    ghosts_end(&g);
    CHECK(g.b.len == GHOSTS_MAX * 16);
    CHECK(g.b.cap <= 2 * GHOSTS_MAX * 16 + 1); /* its room, never more */
    CHECK(ghosts_next(&g, 11) == 0);           /* pushed out */
    CHECK(ghosts_next(&g, 100) == 0);
    CHECK(ghosts_next(&g, 100 + n - 1) == 99);              /* the last of the run */
    CHECK(ghosts_next(&g, 100 + n - GHOSTS_MAX + 1) == 99); /* the oldest of the run kept */
    CHECK(ghosts_next(&g, 100 + n - GHOSTS_MAX) == 0);      /* just pushed out */
    CHECK(ghosts_next(&g, 50) == 0);
    /* the next refresh's ghosts lead where they should after the trims */
    refresh(&g, (uint64_t[]){1, 2, 3}, "kgk", 3);
    CHECK(ghosts_next(&g, 2) == 3);
    ghosts_free(&g);
}

int main(void)
{
    test_one_refresh();
    test_chain();
    test_copy();
    test_bound();
    return check_done();
}
