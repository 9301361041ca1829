/* Secrets (tokens, API keys) given inline, by environment variable, file or command.
 * The value is handed to the provider only; error messages never contain it. */
#ifndef CFS_SECRET_H
#define CFS_SECRET_H

#include <stddef.h>

struct config_section;

/** Resolve secret `name` from name, name_env, name_file or name_command; *out malloc'd, NULL when
 * unset; 0 or -errno with message in err. */
int secret_resolve(const struct config_section *s, const char *name, char **out, char *err,
                   size_t errlen);
/** Overwrite and free a secret. */
void secret_free(char *secret);

#endif
