/* The bytes of metadata.json: Python's json.dumps(obj, indent=2,
 * ensure_ascii=False) + "\n", except that numbers keep the provider's text. */
#ifndef CFS_RENDER_H
#define CFS_RENDER_H

#include <stddef.h>

struct json;

/** Render v into a malloc'd, NUL-terminated buffer (*out, *len bytes before the NUL); 0 or -ENOMEM.
 */
int render_json(const struct json *v, char **out, size_t *len);

#endif
