/* libFuzzer target: isotime_parse on arbitrary bytes (a JSON string slice, not
 * NUL-terminated: the fuzzer's buffer ends exactly at len, so any read past it
 * is an ASan report). When it accepts, the result must be sane (nanoseconds in
 * range, years 0000-9999 give seconds in that span), and for the plain forms
 * "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS" and the same with "Z" it must agree with
 * the C library's gmtime_r, an independent implementation of the calendar. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fuzz_util.h"
#include "isotime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0000-01-01T00:00:00Z minus the largest offset, 9999-12-31T23:59:60Z plus it */
#define MIN_SEC (-62167219200LL - 24 * 3600)
#define MAX_SEC (253402300800LL + 24 * 3600)

static bool plain_form(const char *s, size_t n)
{
    static const char date[] = "dddd-dd-dd", full[] = "dddd-dd-ddTdd:dd:dd";
    size_t want = n == 10 ? 10 : (n == 19 || (n == 20 && s[19] == 'Z')) ? 19 : 0;
    if (!want)
        return false;
    const char *pat = want == 10 ? date : full;
    for (size_t i = 0; i < want; i++)
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct timespec t = {-1, -1};
    if (isotime_parse(s, size, &t) != 0)
        return 0;
    FUZZ_ASSERT(t.tv_nsec >= 0 && t.tv_nsec < 1000000000L, s, size);
    FUZZ_ASSERT((long long)t.tv_sec >= MIN_SEC && (long long)t.tv_sec <= MAX_SEC, s, size);
    if (plain_form(s, size) && !(size >= 19 && s[17] == '6' && s[18] == '0')) {
        struct tm tm;
        char back[32];
        time_t sec = t.tv_sec;
        FUZZ_ASSERT(t.tv_nsec == 0, s, size);
        FUZZ_ASSERT(gmtime_r(&sec, &tm) != NULL, s, size);
        size_t n = strftime(back, sizeof(back), size == 10 ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%S", &tm);
        /* glibc writes years below 1000 without leading zeros; pad to compare */
        char want[32];
        if (tm.tm_year + 1900 < 1000) {
            snprintf(want, sizeof(want), "%04d%s", tm.tm_year + 1900, strchr(back, '-'));
            n = strlen(want);
            memcpy(back, want, n + 1);
        }
        size_t cmp = size == 10 ? 10 : 19;
        FUZZ_ASSERT(n == cmp && memcmp(back, s, cmp) == 0, back, n);
    }
    return 0;
}
