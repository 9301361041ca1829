#!/usr/bin/env bats
# Directory names made safe as DESIGN §2 says, checked name by name on the
# fake's hostile collections of every provider. Ids, names and the expected
# metadata.json come from the fake's expectation, never hard-coded; which
# collection a directory holds is told by its metadata.json, byte for byte.
# One shared mount; the tests only read.

load '../lib/common'

setup_file() {
    setup_mount --count 60 --hostile
    for p in "${PROVIDERS[@]}"; do
        fake_get "/_fake/expect?provider=$p" >"$WORK/$p.json"
    done
}

teardown_file() {
    teardown_mount
}

# ids_named PROVIDER NAME: ids of the collections called NAME, oldest first
# (created time; missing times last; ties by id), one per line.
ids_named() {
    python3 - "$WORK/$1.json" "$2" <<'PY'
import json, sys
items = [it for it in json.load(open(sys.argv[1])) if it["name"] == sys.argv[2]]
items.sort(key=lambda it: (it["created"] is None, it["created"] or 0, it["id"]))
print("\n".join(it["id"] for it in items))
PY
}

# ids_unnamed PROVIDER: ids of the collections with an empty or missing name.
ids_unnamed() {
    python3 -c 'import json,sys; print("\n".join(i["id"] for i in json.load(open(sys.argv[1])) if not i["name"]))' "$WORK/$1.json"
}

# held DIR FIELD: FIELD (id, name) of the expected collection whose
# metadata.json is exactly DIR/metadata.json; fails if there is none.
held() {
    local p
    p=$(basename "$(dirname "$1")")
    timeout 20 python3 - "$WORK/$p.json" "$1/metadata.json" "$2" <<'PY'
import json, sys
data = open(sys.argv[2], "rb").read()
for it in json.load(open(sys.argv[1])):
    if it["metadata_json"].encode() == data:
        print(it[sys.argv[3]])
        break
else:
    sys.exit("%s is no collection of the fake" % sys.argv[2])
PY
}

# json_name DIR: the name the collection in DIR has on the server.
json_name() { held "$1" name; }

# holds_id DIR ID: DIR/metadata.json is the collection with that id
holds_id() {
    [ "$(held "$1" id)" = "$2" ] || { echo "$1 does not hold collection $2"; return 1; }
}

# has_dir PATH: PATH is a directory holding a metadata.json, and readdir lists it.
has_dir() {
    timeout 20 test -d "$1" && timeout 20 test -f "$1/metadata.json" || { echo "no directory: $1"; return 1; }
    timeout 20 ls -a "$(dirname "$1")" | grep -qxF -- "$(basename "$1")" || { echo "not listed: $1"; return 1; }
}

@test "names: '/' becomes U+FF0F; a name already holding U+FF0F gets the id suffix" {
    local p first second
    for p in "${PROVIDERS[@]}"; do
        first=$(ids_named $p 'a/b')
        second=$(ids_named $p 'a／b')
        has_dir "$MNT/$p/a／b"
        [ "$(json_name "$MNT/$p/a／b")" = "a/b" ]
        # the older 'a/b' keeps the plain encoded name; the literal 'a／b' is a duplicate
        [[ "$first" != *$'\n'* && -n "$second" ]]
        has_dir "$MNT/$p/a／b ($second)"
    done
}

@test "names: '.' and '..' become '．' and '．．'" {
    local p
    for p in "${PROVIDERS[@]}"; do
        has_dir "$MNT/$p/．"
        has_dir "$MNT/$p/．．"
        [ "$(json_name "$MNT/$p/．")" = "." ]
        [ "$(json_name "$MNT/$p/．．")" = ".." ]
        # no entry named like the real . and .. beyond the two standard ones
        [ "$(timeout 20 ls -a "$MNT/$p" | grep -cx '\.\.\?')" -eq 2 ]
    done
}

@test "names: an empty or missing name becomes the collection id" {
    local p id n
    for p in "${PROVIDERS[@]}"; do
        n=0
        for id in $(ids_unnamed $p); do
            has_dir "$MNT/$p/$id"
            holds_id "$MNT/$p/$id" "$id"
            n=$((n + 1))
        done
        echo "$p: $n unnamed"
        [ "$n" -ge 1 ]
    done
}

@test "names: control characters become U+2400 symbols" {
    local p
    for p in "${PROVIDERS[@]}"; do
        has_dir "$MNT/$p/ctl␁␟ end"
        has_dir "$MNT/$p/line␊break"
        has_dir "$MNT/$p/tab␉here"
        [ "$(json_name "$MNT/$p/line␊break")" = $'line\nbreak' ]
        # nothing in the listing holds a raw control character
        timeout 20 python3 -c 'import os,sys; sys.exit(any(c < " " for n in os.listdir(sys.argv[1]) for c in n))' "$MNT/$p"
    done
}

@test "names: a 300-byte name is cut at a UTF-8 boundary to <= 255 bytes ending in ' (<id>)'" {
    local p long id found len
    long=$(printf 'x%.0s' {1..100})$(printf 'é%.0s' {1..100})
    for p in "${PROVIDERS[@]}"; do
        id=$(ids_named $p "$long")
        [ -n "$id" ]
        found=$(timeout 20 ls "$MNT/$p" | grep -F -- " ($id)")
        echo "$p: $found"
        [ "$(printf '%s\n' "$found" | wc -l)" -eq 1 ]
        len=$(printf '%s' "$found" | wc -c)
        [ "$len" -le 255 ]
        [ "$len" -ge 254 ]             # cut only as far as needed (é is 2 bytes)
        [[ "$found" == "$(printf 'x%.0s' {1..100})"é*" ($id)" ]]
        printf '%s' "$found" | iconv -f UTF-8 -t UTF-8 >/dev/null
        [ "$(json_name "$MNT/$p/$found")" = "$long" ]
    done
}

@test "names: a 255-byte name is kept whole" {
    local p n255
    n255=$(printf 'n%.0s' {1..255})
    for p in "${PROVIDERS[@]}"; do
        has_dir "$MNT/$p/$n255"
    done
}

@test "names: duplicates: the oldest keeps 'dup', the others become 'dup (<id>)'" {
    local p ids oldest id
    for p in "${PROVIDERS[@]}"; do
        mapfile -t ids < <(ids_named $p dup)
        [ "${#ids[@]}" -eq 3 ]
        oldest=${ids[0]}
        has_dir "$MNT/$p/dup"
        holds_id "$MNT/$p/dup" "$oldest"
        for id in "${ids[@]:1}"; do
            has_dir "$MNT/$p/dup ($id)"
            holds_id "$MNT/$p/dup ($id)" "$id"
        done
        run timeout 20 test -e "$MNT/$p/dup ($oldest)"
        [ "$status" -eq 1 ]
        [ "$(timeout 20 ls "$MNT/$p" | grep -c '^dup')" -eq 3 ]
    done
}

@test "names: 'Case' and 'case' are two directories" {
    local p
    for p in "${PROVIDERS[@]}"; do
        has_dir "$MNT/$p/Case"
        has_dir "$MNT/$p/case"
        [ "$(json_name "$MNT/$p/Case")" = Case ]
        [ "$(json_name "$MNT/$p/case")" = case ]
    done
}

@test "names: a collection named metadata.json is a directory holding metadata.json" {
    local p
    for p in "${PROVIDERS[@]}"; do
        has_dir "$MNT/$p/metadata.json"
        [ "$(timeout 20 stat -c %F "$MNT/$p/metadata.json")" = directory ]
        [ "$(json_name "$MNT/$p/metadata.json")" = metadata.json ]
    done
}

@test "names: probes-like real names (.directory, desktop.ini, autorun.inf) that exist are shown" {
    local p n
    for p in "${PROVIDERS[@]}"; do
        for n in .directory desktop.ini autorun.inf '%2F..%2Fetc' '-rf' ' spaced  out '; do
            has_dir "$MNT/$p/$n"
        done
    done
}

@test "names: lone UTF-16 surrogates become U+FFFD in the name and in metadata.json; a pair is kept" {
    # the fake sends "\ud800", "\udc00", "\ud800\u0041" (U+FFFD then "A") and
    # a valid pair "\ud83d\ude00", in the name and in one more field
    local p bad=
    for p in "${PROVIDERS[@]}"; do
        timeout 60 python3 - "$WORK/$p.json" "$MNT/$p" <<'PY' || bad="$bad $p"
import json, os, sys
items, root = json.load(open(sys.argv[1])), sys.argv[2]
surr = lambda s: isinstance(s, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in s)
lone = [it for it in items if surr(it["name"])]
pair = [it for it in items if isinstance(it["name"], str) and "\U0001F600 as escapes" in it["name"]]
assert len(lone) == 3 and len(pair) == 1, "the fake lost its surrogate collections"
have, bad = set(os.listdir(root)), 0
for it in lone + pair:
    want = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in it["name"])
    if want not in have:
        key = max(want.split("\ufffd"), key=len)[-12:]
        near = sorted(n for n in have if key in n)
        print("%s: no directory %r for the name %r (id %s); names like it on the mount: %r"
              % (os.path.basename(root), want, it["name"], it["id"], near))
        bad += 1
        continue
    data = open(os.path.join(root, want, "metadata.json"), "rb").read()
    if data != it["metadata_json"].encode():
        print("%s/%s/metadata.json: not the expected text (%d U+FFFD expected, %d found)"
              % (os.path.basename(root), want, it["metadata_json"].count("\ufffd"),
                 data.decode("utf-8", "replace").count("\ufffd")))
        bad += 1
sys.exit(1 if bad else 0)
PY
    done
    [ -z "$bad" ] || { echo "failed for:$bad"; false; }
}
