/* A listing as the fleet shares it: rebuilt from the records another daemon
 * published (names and inodes derived again by this daemon's own rules, every
 * record checked as a hostile page would be), and published from a listing. */
#ifndef CFS_FLEET_H
#define CFS_FLEET_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "shared.h"

struct listing;

/** The listing published under key, rebuilt for section (reusing base's unchanged records; base
 * may be NULL) with at most max records: 0 with *out (one reference) and its facts in *f;
 * -ESTALE (facts in *f, nothing else read) when its walk is max_age seconds old or more (-1: any
 * age will do), -ENOENT when none, -EBADMSG when damaged or too large, or -errno. */
int fleet_read(struct shared *sh, const char *key, const char *section, const struct listing *base,
               uint64_t max, long max_age, struct listing **out, struct shared_facts *f);
/** Publish l under key with the lease's token (renewed for lease_ms meanwhile), kept ttl_s
 * seconds; f's gen is set. 0, -ESTALE when fenced out, or -errno. */
int fleet_publish(struct shared *sh, const char *key, uint64_t token, unsigned ttl_s,
                  unsigned lease_ms, const struct listing *l, struct shared_facts *f);

#endif
