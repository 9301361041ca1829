/* One logging entry point: stderr in the foreground, syslog in the background.
 * Callers never pass secrets; nothing here tries to scrub them after the fact. */
#ifndef CFS_LOG_H
#define CFS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

/** Route messages to stderr (foreground) or syslog; debug enables per-request lines. */
void log_init(bool foreground, bool debug);
/** True when -d / -o debug asked for one line per HTTP request. */
bool log_debug_enabled(void);
/** Log one line at a syslog level (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG). */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Add a piece of a line ending in a newline when it ends; the line is logged then. */
void log_vpiece(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/** Say why the daemon cannot start: "collectionsfs: MESSAGE" on stderr, at level error in the
 * journal when stderr is one. */
void log_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_debug_enabled())                                                                   \
            log_msg(LOG_DEBUG, __VA_ARGS__);                                                       \
    } while (0)

#endif
