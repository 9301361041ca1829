/* A small read-only JSON tree built with yajl's event parser. Numbers keep the
 * text the server sent (yajl hands us the raw digits), so metadata.json can
 * reproduce 0.1, 1e-7 and 30-digit integers byte for byte; no conversion to
 * double or int64 happens unless a caller asks for one. */
#ifndef CFS_JSON_H
#define CFS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 512

enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
};

struct json {
    enum json_type type;
    char *text;         /* string (decoded, may hold NUL or invalid UTF-8) or number text */
    size_t len;         /* bytes of text, or members of an array/object */
    struct json **kids; /* array elements or object values */
    char **keys;        /* object keys, parallel to kids */
    size_t *keylens;
};

/** Parse one JSON document; NULL on error with a short reason (offset included) in err. */
struct json *json_parse(const char *text, size_t len, char *err, size_t errlen);
/** Free a tree from json_parse. */
void json_free(struct json *v);
/** Member `key` of an object, or NULL when v is not an object or has no such key. */
const struct json *json_get(const struct json *v, const char *key);
/** The string's bytes (and length), or NULL when v is not a string. */
const char *json_str(const struct json *v, size_t *len);
/** A number that is an integer in int64 range, written without fraction or exponent. */
bool json_int64(const struct json *v, int64_t *out);
/** True when v exists and has type t. */
bool json_is(const struct json *v, enum json_type t);

#endif
