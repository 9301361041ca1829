/* The inode table; see inode.h. One mutex: every operation is a hash lookup.
 *
 * A warm `find` over a million collections has the kernel reference two million
 * inodes, so the table is one flat array, no allocation per inode: a directory
 * and its metadata.json (the only inodes stored) share a 16-byte slot holding
 * the directory's number and one word with the section index, both lookup
 * counts and the low bits of the file number last counted. The kernel may
 * hold two numbers of one file (a reader kept the one before a change): their
 * counts add up, which is all a lookup needs. Open addressing with linear
 * probing; a removal moves the rest of its run back instead of leaving a
 * tombstone, so the table never needs cleaning. A count that reaches its
 * ceiling stays there (the inode is then kept until unmount): forgetting
 * one the kernel still holds would be worse. */
#include "inode.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* meta: bits 0-15 section, 16-33 directory lookups, 34-51 metadata.json lookups,
 * 52-63 the low bits of the file number last counted (for inode_held) */
#define SECTION_MASK 0xffffULL
#define COUNT_MAX 0x3ffffULL
#define SHIFT_DIR 16
#define SHIFT_FILE 34
#define SHIFT_LOW 52
#define LOW_BITS (INODE_FILE_BITS >> 1)

struct slot {
    uint64_t ino; /* the directory's number; 0: free */
    uint64_t meta;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *tab;
static size_t cap, used; /* slots, slots in use */
static uint64_t count;   /* inodes with a count, directories and files apart */

/* splitmix64's finaliser: every input bit moves every output bit. */
static uint64_t mix(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/* FNV-1a over the bytes, then mix() to spread the bits. */
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
    return mix(h);
}

/* 51 bits of hash: two of a million collections share a number with odds of
 * 1 in 4,500, and one of them then answers EIO (DESIGN §2). */
static uint64_t directory(uint64_t h)
{
    h &= ~INODE_FILE_BITS;
    return h ? h : INODE_FILE_BITS + 1; /* keep clear of the root and small numbers */
}

uint64_t inode_hash(const char *section, const char *id)
{
    return hash(section, id);
}

uint64_t inode_section(const char *section)
{
    return directory(hash(section, NULL));
}

uint64_t inode_collection(const char *section, const char *id)
{
    return directory(hash(section, id));
}

uint64_t inode_file(uint64_t dir, uint64_t size, const struct timespec *mtime)
{
    /* For one mtime, sizes within 4 KiB get distinct numbers; a new mtime
     * moves them all by a hash of it. */
    uint64_t t = mtime ? mix((uint64_t)mtime->tv_sec * 1000000000u + (uint64_t)mtime->tv_nsec) : 0;
    return dir | ((size + t) & LOW_BITS) << 1 | 1;
}

uint64_t inode_dir(uint64_t ino)
{
    return ino & ~INODE_FILE_BITS;
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
    struct slot *t = buf_zalloc(n, sizeof(*t)); /* probed before filled */
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
    /* a directory's number has no file bits, its metadata.json's is odd */
    uint64_t key = inode_dir(ino);
    if ((kind == INODE_DIR) != (ino == key) || !key || section > SECTION_MASK)
        return -EINVAL;
    unsigned shift = kind == INODE_DIR ? SHIFT_DIR : SHIFT_FILE;
    uint64_t low = kind == INODE_FILE ? (ino >> 1 & LOW_BITS) << SHIFT_LOW : 0;
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
        if (!rc && kind == INODE_FILE)
            n->meta = (n->meta & ~(LOW_BITS << SHIFT_LOW)) | low;
    } else if ((used + 1) * 5 > cap * 4 && resize(cap < 64 ? 1024 : cap + cap / 2) < 0) {
        rc = -ENOMEM;
    } else {
        size_t s = home(key, cap);
        while (tab[s].ino)
            s = step(s);
        tab[s].ino = key;
        tab[s].meta = section | 1ULL << shift | low;
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
    struct slot *n = find(inode_dir(ino));
    uint64_t c = n ? (n->meta >> shift) & COUNT_MAX : 0;
    if (c && c < COUNT_MAX) { /* at the ceiling the true count is unknown: keep it */
        uint64_t left = c > k ? c - k : 0;
        n->meta = (n->meta & ~(COUNT_MAX << shift)) | left << shift;
        if (!left) {
            count--;
            if (!(n->meta & (COUNT_MAX << SHIFT_DIR | COUNT_MAX << SHIFT_FILE)))
                drop((size_t)(n - tab));
        }
    }
    pthread_mutex_unlock(&lock);
}

int inode_lookup(uint64_t ino, enum inode_kind *kind, unsigned *section)
{
    unsigned shift = ino & 1 ? SHIFT_FILE : SHIFT_DIR;
    int rc = -ENOENT;
    if (!(ino & 1) && ino != inode_dir(ino))
        return rc; /* no number ever given out */
    pthread_mutex_lock(&lock);
    struct slot *n = find(inode_dir(ino));
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
            v[n++] = tab[i].ino | (tab[i].meta >> SHIFT_LOW & LOW_BITS) << 1 | 1;
    }
    pthread_mutex_unlock(&lock);
    if (count && !v)
        return -ENOMEM;
    *out = v;
    return n;
}
