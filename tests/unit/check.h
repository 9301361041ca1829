/* A minimal TAP producer for the C unit tests: every CHECK is one "ok"/"not ok"
 * line, so tests/run and meson (protocol: tap) count them the same way. */
#ifndef CFS_CHECK_H
#define CFS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_count, check_failed;

static inline int check_report(int ok, const char *file, int line, const char *what)
{
    check_count++;
    if (!ok)
        check_failed++;
    printf("%sok %d - %s:%d %s\n", ok ? "" : "not ", check_count, file, line, what);
    fflush(stdout);
    return ok;
}

#define CHECK(cond) check_report(!!(cond), __FILE__, __LINE__, #cond)
/* Compare byte strings, printing both on mismatch. */
#define CHECK_STR(got, want)                                                                       \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (!check_report(g_ && strcmp(g_, w_) == 0, __FILE__, __LINE__, #got " == " #want))       \
            printf("# got:  [%s]\n# want: [%s]\n", g_ ? g_ : "(null)", w_);                        \
    } while (0)

static inline int check_done(void)
{
    printf("1..%d\n", check_count);
    return check_failed ? 1 : 0;
}

#endif
