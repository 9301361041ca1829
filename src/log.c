/* Logging: one line per event, to stderr or syslog. Lines are short and carry the
 * section and URL path where relevant; see log.h for the no-secrets rule. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static bool to_stderr = true;
static bool debug_on;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(bool foreground, bool debug)
{
    to_stderr = foreground;
    debug_on = debug;
    if (!foreground)
        openlog("collectionsfs", LOG_PID, LOG_DAEMON);
}

bool log_debug_enabled(void)
{
    return debug_on;
}

void log_msg(int level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (!to_stderr) {
        syslog(level, "%s", line);
        return;
    }
    static const char *const names[] = {"emerg",   "alert",  "crit", "error",
                                        "warning", "notice", "info", "debug"};
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    /* One fprintf per line under a lock so concurrent threads never interleave. */
    pthread_mutex_lock(&out_lock);
    fprintf(stderr, "collectionsfs %02d:%02d:%02d.%03ld %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, names[level & 7], line);
    pthread_mutex_unlock(&out_lock);
}
