/* Retry hints and how a pause's end is written: the bound every hint gets
 * (Retry-After and body hints alike), and the date shown when a pause ends on
 * another day. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "fetch.h"
#include "http.h"

static void hints(void)
{
    CHECK(http_hint_seconds(0) == 0);
    CHECK(http_hint_seconds(8) == 8);
    CHECK(http_hint_seconds(86399.5) == 86399.5);
    /* a pause of a day or more, or no number at all, is not believed */
    CHECK(http_hint_seconds(86400) == -1);
    CHECK(http_hint_seconds(31536000) == -1);
    CHECK(http_hint_seconds(9.3e15) == -1); /* past what milliseconds in a long long hold */
    CHECK(http_hint_seconds(INFINITY) == -1);
    CHECK(http_hint_seconds(NAN) == -1);
    CHECK(http_hint_seconds(-1) == -1);
}

static void when(void)
{
    char out[32];
    time_t now = 1704110400; /* 2024-01-01 12:00:00 UTC */
    fetch_when(now + 3600, now, out, sizeof(out));
    CHECK_STR(out, "13:00:00 UTC");
    fetch_when(now + 11 * 3600 + 59 * 60 + 59, now, out, sizeof(out));
    CHECK_STR(out, "23:59:59 UTC");
    /* past midnight the time alone would name a moment earlier than now */
    fetch_when(now + 12 * 3600, now, out, sizeof(out));
    CHECK_STR(out, "2024-01-02 00:00:00 UTC");
    fetch_when(now + 366 * 86400, now, out, sizeof(out));
    CHECK_STR(out, "2025-01-01 12:00:00 UTC");
    /* the same day of the year a year later is another day too */
    fetch_when(now + 364 * 86400, now - 86400, out, sizeof(out)); /* both day 364 of the year */
    CHECK_STR(out, "2024-12-30 12:00:00 UTC");
    char small[4] = "xyz";
    fetch_when(now, now, small, sizeof(small)); /* too small: empty, never cut or unterminated */
    CHECK_STR(small, "");
}

int main(void)
{
    hints();
    when();
    return check_done();
}
