/* Helpers shared by the libFuzzer harnesses: an independent, strict UTF-8
 * check (written here rather than borrowed from src/ so a bug there cannot hide
 * itself) and an assertion that explains itself before it aborts, so a finding
 * reads as a property that broke, not just a stack. */
#ifndef CFS_FUZZ_UTIL_H
#define CFS_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Print what broke (and a short excerpt of the bytes involved), then abort:
 * libFuzzer treats the abort as a crash and saves the input. */
#define FUZZ_ASSERT(cond, buf, len)                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond, (const char *)(buf), (len));                      \
    } while (0)

/* One line to stderr: label, then up to 400 bytes with quotes, backslashes and
 * non-ASCII bytes escaped, so invalid UTF-8 and NULs stay readable. */
static inline void fuzz_dump(const char *label, const char *buf, size_t len)
{
    fprintf(stderr, "  %s%zu bytes: \"", label, len);
    for (size_t i = 0; i < len && i < 400; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "%s\"\n", len > 400 ? "..." : "");
}

static inline void fuzz_fail(const char *file, int line, const char *what, const char *buf,
                             size_t len)
{
    fprintf(stderr, "\n%s:%d: property failed: %s\n", file, line, what);
    if (buf)
        fuzz_dump("", buf, len);
    abort();
}

/* True when CFS_FUZZ_KNOWN (a comma-separated list) names this known finding.
 * A run can then skip the property it breaks and look for other findings until
 * the daemon is fixed; by default every property is checked. Tags:
 * fffd-keys, hidden-names (tests/fuzz/crashes/README.md). */
static inline bool fuzz_known(const char *tag)
{
    const char *list = getenv("CFS_FUZZ_KNOWN");
    size_t n = strlen(tag);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, tag, n) == 0)
            return true;
        p = end ? end + 1 : p + len;
    }
    return false;
}

/* True when s[0..len) is well-formed UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF, no truncated sequence). */
static inline bool fuzz_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i < n)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

/* The properties of a directory name (DESIGN §2): valid UTF-8, 1..255 bytes,
 * no '/', no C0 control byte, not "." or "..". */
static inline void fuzz_check_dirname(const char *name, size_t len, const char *file, int line)
{
    const char *why = NULL;
    if (!fuzz_utf8_valid(name, len))
        why = "directory name is not valid UTF-8";
    else if (len == 0)
        why = "directory name is empty";
    else if (len > 255)
        why = "directory name is longer than 255 bytes";
    else if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        why = "directory name is . or ..";
    for (size_t i = 0; !why && i < len; i++) {
        if (name[i] == '/')
            why = "directory name holds '/'";
        else if ((unsigned char)name[i] < 0x20)
            why = "directory name holds a byte < 0x20";
    }
    if (why)
        fuzz_fail(file, line, why, name, len);
}

#endif
