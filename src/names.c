/* Directory names for collections. Provider names are arbitrary bytes; a path
 * component must be valid UTF-8 without '/', NUL or "."/"..", and at most 255
 * bytes. The encoding follows rclone (lookalike symbols instead of escapes), so
 * names stay readable; two raw names can still encode alike (a literal '／'
 * and an encoded '/', or bytes that become U+FFFD), and the duplicate rule then
 * tells them apart. Pure functions, no state. */
#include "names.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* The longest prefix of s (valid UTF-8) that fits max bytes without splitting a character. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

static char *put(char *o, const char *bytes, size_t n)
{
    memcpy(o, bytes, n);
    return o + n;
}

char *names_encode(const char *raw, size_t len)
{
    const unsigned char *s = (const unsigned char *)raw;
    char *out = len < SIZE_MAX / 3 ? malloc(len * 3 + 1) : NULL; /* a byte becomes <= 3 */
    char *o = out;

    if (!out)
        return NULL;
    if ((len == 1 || len == 2) && s[0] == '.' && s[len - 1] == '.') {
        for (size_t i = 0; i < len; i++)
            o = put(o, "\xef\xbc\x8e", 3); /* U+FF0E FULLWIDTH FULL STOP */
        *o = '\0';
        return out;
    }
    for (size_t i = 0; i < len;) {
        size_t n = 1;
        if (s[i] < 0x20) {
            /* U+2400 + c: E2 90 80+c */
            *o++ = (char)0xe2;
            *o++ = (char)0x90;
            *o++ = (char)(0x80 + s[i]);
        } else if (s[i] == '/') {
            o = put(o, "\xef\xbc\x8f", 3); /* U+FF0F FULLWIDTH SOLIDUS */
        } else if ((n = utf8_len(s + i, len - i)) == 0) {
            o = put(o, "\xef\xbf\xbd", 3); /* U+FFFD, one per bad byte */
            n = 1;
        } else {
            o = put(o, raw + i, n);
        }
        i += n;
    }
    *o = '\0';
    return out;
}

char *names_with_id(const char *encoded, const char *id)
{
    char *eid = names_encode(id, strlen(id));
    if (!eid)
        return NULL;
    size_t nlen = strlen(encoded), idlen = strlen(eid);
    size_t suffix = idlen + 3; /* " (" id ")" */
    size_t keep = suffix < NAMES_MAX ? utf8_cut(encoded, nlen, NAMES_MAX - suffix) : 0;
    char *out = malloc(keep + suffix + 1);
    if (!out) {
        free(eid);
        return NULL;
    }
    memcpy(out, encoded, keep);
    memcpy(out + keep, " (", 2);
    memcpy(out + keep + 2, eid, idlen);
    memcpy(out + keep + 2 + idlen, ")", 2);
    free(eid);
    /* An id too long for any name: keep as much of it as fits (it is what
     * tells duplicates apart; the name part is the same for all of them). */
    out[utf8_cut(out, keep + suffix, NAMES_MAX)] = '\0';
    return out;
}

char *names_base(const char *raw, size_t len, bool has_name, const char *id)
{
    if (!has_name || len == 0) {
        char *out = names_encode(id, strlen(id));
        if (out)
            out[utf8_cut(out, strlen(out), NAMES_MAX)] = '\0';
        return out;
    }
    char *enc = names_encode(raw, len);
    if (!enc || strlen(enc) <= NAMES_MAX)
        return enc;
    char *out = names_with_id(enc, id);
    free(enc);
    return out;
}

/* An id like "-0042": optional '-' then at least one digit and nothing else. */
static bool is_number(const char *s)
{
    if (*s == '-')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Compare decimal strings of any length by value without converting them. */
static int number_cmp(const char *a, const char *b)
{
    bool aneg = *a == '-', bneg = *b == '-';
    a += aneg;
    b += bneg;
    while (*a == '0')
        a++;
    while (*b == '0')
        b++;
    /* -0 is zero, not negative */
    int asign = *a ? (aneg ? -1 : 1) : 0, bsign = *b ? (bneg ? -1 : 1) : 0;
    if (asign != bsign)
        return asign < bsign ? -1 : 1;
    size_t alen = strlen(a), blen = strlen(b);
    int mag = alen != blen ? (alen < blen ? -1 : 1) : strcmp(a, b);
    mag = mag < 0 ? -1 : mag > 0;
    return asign < 0 ? -mag : mag;
}

int names_older(const struct names_key *a, const struct names_key *b)
{
    if (a->has_created != b->has_created)
        return a->has_created ? -1 : 1;
    if (a->has_created) {
        if (a->created.tv_sec != b->created.tv_sec)
            return a->created.tv_sec < b->created.tv_sec ? -1 : 1;
        if (a->created.tv_nsec != b->created.tv_nsec)
            return a->created.tv_nsec < b->created.tv_nsec ? -1 : 1;
    }
    const char *ia = a->id ? a->id : "", *ib = b->id ? b->id : "";
    if (is_number(ia) && is_number(ib)) {
        int c = number_cmp(ia, ib);
        if (c)
            return c;
        /* "7" and "007": equal values still need a fixed order */
    }
    int c = strcmp(ia, ib);
    return c < 0 ? -1 : c > 0;
}

bool names_is_safe(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);

    if (len == 0 || len > NAMES_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (size_t i = 0; i < len;) {
        if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '/')
            return false;
        size_t n = utf8_len(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}
