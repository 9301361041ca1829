/* Secrets given inline, by environment variable, file or command. Every buffer
 * that held a secret is zeroed before it is freed, and error messages name the
 * key, variable, file or exit status, never the value or the command's output. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "errmsg.h"

#define SECRET_MAX (64 * 1024)  /* bytes read from a file or a command */
#define SECRET_TIMEOUT_MS 10000 /* a *_command gets this long, then is killed */

/* The one key a secret was given by: what messages name, and its value. */
struct setting {
    const char *section, *key, *value;
    int line;
};

static int oom(const struct setting *w, char *err, size_t errlen)
{
    return errmsg(err, errlen, -ENOMEM, "config: [%s] (line %d): out of memory reading %s",
                  w->section, w->line, w->key);
}

void secret_free(char *secret)
{
    if (!secret)
        return;
    explicit_bzero(secret, strlen(secret));
    free(secret);
}

/* The first line of buf without trailing blanks into *out (malloc'd); 0, -EINVAL
 * when that line is empty, or -ENOMEM. */
static int first_line(const char *buf, size_t n, char **out)
{
    const char *nl = memchr(buf, '\n', n);
    size_t len = nl ? (size_t)(nl - buf) : n;
    while (len && (buf[len - 1] == '\r' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        len--;
    if (!len)
        return -EINVAL;
    return (*out = strndup(buf, len)) ? 0 : -ENOMEM;
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

static int cancelled; /* secret_cancel */

void secret_cancel(void)
{
    __atomic_store_n(&cancelled, 1, __ATOMIC_RELEASE);
}

/* Wait until deadline for fd to become readable: 1 ready, 0 timed out, -ECANCELED after
 * secret_cancel, -errno. */
static int wait_readable(int fd, const struct timespec *deadline)
{
    for (;;) {
        if (__atomic_load_n(&cancelled, __ATOMIC_ACQUIRE))
            return -ECANCELED;
        struct timespec now = clock_now();
        long long left = clock_ms(&now, deadline);
        if (left <= 0)
            return 0;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        /* a reload's command must not hold up the shutdown: look at the flag every 100 ms */
        int r = poll(&pf, 1, left < 100 ? (int)left : 100);
        if (r == 0)
            continue;
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
    if (__atomic_load_n(&cancelled, __ATOMIC_ACQUIRE))
        return -ECANCELED;
    long maxfd = sysconf(_SC_OPEN_MAX); /* not async-signal-safe: asked before the fork */
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
        /* where a reload runs it (the daemon works in / once mounted), at the start too */
        if (chdir("/") < 0)
            _exit(126);
        int nul = open("/dev/null", O_RDONLY);
        if (nul < 0 || dup2(nul, 0) < 0 || dup2(fds[1], 1) < 0)
            _exit(126);
        if (fds[1] == 1)
            fcntl(1, F_SETFD, 0); /* dup2 onto itself keeps O_CLOEXEC */
        /* libcurl's and hiredis's sockets are not close-on-exec, and a reload
         * runs this inside a live daemon: the command, and anything it leaves
         * running (an agent), gets only stdin, stdout and stderr */
        if (close_range(3, ~0U, 0) < 0)
            for (long fd = 3; fd < maxfd; fd++) /* Linux < 5.9 */
                close((int)fd);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* also here, so the kill below cannot race the child's own call */
    close(fds[1]);

    struct timespec start = clock_now();
    struct timespec deadline = clock_after(&start, SECRET_TIMEOUT_MS);
    int rc = 0;
    char drain[512];
    *got = 0;
    for (;;) {
        rc = wait_readable(fds[0], &deadline);
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
        rc = wait_readable(pidfd, &deadline);
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

/* "a FIFO", "a directory", ...: what a *_file names instead of a regular file. */
static const char *file_kind(mode_t mode)
{
    return S_ISFIFO(mode)   ? "a FIFO"
           : S_ISDIR(mode)  ? "a directory"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "a special file";
}

static int from_file(const struct setting *w, char **out, char *err, size_t errlen)
{
    const char *home = getenv("HOME");
    struct buf path;
    buf_init(&path, SIZE_MAX);
    int rc;
    if (strncmp(w->value, "~/", 2) == 0) {
        if (!home || !home[0])
            return errmsg(err, errlen, -EINVAL,
                          "config: [%s] (line %d): %s starts with ~/ but "
                          "HOME is not set; give an absolute path",
                          w->section, w->line, w->key);
        rc = buf_addf(&path, "%s/%s", home, w->value + 2);
    } else if (w->value[0] != '/') {
        /* it would name one file at the start and another at a reload: the
         * daemon works in / once mounted in the background */
        return errmsg(err, errlen, -EINVAL,
                      "config: [%s] (line %d): %s %s is a relative path; give an absolute "
                      "one or start it with ~/ (once mounted the daemon works in /)",
                      w->section, w->line, w->key, w->value);
    } else {
        rc = buf_addf(&path, "%s", w->value);
    }
    if (rc < 0)
        return oom(w, err, errlen);
    char *buf = NULL;
    size_t got = 0;
    struct stat st;
    /* O_NONBLOCK: a FIFO without a writer would block open() for ever, at start
     * and in the signal thread's reload; only a regular file is read */
    int fd = open(path.p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        rc = errmsg(err, errlen, -e, "config: [%s] (line %d): cannot read %s %s: %s", w->section,
                    w->line, w->key, path.p, strerror(e));
    } else if (fstat(fd, &st) < 0) {
        int e = errno;
        rc = errmsg(err, errlen, -e, "config: [%s] (line %d): cannot stat %s %s: %s", w->section,
                    w->line, w->key, path.p, strerror(e));
    } else if (!S_ISREG(st.st_mode)) {
        rc = errmsg(err, errlen, -EINVAL,
                    "config: [%s] (line %d): %s %s is %s, not a regular file; point it at a "
                    "file, or use %.*s_command to read from a program",
                    w->section, w->line, w->key, path.p, file_kind(st.st_mode),
                    (int)(strlen(w->key) - strlen("_file")), w->key);
    } else if (!(buf = malloc(SECRET_MAX))) {
        rc = oom(w, err, errlen);
    } else if ((rc = read_fd(fd, buf, SECRET_MAX, &got)) < 0) {
        errmsg(err, errlen, rc, "config: [%s] (line %d): cannot read %s %s: %s", w->section,
               w->line, w->key, path.p, strerror(-rc));
    } else if ((rc = first_line(buf, got, out)) == -EINVAL) {
        errmsg(err, errlen, rc, "config: [%s] (line %d): %s %s has an empty first line", w->section,
               w->line, w->key, path.p);
    } else if (rc < 0) {
        oom(w, err, errlen);
    }
    if (fd >= 0)
        close(fd);
    if (buf)
        explicit_bzero(buf, got);
    free(buf);
    buf_free(&path);
    return rc;
}

static int from_command(const struct setting *w, char **out, char *err, size_t errlen)
{
    char *buf = malloc(SECRET_MAX);
    size_t got = 0;
    int status = 0;
    if (!buf)
        return oom(w, err, errlen);
    int rc = run_command(w->value, buf, SECRET_MAX, &got, &status);
    if (rc == -ETIMEDOUT)
        errmsg(err, errlen, rc,
               "config: [%s] (line %d): %s did not finish within %d s and was killed", w->section,
               w->line, w->key, SECRET_TIMEOUT_MS / 1000);
    else if (rc == -ECANCELED)
        errmsg(err, errlen, rc, "config: [%s] (line %d): %s was stopped: the daemon is stopping",
               w->section, w->line, w->key);
    else if (rc < 0)
        errmsg(err, errlen, rc, "config: [%s] (line %d): cannot run %s: %s", w->section, w->line,
               w->key, strerror(-rc));
    else if (WIFSIGNALED(status))
        rc = errmsg(err, errlen, -EIO, "config: [%s] (line %d): %s failed (killed by signal %d)",
                    w->section, w->line, w->key, WTERMSIG(status));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = errmsg(err, errlen, -EIO, "config: [%s] (line %d): %s failed (exit status %d)",
                    w->section, w->line, w->key, WEXITSTATUS(status));
    else if ((rc = first_line(buf, got, out)) == -EINVAL)
        errmsg(err, errlen, rc, "config: [%s] (line %d): %s printed an empty first line",
               w->section, w->line, w->key);
    else if (rc < 0)
        oom(w, err, errlen);
    explicit_bzero(buf, got);
    free(buf);
    return rc;
}

/* "give only one of token, token_env, token_file and token_command" */
static int only_one(const struct setting *w, const char *name, char *err, size_t errlen)
{
    struct buf list;
    buf_init(&list, SIZE_MAX);
    int rc = 0;
    for (size_t i = 0; config_secret_forms[i] && rc == 0; i++)
        rc = buf_addf(&list, "%s%s%s",
                      i == 0                       ? ""
                      : config_secret_forms[i + 1] ? ", "
                                                   : " and ",
                      name, config_secret_forms[i]);
    if (rc == 0)
        rc = errmsg(err, errlen, -EINVAL, "config: [%s] (line %d): give only one of %s", w->section,
                    w->line, list.p);
    else
        rc = oom(w, err, errlen);
    buf_free(&list);
    return rc;
}

static _Thread_local uint64_t digest = 0xcbf29ce484222325ULL;

uint64_t secret_digest(void)
{
    uint64_t d = digest;
    digest = 0xcbf29ce484222325ULL;
    return d;
}

/* The fleet's name for whose data a section shows (shared.h): SHA-256, as it
 * leaves the process, over a fixed prefix and the secrets, so the key says
 * "the same credentials" and cannot be turned back into them. */
static _Thread_local EVP_MD_CTX *print;

void secret_fingerprint_begin(void)
{
    EVP_MD_CTX_free(print);
    if ((print = EVP_MD_CTX_new()) && EVP_DigestInit_ex(print, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(print);
        print = NULL;
    }
    if (print)
        EVP_DigestUpdate(print, "collectionsfs fleet v1", 22);
}

int secret_fingerprint_end(char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    int rc = print && EVP_DigestFinal_ex(print, md, &n) == 1 && n >= 16 ? 0 : -ENOMEM;
    for (unsigned i = 0; rc == 0 && i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[rc == 0 ? 32 : 0] = '\0';
    EVP_MD_CTX_free(print);
    print = NULL;
    return rc;
}

/* FNV-1a: only ever compared with itself, in this process. */
static void fold(const char *s)
{
    if (print)
        EVP_DigestUpdate(print, s, strlen(s) + 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        digest = (digest ^ *p) * 0x100000001b3ULL;
    digest = (digest ^ 0xff) * 0x100000001b3ULL;
}

/* Whether s holds a C0 control or DEL. Checked for every form in one place: a
 * CR or LF would end the HTTP header the secret goes into and start another. */
static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

static int refuse_control(const struct setting *w, const char *form, char *err, size_t errlen)
{
    static const char fix[] = "holds a control character (a line break or a tab, say); a secret "
                              "must be one line of printable text, so remove it";
    if (strcmp(form, "_env") == 0)
        return errmsg(err, errlen, -EINVAL,
                      "config: [%s] (line %d): environment variable %s (from %s) %s", w->section,
                      w->line, w->value, w->key, fix);
    if (strcmp(form, "_file") == 0)
        return errmsg(err, errlen, -EINVAL, "config: [%s] (line %d): the first line of %s %s %s",
                      w->section, w->line, w->key, w->value, fix);
    if (strcmp(form, "_command") == 0)
        return errmsg(err, errlen, -EINVAL, "config: [%s] (line %d): the first line %s printed %s",
                      w->section, w->line, w->key, fix);
    return errmsg(err, errlen, -EINVAL, "config: [%s] (line %d): %s %s", w->section, w->line,
                  w->key, fix);
}

static int resolve(const struct config_section *s, const char *name, char **out, char *err,
                   size_t errlen)
{
    /* the [global] section has no name: it is no directory */
    struct setting w = {.section = s->name ? s->name : "global"};
    const char *form = NULL;
    char key[64], found[64];
    int nset = 0;

    *out = NULL;
    for (size_t i = 0; config_secret_forms[i]; i++) {
        int n = snprintf(key, sizeof(key), "%s%s", name, config_secret_forms[i]);
        if (n < 0 || (size_t)n >= sizeof(key))
            return errmsg(err, errlen, -ENAMETOOLONG, "config: [%s]: secret name %s is too long",
                          w.section, name);
        const struct config_kv *kv = config_find(s, key);
        if (kv && nset++ == 0) {
            memcpy(found, key, (size_t)n + 1);
            form = config_secret_forms[i];
            w.key = found;
            w.value = kv->value;
            w.line = kv->line;
        }
    }
    if (nset > 1)
        return only_one(&w, name, err, errlen);
    if (!form)
        return 0;
    if (!w.value[0])
        return errmsg(err, errlen, -EINVAL, "config: [%s] (line %d): %s is empty", w.section,
                      w.line, w.key);
    int rc;
    if (strcmp(form, "_env") == 0) {
        const char *v = getenv(w.value);
        if (!v || !v[0])
            return errmsg(err, errlen, -ENOENT,
                          "config: [%s] (line %d): environment variable %s (from %s) is %s",
                          w.section, w.line, w.value, w.key, v ? "empty" : "not set");
        rc = (*out = strdup(v)) ? 0 : oom(&w, err, errlen);
    } else if (strcmp(form, "_file") == 0) {
        rc = from_file(&w, out, err, errlen);
    } else if (strcmp(form, "_command") == 0) {
        rc = from_command(&w, out, err, errlen);
    } else {
        rc = (*out = strdup(w.value)) ? 0 : oom(&w, err, errlen); /* inline */
    }
    if (rc == 0 && has_control(*out)) {
        secret_free(*out);
        *out = NULL;
        rc = refuse_control(&w, form, err, errlen);
    }
    return rc;
}

int secret_resolve(const struct config_section *s, const char *name, char **out, char *err,
                   size_t errlen)
{
    int rc = resolve(s, name, out, err, errlen);
    if (rc == 0 && *out) {
        fold(name);
        fold(*out);
    }
    return rc;
}
