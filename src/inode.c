/* The inode table; see inode.h. One mutex: every operation is a hash lookup.
 *
 * A warm `find` over a million collections has the kernel reference two million
 * inodes, so the table is one flat array, no allocation per inode: a directory
 * and its metadata.json (ino and ino | 1, the only inodes stored) share a
 * 16-byte slot holding the even number and one word with the section index and
 * both lookup counts. Open addressing with linear probing; a removal moves the
 * rest of its run back instead of leaving a tombstone, so the table never needs
 * cleaning. A count that reaches its ceiling stays there (the inode is then
 * kept until unmount): forgetting one the kernel still holds would be worse. */
#include "inode.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* meta: bits 0-15 section, 16-39 directory lookups, 40-63 metadata.json lookups */
#define SECTION_MASK 0xffffULL
#define COUNT_MAX 0xffffffULL
#define SHIFT_DIR 16
#define SHIFT_FILE 40

struct slot {
    uint64_t ino; /* the directory's (even) number; 0: free */
    uint64_t meta;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *tab;
static size_t cap, used; /* slots, slots in use */
static uint64_t count;   /* inodes with a count, directories and files apart */

/* FNV-1a over the bytes, then a splitmix64 finaliser to spread the bits. */
static uint64_t hash(const char *a, const char *b)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    if (b) {
        h = (h ^ 0xff) * 0x100000001b3ULL; /* a separator no UTF-8 name contains */
        for (const unsigned char *p = (const unsigned char *)b; *p; p++)
            h = (h ^ *p) * 0x100000001b3ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

static uint64_t even(uint64_t h)
{
    h &= ~(uint64_t)1;
    return h < 16 ? h + 16 : h; /* keep clear of the root and small numbers */
}

uint64_t inode_section(const char *section)
{
    return even(hash(section, NULL));
}

uint64_t inode_collection(const char *section, const char *id)
{
    return even(hash(section, id));
}

/* The numbers are hashes already: their top bits, scaled to the size, pick the
 * first slot (so the size need not be a power of two). */
static size_t home(uint64_t ino, size_t n)
{
    return (size_t)(((ino >> 32) * (uint64_t)n) >> 32);
}

static size_t step(size_t s)
{
    return s + 1 == cap ? 0 : s + 1;
}

static struct slot *find(uint64_t ino)
{
    if (!cap)
        return NULL;
    for (size_t s = home(ino, cap); tab[s].ino; s = step(s))
        if (tab[s].ino == ino)
            return &tab[s];
    return NULL;
}

static int resize(size_t n)
{
    struct slot *t = calloc(n, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < cap; i++) {
        if (!tab[i].ino)
            continue;
        size_t s = home(tab[i].ino, n);
        while (t[s].ino)
            s = s + 1 == n ? 0 : s + 1;
        t[s] = tab[i];
    }
    free(tab);
    tab = t;
    cap = n;
    return 0;
}

/* Empty slot s; later members of its run move back into the hole. */
static void drop(size_t s)
{
    tab[s].ino = 0;
    used--;
    for (size_t j = step(s); tab[j].ino; j = step(j)) {
        size_t h = home(tab[j].ino, cap);
        bool stays = s <= j ? (s < h && h <= j) : (s < h || h <= j);
        if (!stays) {
            tab[s] = tab[j];
            tab[j].ino = 0;
            s = j;
        }
    }
    /* after a forgetful kernel (drop_caches, unmount of a big tree) give the memory back */
    if (cap > 1024 && used * 8 < cap)
        resize(cap / 2); /* on ENOMEM the bigger table simply stays */
}

void inode_cleanup(void)
{
    pthread_mutex_lock(&lock);
    free(tab);
    tab = NULL;
    cap = used = 0;
    count = 0;
    pthread_mutex_unlock(&lock);
}

int inode_remember(uint64_t ino, enum inode_kind kind, unsigned section)
{
    if (kind == INODE_ROOT || kind == INODE_SECTION)
        return 0; /* fixed by the config: never forgotten, never stored */
    /* a directory is even, its metadata.json odd: the slot tells them apart by that */
    if ((kind == INODE_DIR) != ((ino & 1) == 0) || ino < 16 || section > SECTION_MASK)
        return -EINVAL;
    unsigned shift = kind == INODE_DIR ? SHIFT_DIR : SHIFT_FILE;
    uint64_t key = ino & ~(uint64_t)1;
    int rc = 0;
    pthread_mutex_lock(&lock);
    struct slot *n = find(key);
    if (n) {
        uint64_t c = (n->meta >> shift) & COUNT_MAX;
        if ((n->meta & SECTION_MASK) != section)
            rc = -EEXIST;
        else if (c < COUNT_MAX) {
            n->meta += 1ULL << shift;
            count += c == 0;
        }
    } else if ((used + 1) * 5 > cap * 4 && resize(cap < 64 ? 1024 : cap + cap / 2) < 0) {
        rc = -ENOMEM;
    } else {
        size_t s = home(key, cap);
        while (tab[s].ino)
            s = step(s);
        tab[s].ino = key;
        tab[s].meta = section | 1ULL << shift;
        used++;
        count++;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void inode_forget(uint64_t ino, uint64_t k)
{
    unsigned shift = ino & 1 ? SHIFT_FILE : SHIFT_DIR;
    pthread_mutex_lock(&lock);
    struct slot *n = find(ino & ~(uint64_t)1);
    uint64_t c = n ? (n->meta >> shift) & COUNT_MAX : 0;
    if (c && c < COUNT_MAX) { /* at the ceiling the true count is unknown: keep it */
        uint64_t left = c > k ? c - k : 0;
        n->meta = (n->meta & ~(COUNT_MAX << shift)) | left << shift;
        if (!left) {
            count--;
            if (!(n->meta & ~SECTION_MASK))
                drop((size_t)(n - tab));
        }
    }
    pthread_mutex_unlock(&lock);
}

int inode_lookup(uint64_t ino, enum inode_kind *kind, unsigned *section)
{
    unsigned shift = ino & 1 ? SHIFT_FILE : SHIFT_DIR;
    int rc = -ENOENT;
    pthread_mutex_lock(&lock);
    struct slot *n = find(ino & ~(uint64_t)1);
    if (n && ((n->meta >> shift) & COUNT_MAX)) {
        *kind = ino & 1 ? INODE_FILE : INODE_DIR;
        *section = (unsigned)(n->meta & SECTION_MASK);
        rc = 0;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

uint64_t inode_count(void)
{
    pthread_mutex_lock(&lock);
    uint64_t c = count;
    pthread_mutex_unlock(&lock);
    return c;
}

long inode_held(unsigned section, uint64_t **out)
{
    long n = 0;
    *out = NULL;
    pthread_mutex_lock(&lock);
    uint64_t *v = count ? malloc(count * sizeof(*v)) : NULL;
    for (size_t i = 0; v && i < cap; i++) {
        if (!tab[i].ino || (tab[i].meta & SECTION_MASK) != section)
            continue;
        if ((tab[i].meta >> SHIFT_DIR) & COUNT_MAX)
            v[n++] = tab[i].ino;
        if ((tab[i].meta >> SHIFT_FILE) & COUNT_MAX)
            v[n++] = tab[i].ino | 1;
    }
    pthread_mutex_unlock(&lock);
    if (count && !v)
        return -ENOMEM;
    *out = v;
    return n;
}
