#!/usr/bin/env python3
"""The page requests of one provider's full listing, for the curl yardsticks of
tests/bench/perf.sh: the fewest pages at the API's largest page size, as a
client that knows the API would ask for them. Page-number and offset APIs are
computed from the count; HIVO's skip window (65,536) and Scenario's cursor are
walked once here (untimed) so the yardstick fetches exactly those URLs.

    python3 tests/bench/pages.py SECTIONS_JSON PROVIDER COUNT MAX_PAGE OUTDIR

SECTIONS_JSON is the fake's /_fake/config-sections?format=json. Writes
OUTDIR/urls.curl (a curl config: url/output pairs, outputs OUTDIR/pNNNNN.json)
and prints the curl options every request needs (method, body, headers), one
per line, NUL-terminated.
"""
import base64
import json
import math
import os
import sys
import urllib.parse
import urllib.request

HIVO_SKIP_MAX = 65536


def main():
    sections, prov, count, max_page, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        int(sys.argv[4]), sys.argv[5]
    sec = {s["section"]: s for s in json.load(open(sections))}[prov]
    st = dict(sec["settings"])
    cred = dict(sec["secrets"])
    base = st["url"].rstrip("/")
    opts, headers = [], {}
    if prov == "honcho":
        opts = ["-X", "POST", "-H", "Content-Type: application/json", "-d", "{}"]
        if cred.get("token"):
            headers["Authorization"] = "Bearer " + cred["token"]
    elif prov == "hivo":
        headers = {"X-User-Id": st["user_id"], "X-Api-Key": cred["api_key"]}
    elif prov in ("fount", "jsonarray"):
        headers = {"Authorization": "Bearer " + cred["token"]}
    elif prov == "scenario":
        headers = {"Authorization": "Basic " + base64.b64encode(
            ("%s:%s" % (cred["api_key"], cred["api_secret"])).encode()).decode()}
    for k, v in headers.items():
        opts += ["-H", "%s: %s" % (k, v)]

    def get(url):
        req = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)

    pages = max(1, math.ceil(count / max_page))
    if prov == "honcho":
        urls = ["%s/v1/apps/%s/users/%s/collections/list?page=%d&size=%d"
                % (base, st["app_id"], st["user_id"], i, max_page) for i in range(1, pages + 1)]
    elif prov == "fount":
        urls = ["%s/api/v2/collections?page=%d&per_page=%d&sort=created_at" % (base, i, max_page)
                for i in range(1, pages + 1)]
    elif prov == "jsonarray":
        urls = ["%s/v1/collections?offset=%d&limit=%d" % (base, i * max_page, max_page)
                for i in range(pages)]
    elif prov == "hivo":
        # skip pages up to the server's window, then a new window from the last creation second
        urls, seen, mark = [], 0, None
        while seen < count:
            skip = 0
            while seen < count and skip <= HIVO_SKIP_MAX:
                q = {"limit": max_page, "skip": skip, "sort": "createdAt"}
                if mark is not None:
                    q["filter[createdMin]"] = mark
                url = "%s/v1/collections?%s" % (base, urllib.parse.urlencode(q))
                urls.append(url)
                if seen + max_page < count and skip + max_page > HIVO_SKIP_MAX:
                    data = get(url)["data"]      # the last page of this window: where the next starts
                    mark = data[-1]["attributes"]["createdAt"] + 1
                    seen += len(data)
                    break
                seen += max_page
                skip += max_page
    elif prov == "scenario":
        urls, tok = [], None
        while True:
            q = {"pageSize": max_page}
            if tok:
                q["paginationToken"] = tok
            url = "%s/v1/collections?%s" % (base, urllib.parse.urlencode(q))
            urls.append(url)
            tok = get(url).get("nextPaginationToken")
            if not tok:
                break
    else:
        sys.exit("pages.py: no page plan for %s" % prov)
    with open(os.path.join(out, "urls.curl"), "w") as f:
        for i, u in enumerate(urls):
            f.write('url = "%s"\noutput = "%s/p%05d.json"\n' % (u, out, i))
    sys.stdout.write("".join(o + "\0" for o in opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
