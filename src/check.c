/* --check: one line per section saying whether its first page came back, so a
 * user can test a config (secrets, urls, ids) without mounting anything. */
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "listing.h"
#include "provider.h"
#include "walk.h"

int check_providers(struct provider **p, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct walk *w = walk_new(p[i], 1000000);
        struct walk_batch b = {0};
        int rc = w && walk_plan(w, 1, &b) ? 0 : -ENOMEM;
        if (rc == 0) {
            walk_fetch(p[i], &b);
            rc = walk_merge(w, &b);
            walk_batch_free(&b);
        }
        if (rc == 0)
            printf("%s: ok (%s), %zu collection%s on the first page%s\n", p[i]->section,
                   p[i]->ops->type, walk_listing(w)->n, walk_listing(w)->n == 1 ? "" : "s",
                   walk_done(w) ? ", which is the last" : "");
        else
            printf("%s: FAILED (%s): %s\n", p[i]->section, p[i]->ops->type,
                   b.why[0] ? b.why : strerror(-rc));
        bad |= rc != 0;
        walk_free(w);
    }
    return bad ? 1 : 0;
}
