/* names: the rclone-style encoding of hostile names, the 255-byte cut with
 * " (<id>)", ids as names, the oldest-first order and section-name vetting. */
#include "names.h"

#include "check.h"

#include <stdlib.h>
#include <string.h>

#define FFFD "\xef\xbf\xbd"

/* Encode len bytes of raw and compare with want; frees the result. */
static int enc_is(const char *raw, size_t len, const char *want)
{
    char *got = names_encode(raw, len);
    int ok = got && strcmp(got, want) == 0;
    if (!ok)
        printf("# got:  [%s]\n# want: [%s]\n", got ? got : "(null)", want);
    free(got);
    return ok;
}
#define ENC(lit, want) enc_is(lit, sizeof(lit) - 1, want)

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static char *repeat(const char *unit, size_t times)
{
    size_t n = strlen(unit);
    char *s = malloc(n * times + 1);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * n, unit, n);
    s[n * times] = '\0';
    return s;
}

/* A long name cut with its id: within 255 bytes, valid UTF-8 and safe, ending in
 * " (<id>)", and starting with the longest whole-character prefix of the name. */
static void check_cut(const char *unit, size_t times, const char *id, const char *eid,
                      size_t want_len)
{
    char *raw = repeat(unit, times);
    char *got = names_base(raw, strlen(raw), true, id);
    char suffix[300];
    snprintf(suffix, sizeof(suffix), " (%s)", eid);
    CHECK(got != NULL);
    CHECK(strlen(got) == want_len);
    CHECK(strlen(got) <= NAMES_MAX);
    CHECK(names_is_safe(got));
    CHECK(ends_with(got, suffix));
    char *enc = names_encode(raw, strlen(raw));
    CHECK(strncmp(got, enc, strlen(got) - strlen(suffix)) == 0);
    free(enc);
    free(got);
    free(raw);
}

static struct names_key key(const char *id, bool has, time_t sec, long nsec)
{
    return (struct names_key){.id = id, .has_created = has, .created = {sec, nsec}};
}

/* older(a, b) < 0 and older(b, a) > 0: a strict order both ways round. */
static int before(struct names_key a, struct names_key b)
{
    return names_older(&a, &b) < 0 && names_older(&b, &a) > 0;
}

int main(void)
{
    /* unchanged */
    CHECK(ENC("plain name", "plain name"));
    CHECK(ENC("caf\xc3\xa9", "caf\xc3\xa9"));
    CHECK(ENC("\xf0\x9f\x98\x80 emoji", "\xf0\x9f\x98\x80 emoji"));
    CHECK(ENC("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf")); /* U+10FFFF, the last code point */
    CHECK(ENC("a\x7fz", "a\x7fz"));                     /* DEL stays */
    CHECK(ENC("...", "..."));
    CHECK(ENC(".hidden", ".hidden"));
    CHECK(ENC("a.", "a."));
    CHECK(ENC("\xef\xbc\x8f", "\xef\xbc\x8f")); /* an existing U+FF0F stays */
    CHECK(ENC("", ""));

    /* '/', dots, controls */
    CHECK(ENC("/", "\xef\xbc\x8f"));
    CHECK(ENC("a/z/", "a\xef\xbc\x8fz\xef\xbc\x8f"));
    CHECK(ENC(".", "\xef\xbc\x8e"));
    CHECK(ENC("..", "\xef\xbc\x8e\xef\xbc\x8e"));
    CHECK(ENC("a\0z", "a\xe2\x90\x80z"));
    CHECK(ENC("\0", "\xe2\x90\x80"));
    CHECK(ENC("line\n", "line\xe2\x90\x8a"));
    CHECK(ENC("\t\r", "\xe2\x90\x89\xe2\x90\x8d"));
    CHECK(ENC("\x1f", "\xe2\x90\x9f"));

    /* invalid UTF-8: one U+FFFD per bad byte */
    CHECK(ENC("\xff", FFFD));
    CHECK(ENC("a\xfez", "a" FFFD "z"));
    CHECK(ENC("\xc0\x80", FFFD FFFD));          /* overlong NUL */
    CHECK(ENC("\xc1\xbf", FFFD FFFD));          /* overlong 2-byte */
    CHECK(ENC("\xe0\x80\xaf", FFFD FFFD FFFD)); /* overlong '/' */
    CHECK(ENC("\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD));
    CHECK(ENC("\xe2\x82", FFFD FFFD)); /* truncated euro sign */
    CHECK(ENC("x\xe2\x82", "x" FFFD FFFD));
    CHECK(ENC("\xe2\x82x", FFFD FFFD "x"));
    CHECK(ENC("\xe2\x82\xac", "\xe2\x82\xac")); /* the whole euro sign */
    CHECK(ENC("\xf0\x9f\x98", FFFD FFFD FFFD));
    CHECK(ENC("\xed\xa0\x80", FFFD FFFD FFFD));          /* surrogate D800 */
    CHECK(ENC("\xed\x9f\xbf", "\xed\x9f\xbf"));          /* U+D7FF is fine */
    CHECK(ENC("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD)); /* U+110000 */
    CHECK(ENC("\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD));
    CHECK(ENC("\x80", FFFD));
    CHECK(ENC("\xc3", FFFD));
    CHECK(ENC("\xc3/", FFFD "\xef\xbc\x8f"));

    /* names_with_id */
    char *s = names_with_id("abc", "42");
    CHECK_STR(s, "abc (42)");
    free(s);
    s = names_with_id("x", "a/z");
    CHECK_STR(s, "x (a\xef\xbc\x8fz)");
    free(s);
    s = names_with_id("x", "..");
    CHECK_STR(s, "x (\xef\xbc\x8e\xef\xbc\x8e)");
    free(s);
    s = names_with_id("x", "id\n\xff");
    CHECK_STR(s, "x (id\xe2\x90\x8a" FFFD ")");
    free(s);
    s = names_with_id("", "7");
    CHECK_STR(s, " (7)");
    free(s);

    /* an id too long for any name: the result is still cut to 255 at a boundary */
    char *longid = repeat("\xe2\x82\xac", 100); /* 300 bytes */
    s = names_with_id("name", longid);
    CHECK(s && strlen(s) <= NAMES_MAX && strlen(s) >= NAMES_MAX - 3);
    CHECK(s && strncmp(s, " (\xe2\x82\xac", 5) == 0);
    CHECK(s && names_is_safe(s));
    free(s);

    /* names_base: empty or missing names become the id */
    s = names_base("", 0, true, "123");
    CHECK_STR(s, "123");
    free(s);
    s = names_base(NULL, 0, false, "123");
    CHECK_STR(s, "123");
    free(s);
    s = names_base("ignored", 7, false, "123");
    CHECK_STR(s, "123");
    free(s);
    s = names_base("", 0, true, "a/z");
    CHECK_STR(s, "a\xef\xbc\x8fz");
    free(s);
    s = names_base("", 0, true, ".");
    CHECK_STR(s, "\xef\xbc\x8e");
    free(s);
    s = names_base("", 0, true, longid);
    CHECK(s && strlen(s) == 255 && names_is_safe(s));
    free(s);
    free(longid);

    /* names_base: short names are just encoded */
    s = names_base("My notes", 8, true, "1");
    CHECK_STR(s, "My notes");
    free(s);
    s = names_base("a/z", 3, true, "1");
    CHECK_STR(s, "a\xef\xbc\x8fz");
    free(s);
    s = names_base("..", 2, true, "1");
    CHECK_STR(s, "\xef\xbc\x8e\xef\xbc\x8e");
    free(s);
    s = names_base("a\0z", 3, true, "1");
    CHECK_STR(s, "a\xe2\x90\x80z");
    free(s);

    /* names_base: 255 bytes fit, 256 get cut with the id */
    char *n255 = repeat("a", 255);
    s = names_base(n255, 255, true, "9");
    CHECK_STR(s, n255);
    free(s);
    free(n255);
    check_cut("a", 256, "9", "9", 255);
    check_cut("a", 300, "123", "123", 255);               /* 249 a's + " (123)" */
    check_cut("\xc3\xa9", 150, "123", "123", 254);        /* 124 two-byte chars + 6 */
    check_cut("\xe2\x82\xac", 100, "123", "123", 255);    /* 83 three-byte chars + 6 */
    check_cut("\xf0\x9f\x98\x80", 75, "123", "123", 254); /* 62 emoji + 6 */
    check_cut("/", 100, "7", "7", 253);                   /* encoding makes it 300 bytes */
    check_cut("a", 300, "x/y", "x\xef\xbc\x8fy", 255);
    check_cut("b", 300, "5f8d0d55b54764421b7156c3", "5f8d0d55b54764421b7156c3", 255);

    /* names_older: created time first, missing times last */
    CHECK(before(key("2", true, 100, 0), key("1", true, 200, 0)));
    CHECK(before(key("2", true, 100, 1), key("1", true, 100, 2)));
    CHECK(before(key("9", true, -5, 0), key("1", true, 0, 0)));
    CHECK(before(key("z", true, 999999, 0), key("a", false, 0, 0)));
    CHECK(before(key("z", true, 999999, 0), key("a", false, 1, 0)));
    /* ties and missing times: smallest id, numeric ids by value */
    CHECK(before(key("a", true, 5, 0), key("b", true, 5, 0)));
    CHECK(before(key("a", false, 0, 0), key("b", false, 0, 0)));
    CHECK(before(key("9", false, 0, 0), key("10", false, 0, 0)));
    CHECK(before(key("-5", false, 0, 0), key("3", false, 0, 0)));
    CHECK(before(key("-10", false, 0, 0), key("-9", false, 0, 0)));
    CHECK(before(key("-1", false, 0, 0), key("0", false, 0, 0)));
    CHECK(before(key("0", false, 0, 0), key("00001", false, 0, 0)));
    CHECK(before(key("99999999999999999999", false, 0, 0),
                 key("123456789012345678901234567890", false, 0, 0)));
    CHECK(before(key("-123456789012345678901234567890", false, 0, 0),
                 key("-99999999999999999999", false, 0, 0)));
    /* equal values still get a fixed order; -0 is 0 */
    CHECK(names_older(&(struct names_key){.id = "007"}, &(struct names_key){.id = "7"}) != 0);
    CHECK(names_older(&(struct names_key){.id = "-0"}, &(struct names_key){.id = "0"}) != 0);
    CHECK(before(key("-0", false, 0, 0), key("1", false, 0, 0)));
    CHECK(before(key("-1", false, 0, 0), key("-0", false, 0, 0)));
    /* not numbers: bytewise */
    CHECK(before(key("10", false, 0, 0), key("9a", false, 0, 0)));
    CHECK(before(key("-", false, 0, 0), key("1", false, 0, 0)));
    CHECK(before(key("abc", false, 0, 0), key("abd", false, 0, 0)));
    CHECK(before(key("", false, 0, 0), key("0", false, 0, 0)));
    CHECK(names_older(&(struct names_key){.id = "x"}, &(struct names_key){.id = "x"}) == 0);
    struct names_key k1 = key("12", true, 7, 7), k2 = key("12", true, 7, 7);
    CHECK(names_older(&k1, &k2) == 0);

    /* names_is_safe */
    CHECK(names_is_safe("honcho"));
    CHECK(names_is_safe("my assets"));
    CHECK(names_is_safe("caf\xc3\xa9 \xf0\x9f\x98\x80"));
    CHECK(names_is_safe("..."));
    CHECK(names_is_safe(".hidden"));
    CHECK(!names_is_safe(""));
    CHECK(!names_is_safe("."));
    CHECK(!names_is_safe(".."));
    CHECK(!names_is_safe("a/b"));
    CHECK(!names_is_safe("/"));
    CHECK(!names_is_safe("a\nb"));
    CHECK(!names_is_safe("a\x1f"));
    CHECK(!names_is_safe("a\x7f"));
    CHECK(!names_is_safe("\xff"));
    CHECK(!names_is_safe("\xc0\x80"));
    CHECK(!names_is_safe("\xe2\x82"));
    CHECK(!names_is_safe("\xed\xa0\x80"));
    char *n = repeat("a", 255);
    CHECK(names_is_safe(n));
    free(n);
    n = repeat("a", 256);
    CHECK(!names_is_safe(n));
    free(n);

    return check_done();
}
