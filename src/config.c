/* The INI configuration file. inih splits lines into key/value pairs; this file
 * feeds it the lines itself (a reader over the file read once with fstat, so
 * mode and mtime belong to the bytes parsed) because inih alone would not tell
 * line numbers, would not report an empty or repeated section, would take an
 * indented line as the continuation of the previous value, and would cut lines
 * at 200 bytes. Section headers are therefore tracked here, not by inih. */
#include "config.h"

#include "errmsg.h"
#include "names.h"
#include "xattr.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX_BYTES (1024 * 1024)

const char *const config_secret_forms[] = {"", "_env", "_file", "_command", NULL};

struct parser {
    struct config *cfg;
    struct config_section global; /* [global] pairs, kept to spot duplicates */
    bool global_seen;
    long cur;        /* index of the current provider section, -1 for [global] */
    bool in_section; /* a header has been seen */
    const char *buf;
    size_t len, pos;
    int line;
    const char *longval; /* value of a line too long for inih, see reader() */
    size_t longlen;
    int rc;
    char *err;
    size_t errlen;
};

/* Record the first error only; later ones are usually its consequences. */
#define PFAIL(p, rc_, fmt, ...)                                                                    \
    do {                                                                                           \
        if (!(p)->rc)                                                                              \
            (p)->rc = errmsg((p)->err, (p)->errlen, (rc_), "config: %s:%d: " fmt, (p)->cfg->path,  \
                             (p)->line, __VA_ARGS__);                                              \
    } while (0)

void config_defaults(struct config_global *g)
{
    /* max_collections serves accounts of millions of collections whole; about (metadata.json
     * bytes + 256 B) each, so it still bounds what a server that never ends can make us hold */
    *g = (struct config_global){
        .ttl = 60,
        .stale_ttl = 86400,
        .timeout = 30,
        .parallel = 4,
        .max_collections = 5000000,
        .max_response = 16u << 20,
        .xattrs = true,
    };
}

char *config_default_path(void)
{
    static const char etc[] = "/etc/collectionsfs.conf";
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char *user = NULL;

    /* XDG says a relative XDG_CONFIG_HOME is invalid and must be ignored */
    if (xdg && xdg[0] == '/') {
        if (asprintf(&user, "%s/collectionsfs/config", xdg) < 0)
            return NULL;
    } else if (home && home[0]) {
        if (asprintf(&user, "%s/.config/collectionsfs/config", home) < 0)
            return NULL;
    }
    /* The user's file wins; without one, the system file; without either the
     * user path, so the "cannot open" message names where to create it. */
    if (user && access(user, F_OK) == 0)
        return user;
    if (!user || access(etc, F_OK) == 0) {
        free(user);
        return strdup(etc);
    }
    return user;
}

static const struct {
    const char *key;
    uint64_t min, max; /* max 0: yes or no */
} global_keys[] = {
    {"ttl", 0, 31536000},
    {"stale_ttl", 0, 31536000},
    {"timeout", 1, 3600},
    {"parallel", 1, 64},
    {"max_collections", 1, 100000000},
    {"max_response", 1024, 1073741824},
    {"xattrs", 0, 0},
    {"shared_cache_allow_insecure", 0, 0},
};

static bool key_is(const char *key, const struct config_key *k);

/* The shared cache: where (a URL, kept as text) and its password, in any secret form (kept in
 * config.global, resolved by the daemon). */
static const struct config_key shared_password = {"shared_cache_password", true};
#define N_GLOBAL (sizeof(global_keys) / sizeof(global_keys[0]))

int config_set_global(struct config_global *g, const char *key, const char *value, char *err,
                      size_t errlen)
{
    size_t i = 0;
    while (i < N_GLOBAL && strcmp(global_keys[i].key, key) != 0)
        i++;
    if (i == N_GLOBAL && strcmp(key, "shared_cache") == 0) {
        char *v = value[0] ? strdup(value) : NULL;
        if (value[0] && !v)
            return errmsg(err, errlen, -ENOMEM, "out of memory reading %s", key);
        free(g->shared_cache);
        g->shared_cache = v;
        return 0;
    }
    if (i == N_GLOBAL && key_is(key, &shared_password))
        return 0;
    if (i == N_GLOBAL)
        return errmsg(err, errlen, -EINVAL,
                      "unknown key '%s' in [global]; known keys: ttl, stale_ttl, timeout, "
                      "parallel, max_collections, max_response, xattrs, shared_cache, "
                      "shared_cache_password (or _env, _file, _command), "
                      "shared_cache_allow_insecure",
                      key);
    if (global_keys[i].max == 0) {
        bool yes = strcmp(value, "yes") == 0;
        if (!yes && strcmp(value, "no") != 0)
            return errmsg(err, errlen, -EINVAL, "%s = %s: expected yes or no", key, value);
        *(strcmp(key, "xattrs") == 0 ? &g->xattrs : &g->shared_insecure) = yes;
        return 0;
    }
    uint64_t v = 0;
    const char *s = value;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            break;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (s == value || *s || v < global_keys[i].min || v > global_keys[i].max)
        return errmsg(err, errlen, -EINVAL, "%s = %s: expected a whole number from %llu to %llu",
                      key, value, (unsigned long long)global_keys[i].min,
                      (unsigned long long)global_keys[i].max);
    switch (i) {
    case 0:
        g->ttl = (unsigned)v;
        break;
    case 1:
        g->stale_ttl = (unsigned)v;
        break;
    case 2:
        g->timeout = (unsigned)v;
        break;
    case 3:
        g->parallel = (unsigned)v;
        break;
    case 4:
        g->max_collections = v;
        break;
    default:
        g->max_response = v;
        break;
    }
    return 0;
}

const struct config_kv *config_find(const struct config_section *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->kv[i].key, key) == 0)
            return &s->kv[i];
    return NULL;
}

const char *config_get(const struct config_section *s, const char *key)
{
    const struct config_kv *kv = config_find(s, key);
    return kv ? kv->value : NULL;
}

/* key is name itself or, for a secret, one of its other forms. */
static bool key_is(const char *key, const struct config_key *k)
{
    size_t n = strlen(k->name);
    if (strncmp(key, k->name, n) != 0)
        return false;
    for (const char *const *f = config_secret_forms; *f && (k->secret || f == config_secret_forms);
         f++)
        if (strcmp(key + n, *f) == 0)
            return true;
    return false;
}

bool config_has_secret(const struct config_section *s, const char *name)
{
    struct config_key k = {name, true};
    for (size_t i = 0; i < s->n; i++)
        if (key_is(s->kv[i].key, &k))
            return true;
    return false;
}

int config_check_keys(const struct config_section *s, const struct config_key *allowed, char *err,
                      size_t errlen)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct config_key *a = allowed;
        while (a->name && !key_is(s->kv[i].key, a))
            a++;
        if (a->name)
            continue;
        int off = snprintf(err, errlen,
                           "config: [%s] (line %d): unknown key '%s'; allowed keys:", s->name,
                           s->kv[i].line, s->kv[i].key);
        for (a = allowed; a->name && off >= 0 && (size_t)off < errlen; a++) {
            off += snprintf(err + off, errlen - off, "%s %s", a == allowed ? "" : ",", a->name);
            /* " (or token_env, token_file, token_command)" */
            for (const char *const *f = config_secret_forms + 1;
                 a->secret && *f && off >= 0 && (size_t)off < errlen; f++)
                off += snprintf(err + off, errlen - off, "%s%s%s%s",
                                f == config_secret_forms + 1 ? " (or " : ", ", a->name, *f,
                                f[1] ? "" : ")");
        }
        return -EINVAL;
    }
    return 0;
}

static void section_free(struct config_section *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->kv[i].key);
        /* inline secrets live here: do not leave them in freed memory */
        explicit_bzero(s->kv[i].value, strlen(s->kv[i].value));
        free(s->kv[i].value);
    }
    free(s->kv);
    free(s->name);
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < cfg->n; i++)
        section_free(&cfg->sections[i]);
    section_free(&cfg->global);
    free(cfg->sections);
    free(cfg->path);
    free(cfg->g.shared_cache);
    memset(cfg, 0, sizeof(*cfg));
}

/* "[name]" seen by the reader: start a section (names trimmed, so "[ a ]" is "a"). */
static void section_header(struct parser *p, const char *line, size_t n)
{
    const char *end = memchr(line, ']', n);
    if (!end) {
        PFAIL(p, -EINVAL, "%s", "section header without ']'; write it as [name]");
        return;
    }
    for (const char *t = end + 1; t < line + n; t++) {
        if (*t == ';' || *t == '#')
            break;
        if (*t != ' ' && *t != '\t' && *t != '\r') {
            PFAIL(p, -EINVAL, "%s", "text after the section header's ']'; remove it");
            return;
        }
    }
    const char *a = line + 1, *b = end;
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    char *name = strndup(a, (size_t)(b - a));
    if (!name) {
        p->rc = p->rc ? p->rc : -ENOMEM;
        return;
    }
    p->in_section = true;
    if (strcmp(name, "global") == 0) {
        if (p->global_seen)
            PFAIL(p, -EINVAL, "%s", "[global] appears twice; merge the two sections");
        p->global_seen = true;
        p->cur = -1;
        free(name);
        return;
    }
    if (strlen(name) > XATTR_SECTION_MAX) {
        PFAIL(p, -EINVAL,
              "a section name of %zu bytes is too long: at most %zu fit in the root's status "
              "attribute " XATTR_STATUS "<name> (the kernel takes %d); shorten [%s]",
              strlen(name), XATTR_SECTION_MAX, XATTR_NAME_MAX, name);
        free(name);
        return;
    }
    if (!names_is_safe(name)) {
        PFAIL(p, -EINVAL,
              "section name [%s] cannot be a directory name; use up to %zu bytes of UTF-8 "
              "without '/' or control characters, and not '.' or '..'",
              name, XATTR_SECTION_MAX);
        free(name);
        return;
    }
    struct config *cfg = p->cfg;
    for (size_t i = 0; i < cfg->n; i++) {
        if (strcmp(cfg->sections[i].name, name) == 0) {
            PFAIL(p, -EINVAL, "section [%s] appears twice (first on line %d); rename one", name,
                  cfg->sections[i].line);
            free(name);
            return;
        }
    }
    struct config_section *ns = realloc(cfg->sections, (cfg->n + 1) * sizeof(*ns));
    if (!ns) {
        free(name);
        p->rc = p->rc ? p->rc : -ENOMEM;
        return;
    }
    cfg->sections = ns;
    ns[cfg->n] = (struct config_section){.name = name, .line = p->line};
    p->cur = (long)cfg->n++;
}

/* fgets for inih over the file buffer, one line per call, so p->line is the
 * line of whatever inih hands to the handler next. */
static char *reader(char *str, int num, void *stream)
{
    struct parser *p = stream;
    if (p->rc || p->pos >= p->len)
        return NULL;
    const char *line = p->buf + p->pos;
    const char *nl = memchr(line, '\n', p->len - p->pos);
    size_t n = nl ? (size_t)(nl - line) : p->len - p->pos;
    p->pos += n + (nl != NULL);
    p->line++;
    p->longval = NULL;
    if (p->line == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
        line += 3; /* UTF-8 byte order mark */
        n -= 3;
    }
    /* no leading blanks: inih would take an indented line as a continuation */
    while (n && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    if (memchr(line, '\0', n)) {
        PFAIL(p, -EINVAL, "%s", "the line holds a NUL byte; is this a text file?");
        return NULL;
    }
    if (n && line[0] == '[')
        section_header(p, line, n);
    if (n && (line[0] == '[' || line[0] == ';' || line[0] == '#')) {
        n = 0; /* handled above, or a comment: inih sees a blank line */
    } else if (n + 1 > (size_t)num) {
        /* inih's line buffer is small: hand it "key=" and keep the value here */
        const char *eq = line;
        while (eq < line + n && *eq != '=' && *eq != ':')
            eq++;
        if (eq == line + n || (size_t)(eq - line) + 2 > (size_t)num) {
            PFAIL(p, -EINVAL, "%s", "expected key = value");
            return NULL;
        }
        p->longval = eq + 1;
        p->longlen = (size_t)(line + n - p->longval);
        n = (size_t)(eq - line) + 1;
    }
    memcpy(str, line, n);
    str[n] = '\0';
    return str;
}

/* The value without an inline comment (" ; ..." or " # ...") and outer blanks. */
static char *clean_value(const char *v, size_t n)
{
    const char *end = v + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    for (const char *t = v + 1; t < end; t++) {
        if ((*t == ';' || *t == '#') && (t[-1] == ' ' || t[-1] == '\t')) {
            end = t;
            break;
        }
    }
    while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    return strndup(v, (size_t)(end - v));
}

static int add_kv(struct parser *p, struct config_section *s, const char *key, char *value)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->kv[i].key, key) == 0) {
            PFAIL(p, -EINVAL, "%s appears twice in [%s] (first on line %d); keep one", key,
                  s == &p->global ? "global" : s->name, s->kv[i].line);
            return -EINVAL;
        }
    }
    char *k = strdup(key);
    struct config_kv *kv = k ? realloc(s->kv, (s->n + 1) * sizeof(*kv)) : NULL;
    if (!kv) {
        free(k);
        return -ENOMEM;
    }
    s->kv = kv;
    kv[s->n++] = (struct config_kv){.key = k, .value = value, .line = p->line};
    return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parser *p = user;
    (void)section; /* inih's idea of it is cut at 50 bytes; ours is p->cur */

    if (p->rc)
        return 0;
    if (!p->in_section) {
        PFAIL(p, -EINVAL,
              "%s is outside any section; put it under [global] or a provider "
              "section such as [honcho]",
              name);
        return 0;
    }
    if (!name[0]) {
        PFAIL(p, -EINVAL, "%s", "a key is missing before '='");
        return 0;
    }
    char *v = p->longval ? clean_value(p->longval, p->longlen) : clean_value(value, strlen(value));
    if (!v) {
        p->rc = -ENOMEM;
        return 0;
    }
    struct config_section *s = p->cur < 0 ? &p->global : &p->cfg->sections[p->cur];
    int rc = add_kv(p, s, name, v);
    if (rc < 0) {
        free(v);
        p->rc = p->rc ? p->rc : rc;
        return 0;
    }
    if (p->cur < 0) {
        char msg[256];
        if (config_set_global(&p->cfg->g, name, v, msg, sizeof(msg)) < 0) {
            PFAIL(p, -EINVAL, "%s", msg);
            return 0;
        }
    }
    return 1;
}

/* Read the whole file through one descriptor, so its mode and mtime are those of what we parse. */
static int read_file(const char *path, char **buf, size_t *len, struct stat *st, char *err,
                     size_t errlen)
{
    /* O_NONBLOCK: a FIFO without a writer would block open() for ever; it is
     * then refused below like anything else that is not a regular file */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), e = errno;
    if (fd < 0)
        return errmsg(err, errlen, -e, "config: cannot open %s: %s; create it or pass -c PATH",
                      path, strerror(e));
    int rc = 0;
    char *b = NULL;
    size_t n = 0;
    if (fstat(fd, st) < 0) {
        e = errno;
        rc = errmsg(err, errlen, -e, "config: cannot stat %s: %s", path, strerror(e));
    } else if (!S_ISREG(st->st_mode)) {
        rc = errmsg(err, errlen, -EINVAL,
                    "config: %s is not a regular file; pass -c the path of the config file", path);
    } else if (!(b = malloc(CONFIG_MAX_BYTES + 1))) {
        rc = -ENOMEM;
    } else {
        ssize_t r = 0;
        while (n <= CONFIG_MAX_BYTES &&
               ((r = read(fd, b + n, CONFIG_MAX_BYTES + 1 - n)) > 0 || (r < 0 && errno == EINTR)))
            n += r > 0 ? (size_t)r : 0;
        if (r < 0) {
            e = errno;
            rc = errmsg(err, errlen, -e, "config: cannot read %s: %s", path, strerror(e));
        } else if (n > CONFIG_MAX_BYTES) {
            rc = errmsg(err, errlen, -EFBIG, "config: %s is larger than %d bytes", path,
                        CONFIG_MAX_BYTES);
        }
    }
    close(fd);
    if (rc < 0) {
        if (b)
            explicit_bzero(b, n);
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* Checks that need the whole file: at least one provider, each with a type.
 * Which keys are secrets is the provider's to say (provider_create refuses an
 * inline secret in a file others can read); here the file is only marked. */
static int check_config(struct parser *p, const struct stat *st)
{
    struct config *cfg = p->cfg;
    if (cfg->n == 0)
        return errmsg(p->err, p->errlen, -EINVAL,
                      "config: %s has no provider sections; add one, e.g. [honcho] with "
                      "type = honcho",
                      cfg->path);
    for (size_t i = 0; i < cfg->n; i++) {
        const char *type = config_get(&cfg->sections[i], "type");
        if (!type || !type[0])
            return errmsg(p->err, p->errlen, -EINVAL,
                          "config: %s:%d: section [%s] has no type; add type = NAME "
                          "(collectionsfs --list-types prints the names)",
                          cfg->path, cfg->sections[i].line, cfg->sections[i].name);
        cfg->sections[i].file = cfg->path;
        cfg->sections[i].exposed = (st->st_mode & (S_IRGRP | S_IROTH)) != 0;
    }
    return 0;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
    struct parser p = {.cfg = cfg, .cur = -1, .err = err, .errlen = errlen};
    struct stat st;
    char *buf = NULL;
    size_t len = 0;

    memset(cfg, 0, sizeof(*cfg));
    config_defaults(&cfg->g);
    int rc = read_file(path, &buf, &len, &st, err, errlen);
    if (rc < 0)
        return rc;
    cfg->path = strdup(path);
    cfg->mtime = st.st_mtim;
    if (!cfg->path) {
        rc = -ENOMEM;
        goto out;
    }
    p.buf = buf;
    p.len = len;
    int line = ini_parse_stream(reader, &p, handler, &p);
    if (p.rc)
        rc = p.rc;
    else if (line == -2)
        rc = -ENOMEM;
    else if (line != 0)
        rc = errmsg(err, errlen, -EINVAL,
                    "config: %s:%d: expected key = value, [section] or a comment", path, line);
    else
        rc = check_config(&p, &st);
    if (rc == -ENOMEM)
        errmsg(err, errlen, rc, "config: out of memory reading %s", path);
out:
    if (rc == 0) {
        p.global.name = NULL;
        p.global.file = cfg->path;
        p.global.exposed = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
        cfg->global = p.global; /* its secrets are resolved by the daemon */
    } else {
        section_free(&p.global);
    }
    explicit_bzero(buf, len);
    free(buf);
    if (rc < 0)
        config_free(cfg);
    return rc;
}
