/* ISO-8601 / RFC 3339 timestamps as providers send them, turned into UTC
 * timespecs. Done by hand rather than with strptime/timegm: those depend on the
 * locale and TZ, and timegm is not standard. The input is a length-counted
 * slice of a JSON string, never read past len. */
#include "isotime.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

struct cursor {
    const char *s;
    size_t len, pos;
};

/* Read exactly n digits as a number; false when fewer are there. */
static bool digits(struct cursor *c, int n, int *out)
{
    int v = 0;
    if (c->len - c->pos < (size_t)n)
        return false;
    for (int i = 0; i < n; i++) {
        char ch = c->s[c->pos + i];
        if (ch < '0' || ch > '9')
            return false;
        v = v * 10 + (ch - '0');
    }
    c->pos += (size_t)n;
    *out = v;
    return true;
}

static bool accept(struct cursor *c, char ch)
{
    if (c->pos < c->len && c->s[c->pos] == ch) {
        c->pos++;
        return true;
    }
    return false;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil): eras of 400 years make it exact for years before 1970. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "Z", "+hh:mm", "+hhmm" or "+hh"; *offset in seconds east of UTC. */
static bool zone(struct cursor *c, int *offset)
{
    int sign, hh, mm = 0;

    if (accept(c, 'Z') || accept(c, 'z')) {
        *offset = 0;
        return true;
    }
    if (accept(c, '+'))
        sign = 1;
    else if (accept(c, '-'))
        sign = -1;
    else
        return false;
    if (!digits(c, 2, &hh) || hh > 23)
        return false;
    if (accept(c, ':')) {
        if (!digits(c, 2, &mm))
            return false;
    } else if (c->pos < c->len && !digits(c, 2, &mm)) {
        return false;
    }
    if (mm > 59)
        return false;
    *offset = sign * (hh * 3600 + mm * 60);
    return true;
}

int isotime_parse(const char *s, size_t len, struct timespec *out)
{
    struct cursor c = {s, len, 0};
    int y, mo, d, h = 0, mi = 0, sec = 0, offset = 0;
    long nsec = 0;

    if (!digits(&c, 4, &y) || !accept(&c, '-') || !digits(&c, 2, &mo) || !accept(&c, '-') ||
        !digits(&c, 2, &d))
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -EINVAL;
    if (c.pos < len) {
        if (!accept(&c, 'T') && !accept(&c, 't') && !accept(&c, ' '))
            return -EINVAL;
        if (!digits(&c, 2, &h) || !accept(&c, ':') || !digits(&c, 2, &mi) || h > 23 || mi > 59)
            return -EINVAL;
        if (accept(&c, ':')) {
            /* 60 is a leap second; it simply runs into the next minute */
            if (!digits(&c, 2, &sec) || sec > 60)
                return -EINVAL;
            if (accept(&c, '.')) {
                size_t n = 0;
                for (; c.pos < len && s[c.pos] >= '0' && s[c.pos] <= '9'; c.pos++, n++)
                    if (n < 9)
                        nsec = nsec * 10 + (s[c.pos] - '0');
                if (n == 0)
                    return -EINVAL;
                for (; n < 9; n++)
                    nsec *= 10;
            }
        }
        if (c.pos < len && !zone(&c, &offset))
            return -EINVAL;
    }
    if (c.pos != len)
        return -EINVAL;
    out->tv_sec = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset);
    out->tv_nsec = nsec;
    return 0;
}
