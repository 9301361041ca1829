/* Logging: one line per event, to stderr or syslog. Lines are short and carry the
 * section and URL path where relevant; see log.h for the no-secrets rule. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

static bool to_stderr = true;
static bool to_journal; /* stderr is a journald stream: lines carry their level as <N> */
static bool debug_on;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it gave the
 * service as stdout/stderr; journald files every line of it at the unit's
 * SyslogLevel (info) unless the line starts with a "<N>" level (sd-daemon(3)). */
static bool stderr_is_journal(void)
{
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    return e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
           (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(bool foreground, bool debug)
{
    to_stderr = foreground;
    to_journal = foreground && stderr_is_journal();
    debug_on = debug;
    if (!foreground)
        openlog("collectionsfs", LOG_PID, LOG_DAEMON);
}

bool log_debug_enabled(void)
{
    return debug_on;
}

/* One line, formatted already, to syslog or stderr. */
static void put(int level, const char *line)
{
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
    if (to_journal)
        fprintf(stderr, "<%d>", level & 7);
    fprintf(stderr, "collectionsfs %02d:%02d:%02d.%03ld %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, names[level & 7], line);
    pthread_mutex_unlock(&out_lock);
}

void log_msg(int level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    put(level, line);
}

/* libfuse writes some lines in pieces ("unknown option(s): `", "-o ", ...): each
 * thread gathers its own until the newline, or until the line is too long. */
static _Thread_local char piece[1024];
static _Thread_local size_t piece_len;

void log_vpiece(int level, const char *fmt, va_list ap)
{
    int n = vsnprintf(piece + piece_len, sizeof(piece) - piece_len, fmt, ap);
    if (n < 0)
        return;
    piece_len = piece_len + (size_t)n < sizeof(piece) ? piece_len + (size_t)n : sizeof(piece) - 1;
    bool end = piece_len > 0 && piece[piece_len - 1] == '\n';
    if (!end && piece_len < sizeof(piece) - 1)
        return;
    piece[piece_len - end] = '\0';
    piece_len = 0;
    put(level, piece);
}

void log_fail(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%scollectionsfs: %s\n", to_journal ? "<3>" : "", line);
}
