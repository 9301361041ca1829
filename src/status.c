/* Status line and table; see status.h. */
#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "clock.h"
#include "xattr.h"

static const char *when(time_t sec, char *buf, size_t size)
{
    struct timespec t = {sec, 0};
    if (!sec)
        return "-";
    xattr_time(&t, buf, size);
    return buf;
}

void status_line(const char *section, const struct cache_status *st, char *buf, size_t size)
{
    char fetched[40], refreshed[40], paused[40];
    char state[256] = "nothing listed yet";
    if (st->fetched_at)
        snprintf(state, sizeof(state), "%zu collections at %s, %s, %s, from %s%s", st->count,
                 when(st->fetched_at, fetched, sizeof(fetched)),
                 st->complete ? "complete" : "incomplete", st->stale ? "stale" : "fresh",
                 st->from_fleet ? "the fleet, fetched by " : "the provider",
                 st->from_fleet ? st->fetched_by : "");
    snprintf(
        buf, size,
        "[%s] status: %s (stale %lld s); requests %" PRIu64 ", errors %" PRIu64 ", retries %" PRIu64
        ", cache hits %" PRIu64 "; last refresh %s (%lld ms); paused until %s; last error: %s",
        section, state, st->stale, st->requests, st->errors, st->retries, st->cache_hits,
        when(st->refreshed_at, refreshed, sizeof(refreshed)), st->refresh_ms,
        when(st->paused_until, paused, sizeof(paused)), st->last_error[0] ? st->last_error : "-");
}

/* One attribute of path as a string ("" when absent); false on another error (errno set). */
static bool attr(const char *path, const char *name, char *buf, size_t size)
{
    ssize_t n = getxattr(path, name, buf, size - 1);
    if (n < 0) {
        buf[0] = '\0';
        return errno == ENODATA;
    }
    buf[n] = '\0';
    return true;
}

/* The columns: attribute name and heading. */
static const struct {
    const char *name, *head;
} cols[] = {
    {"provider", "PROVIDER"},     {"type", "TYPE"},
    {"count", "COUNT"},           {"complete", "COMPLETE"},
    {"stale", "STALE_S"},         {"fetched_at", "FETCHED_AT"},
    {"source", "SOURCE"},         {"requests", "REQUESTS"},
    {"errors", "ERRORS"},         {"retries", "RETRIES"},
    {"cache_hits", "CACHE_HITS"}, {"refreshed_at", "REFRESHED_AT"},
    {"refresh_ms", "REFRESH_MS"}, {"paused_until", "PAUSED_UNTIL"},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))
#define CELL 64

struct row {
    char cell[NCOLS][CELL];
    char last_error[512];
};

/* Fill a row from a provider's "name=value" lines (the root's XATTR_STATUS copy). */
static void parse_row(char *text, struct row *r)
{
    for (size_t c = 0; c < NCOLS; c++)
        snprintf(r->cell[c], CELL, "-");
    r->last_error[0] = '\0';
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (strcmp(line, "last_error") == 0)
            snprintf(r->last_error, sizeof(r->last_error), "%s", eq + 1);
        for (size_t c = 0; c < NCOLS; c++)
            if (strcmp(line, cols[c].name) == 0 && eq[1])
                snprintf(r->cell[c], CELL, "%s", eq + 1);
    }
}

static void print_table(FILE *out, const struct row *rows, size_t n)
{
    size_t width[NCOLS];
    for (size_t c = 0; c < NCOLS; c++) {
        width[c] = strlen(cols[c].head);
        for (size_t i = 0; i < n; i++)
            if (strlen(rows[i].cell[c]) > width[c])
                width[c] = strlen(rows[i].cell[c]);
    }
    for (size_t i = 0; i <= n; i++)
        for (size_t c = 0; c < NCOLS; c++)
            fprintf(out, "%-*s%s", c + 1 < NCOLS ? (int)width[c] : 0,
                    i ? rows[i - 1].cell[c] : cols[c].head, c + 1 < NCOLS ? "  " : "\n");
    for (size_t i = 0; i < n; i++)
        if (rows[i].last_error[0])
            fprintf(out, "%s: last error: %s\n", rows[i].cell[0], rows[i].last_error);
}

/* Everything comes from the root's attributes: any access to a provider
 * directory past its ttl makes the kernel ask for the directory's attributes
 * first (a permission check), and that answer waits for a refresh. */
static int status_read(const char *path, FILE *out, FILE *err)
{
    char v[512];
    if (!attr(path, XATTR_PREFIX "version", v, sizeof(v)) || !v[0]) {
        int e = errno;
        if (e == ENOTSUP)
            fprintf(err,
                    "collectionsfs: %s has no extended attributes: it is not a collectionsfs "
                    "mount, or one mounted with xattrs = no (then kill -USR1 its daemon for the "
                    "status in its log)\n",
                    path);
        else
            fprintf(err,
                    "collectionsfs: %s is not a collectionsfs mount (%s); give the mount point "
                    "itself\n",
                    path,
                    e == ENOTCONN ? "its daemon is gone: unmount it with fusermount3 -u"
                    : !v[0] && (e == ENODATA || e == 0) ? "no user.collectionsfs.version attribute"
                                                        : strerror(e));
        return 1;
    }
    char reload[512];
    attr(path, XATTR_PREFIX "reload_error", reload, sizeof(reload));
    ssize_t len = listxattr(path, NULL, 0);
    char *names = len > 0 ? malloc((size_t)len) : NULL;
    if (len > 0 && names)
        len = listxattr(path, names, (size_t)len);
    if (len < 0 || !names) {
        fprintf(err, "collectionsfs: cannot list the attributes of %s: %s\n", path,
                strerror(len < 0 ? errno : ENOMEM));
        free(names);
        return 1;
    }
    struct row *rows = NULL;
    size_t n = 0;
    int rc = 0;
    char *text = malloc(65536);
    for (char *name = names; text && name < names + len; name += strlen(name) + 1) {
        if (strncmp(name, XATTR_STATUS, strlen(XATTR_STATUS)) != 0)
            continue;
        struct row *r = realloc(rows, (n + 1) * sizeof(*rows));
        if (!r)
            break;
        rows = r;
        if (!attr(path, name, text, 65536)) {
            fprintf(err, "collectionsfs: cannot read %s of %s: %s\n", name, path, strerror(errno));
            rc = 1;
            continue;
        }
        parse_row(text, &rows[n++]);
    }
    if (!text)
        rc = 1, fprintf(err, "collectionsfs: out of memory\n");
    fprintf(out, "collectionsfs %s at %s\n", v, path);
    if (reload[0])
        fprintf(out, "reload error: %s\n", reload);
    print_table(out, rows, n);
    free(text);
    free(rows);
    free(names);
    return rc;
}

/* The reads run in a thread of their own, their output kept aside until they
 * end: a daemon that is stopped or hung (or a foreign mount whose server is)
 * never answers a getxattr, and the reader would wait in the kernel for ever. */
struct bounded {
    const char *path;
    char *out, *err;
    size_t out_len, err_len;
    int rc;
    bool done;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

static void *bounded_read(void *arg)
{
    struct bounded *b = arg;
    FILE *out = open_memstream(&b->out, &b->out_len);
    FILE *err = open_memstream(&b->err, &b->err_len);
    int rc = out && err ? status_read(b->path, out, err) : -1;
    if (out)
        fclose(out);
    if (err)
        fclose(err);
    pthread_mutex_lock(&b->lock);
    b->rc = rc;
    b->done = true;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

int status_print(const char *path, FILE *out, FILE *err, unsigned timeout_ms)
{
    /* on the heap: after a timeout the reader may still end and write into it */
    struct bounded *b = calloc(1, sizeof(*b));
    if (!b) {
        fprintf(err, "collectionsfs: out of memory\n");
        return 1;
    }
    b->path = path;
    pthread_mutex_init(&b->lock, NULL);
    clock_cond_init(&b->cond);
    pthread_t t;
    if (pthread_create(&t, NULL, bounded_read, b) != 0) {
        fprintf(err, "collectionsfs: cannot start a thread to read the status of %s\n", path);
        free(b);
        return 1;
    }
    struct timespec now = clock_now(), deadline = clock_after(&now, timeout_ms);
    pthread_mutex_lock(&b->lock);
    while (!b->done && pthread_cond_timedwait(&b->cond, &b->lock, &deadline) != ETIMEDOUT)
        ;
    bool done = b->done;
    pthread_mutex_unlock(&b->lock);
    if (!done) {
        fprintf(err,
                "collectionsfs: %s did not answer within %u s: its daemon is stopped or hung, "
                "or it is not a collectionsfs mount and its server does not answer; see HANGS "
                "AND FAILURES in collectionsfs(1) to abort and unmount it\n",
                path, timeout_ms / 1000);
        return -ETIMEDOUT;
    }
    pthread_join(t, NULL);
    int rc = b->rc;
    if (rc < 0) {
        fprintf(err, "collectionsfs: out of memory\n");
    } else {
        fwrite(b->out, 1, b->out_len, out);
        fwrite(b->err, 1, b->err_len, err);
    }
    free(b->out);
    free(b->err);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->cond);
    free(b);
    return rc ? 1 : 0;
}
