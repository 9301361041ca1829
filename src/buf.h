/* A growable byte buffer with a size limit, in the manner of curl's lib/dynbuf.c:
 * a hostile response cannot grow memory past the limit its caller chose. The bytes
 * are always NUL-terminated (the NUL is not counted in len), so p is a C string
 * whenever the content is text. A failed add leaves the buffer valid and unchanged.
 *
 * It also holds an array of structs: buf_add(&b, &item, sizeof(item)), then
 * (struct item *)b.p with b.len / sizeof(struct item) items; p comes from malloc
 * or realloc, so it is aligned for any type, and max counts bytes, not items. */
#ifndef CFS_BUF_H
#define CFS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *p;    /* NULL until the first byte is added */
    size_t len; /* bytes held, without the NUL */
    size_t cap; /* bytes allocated, the NUL included */
    size_t max; /* len never exceeds this */
};

/** An empty buffer that refuses to hold more than max bytes (SIZE_MAX: no limit but memory). */
void buf_init(struct buf *b, size_t max);
/** Append n bytes; 0, -ENOMEM, or -EFBIG past max. */
int buf_add(struct buf *b, const void *data, size_t n);
/** Make room for n more bytes in one allocation (of exactly that size when empty); 0, -ENOMEM
 * or -EFBIG past max. */
int buf_reserve(struct buf *b, size_t n);
/** Append one byte; 0, -ENOMEM or -EFBIG. */
int buf_addc(struct buf *b, char c);
/** Append printf-style text; 0, -ENOMEM, -EFBIG, or -EOVERFLOW when vsnprintf fails. */
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** buf_addf with a va_list. */
int buf_vaddf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/** Hand the NUL-terminated bytes to the caller (free them), *len their count; NULL when empty. */
char *buf_take(struct buf *b, size_t *len);
/** Free the bytes; the buffer is empty again, with the same max. */
void buf_free(struct buf *b);
/** Zero all allocated bytes, then buf_free. Growth moves bytes with realloc, which
 *  leaves an unwiped copy behind: give a secret in one add to an empty buffer. */
void buf_wipe(struct buf *b);

/** calloc(n, size) with each page written at once, for tables probed before they are filled
 *  (no zero page to copy at the first store, no TLB flush on every CPU); NULL on overflow. */
void *buf_zalloc(size_t n, size_t size);

#endif
