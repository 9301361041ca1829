/* Stand-in for src/log.c in the fuzz builds. Providers log a line for every
 * malformed page, which is most of what a fuzzer feeds them; writing those to
 * stderr would slow the fuzzer down and bury its own output. The message is
 * still formatted (into a bounded buffer, as log.c does), so a bad format
 * argument still reaches the sanitizers. CFS_FUZZ_LOG=1 prints the lines. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static int print_lines = -1;

void log_init(bool foreground, bool debug)
{
    (void)foreground;
    (void)debug;
}

bool log_debug_enabled(void)
{
    return true; /* format the debug lines too */
}

void log_msg(int level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (print_lines < 0) {
        const char *e = getenv("CFS_FUZZ_LOG");
        print_lines = e && *e == '1';
    }
    if (print_lines)
        fprintf(stderr, "log[%d]: %s\n", level, line);
}
