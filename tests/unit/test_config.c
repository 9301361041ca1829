/* config and secret: parsing the INI file with line numbers, every refusal and
 * its message, the inline-secret permission rule, and secrets from the
 * environment, files and commands (including one that must be killed). Files
 * live in a mkdtemp directory that is removed at the end. */
#include "config.h"
#include "provider.h"
#include "secret.h"

#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct tmp {
    char dir[64];
    char paths[64][128];
    int n, last;
};

/* Write content to dir/name with mode; returns the path (owned by t). */
static const char *put(struct tmp *t, const char *name, const char *content, mode_t mode)
{
    char path_buf[128];
    snprintf(path_buf, sizeof(path_buf), "%s/%s", t->dir, name);
    int i = 0;
    while (i < t->n && strcmp(t->paths[i], path_buf) != 0)
        i++;
    if (i == t->n)
        strcpy(t->paths[t->n++], path_buf);
    t->last = i;
    char *path = t->paths[i];
    unlink(path);
    FILE *f = fopen(path, "w");
    fputs(content, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

static bool has(const char *hay, const char *needle)
{
    bool ok = strstr(hay, needle) != NULL;
    if (!ok)
        printf("# [%s] lacks [%s]\n", hay, needle);
    return ok;
}

/* Load text as a 0600 config; rc, with the message in err. */
static int load(struct tmp *t, const char *text, struct config *cfg, char *err, size_t errlen)
{
    const char *path = put(t, "cfg", text, 0600);
    err[0] = '\0';
    return config_load(path, cfg, err, errlen);
}

/* A config that must be refused with -EINVAL and a message holding want and the line. */
static void refused(struct tmp *t, const char *text, int line, const char *want)
{
    struct config cfg;
    char err[512], where[64];
    int rc = load(t, text, &cfg, err, sizeof(err));
    CHECK(rc == -EINVAL);
    CHECK(has(err, want));
    CHECK(has(err, t->paths[t->last]));
    if (line > 0) {
        snprintf(where, sizeof(where), ":%d:", line);
        CHECK(has(err, where));
    }
    CHECK(cfg.n == 0 && cfg.sections == NULL && cfg.path == NULL);
    if (rc == 0)
        config_free(&cfg);
}

static const char *design_example =
    "# collectionsfs\n"
    "[global]\n"
    "ttl = 90                 ; seconds a listing is fresh\n"
    "stale_ttl = 3600\n"
    "timeout = 20             # hash comments too\n"
    "parallel = 8\n"
    "max_collections = 5000\n"
    "max_response = 1048576\n"
    "\n"
    "[honcho]                 ; section name = directory name under the mount point\n"
    "type = honcho\n"
    "url = https://api.honcho.dev          ; optional\n"
    "app_id = app-1\n"
    "user_id = user#1\n"
    "token_env = HONCHO_API_KEY            ; optional\n"
    "filter = {\"kind\": \"notes\"}            ; optional JSON object\n"
    "\n"
    "[assets]\n"
    "  type = hivo\n"
    "\tuser_id = u2\n"
    "  api_key_command = pass show hivo\n"
    "\n"
    "[ fount ]\n"
    "type: fount\n"
    "token_file = ~/.config/collectionsfs/fount.token\r\n"
    "[scenario \xf0\x9f\x8e\xa8]\n"
    "type = scenario\n"
    "api_key_env = SCENARIO_API_KEY\n"
    "api_secret_env = SCENARIO_API_SECRET\n"
    "empty =\n";

static void test_load(struct tmp *t)
{
    struct config cfg;
    char err[512];

    CHECK(load(t, design_example, &cfg, err, sizeof(err)) == 0);
    CHECK_STR(cfg.path, t->paths[t->last]);
    CHECK(cfg.g.ttl == 90 && cfg.g.stale_ttl == 3600 && cfg.g.timeout == 20);
    CHECK(cfg.g.parallel == 8 && cfg.g.max_collections == 5000 && cfg.g.max_response == 1048576);
    CHECK(cfg.n == 4);
    if (cfg.n != 4)
        return;
    CHECK_STR(cfg.sections[0].name, "honcho");
    CHECK(cfg.sections[0].line == 10);
    CHECK_STR(cfg.sections[1].name, "assets");
    CHECK_STR(cfg.sections[2].name, "fount");
    CHECK_STR(cfg.sections[3].name, "scenario \xf0\x9f\x8e\xa8");
    const struct config_section *h = &cfg.sections[0];
    CHECK(h->n == 6);
    CHECK_STR(h->kv[0].key, "type");
    CHECK(h->kv[0].line == 11);
    CHECK(h->kv[5].line == 16);
    CHECK_STR(config_get(h, "url"), "https://api.honcho.dev");
    CHECK_STR(config_get(h, "user_id"), "user#1"); /* '#' without a blank before is data */
    CHECK_STR(config_get(h, "filter"), "{\"kind\": \"notes\"}");
    CHECK_STR(config_get(h, "token_env"), "HONCHO_API_KEY");
    CHECK(config_get(h, "token") == NULL);
    CHECK_STR(config_get(&cfg.sections[1], "type"), "hivo");
    CHECK_STR(config_get(&cfg.sections[1], "user_id"), "u2");
    CHECK_STR(config_get(&cfg.sections[1], "api_key_command"), "pass show hivo");
    CHECK(cfg.sections[1].kv[2].line == 21);
    CHECK_STR(config_get(&cfg.sections[2], "type"), "fount");
    CHECK_STR(config_get(&cfg.sections[2], "token_file"), "~/.config/collectionsfs/fount.token");
    CHECK_STR(config_get(&cfg.sections[3], "empty"), "");
    struct stat st;
    stat(cfg.path, &st);
    CHECK(cfg.mtime.tv_sec == st.st_mtim.tv_sec && cfg.mtime.tv_nsec == st.st_mtim.tv_nsec);
    config_free(&cfg);
    CHECK(cfg.n == 0 && cfg.sections == NULL && cfg.path == NULL);
    config_free(&cfg); /* twice is harmless */

    /* no [global]: the defaults */
    CHECK(load(t, "[a]\ntype = honcho\n", &cfg, err, sizeof(err)) == 0);
    CHECK(cfg.g.ttl == 60 && cfg.g.stale_ttl == 86400 && cfg.g.timeout == 30);
    /* a 1,000,000-collection account is listed whole, not cut at its last collection */
    CHECK(cfg.g.parallel == 4 && cfg.g.max_collections == 5000000);
    CHECK(cfg.g.max_collections > 1000000);
    CHECK(cfg.g.max_response == 16u << 20);
    CHECK(cfg.g.xattrs);
    config_free(&cfg);

    /* a byte order mark and lines longer than inih's 200-byte buffer */
    char big[3000], val[1201];
    memset(val, 'v', 1200);
    val[1200] = '\0';
    snprintf(big, sizeof(big),
             "\xef\xbb\xbf[a]\ntype = honcho\ntoken = %s\nfilter = {\"k\": \"%s\"} ; c\nx=1\n", val,
             val);
    CHECK(load(t, big, &cfg, err, sizeof(err)) == 0);
    CHECK(cfg.n == 1 && cfg.sections[0].n == 4);
    CHECK(cfg.n == 1 && strcmp(cfg.sections[0].name, "a") == 0);
    CHECK(cfg.n == 1 && strcmp(config_get(&cfg.sections[0], "token"), val) == 0);
    CHECK(cfg.n == 1 && strlen(config_get(&cfg.sections[0], "filter")) == 1200 + 9);
    CHECK(cfg.n == 1 && cfg.sections[0].kv[3].line == 5);
    config_free(&cfg);
}

static void test_refusals(struct tmp *t)
{
    char sec229[230];
    memset(sec229, 's', 229);
    sec229[229] = '\0';
    refused(t, "[a]\ntype = honcho\n[b]\ntype = hivo\n[a]\ntype = fount\n", 5, "[a] appears twice");
    refused(t, "[a]\ntype = honcho\n[a]\n", 3, "appears twice");
    refused(t, "[a]\ntype = honcho\nurl = x\nurl = y\n", 4, "url appears twice");
    refused(t, "[global]\nttl = 1\nttl = 2\n[a]\ntype = honcho\n", 3, "ttl appears twice");
    refused(t, "[global]\n[a]\ntype = honcho\n[global]\n", 4, "[global] appears twice");
    refused(t, "ttl = 5\n[a]\ntype = honcho\n", 1, "outside any section");
    refused(t, "[a/b]\ntype = honcho\n", 1, "[a/b]");
    refused(t, "[a/b]\ntype = honcho\n", 1, "directory name");
    refused(t, "[.]\ntype = honcho\n", 1, "[.]");
    refused(t, "[..]\ntype = honcho\n", 1, "[..]");
    refused(t, "[]\ntype = honcho\n", 1, "directory name");
    refused(t, "[a\x01]\ntype = honcho\n", 1, "directory name");
    refused(t, "[\xff]\ntype = honcho\n", 1, "directory name");
    /* the root's user.collectionsfs.status.<section> must fit XATTR_NAME_MAX (255) */
    char hdr[300];
    snprintf(hdr, sizeof(hdr), "[%s]\ntype = honcho\n", sec229);
    struct config ok;
    char okerr[512];
    CHECK(load(t, hdr, &ok, okerr, sizeof(okerr)) == 0);
    if (ok.n == 1)
        CHECK(strlen(ok.sections[0].name) == 229);
    config_free(&ok);
    snprintf(hdr, sizeof(hdr), "[x%s]\ntype = honcho\n", sec229);
    refused(t, hdr, 1, "of 230 bytes is too long");
    refused(t, hdr, 1, "at most 229");
    refused(t, hdr, 1, "user.collectionsfs.status.");
    snprintf(hdr, sizeof(hdr), "[%s%.30s]\ntype = honcho\n", sec229, sec229);
    refused(t, hdr, 1, "of 259 bytes is too long");
    refused(t, "[a\ntype = honcho\n", 1, "without ']'");
    refused(t, "[a] junk\ntype = honcho\n", 1, "after the section header");
    refused(t, "[a]\ntype = honcho\nthis is not a pair\n", 3, "expected key = value");
    refused(t, "[a]\ntype = honcho\n= value\n", 3, "key is missing");
    refused(t, "", 0, "no provider sections");
    refused(t, "# nothing\n[global]\nttl = 5\n", 0, "no provider sections");
    refused(t, "[a]\nurl = x\n", 1, "[a] has no type");
    refused(t, "[a]\ntype = honcho\n[b]\n[c]\ntype = hivo\n", 3, "[b] has no type");
    refused(t, "[a]\ntype =\n", 1, "has no type");
    refused(t, "[global]\nttl = 5\ncolour = blue\n[a]\ntype = honcho\n", 3,
            "unknown key 'colour' in [global]");
    refused(t, "[global]\nttl = 31536001\n[a]\ntype = honcho\n", 2, "from 0 to 31536000");
    refused(t, "[global]\ntimeout = 0\n[a]\ntype = honcho\n", 2, "timeout");
    refused(t, "[global]\nparallel = 65\n[a]\ntype = honcho\n", 2, "parallel");
    refused(t, "[global]\nttl = -1\n[a]\ntype = honcho\n", 2, "ttl");
    refused(t, "[global]\nttl = abc\n[a]\ntype = honcho\n", 2, "ttl");
    refused(t, "[global]\nttl =\n[a]\ntype = honcho\n", 2, "ttl");

    /* a NUL inside the file: written by hand since put() stops at it */
    struct config cfg;
    char err[512];
    const char *path = put(t, "nul", "", 0600);
    FILE *f = fopen(path, "w");
    fwrite("[a]\ntype = honcho\nx = a\0b\n", 1, 26, f);
    fclose(f);
    CHECK(config_load(path, &cfg, err, sizeof(err)) == -EINVAL);
    CHECK(has(err, ":3:") && has(err, "NUL"));

    char missing[160];
    snprintf(missing, sizeof(missing), "%s/does-not-exist", t->dir);
    CHECK(config_load(missing, &cfg, err, sizeof(err)) == -ENOENT);
    CHECK(has(err, missing));
    CHECK(config_load(t->dir, &cfg, err, sizeof(err)) == -EINVAL);
    CHECK(has(err, "not a regular file"));
}

/* Load a config file and make its first provider; rc of whichever refused. */
static int load_provider(const char *path, char *err, size_t errlen)
{
    struct config cfg;
    int rc = config_load(path, &cfg, err, errlen);
    if (rc < 0)
        return rc;
    struct provider *p = NULL;
    rc = provider_create(&cfg.sections[0], &cfg.g, &p, err, errlen);
    provider_free(p);
    config_free(&cfg);
    return rc;
}

/* Which keys are secrets is each provider's to say; the rule is applied when
 * the provider is made from the section. */
static void test_permissions(struct tmp *t)
{
    char err[512];
    const char *text = "[honcho]\ntype = honcho\napp_id = a\nuser_id = u\n"
                       "token = hunter2-very-secret\n";

    const char *path = put(t, "perm", text, 0644);
    CHECK(load_provider(path, err, sizeof(err)) == -EACCES);
    CHECK(has(err, path));
    CHECK(has(err, "token in [honcho]"));
    CHECK(has(err, "chmod 600"));
    CHECK(has(err, "token_env"));
    CHECK(!strstr(err, "hunter2"));
    chmod(path, 0640);
    CHECK(load_provider(path, err, sizeof(err)) == -EACCES);
    chmod(path, 0604);
    CHECK(load_provider(path, err, sizeof(err)) == -EACCES);
    chmod(path, 0600);
    CHECK(load_provider(path, err, sizeof(err)) == 0);

    path = put(t, "perm2", "[s]\ntype = scenario\napi_key_env = K\napi_secret = x\n", 0644);
    CHECK(load_provider(path, err, sizeof(err)) == -EACCES);
    CHECK(has(err, "api_secret in [s]"));
    path = put(t, "perm3", "[s]\ntype = hivo\nuser_id = u\napi_key = x\n", 0644);
    CHECK(load_provider(path, err, sizeof(err)) == -EACCES);

    /* references to secrets are not secrets */
    setenv("CFS_TEST_TOKEN", "x", 1);
    path = put(t, "perm4",
               "[h]\ntype = honcho\napp_id = a\nuser_id = u\ntoken_env = CFS_TEST_TOKEN\n", 0644);
    CHECK(load_provider(path, err, sizeof(err)) == 0);
    /* a value that merely looks like a secret key of another type is no secret here */
    path = put(t, "perm5", "[h]\ntype = honcho\napp_id = a\nuser_id = u\napi_key = x\n", 0644);
    CHECK(load_provider(path, err, sizeof(err)) == -EINVAL);
    CHECK(has(err, "unknown key 'api_key'"));
}

static void test_globals(void)
{
    struct config_global g;
    char err[256];
    config_defaults(&g);
    CHECK(config_set_global(&g, "ttl", "0", err, sizeof(err)) == 0 && g.ttl == 0);
    CHECK(config_set_global(&g, "ttl", "31536000", err, sizeof(err)) == 0 && g.ttl == 31536000);
    CHECK(config_set_global(&g, "stale_ttl", "31536000", err, sizeof(err)) == 0);
    CHECK(config_set_global(&g, "stale_ttl", "31536001", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "timeout", "1", err, sizeof(err)) == 0 && g.timeout == 1);
    CHECK(config_set_global(&g, "timeout", "3600", err, sizeof(err)) == 0);
    CHECK(config_set_global(&g, "timeout", "3601", err, sizeof(err)) == -EINVAL);
    CHECK(has(err, "timeout") && has(err, "1 to 3600"));
    CHECK(config_set_global(&g, "parallel", "64", err, sizeof(err)) == 0 && g.parallel == 64);
    CHECK(config_set_global(&g, "parallel", "0", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "max_collections", "100000000", err, sizeof(err)) == 0);
    CHECK(g.max_collections == 100000000);
    CHECK(config_set_global(&g, "max_collections", "100000001", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "max_collections", "0", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "max_response", "1024", err, sizeof(err)) == 0);
    CHECK(config_set_global(&g, "max_response", "1073741824", err, sizeof(err)) == 0);
    CHECK(g.max_response == 1073741824);
    CHECK(config_set_global(&g, "max_response", "1023", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "max_response", "1073741825", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "xattrs", "no", err, sizeof(err)) == 0 && !g.xattrs);
    CHECK(config_set_global(&g, "xattrs", "yes", err, sizeof(err)) == 0 && g.xattrs);
    CHECK(config_set_global(&g, "xattrs", "0", err, sizeof(err)) == -EINVAL && g.xattrs);
    CHECK(has(err, "xattrs = 0") && has(err, "yes or no"));
    CHECK(config_set_global(&g, "xattrs", "", err, sizeof(err)) == -EINVAL);
    CHECK(!g.shared_cache && !g.shared_insecure);
    CHECK(config_set_global(&g, "shared_cache", "unix:/run/r.sock", err, sizeof(err)) == 0);
    CHECK_STR(g.shared_cache, "unix:/run/r.sock");
    CHECK(config_set_global(&g, "shared_cache", "redis://h:1/2", err, sizeof(err)) == 0);
    CHECK_STR(g.shared_cache, "redis://h:1/2");
    free(g.shared_cache);
    g.shared_cache = NULL;
    CHECK(config_set_global(&g, "shared_cache_allow_insecure", "yes", err, sizeof(err)) == 0);
    CHECK(g.shared_insecure && g.xattrs);
    CHECK(config_set_global(&g, "shared_cache_password_command", "pass x", err, sizeof(err)) == 0);
    CHECK(config_set_global(&g, "shared_cache_password", "pw", err, sizeof(err)) == 0);
    CHECK(config_set_global(&g, "shared_cache_passwd", "pw", err, sizeof(err)) == -EINVAL);
    CHECK(has(err, "shared_cache_password (or _env, _file, _command)"));
    CHECK(config_set_global(&g, "ttl", "99999999999999999999999", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "ttl", "18446744073709551617", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "ttl", "+5", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "ttl", " 5", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "ttl", "5s", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "ttl", "", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "ttl", "0x10", err, sizeof(err)) == -EINVAL);
    CHECK(config_set_global(&g, "TTL", "5", err, sizeof(err)) == -EINVAL);
    CHECK(has(err, "unknown key 'TTL'"));
    CHECK(g.ttl == 31536000); /* refusals leave values alone */
    CHECK(config_set_global(&g, "ttl", "007", err, sizeof(err)) == 0 && g.ttl == 7);
}

static void test_default_path(struct tmp *t)
{
    char want[256], dir[192];
    char *p;
    bool etc = access("/etc/collectionsfs.conf", F_OK) == 0;

    snprintf(dir, sizeof(dir), "%s/xdg/collectionsfs", t->dir);
    snprintf(want, sizeof(want), "%s/config", dir);
    setenv("HOME", "/nonexistent-home", 1);

    setenv("XDG_CONFIG_HOME", "/nonexistent-xdg", 1);
    p = config_default_path();
    CHECK_STR(p, etc ? "/etc/collectionsfs.conf" : "/nonexistent-xdg/collectionsfs/config");
    free(p);

    char xdg[160];
    snprintf(xdg, sizeof(xdg), "%s/xdg", t->dir);
    mkdir(xdg, 0700);
    mkdir(dir, 0700);
    FILE *f = fopen(want, "w");
    fclose(f);
    setenv("XDG_CONFIG_HOME", xdg, 1);
    p = config_default_path();
    CHECK_STR(p, want);
    free(p);
    unlink(want);
    rmdir(dir);
    rmdir(xdg);

    setenv("XDG_CONFIG_HOME", "relative/ignored", 1);
    p = config_default_path();
    CHECK_STR(p,
              etc ? "/etc/collectionsfs.conf" : "/nonexistent-home/.config/collectionsfs/config");
    free(p);

    unsetenv("XDG_CONFIG_HOME");
    unsetenv("HOME");
    p = config_default_path();
    CHECK_STR(p, "/etc/collectionsfs.conf");
    free(p);
}

static struct config_section section(struct config_kv *kv, size_t n)
{
    return (struct config_section){.name = "sec", .line = 1, .kv = kv, .n = n};
}

static void test_check_keys(void)
{
    static const struct config_key allowed[] = {
        {"type", false}, {"url", false}, {"token", true}, {"api_key", true}, {NULL, false}};
    char err[512];
    struct config_kv ok[] = {{"type", "honcho", 2},       {"url", "u", 3},
                             {"token_env", "X", 4},       {"api_key_file", "/f", 5},
                             {"api_key_command", "c", 6}, {"token", "t", 7}};
    struct config_section s = section(ok, 6);
    CHECK(config_check_keys(&s, allowed, err, sizeof(err)) == 0);

    const char *badkeys[] = {"api_secret", "api_secret_env", "tokenx",
                             "token_envx", "url_env",        "type_file",
                             "Token",      "_env",           ""};
    for (size_t i = 0; i < sizeof(badkeys) / sizeof(badkeys[0]); i++) {
        struct config_kv kv[] = {{"type", "honcho", 2}, {(char *)badkeys[i], "v", 9}};
        s = section(kv, 2);
        CHECK(config_check_keys(&s, allowed, err, sizeof(err)) == -EINVAL);
    }
    struct config_kv kv[] = {{"type", "honcho", 2}, {"colour", "blue", 9}};
    s = section(kv, 2);
    CHECK(config_check_keys(&s, allowed, err, sizeof(err)) == -EINVAL);
    CHECK(has(err, "[sec]") && has(err, "line 9") && has(err, "'colour'"));
    CHECK(has(err, "type, url, token (or token_env, token_file, token_command), api_key"));
    char small[20];
    CHECK(config_check_keys(&s, allowed, small, sizeof(small)) == -EINVAL);
    CHECK(strlen(small) == sizeof(small) - 1);

    struct config_kv given[] = {{"type", "fount", 2}, {"token_file", "/f", 3}};
    s = section(given, 2);
    CHECK(config_has_secret(&s, "token"));
    CHECK(!config_has_secret(&s, "api_key"));
    CHECK(!config_has_secret(&s, "type_file") && !config_has_secret(&s, "tok"));
}

/* Resolve "token" from one kv; rc, *out as secret_resolve. */
static int resolve1(const char *key, const char *value, char **out, char *err, size_t errlen)
{
    struct config_kv kv[] = {{"type", "honcho", 2}, {(char *)key, (char *)value, 3}};
    struct config_section s = section(kv, 2);
    err[0] = '\0';
    return secret_resolve(&s, "token", out, err, errlen);
}

static void test_secrets(struct tmp *t)
{
    char err[512], *out = (char *)"unset";
    struct config_kv none[] = {{"type", "honcho", 2}};
    struct config_section s = section(none, 1);

    CHECK(secret_resolve(&s, "token", &out, err, sizeof(err)) == 0 && out == NULL);

    CHECK(resolve1("token", "inline-secret", &out, err, sizeof(err)) == 0);
    CHECK_STR(out, "inline-secret");
    secret_free(out);
    CHECK(resolve1("token", "", &out, err, sizeof(err)) == -EINVAL && out == NULL);
    secret_free(NULL);

    struct config_kv two[] = {{"token", "a", 3}, {"token_env", "X", 4}};
    s = section(two, 2);
    CHECK(secret_resolve(&s, "token", &out, err, sizeof(err)) == -EINVAL && out == NULL);
    CHECK(has(err, "only one of token, token_env, token_file and token_command"));
    CHECK(!strstr(err, "= a"));
    struct config_kv two2[] = {{"api_key_file", "/f", 3}, {"api_key_command", "c", 4}};
    s = section(two2, 2);
    CHECK(secret_resolve(&s, "api_key", &out, err, sizeof(err)) == -EINVAL);
    CHECK(secret_resolve(&s, "token", &out, err, sizeof(err)) == 0 && out == NULL);

    /* environment */
    setenv("CFS_TEST_TOKEN", "env-secret", 1);
    CHECK(resolve1("token_env", "CFS_TEST_TOKEN", &out, err, sizeof(err)) == 0);
    CHECK_STR(out, "env-secret");
    secret_free(out);
    unsetenv("CFS_TEST_UNSET");
    CHECK(resolve1("token_env", "CFS_TEST_UNSET", &out, err, sizeof(err)) == -ENOENT);
    CHECK(has(err, "CFS_TEST_UNSET") && has(err, "not set") && has(err, "[sec]"));
    setenv("CFS_TEST_EMPTY", "", 1);
    CHECK(resolve1("token_env", "CFS_TEST_EMPTY", &out, err, sizeof(err)) < 0);
    CHECK(has(err, "CFS_TEST_EMPTY") && has(err, "empty"));
    CHECK(resolve1("token_env", "", &out, err, sizeof(err)) == -EINVAL);
    /* a CR or LF in a secret would split the header it goes into; every form
     * is refused the same way, and the message never holds the value */
    setenv("CFS_TEST_CRLF", "abc\r\nX-Injected: yes", 1);
    CHECK(resolve1("token_env", "CFS_TEST_CRLF", &out, err, sizeof(err)) == -EINVAL && !out);
    CHECK(has(err, "CFS_TEST_CRLF") && has(err, "token_env") && has(err, "control character") &&
          has(err, "[sec]") && has(err, "line 3"));
    CHECK(!strstr(err, "abc") && !strstr(err, "Injected"));
    setenv("CFS_TEST_CRLF", "abc\n", 1);
    CHECK(resolve1("token_env", "CFS_TEST_CRLF", &out, err, sizeof(err)) == -EINVAL && !out);
    setenv("CFS_TEST_CRLF", "abc\x7f", 1);
    CHECK(resolve1("token_env", "CFS_TEST_CRLF", &out, err, sizeof(err)) == -EINVAL && !out);
    setenv("CFS_TEST_CRLF", "caf\xc3\xa9-not-a-control", 1);
    CHECK(resolve1("token_env", "CFS_TEST_CRLF", &out, err, sizeof(err)) == 0);
    secret_free(out);
    unsetenv("CFS_TEST_CRLF");
    CHECK(resolve1("token", "in\tline", &out, err, sizeof(err)) == -EINVAL && !out);
    CHECK(has(err, "token") && has(err, "control character") && !strstr(err, "line\""));
    CHECK(resolve1("token_command", "printf 'a\\rb\\n'", &out, err, sizeof(err)) == -EINVAL);
    CHECK(has(err, "token_command") && has(err, "control character") && !out);

    /* files: first line, trailing blanks and CR dropped, ~/ from HOME */
    const char *path = put(t, "tok", "file-secret  \r\nsecond line\n", 0600);
    CHECK(resolve1("token_file", path, &out, err, sizeof(err)) == 0);
    CHECK_STR(out, "file-secret");
    secret_free(out);
    put(t, "tok2", "no-newline", 0600);
    setenv("HOME", t->dir, 1);
    CHECK(resolve1("token_file", "~/tok2", &out, err, sizeof(err)) == 0);
    CHECK_STR(out, "no-newline");
    secret_free(out);
    unsetenv("HOME");
    CHECK(resolve1("token_file", "~/tok2", &out, err, sizeof(err)) == -EINVAL);
    CHECK(has(err, "HOME"));
    path = put(t, "tok3", "\nsecret on line two\n", 0600);
    CHECK(resolve1("token_file", path, &out, err, sizeof(err)) == -EINVAL);
    CHECK(has(err, "empty") && !strstr(err, "line two"));
    path = put(t, "tok5", "esc\x1b[0mape\n", 0600);
    CHECK(resolve1("token_file", path, &out, err, sizeof(err)) == -EINVAL && !out);
    CHECK(has(err, path) && has(err, "control character") && !strstr(err, "ape"));
    path = put(t, "tok4", "", 0600);
    CHECK(resolve1("token_file", path, &out, err, sizeof(err)) == -EINVAL);
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/no-such-token", t->dir);
    CHECK(resolve1("token_file", missing, &out, err, sizeof(err)) == -ENOENT);
    CHECK(has(err, missing) && has(err, "token_file"));
    /* a FIFO with no writer would block open() forever, at start or in the
     * signal thread's reload: refused at once instead (the alarm turns a hang
     * into a failure) */
    char fifo[160];
    snprintf(fifo, sizeof(fifo), "%s/fifo", t->dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    alarm(20);
    CHECK(resolve1("token_file", fifo, &out, err, sizeof(err)) == -EINVAL && out == NULL);
    CHECK(has(err, fifo) && has(err, "token_file") && has(err, "FIFO") && has(err, "regular file"));
    CHECK(resolve1("token_file", t->dir, &out, err, sizeof(err)) == -EINVAL);
    CHECK(has(err, "directory"));
    CHECK(resolve1("token_file", "/dev/null", &out, err, sizeof(err)) == -EINVAL);
    CHECK(has(err, "/dev/null") && has(err, "regular file"));
    struct config cfg;
    CHECK(config_load(fifo, &cfg, err, sizeof(err)) == -EINVAL);
    CHECK(has(err, fifo) && has(err, "not a regular file"));
    alarm(0);
    unlink(fifo);

    /* commands */
    CHECK(resolve1("token_command", "printf 'cmd-secret\\nsecond\\n'", &out, err, sizeof(err)) ==
          0);
    CHECK_STR(out, "cmd-secret");
    secret_free(out);
    CHECK(resolve1("token_command", "echo \"$CFS_TEST_TOKEN\"", &out, err, sizeof(err)) == 0);
    CHECK_STR(out, "env-secret");
    secret_free(out);
    CHECK(resolve1("token_command", "cat; echo stdin-was-empty", &out, err, sizeof(err)) == 0);
    CHECK_STR(out, "stdin-was-empty");
    secret_free(out);
    /* the daemon's own descriptors (provider connections, an AUTHed Redis socket)
     * are not close-on-exec, and a command run by a reload must not inherit them */
    int leak = open("/dev/null", O_RDONLY);
    CHECK(leak >= 0 && dup2(leak, 42) == 42);
    CHECK(resolve1("token_command", "[ -e /proc/self/fd/42 ] && echo inherited || echo closed",
                   &out, err, sizeof(err)) == 0);
    CHECK_STR(out, "closed");
    secret_free(out);
    close(42);
    close(leak);
    CHECK(resolve1("token_command", "yes big-output | head -c 300000", &out, err, sizeof(err)) ==
          0);
    CHECK_STR(out, "big-output");
    secret_free(out);
    CHECK(resolve1("token_command", "echo leaked-output; exit 3", &out, err, sizeof(err)) == -EIO);
    CHECK(out == NULL);
    CHECK(has(err, "token_command failed") && has(err, "exit status 3") && has(err, "[sec]"));
    CHECK(!strstr(err, "leaked-output"));
    CHECK(resolve1("token_command", "kill -9 $$", &out, err, sizeof(err)) == -EIO);
    CHECK(has(err, "signal 9"));
    CHECK(resolve1("token_command", "true", &out, err, sizeof(err)) == -EINVAL);
    CHECK(has(err, "empty"));
    CHECK(resolve1("token_command", "no-such-command-cfs 2>/dev/null", &out, err, sizeof(err)) ==
          -EIO);
    CHECK(has(err, "exit status 127"));

    /* a hanging command is killed at the deadline and is an error, not a hang */
    time_t t0 = time(NULL);
    CHECK(resolve1("token_command", "echo partial; sleep 30", &out, err, sizeof(err)) ==
          -ETIMEDOUT);
    CHECK(out == NULL);
    CHECK(has(err, "killed") && !strstr(err, "partial"));
    printf("# the sleeping command was stopped after about %lld s\n", (long long)(time(NULL) - t0));
}

/* [global] has no section name (it is no directory); its secret errors still name it. */
static void test_global_secret(struct tmp *t)
{
    struct config cfg;
    char err[512];
    char *out = NULL;
    CHECK(load(t,
               "[global]\nshared_cache = unix:/nonexistent.sock\n"
               "shared_cache_password_command = exit 3\n[n]\ntype = honcho\n",
               &cfg, err, sizeof(err)) == 0);
    CHECK(secret_resolve(&cfg.global, "shared_cache_password", &out, err, sizeof(err)) == -EIO);
    CHECK(out == NULL);
    CHECK(has(err, "config: [global] (line 3): shared_cache_password_command failed"));
    CHECK(!strstr(err, "(null)"));
    config_free(&cfg);
}

int main(void)
{
    struct tmp t = {.dir = "/tmp/cfs-config-XXXXXX"};
    if (!mkdtemp(t.dir)) {
        perror("mkdtemp");
        return 1;
    }
    char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

    test_load(&t);
    test_refusals(&t);
    test_permissions(&t);
    test_globals();
    test_default_path(&t);
    test_check_keys();
    test_secrets(&t);
    test_global_secret(&t);

    if (home)
        setenv("HOME", home, 1);
    free(home);
    for (int i = 0; i < t.n; i++)
        unlink(t.paths[i]);
    rmdir(t.dir);
    return check_done();
}
