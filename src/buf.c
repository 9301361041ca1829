/* Bounded growable buffers (buf.h). The capacity doubles from a small start, so n
 * adds cost O(n) copies in total, and is clamped to max + 1 so a buffer near its
 * limit does not reserve memory it may never fill. Every size sum is checked for
 * overflow before it is used. */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_START 64

void buf_init(struct buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

/* Make room for n more bytes and the NUL; 0, -ENOMEM or -EFBIG. */
static int reserve(struct buf *b, size_t n)
{
    if (n > b->max - b->len)
        return -EFBIG;
    if (b->len + n == SIZE_MAX)
        return -ENOMEM; /* no room for the NUL */
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    /* a first add gets its exact size (a header line with a token is then one
     * allocation), but at least BUF_START so small adds do not realloc at once */
    size_t cap = b->cap ? b->cap : need > BUF_START ? need : BUF_START;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->max < SIZE_MAX && cap > b->max + 1)
        cap = b->max + 1; /* still >= need, since len + n <= max */
    char *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int buf_reserve(struct buf *b, size_t n)
{
    return reserve(b, n);
}

int buf_add(struct buf *b, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    int rc = reserve(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int buf_addc(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    int rc = n < 0 ? -EOVERFLOW : n == 0 ? 0 : reserve(b, (size_t)n);
    if (rc == 0 && n > 0) {
        /* reserve left room for n bytes and the NUL vsnprintf writes */
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
    return rc;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *buf_take(struct buf *b, size_t *len)
{
    char *p = b->p;
    if (len)
        *len = b->len;
    buf_init(b, b->max);
    return p;
}

void buf_free(struct buf *b)
{
    free(b->p);
    buf_init(b, b->max);
}

void buf_wipe(struct buf *b)
{
    if (b->p)
        explicit_bzero(b->p, b->cap);
    buf_free(b);
}

void *buf_zalloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    char *p = calloc(n, size);
    /* calloc zeroes reused memory; fresh memory from mmap it leaves untouched */
    for (size_t i = 0; p && i < n * size; i += 4096)
        ((volatile char *)p)[i] = 0;
    return p;
}
