/* collectionsfs --check: validate, resolve, and ask every provider for page 1. */
#ifndef CFS_CHECK_H
#define CFS_CHECK_H

#include <stddef.h>

struct provider;

/** Fetch the first page of each provider and print one line per section; exit status. */
int check_providers(struct provider **p, size_t n);

#endif
