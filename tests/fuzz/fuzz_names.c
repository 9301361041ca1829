/* libFuzzer target: directory names from arbitrary name and id bytes, through
 * names_encode, names_base and names_with_id as the listing uses them. Every
 * result must be a usable path component (DESIGN §2): valid UTF-8, at most 255
 * bytes, no '/', no C0 control, not "." or "..". Ids come from provider_item,
 * which only accepts non-empty ids without NUL, so the harness builds the same.
 *
 * Input layout: byte 0 = flags (bit 0: the collection has a name), then the
 * name bytes, then 0xff 0x00 as separator (if present), then the id bytes (NULs
 * replaced). A missing separator takes the id from the input's tail. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* names_encode's own promises (no length cut here). */
static void check_encoded(const char *s)
{
    size_t n = strlen(s);
    FUZZ_ASSERT(fuzz_utf8_valid(s, n), s, n);
    FUZZ_ASSERT(!memchr(s, '/', n), s, n);
    for (size_t i = 0; i < n; i++)
        FUZZ_ASSERT((unsigned char)s[i] >= 0x20, s, n);
    FUZZ_ASSERT(strcmp(s, ".") != 0 && strcmp(s, "..") != 0, s, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool has_name = data[0] & 1;
    const char *raw = (const char *)data + 1;
    size_t rest = size - 1, name_len = rest, id_off = rest;
    for (size_t i = 0; i + 1 < rest; i++) {
        if ((unsigned char)raw[i] == 0xff && raw[i + 1] == 0) {
            name_len = i;
            id_off = i + 2;
            break;
        }
    }
    if (id_off == rest) { /* no separator: the last quarter is the id */
        name_len = rest - rest / 4;
        id_off = name_len;
    }
    size_t id_len = rest - id_off;
    char *id = malloc(id_len + 2);
    if (!id)
        return 0;
    memcpy(id, raw + id_off, id_len);
    for (size_t i = 0; i < id_len; i++)
        if (id[i] == '\0')
            id[i] = '0';
    if (id_len == 0)
        id[id_len++] = '7';
    id[id_len] = '\0';

    /* a copy of exactly name_len bytes, so reading past it is an ASan report */
    char *name = malloc(name_len ? name_len : 1);
    if (!name) {
        free(id);
        return 0;
    }
    memcpy(name, raw, name_len);

    char *enc = names_encode(name, name_len);
    if (enc) {
        check_encoded(enc);
        /* every byte stays or becomes a 3-byte symbol; NUL too, so nothing is lost */
        FUZZ_ASSERT(strlen(enc) >= name_len, enc, strlen(enc));
        char *with = names_with_id(enc, id);
        if (with) {
            fuzz_check_dirname(with, strlen(with), __FILE__, __LINE__);
            free(with);
        }
    }
    char *base = names_base(name, name_len, has_name, id);
    if (base) {
        fuzz_check_dirname(base, strlen(base), __FILE__, __LINE__);
        /* a short enough name is shown as encoded, unchanged */
        if (has_name && name_len > 0 && enc && strlen(enc) <= 255)
            FUZZ_ASSERT(strcmp(base, enc) == 0, base, strlen(base));
        /* listing.c shows a name names_is_safe passes as its raw bytes, with
         * no encoding: they must be what names_base gives */
        char *z = calloc(1, name_len + 1);
        if (z && has_name && name_len > 0) {
            memcpy(z, name, name_len);
            if (strlen(z) == name_len && names_is_safe(z))
                FUZZ_ASSERT(strcmp(base, z) == 0, base, strlen(base));
        }
        free(z);
        char *dup = names_with_id(base, id); /* the listing's duplicate rule */
        if (dup) {
            fuzz_check_dirname(dup, strlen(dup), __FILE__, __LINE__);
            /* A duplicate must get a name other than the plain one, or the
             * listing cannot show it. Only checked for ids that fit a name
             * with room to spare (DESIGN cuts absurdly long ids), and when the
             * base is not already "<cut name> (<id>)": then names_with_id
             * returns the base itself (a fixed point; see crashes/README.md
             * for how the listing trips over it). */
            char *eid = names_encode(id, id_len);
            bool cut = has_name && name_len > 0 && enc && strlen(enc) > 255;
            if (eid && strlen(eid) + 3 < 255 - 4 && !cut)
                FUZZ_ASSERT(strcmp(dup, base) != 0, dup, strlen(dup));
            free(eid);
            free(dup);
        }
        free(base);
    }
    /* the id-as-name path */
    char *idname = names_base(NULL, 0, false, id);
    if (idname) {
        fuzz_check_dirname(idname, strlen(idname), __FILE__, __LINE__);
        if (names_is_safe(id)) /* the same for an id shown as the name */
            FUZZ_ASSERT(strcmp(idname, id) == 0, idname, strlen(idname));
        free(idname);
    }
    free(enc);
    free(name);
    free(id);
    return 0;
}
