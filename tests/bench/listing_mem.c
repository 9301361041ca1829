/* Memory per collection of a listing, without a network: builds a listing of N
 * generated items shaped like the fake Fount's (short numeric ids, ~25-byte
 * names, one in a hundred repeated, ~280 bytes of metadata.json) in pages of 1,000, then a second
 * generation of the same items while the first is still held (a refresh with
 * readers holding files open), and references 2N inodes as a warm `find`
 * would. Prints the heap in use (mallinfo2) and the peak RSS (VmHWM) over the
 * metadata.json bytes, per collection.
 *
 *   build/tests/listing_mem [N [NAMES]]   (N default 100000)
 *
 * NAMES: plain (the default), same (every collection is called "Untitled", so
 * all but one show "Untitled (<id>)") or encoded (a "/" in every name): the
 * worst cases, where every directory name needs an allocation of its own.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"
#include "listing.h"

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':')
            v = strtol(line + kl + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static size_t json_bytes;
static const char *names = "plain";

/* The i-th collection's name. */
static void name_of(char *buf, size_t len, size_t i)
{
    if (strcmp(names, "same") == 0)
        snprintf(buf, len, "Untitled");
    else if (strcmp(names, "encoded") == 0)
        snprintf(buf, len, "Q%zu/Q%zu report", i % 4 + 1, i);
    else /* one name in a hundred is repeated, as a few duplicate names are in real accounts */
        snprintf(buf, len, "Collection number %zu", i % 100 ? i : i % 5000);
}

static void fill(struct item *it, size_t i)
{
    char buf[512], name[64];
    memset(it, 0, sizeof(*it));
    snprintf(buf, sizeof(buf), "%zu", 1000000 + i * 2);
    it->id = strdup(buf);
    name_of(name, sizeof(name), i);
    it->name = strdup(name);
    it->name_len = strlen(name);
    it->has_created = it->has_updated = true;
    it->created.tv_sec = 1600000000 + (time_t)i;
    it->updated.tv_sec = 1600000000 + (time_t)i * 2;
    int n = snprintf(buf, sizeof(buf),
                     "{\n  \"collection_type\": \"private\",\n  \"created_at\": "
                     "\"2020-09-13T12:26:40.000000Z\",\n  \"id\": %zu,\n  \"name\": "
                     "\"%s\",\n  \"updated_at\": \"2020-09-13T12:26:40.000000Z\",\n"
                     "  \"uuid\": \"%08zx-0000-4000-a000-000000000000\"\n}\n",
                     1000000 + i * 2, name, i);
    it->json = strdup(buf);
    it->json_len = (size_t)n;
}

static struct listing *build(size_t n)
{
    struct listing *l = listing_new("fount");
    struct item page[1000];
    json_bytes = 0;
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < 1000 && i < n; k++, i++) {
            fill(&page[k], i);
            json_bytes += page[k].json_len;
        }
        if (listing_add(l, page, k) < 0) {
            fprintf(stderr, "ENOMEM\n");
            exit(1);
        }
    }
    return l;
}

static void report(const char *what, size_t n, long base_kb)
{
    struct mallinfo2 mi = mallinfo2();
    long hwm = status_kb("VmHWM") - base_kb;
    printf("%-34s heap %8.1f MB (%6.1f B/coll over json)  peak RSS %8.1f MB (%6.1f B/coll over "
           "json)\n",
           what, mi.uordblks / 1e6, ((double)mi.uordblks - (double)json_bytes) / (double)n,
           hwm / 1024.0, (hwm * 1024.0 - (double)json_bytes) / (double)n);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    names = argc > 2 ? argv[2] : names;
    if (strcmp(names, "plain") && strcmp(names, "same") && strcmp(names, "encoded")) {
        fprintf(stderr, "usage: listing_mem [N [plain|same|encoded]]\n");
        return 2;
    }
    long base_kb = status_kb("VmHWM");
    printf("%zu collections, %s names\n", n, names);
    struct listing *a = build(n);
    printf("metadata.json bytes: %.1f MB\n", json_bytes / 1e6);
    report("cold walk", n, base_kb);
    /* the refresh: same items, the old generation still held (as open files hold it) */
    struct listing *b = listing_new("fount");
    listing_set_base(b, a);
    struct item page[1000];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < 1000 && i < n; k++, i++)
            fill(&page[k], i);
        if (listing_add(b, page, k) < 0)
            return 1;
    }
    listing_set_base(b, NULL);
    report("refresh, old generation held", n, base_kb);
    for (size_t i = 0; i < listing_count(b); i++) {
        const struct entry *e = listing_at(b, i);
        inode_remember(entry_ino(e), INODE_DIR, 0);
        inode_remember(entry_ino(e) | 1, INODE_FILE, 0);
    }
    report("+ 2N inodes referenced", n, base_kb);
    listing_unref(a);
    listing_unref(b);
    inode_cleanup();
    return 0;
}
