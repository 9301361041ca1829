/* UTF-8 validation shared by names, metadata.json and JSON keys: one strict
 * definition of a valid sequence, so every place replaces the same bytes. */
#ifndef CFS_UTF8_H
#define CFS_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when the byte at
 * s does not start one: overlongs, surrogates, > U+10FFFF and truncated
 * sequences are all rejected here, so callers replace byte by byte. */
static inline size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* beyond U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

#endif
