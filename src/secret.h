/* Secrets (tokens, API keys) given inline, by environment variable, file or command.
 * The value is handed to the provider only; error messages never contain it. */
#ifndef CFS_SECRET_H
#define CFS_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct config_section;

/** Resolve secret `name` from name, name_env, name_file or name_command; *out malloc'd, NULL when
 * unset; 0 or -errno with message in err. */
int secret_resolve(const struct config_section *s, const char *name, char **out, char *err,
                   size_t errlen);
/** A digest of the secrets this thread resolved since the last call, then start again: tells a
 * reload whether a section's credentials changed without keeping them. */
uint64_t secret_digest(void);
/** Start a fingerprint of the secrets this thread resolves from now on. */
void secret_fingerprint_begin(void);
/** End it: 32 hex digits of their SHA-256 in out (safe to show, never reversible); 0 or
 * -ENOMEM. */
int secret_fingerprint_end(char out[33]);
/** The daemon is stopping: a *_command running or started from now on is killed at once (its
 * secret_resolve fails with -ECANCELED), so a reload cannot hold up the shutdown. */
void secret_cancel(void);
/** Overwrite and free a secret. */
void secret_free(char *secret);

#endif
