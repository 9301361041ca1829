/* isotime_parse: the timestamp shapes providers send, dates before 1970, leap
 * years and seconds, zones, and input that must be refused. Every string is
 * copied into a buffer of exactly its length, so ASan catches any read past len. */
#include "isotime.h"

#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *s, struct timespec *ts)
{
    size_t len = strlen(s);
    char *buf = malloc(len ? len : 1);
    memcpy(buf, s, len);
    ts->tv_sec = 12345;
    ts->tv_nsec = 678;
    int rc = isotime_parse(buf, len, ts);
    free(buf);
    return rc;
}

static int at(const char *s, time_t sec, long nsec)
{
    struct timespec ts;
    int rc = parse(s, &ts);
    int ok = rc == 0 && ts.tv_sec == sec && ts.tv_nsec == nsec;
    if (!ok)
        printf("# %s: rc %d, got {%lld, %ld}, want {%lld, %ld}\n", s, rc, (long long)ts.tv_sec,
               ts.tv_nsec, (long long)sec, nsec);
    return ok;
}

static int bad(const char *s)
{
    struct timespec ts;
    int rc = parse(s, &ts);
    if (rc != -EINVAL)
        printf("# %s: rc %d, want -EINVAL\n", s, rc);
    return rc == -EINVAL;
}

int main(void)
{
    /* what the providers send */
    CHECK(at("2025-03-01T12:00:00Z", 1740830400, 0));
    CHECK(at("2025-03-01T12:00:00.123400Z", 1740830400, 123400000));
    CHECK(at("2025-03-01T14:00:00+02:00", 1740830400, 0));
    CHECK(at("2020-03-02T10:05:01.000000Z", 1583143501, 0));
    CHECK(at("2023-02-03T11:19:41.579Z", 1675423181, 579000000));

    /* before 1970 and at the ends of the range */
    CHECK(at("1969-07-20T20:17:40Z", -14182940, 0));
    CHECK(at("1900-01-01T00:00:00Z", -2208988800LL, 0));
    CHECK(at("0001-01-01T00:00:00Z", -62135596800LL, 0));
    CHECK(at("0000-01-01T00:00:00Z", -62167219200LL, 0));
    CHECK(at("9999-12-31T23:59:59Z", 253402300799LL, 0));
    CHECK(at("1970-01-01T00:00:00Z", 0, 0));
    CHECK(at("1969-12-31T23:59:59.5Z", -1, 500000000));
    CHECK(at("1969-12-31T23:59:59.999999999Z", -1, 999999999));

    /* leap years and leap seconds */
    CHECK(at("2024-02-29T00:00:00Z", 1709164800, 0));
    CHECK(at("2000-02-29", 951782400, 0));
    CHECK(bad("2023-02-29T00:00:00Z"));
    CHECK(bad("1900-02-29"));
    CHECK(at("2016-12-31T23:59:60Z", 1483228800, 0));

    /* optional parts and spellings */
    CHECK(at("2025-03-01", 1740787200, 0));
    CHECK(at("2025-03-01T12:00", 1740830400, 0));
    CHECK(at("2025-03-01T12:00:00", 1740830400, 0));
    CHECK(at("2025-03-01 12:00:00Z", 1740830400, 0));
    CHECK(at("2025-03-01t12:00:00z", 1740830400, 0));
    CHECK(at("2025-03-01T14:00:00+0200", 1740830400, 0));
    CHECK(at("2025-03-01T14:00:00+02", 1740830400, 0));
    CHECK(at("2025-03-01T12:00:00-05:30", 1740850200, 0));
    CHECK(at("2025-03-01T12:00Z", 1740830400, 0));
    CHECK(at("2025-03-01T12:00:00.5Z", 1740830400, 500000000));
    CHECK(at("2025-03-01T12:00:00.1234567891Z", 1740830400, 123456789)); /* truncated */
    CHECK(at("2025-03-01T12:00:00.123456789999999+00:00", 1740830400, 123456789));

    /* out of range */
    CHECK(bad("2025-00-01"));
    CHECK(bad("2025-13-01"));
    CHECK(bad("2025-01-00"));
    CHECK(bad("2025-01-32"));
    CHECK(bad("2025-04-31"));
    CHECK(bad("2025-03-01T24:00:00Z"));
    CHECK(bad("2025-03-01T12:60:00Z"));
    CHECK(bad("2025-03-01T12:00:61Z"));
    CHECK(bad("2025-03-01T12:00:00+24:00"));
    CHECK(bad("2025-03-01T12:00:00+02:60"));

    /* garbage */
    CHECK(bad(""));
    CHECK(bad("garbage"));
    CHECK(bad("2025"));
    CHECK(bad("2025-3-01"));
    CHECK(bad("25-03-01"));
    CHECK(bad("+2025-03-01"));
    CHECK(bad("2025/03/01"));
    CHECK(bad("2025-03-01T"));
    CHECK(bad("2025-03-01T12"));
    CHECK(bad("2025-03-01T12:0"));
    CHECK(bad("2025-03-01T1:00:00Z"));
    CHECK(bad("2025-03-01T12:00:00."));
    CHECK(bad("2025-03-01T12:00:00.Z"));
    CHECK(bad("2025-03-01T12:00:00,5Z"));
    CHECK(bad("2025-03-01T12:00:00Zjunk"));
    CHECK(bad("2025-03-01T12:00:00Z "));
    CHECK(bad("2025-03-01T12:00:00+"));
    CHECK(bad("2025-03-01T12:00:00+2"));
    CHECK(bad("2025-03-01T12:00:00+02:"));
    CHECK(bad("2025-03-01T12:00:00+02:0"));
    CHECK(bad("2025-03-01T12:00:00+020"));
    CHECK(bad("2025-03-01T12:00:00+02:00:00"));
    CHECK(bad("2025-03-01T12:00:00 Z"));
    CHECK(bad("2025-03-01Z"));
    CHECK(bad("2025-03-01X12:00:00Z"));
    CHECK(bad("2025-03-01T-1:00:00Z"));

    /* the slice ends at len: what follows does not count, a NUL inside does */
    struct timespec ts;
    const char *longer = "2025-03-01T12:00:00Zgarbage";
    CHECK(isotime_parse(longer, 20, &ts) == 0 && ts.tv_sec == 1740830400);
    CHECK(isotime_parse(longer, 10, &ts) == 0 && ts.tv_sec == 1740787200);
    CHECK(isotime_parse(longer, 13, &ts) == -EINVAL);
    CHECK(isotime_parse("2025-03-01\0T12:00Z", 17, &ts) == -EINVAL);
    CHECK(isotime_parse("", 0, &ts) == -EINVAL);

    return check_done();
}
