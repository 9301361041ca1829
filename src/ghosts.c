/* Ghosts of deleted collections; see ghosts.h. A flat array searched from its
 * newest end: a read needs one only when a refresh deleted its place, and a
 * hash table would cost every refresh that deletes. */
#include "ghosts.h"

#include <string.h>

struct ghost {
    uint64_t ino, next;
};

void ghosts_init(struct ghosts *g)
{
    buf_init(&g->b, 2 * GHOSTS_MAX * sizeof(struct ghost));
    g->waiting = 0;
}

void ghosts_free(struct ghosts *g)
{
    buf_free(&g->b);
    g->waiting = 0;
}

int ghosts_copy(struct ghosts *to, const struct ghosts *from)
{
    ghosts_free(to);
    int rc = from->b.len ? buf_add(&to->b, from->b.p, from->b.len) : 0;
    to->waiting = to->b.len;
    return rc;
}

/* Keep the newest `keep`; the comparison's mark moves with them. */
static void trim(struct ghosts *g, size_t keep)
{
    keep *= sizeof(struct ghost);
    if (g->b.len <= keep)
        return;
    size_t drop = g->b.len - keep;
    memmove(g->b.p, g->b.p + drop, keep);
    g->b.len = keep;
    g->waiting = g->waiting > drop ? g->waiting - drop : 0;
}

void ghosts_begin(struct ghosts *g)
{
    g->waiting = g->b.len;
}

void ghosts_gone(struct ghosts *g, uint64_t ino)
{
    if (g->b.len + sizeof(struct ghost) > g->b.max)
        trim(g, GHOSTS_MAX);
    buf_add(&g->b, &(struct ghost){ino, 0}, sizeof(struct ghost));
}

void ghosts_kept(struct ghosts *g, uint64_t ino)
{
    for (; g->waiting < g->b.len; g->waiting += sizeof(struct ghost))
        ((struct ghost *)(g->b.p + g->waiting))->next = ino;
}

void ghosts_end(struct ghosts *g)
{
    trim(g, GHOSTS_MAX);
    g->waiting = g->b.len;
}

uint64_t ghosts_next(const struct ghosts *g, uint64_t ino)
{
    const struct ghost *v = (const struct ghost *)g->b.p;
    for (size_t i = g->b.len / sizeof(*v); i > 0; i--)
        if (v[i - 1].ino == ino)
            return v[i - 1].next;
    return 0;
}
