#!/usr/bin/env bash
# Deterministic seed corpus for the libFuzzer harnesses.
#
#   tests/fuzz/make_corpus.sh [OUTDIR]      (default: tests/fuzz/corpus)
#
# Writes OUTDIR/<target>/ for every harness:
#   gen-*   answers of tests/fake_providers.py --hostile (fixed seed, small
#           pages), fetched with curl: list pages of each provider, its content
#           faults (wrongtypes, absurd_total, cursor_loop, empty), its error
#           bodies (500, 429, html), and for the pure targets the collection
#           objects, names, ids and times of the hostile items;
#   edge-*  hand-written edge cases (deep nesting, huge numbers, invalid
#           UTF-8, lone surrogates, duplicate keys, odd times) written by this
#           script.
# Same inputs, same files: rerunning it changes nothing. The result is small
# (well under 200 KB) so tests/fuzz/corpus can be committed; run.sh also
# regenerates it under the fuzz build directory.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TESTS_DIR="$(cd "$HERE/.." && pwd)"
OUT="${1:-$HERE/corpus}"
FAKE="$TESTS_DIR/fake_providers.py"
N=24           # collections per provider: the first 24 hostile ones
PAGE=8         # small pages, so a seed is a few KB and page 2/3 exist

TMP="$(mktemp -d "${TMPDIR:-/tmp}/cfs-corpus.XXXXXX")"
FAKE_PID=
cleanup() {
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

python3 "$FAKE" --port 0 --port-file "$TMP/port" --seed 1 --hostile \
    --honcho $N --hivo $N --fount $N --scenario $N >"$TMP/fake.log" 2>&1 &
FAKE_PID=$!
for _ in $(seq 1 300); do
    [ -s "$TMP/port" ] && break
    kill -0 "$FAKE_PID" 2>/dev/null || { cat "$TMP/fake.log" >&2; exit 1; }
    sleep 0.05
done
[ -s "$TMP/port" ] || { echo "make_corpus: fake server did not start" >&2; exit 1; }
URL="http://127.0.0.1:$(cat "$TMP/port")"

targets=(fuzz_json_render fuzz_names fuzz_isotime fuzz_page_honcho fuzz_page_hivo
         fuzz_page_fount fuzz_page_scenario)
for t in "${targets[@]}"; do
    mkdir -p "$OUT/$t"
    rm -f "$OUT/$t"/gen-* "$OUT/$t"/edge-*
done

get() { curl -s --max-time 10 "$@"; }
fault() {
    curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' \
        -d "{\"provider\": \"$1\", \"mode\": \"$2\"${3:+, $3}}" "$URL/_fake/fault" >/dev/null
}
honcho() { # honcho PAGE FILE
    get -X POST -H 'Content-Type: application/json' -d '{}' \
        "$URL/honcho/v1/apps/app_aaaaaaaaaaaaaaaaa/users/usr_bbbbbbbbbbbbbbbbb/collections/list?page=$1&size=$PAGE" >"$2"
}
hivo() { # hivo SKIP FILE
    get -H 'X-User-Id: u1' -H 'X-Api-Key: hivo-secret-key' \
        "$URL/hivo/v1/collections?limit=$PAGE&skip=$1&sort=createdAt" >"$2"
}
fount() { # fount PAGE FILE
    get -H 'Authorization: Bearer fount-secret-token' \
        "$URL/fount/api/v2/collections?page=$1&per_page=$PAGE&sort=created_at" >"$2"
}
scenario() { # scenario TOKEN FILE
    get -u sk-key:sk-secret "$URL/scenario/v1/collections?pageSize=$PAGE${1:+&paginationToken=$1}" >"$2"
}
next_token() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("nextPaginationToken") or "")' "$1"
}

# ---- list pages, every page of the data set
pages=$(( (N + PAGE - 1) / PAGE ))
for p in $(seq 1 $pages); do
    honcho "$p" "$OUT/fuzz_page_honcho/gen-page$p.json"
    hivo $(( (p - 1) * PAGE )) "$OUT/fuzz_page_hivo/gen-skip$(( (p - 1) * PAGE )).json"
    fount "$p" "$OUT/fuzz_page_fount/gen-page$p.json"
done
tok=
for p in $(seq 1 $pages); do
    scenario "$tok" "$OUT/fuzz_page_scenario/gen-page$p.json"
    tok=$(next_token "$OUT/fuzz_page_scenario/gen-page$p.json")
    [ -n "$tok" ] || break
done

# ---- content faults and error bodies (first page of each)
first() { # first PROVIDER FILE: a first page of 2 items (the shape is what matters)
    local PAGE=2
    case $1 in
        honcho) honcho 1 "$2" ;;
        hivo) hivo 0 "$2" ;;
        fount) fount 1 "$2" ;;
        scenario) scenario "" "$2" ;;
    esac
}
for prov in honcho hivo fount scenario; do
    for mode in wrongtypes absurd_total cursor_loop empty html; do
        fault "$prov" "$mode"
        first "$prov" "$OUT/fuzz_page_$prov/gen-$mode.json"
    done
    fault "$prov" status '"status": 500'
    first "$prov" "$OUT/fuzz_page_$prov/gen-error500.json"
    fault "$prov" 429 '"k": 1, "retry_after": 7'
    first "$prov" "$OUT/fuzz_page_$prov/gen-error429.json"
    fault "$prov" none
done
# 401 and 404 bodies: wrong credentials, wrong path
get -H 'X-User-Id: u1' -H 'X-Api-Key: wrong' "$URL/hivo/v1/collections" >"$OUT/fuzz_page_hivo/gen-error401.json"
get -H 'Authorization: Bearer wrong' "$URL/fount/api/v2/collections" >"$OUT/fuzz_page_fount/gen-error401.json"
get -u sk-key:wrong "$URL/scenario/v1/collections" >"$OUT/fuzz_page_scenario/gen-error401.json"
get -X POST -d '[]' "$URL/honcho/v1/apps/app_aaaaaaaaaaaaaaaaa/users/usr_bbbbbbbbbbbbbbbbb/collections/list?size=0" \
    >"$OUT/fuzz_page_honcho/gen-error422.json"

# ---- the pure targets, from the items the fake serves
for prov in honcho hivo fount scenario; do
    get "$URL/_fake/expect?provider=$prov" >"$TMP/expect-$prov.json"
done
python3 - "$OUT" "$TMP" <<'PY'
import json, os, sys
out, tmp = sys.argv[1], sys.argv[2]
names, times = {}, set()
for prov in ("honcho", "hivo", "fount", "scenario"):
    items = json.load(open(os.path.join(tmp, "expect-%s.json" % prov)))
    for i, it in enumerate(items):
        text = it["metadata_json"].encode("utf-8", "surrogatepass")
        if i < 12:  # the hostile ones differ most; the rest look alike
            with open(os.path.join(out, "fuzz_json_render", "gen-%s-%02d.json" % (prov, i)), "wb") as f:
                f.write(text)
        obj = json.loads(it["metadata_json"])
        attrs = obj.get("attributes") if isinstance(obj.get("attributes"), dict) else {}
        for d in (obj, attrs):
            for k in ("created_at", "updated_at", "createdAt", "updatedAt", "lastModified"):
                if isinstance(d.get(k), str):
                    times.add(d[k])
        name = it["name"]
        flag = b"\x01" if isinstance(name, str) else b"\x00"
        raw = name.encode("utf-8", "surrogatepass") if isinstance(name, str) else b""
        names[flag + raw + b"\xff\x00" + str(it["id"]).encode()] = None
for i, n in enumerate(sorted(names)):
    with open(os.path.join(out, "fuzz_names", "gen-%03d" % i), "wb") as f:
        f.write(n)
for i, t in enumerate(sorted(times)):
    with open(os.path.join(out, "fuzz_isotime", "gen-%03d" % i), "wb") as f:
        f.write(t.encode())
PY
# Pin what changes from run to run (the fake's port, HIVO's timestamps), so the
# same arguments always give the same bytes.
port=$(cat "$TMP/port")
find "$OUT" -name 'gen-*' -type f -exec sed -i -E \
    -e "s/127\.0\.0\.1:$port/127.0.0.1:8080/g" \
    -e 's/"timestamp":[0-9]+/"timestamp":1700000000000/g' {} +
# one whole page per provider is a good JSON seed as well
cp "$OUT/fuzz_page_honcho/gen-page2.json" "$OUT/fuzz_json_render/gen-honcho-page2.json"
cp "$OUT/fuzz_page_hivo/gen-skip$PAGE.json" "$OUT/fuzz_json_render/gen-hivo-page2.json"
cp "$OUT/fuzz_page_fount/gen-page2.json" "$OUT/fuzz_json_render/gen-fount-page2.json"
cp "$OUT/fuzz_page_scenario/gen-page2.json" "$OUT/fuzz_json_render/gen-scenario-page2.json"

# ---- hand-written edge cases
python3 - "$OUT" <<'PY'
import os, sys
out = sys.argv[1]
def w(target, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    with open(os.path.join(out, target, "edge-" + name), "wb") as f:
        f.write(data)

json_edges = {
    "deep-511.json": "[" * 511 + "]" * 511,                 # just inside JSON_MAX_DEPTH
    "deep-513.json": "[" * 513 + "]" * 513,                 # just beyond: refused
    "deep-objects.json": '{"a":' * 300 + "null" + "}" * 300,
    "numbers.json": '{"big": 123456789012345678901234567890123456789, "neg": -0.0, "exp": 1E+400, '
                    '"tiny": 4.9e-324, "frac": 0.10000000000000000000001, "int": -9223372036854775809, '
                    '"zeros": 0e0, "e": 1e-7}',
    "strings.json": '{"nul": "a\\u0000b", "ctl": "\\u0001\\u001f\\u007f", "esc": "\\"\\\\\\/\\b\\f\\n\\r\\t", '
                    '"pair": "\\ud83d\\ude00", "lone": "\\ud800", "lowlone": "\\udc00x", "bom": "\\ufeff"}',
    "invalid-utf8.json": b'{"name": "bad \xff \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82 end", "\xfe": 1}',
    "truncated-utf8.json": b'{"name": "cut \xe2\x82"}',
    "dup-keys.json": '{"a": 1, "b": 2, "a": 3, "": 4, "a": {"a": 5, "a": 6}, "": 7}',
    "empty-containers.json": '{"o": {}, "a": [], "n": [[], [{}], {"": []}]}',
    "scalars.json": "12345678901234567890",
    "string-top.json": '"just a string"',
    "key-escapes.json": '{"k\\ny": 1, "\\u0000": 2, "\xc3\xa9\xf0\x9f\x98\x80": 3}',
    # surrogate escapes without their partner are U+FFFD; a real pair is one code point
    "surrogate-lone-high.json": '"a\\ud800b"',
    "surrogate-lone-low.json": '"a\\udc00b"',
    "surrogate-high-nonlow.json": '["\\ud800\\u0041", "\\ud800\\ud800\\udc00", "\\udc00\\ud800"]',
    "surrogate-pair.json": '["\\ud83d\\ude00", "\\uD800\\uDC00", "\\uDBFF\\uDFFF"]',
    "surrogate-edges.json": '{"end": "\\ud800", "esc": "\\ud800\\n", "bs": "\\\\ud800", '
                            '"bs-lone": "\\\\\\udc00", "case": "\\uDbFf", "q": "?\\u003f"}',
    "surrogate-keys.json": '{"k\\ud800": 1, "\\udc00": 2, "\\ud800": 3, "\\ud83d\\ude00": 4}',
}
for name, text in json_edges.items():
    w("fuzz_json_render", name, text)

page_edges = {
    "fuzz_page_honcho": {
        "ints.json": '{"items": [{"id": 12345678901234567890123, "name": "n"}, {"id": -0, "name": ""}, {"id": 1.5}, {"id": ""}, {"id": "a\\u0000b"}], "total": 9223372036854775807, "size": 1, "pages": 9223372036854775807}',
        "size0.json": '{"items": [], "total": 5, "size": 0}',
        "negative.json": '{"items": [{"id": "x"}], "total": -1, "pages": -5}',
        "times.json": '{"items": [{"id": "t1", "created_at": 1e300}, {"id": "t2", "created_at": -1e300}, {"id": "t3", "created_at": "0000-01-01T00:00:00+23:59"}, {"id": "t4", "created_at": 253402300799.999999}], "total": 4}',
        "surrogate-name.json": '{"items": [{"id": "s1", "name": "bad\\ud800name"}, {"id": "s2", "name": "\\udc00"}, {"id": "s3", "name": "\\ud83d\\ude00"}], "total": 3}',
        "dupnames.json": '{"items": [{"id": "b", "name": "dup", "created_at": "2020-01-01T00:00:00Z"}, {"id": "a", "name": "dup", "created_at": "2020-01-01T00:00:00Z"}, {"id": "c", "name": "dup (a)"}, {"id": "d", "name": "."}, {"id": "e", "name": ".."}], "total": 5}',
    },
    "fuzz_page_hivo": {
        "window.json": '{"links": {"next": "x"}, "data": [' + ",".join(
            '{"id": "%d", "attributes": {"name": "n", "createdAt": %d}}' % (i, 1700000000 + i) for i in range(8)) + "]}",
        "nolinks.json": '{"data": [{"id": 1, "attributes": {"createdAt": null}}, {"id": "2", "attributes": []}, {"id": [], "attributes": {}}]}',
        "links-null.json": '{"links": {"next": null}, "data": [{"id": "a", "attributes": {"name": "x", "createdAt": 1, "lastModified": "2024-02-29T23:59:60Z"}}]}',
    },
    "fuzz_page_fount": {
        "meta-total.json": '{"data": [{"id": 1, "name": "a"}], "meta": {"total": 9223372036854775807, "per_page": 1}}',
        "meta-zero.json": '{"data": [{"id": 1}], "meta": {"total": 5, "per_page": 0, "last_page": -1}, "links": {"next": "?page=2"}}',
        "next-only.json": '{"data": [{"id": 7, "name": "x", "created_at": "2024-01-01 10:00:00", "updated_at": "2024-01-01T10:00:00.123456789123+0530"}], "links": {"next": "u"}}',
    },
    "fuzz_page_scenario": {
        "token-nul.json": '{"collections": [{"id": "col_a"}], "nextPaginationToken": "a\\u0000b"}',
        "token-empty.json": '{"collections": [], "nextPaginationToken": ""}',
        "token-long.json": '{"collections": [{"id": "col_b", "name": "x"}], "nextPaginationToken": "' + "t" * 3000 + '"}',
    },
}
for target, files in page_edges.items():
    for name, text in files.items():
        w(target, name, text)
    # what any provider may get instead of a list
    w(target, "not-json.html", "<html><body>502 Bad Gateway</body></html>")
    w(target, "array.json", "[]")
    w(target, "fastapi-422.json", '{"detail": [{"loc": ["query", "size"], "msg": "Input should be less than or equal to 100"}]}')
    w(target, "retry.json", '{"meta": {"retryAfter": 1e308}, "remainingSeconds": -1, "errors": [{"title": "x"}]}')

names_edges = {
    "dot": b"\x01.\xff\x00id1", "dotdot": b"\x01..\xff\x00id2", "empty": b"\x01\xff\x00id3",
    "noname": b"\x00whatever\xff\x00id4", "slash": b"\x01a/b/c\xff\x00id5",
    "ctl": b"\x01\x00\x01\x1f\x7f\xff\x00id6", "invalid": b"\x01\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xff\x00id7",
    "long-ascii": b"\x01" + b"x" * 300 + b"\xff\x00id8",
    "long-4byte": b"\x01" + "\U0001F600".encode() * 70 + b"\xff\x00id9",
    "long-id": b"\x01" + b"n" * 260 + b"\xff\x00" + b"i" * 300,
    "exact-255": b"\x01" + b"e" * 255 + b"\xff\x00id10",
    "slash-id": b"\x01name\xff\x00../../etc",
}
for name, data in names_edges.items():
    w("fuzz_names", name, data)

time_edges = ["2024-02-29T23:59:60Z", "2023-02-29", "0000-01-01T00:00:00+23:59",
              "9999-12-31T23:59:59-23:59", "1969-12-31T23:59:59.999999999999Z",
              "2024-01-01T10:00:00.123456789+0530", "2024-01-01t10:00z", "2024-01-01 10:00:00+05",
              "2024-01-01T10:00:00.Z", "2024-13-01", "2024-01-01T24:00:00Z", "1900-02-29",
              "2000-02-29T00:00:00+00:60", "2024-01-01T10:00:00+5"]
for i, t in enumerate(time_edges):
    w("fuzz_isotime", "%02d" % i, t)
PY

total=$(du -sb "$OUT" | cut -f1)
echo "make_corpus: $(find "$OUT" -type f | wc -l) files, $total bytes in $OUT"
