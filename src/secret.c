/* Secrets given inline, by environment variable, file or command. Every buffer
 * that held a secret is zeroed before it is freed, and error messages name the
 * key, variable, file or exit status, never the value or the command's output. */
#include "secret.h"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SECRET_MAX (64 * 1024)  /* bytes read from a file or a command */
#define SECRET_TIMEOUT_MS 10000 /* a *_command gets this long, then is killed */

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

void secret_free(char *secret)
{
    if (!secret)
        return;
    explicit_bzero(secret, strlen(secret));
    free(secret);
}

/* The first line of buf without trailing blanks, malloc'd; NULL when empty or out of memory. */
static char *first_line(const char *buf, size_t n)
{
    const char *nl = memchr(buf, '\n', n);
    size_t len = nl ? (size_t)(nl - buf) : n;
    while (len && (buf[len - 1] == '\r' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        len--;
    return len ? strndup(buf, len) : NULL;
}

/* Read at most cap bytes of fd into buf; 0 or -errno. */
static int read_fd(int fd, char *buf, size_t cap, size_t *got)
{
    *got = 0;
    while (*got < cap) {
        ssize_t r = read(fd, buf + *got, cap - *got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Wait up to ms for fd to become readable: 1 ready, 0 timed out, -errno. */
static int wait_readable(int fd, long deadline)
{
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int r = poll(&pf, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 ? -errno : r;
    }
}

/* Run cmd with /bin/sh -c, stdin from /dev/null, collecting at most cap bytes of
 * its stdout within SECRET_TIMEOUT_MS. The command runs in its own process group
 * so that a timeout kills whatever the shell started too. 0 with *status from
 * waitpid, -ETIMEDOUT, or -errno. */
static int run_command(const char *cmd, char *buf, size_t cap, size_t *got, int *status)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return -e;
    }
    if (pid == 0) {
        /* only async-signal-safe calls between fork and exec */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setpgid(0, 0);
        int nul = open("/dev/null", O_RDONLY);
        if (nul < 0 || dup2(nul, 0) < 0 || dup2(fds[1], 1) < 0)
            _exit(126);
        if (fds[1] == 1)
            fcntl(1, F_SETFD, 0); /* dup2 onto itself keeps O_CLOEXEC */
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* also here, so the kill below cannot race the child's own call */
    close(fds[1]);

    long deadline = now_ms() + SECRET_TIMEOUT_MS;
    int rc = 0;
    char drain[512];
    *got = 0;
    for (;;) {
        rc = wait_readable(fds[0], deadline);
        if (rc <= 0) {
            rc = rc < 0 ? rc : -ETIMEDOUT;
            break;
        }
        /* past cap the rest is read and dropped, so a chatty command is not
         * killed by SIGPIPE; the deadline still bounds an endless one */
        ssize_t r =
            *got < cap ? read(fds[0], buf + *got, cap - *got) : read(fds[0], drain, sizeof(drain));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? -errno : 0;
            break;
        }
        if (*got < cap)
            *got += (size_t)r;
    }
    explicit_bzero(drain, sizeof(drain));
    close(fds[0]);

    /* Its output is closed, but it may still run: wait for the exit within the
     * same deadline through a pidfd. Without pidfd_open (Linux < 5.3) the wait
     * below blocks, which only a command that closes stdout and lingers notices. */
    int pidfd = -1;
#ifdef SYS_pidfd_open
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    if (rc == 0 && pidfd >= 0) {
        rc = wait_readable(pidfd, deadline);
        rc = rc < 0 ? rc : rc == 0 ? -ETIMEDOUT : 0;
    }
    if (pidfd >= 0)
        close(pidfd);
    if (rc < 0) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    return rc;
}

static const struct config_kv *find_kv(const struct config_section *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->kv[i].key, key) == 0)
            return &s->kv[i];
    return NULL;
}

static int from_file(const struct config_section *s, const struct config_kv *kv, char **out,
                     char *err, size_t errlen)
{
    const char *home = getenv("HOME");
    char *path = NULL;
    if (strncmp(kv->value, "~/", 2) == 0) {
        if (!home || !home[0])
            return fail(err, errlen, -EINVAL,
                        "config: [%s] (line %d): %s starts with ~/ but "
                        "HOME is not set; give an absolute path",
                        s->name, kv->line, kv->key);
        if (asprintf(&path, "%s/%s", home, kv->value + 2) < 0)
            return -ENOMEM;
    } else if (!(path = strdup(kv->value))) {
        return -ENOMEM;
    }
    int rc = 0;
    char *buf = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        rc = fail(err, errlen, -e, "config: [%s] (line %d): cannot read %s %s: %s", s->name,
                  kv->line, kv->key, path, strerror(e));
    } else if (!(buf = malloc(SECRET_MAX))) {
        rc = -ENOMEM;
    } else if ((rc = read_fd(fd, buf, SECRET_MAX, &got)) < 0) {
        fail(err, errlen, rc, "config: [%s] (line %d): cannot read %s %s: %s", s->name, kv->line,
             kv->key, path, strerror(-rc));
    } else if (!(*out = first_line(buf, got))) {
        rc = fail(err, errlen, -EINVAL, "config: [%s] (line %d): %s %s has an empty first line",
                  s->name, kv->line, kv->key, path);
    }
    if (fd >= 0)
        close(fd);
    if (buf)
        explicit_bzero(buf, got);
    free(buf);
    free(path);
    return rc;
}

static int from_command(const struct config_section *s, const struct config_kv *kv, char **out,
                        char *err, size_t errlen)
{
    char *buf = malloc(SECRET_MAX);
    size_t got = 0;
    int status = 0;
    if (!buf)
        return -ENOMEM;
    int rc = run_command(kv->value, buf, SECRET_MAX, &got, &status);
    if (rc == -ETIMEDOUT)
        fail(err, errlen, rc,
             "config: [%s] (line %d): %s did not finish within %d s and was killed", s->name,
             kv->line, kv->key, SECRET_TIMEOUT_MS / 1000);
    else if (rc < 0)
        fail(err, errlen, rc, "config: [%s] (line %d): cannot run %s: %s", s->name, kv->line,
             kv->key, strerror(-rc));
    else if (WIFSIGNALED(status))
        rc = fail(err, errlen, -EIO, "config: [%s] (line %d): %s failed (killed by signal %d)",
                  s->name, kv->line, kv->key, WTERMSIG(status));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = fail(err, errlen, -EIO, "config: [%s] (line %d): %s failed (exit status %d)", s->name,
                  kv->line, kv->key, WEXITSTATUS(status));
    else if (!(*out = first_line(buf, got)))
        rc = fail(err, errlen, -EINVAL, "config: [%s] (line %d): %s printed an empty first line",
                  s->name, kv->line, kv->key);
    explicit_bzero(buf, got);
    free(buf);
    return rc;
}

int secret_resolve(const struct config_section *s, const char *name, char **out, char *err,
                   size_t errlen)
{
    static const char *const forms[] = {"", "_env", "_file", "_command"};
    const struct config_kv *found[4], *kv = NULL;
    char keys[4][64];
    int nset = 0, which = 0;

    *out = NULL;
    for (int i = 0; i < 4; i++) {
        snprintf(keys[i], sizeof(keys[i]), "%s%s", name, forms[i]);
        found[i] = find_kv(s, keys[i]);
        if (found[i] && nset++ == 0) {
            kv = found[i];
            which = i;
        }
    }
    if (nset > 1)
        return fail(err, errlen, -EINVAL,
                    "config: [%s] (line %d): give only one of %s, %s, %s and %s", s->name, kv->line,
                    keys[0], keys[1], keys[2], keys[3]);
    if (!kv)
        return 0;
    if (which == 0) {
        if (!kv->value[0])
            return fail(err, errlen, -EINVAL, "config: [%s] (line %d): %s is empty", s->name,
                        kv->line, kv->key);
        return (*out = strdup(kv->value)) ? 0 : -ENOMEM;
    }
    if (!kv->value[0])
        return fail(err, errlen, -EINVAL, "config: [%s] (line %d): %s is empty", s->name, kv->line,
                    kv->key);
    if (which == 1) {
        const char *v = getenv(kv->value);
        if (!v || !v[0])
            return fail(err, errlen, -ENOENT,
                        "config: [%s] (line %d): environment variable %s (from %s) is %s", s->name,
                        kv->line, kv->value, kv->key, v ? "empty" : "not set");
        return (*out = strdup(v)) ? 0 : -ENOMEM;
    }
    if (which == 2)
        return from_file(s, kv, out, err, errlen);
    return from_command(s, kv, out, err, errlen);
}
