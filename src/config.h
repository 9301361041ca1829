/* The INI configuration file: [global] settings and one section per provider,
 * parsed with inih into plain key/value lists that providers read. */
#ifndef CFS_CONFIG_H
#define CFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct config_kv {
    char *key;
    char *value;
    int line;
};

struct config_section {
    char *name; /* directory name under the mount point */
    int line;
    struct config_kv *kv;
    size_t n;
    const char *file; /* the config file's path */
    bool exposed;     /* the file is readable by group or others: no inline secrets */
};

/* A key a section may hold; a secret may also be given as <name>_env, _file or _command. */
struct config_key {
    const char *name;
    bool secret;
};

/* The suffixes that say where a secret comes from ("" = inline); ends with NULL. */
extern const char *const config_secret_forms[];

struct config_global {
    unsigned ttl;             /* seconds a listing is fresh (60) */
    unsigned stale_ttl;       /* seconds a stale listing may be served (86400) */
    unsigned timeout;         /* request budget in seconds, retries included (30) */
    unsigned parallel;        /* pages fetched at once per provider (4) */
    uint64_t max_collections; /* per provider (5000000) */
    uint64_t max_response;    /* bytes one HTTP response may hold (16 MiB) */
    bool xattrs;              /* answer user.collectionsfs.* (yes); no: ENOSYS, never asked again */
    char *shared_cache;       /* the fleet's Redis (redis://HOST:PORT/DB or unix:PATH), or NULL */
    bool shared_insecure;     /* its password may travel in clear to another host (no) */
};

struct config {
    char *path;
    struct timespec mtime; /* of the file: the times of the root and section directories */
    struct config_global g;
    struct config_section global;    /* [global]'s pairs, for shared_cache_password's forms */
    struct config_section *sections; /* provider sections in file order */
    size_t n;
};

/** Fill the defaults of [global]. */
void config_defaults(struct config_global *g);
/** The config path: $XDG_CONFIG_HOME/collectionsfs/config, ~/.config/..., else
 * /etc/collectionsfs.conf; malloc'd. */
char *config_default_path(void);
/** Read and check a config file; 0, or -errno with a user-facing message in err. */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);
/** Apply "ttl", "stale_ttl", "timeout", "parallel", "max_collections", "max_response" or
 * "xattrs" (yes or no); 0 or -EINVAL. */
int config_set_global(struct config_global *g, const char *key, const char *value, char *err,
                      size_t errlen);
/** The key/value pair of key in a section, or NULL. */
const struct config_kv *config_find(const struct config_section *s, const char *key);
/** Value of key in a section, or NULL. */
const char *config_get(const struct config_section *s, const char *key);
/** Refuse keys not in the allowed list (ends with a NULL name; secrets in any form); 0 or -EINVAL.
 */
int config_check_keys(const struct config_section *s, const struct config_key *allowed, char *err,
                      size_t errlen);
/** True when secret `name` is given in any of its forms. */
bool config_has_secret(const struct config_section *s, const char *name);
/** Release everything config_load allocated. */
void config_free(struct config *cfg);

#endif
