/* One request to a provider, done right: retries with jittered exponential
 * backoff inside the request budget, Retry-After and body retry hints honoured,
 * the status mapped to an errno, the body parsed as JSON, and a reason that
 * says what failed, where, and what to do (the caller decides whether to log it,
 * so a failure streak logs once). */
#ifndef CFS_FETCH_H
#define CFS_FETCH_H

struct json;
struct provider;
struct http_req;

#include <stddef.h>
#include <time.h>

/** Perform req within p->timeout_ms; *doc is the parsed 2xx body; 0 or -errno with the reason in
 * why (not logged). off_wire(arg), when not NULL, is called once the 2xx answer is in, before its
 * body is parsed: the caller's cue that the request no longer occupies the wire. */
int fetch_json(const struct provider *p, const struct http_req *req, struct json **doc, char *why,
               size_t whylen, void (*off_wire)(void *), void *arg);
/** Write wall-clock time t for a message: "HH:MM:SS UTC", with the date before it when t is on
 * another UTC day than now. */
void fetch_when(time_t t, time_t now, char *out, size_t outlen);
/** Wall-clock second until which no request to p may go (a pause or a spent rate window); 0 when
 * none. */
time_t fetch_paused_until(const struct provider *p);

#endif
