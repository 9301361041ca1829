/* The bytes of metadata.json: Python's json.dumps(obj, indent=2,
 * ensure_ascii=False) + "\n", except that numbers keep the provider's text. */
#ifndef CFS_RENDER_H
#define CFS_RENDER_H

#include <stdbool.h>
#include <stddef.h>

struct json;

/* A buffer render_json_to fills; reused from item to item, it keeps its memory. */
struct render_buf {
    char *p;
    size_t len, cap;
    bool failed;
};

/** Render v into a malloc'd, NUL-terminated buffer (*out, *len bytes before the NUL); 0 or -ENOMEM.
 */
int render_json(const struct json *v, char **out, size_t *len);
/** Render v into o (its bytes replaced, NUL-terminated, o->len of them); 0 or -ENOMEM. */
int render_json_to(const struct json *v, struct render_buf *o);
/** Free a render_buf's memory; it is empty again. */
void render_buf_free(struct render_buf *o);

#endif
