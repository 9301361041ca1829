/* Lines written in pieces (libfuse's way, fuse_set_log_func): logged whole at
 * their newline, each thread's apart, a line too long for the buffer cut where
 * it fills (what follows starts the next line). What stderr receives is read
 * back from a file. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

static FILE *out;

static void piece(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vpiece(level, fmt, ap);
    va_end(ap);
}

/* What was logged since the last call, without each line's time: "level: text\n"...
 * Valid until the next call. */
static const char *logged(void)
{
    static long from;
    static char *last;
    fflush(stderr);
    long end = (long)lseek(fileno(out), 0, SEEK_END);
    char *raw = calloc(1, (size_t)(end - from) + 1), *text = calloc(1, (size_t)(end - from) + 1);
    if (pread(fileno(out), raw, (size_t)(end - from), from) != end - from)
        raw[0] = '\0';
    from = end;
    size_t o = 0;
    for (char *line = raw, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        /* "collectionsfs HH:MM:SS.mmm level: text": from the level on */
        char *at = strchr(line, ' ');
        at = at && at < nl ? strchr(at + 1, ' ') : NULL;
        at = at && at < nl ? at + 1 : line;
        memcpy(text + o, at, (size_t)(nl + 1 - at));
        o += (size_t)(nl + 1 - at);
    }
    free(raw);
    free(last);
    return last = text;
}

static void whole_lines(void)
{
    piece(LOG_ERR, "fuse: unknown option(s): `");
    piece(LOG_ERR, "%s", "-o ");
    piece(LOG_ERR, "%s'", "no_such");
    CHECK_STR(logged(), ""); /* nothing before the newline */
    piece(LOG_ERR, "\n");
    CHECK_STR(logged(), "error: fuse: unknown option(s): `-o no_such'\n");
    piece(LOG_DEBUG, "unique: %d, opcode: %s\n", 2, "INIT (26)");
    CHECK_STR(logged(), "debug: unique: 2, opcode: INIT (26)\n");
    /* an empty piece is no line */
    piece(LOG_INFO, "%s", "");
    CHECK_STR(logged(), "");
}

static void long_line(void)
{
    char chunk[101], want[4096];
    memset(chunk, 'x', 100);
    chunk[100] = '\0';
    for (int i = 0; i < 30; i++) /* 3,000 bytes, no newline */
        piece(LOG_WARNING, "%s", chunk);
    piece(LOG_WARNING, "end\n");
    /* cut at 1,023 bytes twice, in the 11th and the 22nd piece; the last line
     * holds the last 8 pieces and the end */
    char cut[1024] = {0}, rest[801] = {0};
    memset(cut, 'x', 1023);
    memset(rest, 'x', 800);
    snprintf(want, sizeof(want), "warning: %s\nwarning: %s\nwarning: %send\n", cut, cut, rest);
    CHECK_STR(logged(), want);
}

static pthread_barrier_t turn;

static void *other(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&turn); /* the main thread has begun its line */
    piece(LOG_INFO, "theirs ");
    piece(LOG_INFO, "whole\n");
    pthread_barrier_wait(&turn);
    return NULL;
}

static void threads(void)
{
    pthread_t t;
    pthread_barrier_init(&turn, NULL, 2);
    CHECK(pthread_create(&t, NULL, other, NULL) == 0);
    piece(LOG_INFO, "mine ");
    pthread_barrier_wait(&turn);
    pthread_barrier_wait(&turn); /* the other thread's line is out */
    piece(LOG_INFO, "whole\n");
    pthread_join(t, NULL);
    pthread_barrier_destroy(&turn);
    CHECK_STR(logged(), "info: theirs whole\ninfo: mine whole\n");
}

int main(void)
{
    out = tmpfile();
    if (!out || dup2(fileno(out), 2) < 0)
        return 1;
    setvbuf(stderr, NULL, _IONBF, 0);
    log_init(true, false);
    whole_lines();
    long_line();
    threads();
    free((char *)logged());
    return check_done();
}
