/* The inode table; see inode.h. One mutex: every operation is a hash lookup. */
#include "inode.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct node {
    uint64_t ino;
    enum inode_kind kind;
    unsigned section;
    uint64_t nlookup;
    UT_hash_handle hh;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct node *nodes;
static uint64_t count;

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

void inode_cleanup(void)
{
    pthread_mutex_lock(&lock);
    struct node *n, *tmp;
    HASH_ITER(hh, nodes, n, tmp)
    {
        HASH_DEL(nodes, n);
        free(n);
    }
    count = 0;
    pthread_mutex_unlock(&lock);
}

int inode_remember(uint64_t ino, enum inode_kind kind, unsigned section)
{
    if (kind == INODE_ROOT || kind == INODE_SECTION)
        return 0; /* fixed by the config: never forgotten, never stored */
    int rc = 0;
    pthread_mutex_lock(&lock);
    struct node *n;
    HASH_FIND(hh, nodes, &ino, sizeof(ino), n);
    if (n) {
        if (n->kind != kind || n->section != section)
            rc = -EEXIST;
        else
            n->nlookup++;
    } else if (!(n = calloc(1, sizeof(*n)))) {
        rc = -ENOMEM;
    } else {
        n->ino = ino;
        n->kind = kind;
        n->section = section;
        n->nlookup = 1;
        HASH_ADD(hh, nodes, ino, sizeof(ino), n);
        count++;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void inode_forget(uint64_t ino, uint64_t k)
{
    pthread_mutex_lock(&lock);
    struct node *n;
    HASH_FIND(hh, nodes, &ino, sizeof(ino), n);
    if (n) {
        n->nlookup = n->nlookup > k ? n->nlookup - k : 0;
        if (n->nlookup == 0) {
            HASH_DEL(nodes, n);
            free(n);
            count--;
        }
    }
    pthread_mutex_unlock(&lock);
}

int inode_lookup(uint64_t ino, enum inode_kind *kind, unsigned *section)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&lock);
    struct node *n;
    HASH_FIND(hh, nodes, &ino, sizeof(ino), n);
    if (n) {
        *kind = n->kind;
        *section = n->section;
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
