#!/usr/bin/env bats
# The mounted tree against the fake's hostile data set: every provider
# directory matches the expectation byte for byte (check_tree.py; the hostile
# data includes names with lone UTF-16 surrogates, which must show as U+FFFD),
# the metadata.json text keeps the provider's numbers, times follow DESIGN §2,
# and statfs answers sanely. One shared mount; the tests only read.

load '../lib/common'

setup_file() {
    setup_mount --hostile
    for p in "${PROVIDERS[@]}"; do
        fake_get "/_fake/expect?provider=$p" >"$WORK/$p.json"
    done
    expected_total >"$WORK/total"
}

teardown_file() {
    teardown_mount
}

# item PROVIDER PYTHON_CONDITION FIELD: FIELD of the first expected item
# (creation order) for which the condition on `it` holds.
item() {
    python3 - "$WORK/$1.json" "$2" "$3" <<'PY'
import json, sys
for it in json.load(open(sys.argv[1])):
    if eval(sys.argv[2], {"it": it}):
        v = it[sys.argv[3]]
        print("" if v is None else v)
        break
else:
    sys.exit("no item matches " + sys.argv[2])
PY
}

# floor_of NUMBER: whole seconds (towards minus infinity) of a float.
floor_of() { python3 -c "import math,sys; print(math.floor(float(sys.argv[1])))" "$1"; }

@test "tree: every provider matches the fake's hostile data (names, bytes, sizes, mtimes)" {
    local p bad=
    for p in "${PROVIDERS[@]}"; do
        echo "--- $p"
        timeout 120 python3 "$TESTS_DIR/lib/check_tree.py" "$WORK/$p.json" "$MNT/$p" | tail -n 20
        [ "${PIPESTATUS[0]}" -eq 0 ] || bad="$bad $p"
    done
    [ -z "$bad" ] || { echo "mismatches in:$bad"; false; }
}

@test "metadata.json: raw Honcho numbers are kept byte for byte" {
    [[ " ${PROVIDERS[*]} " == *" honcho "* ]] || skip "this binary has no honcho type"
    local id f num
    id=$(item honcho '"1e-7" in it["metadata_json"]' id)
    [ -n "$id" ]
    f=$(timeout 20 grep -rlF "\"id\": \"$id\"" "$MNT/honcho")
    [ "$f" = "$MNT/honcho/a／b/metadata.json" ]
    for num in '"pi": 0.1,' '"tiny": 1e-7,' '"big": 12345678901234567890,' \
               '"huge": 123456789012345678901234567890,' '"neg": -0.0,' '2.50,'; do
        run timeout 20 grep -cF -- "$num" "$f"
        echo "looking for $num in $f: $output"
        [ "$status" -eq 0 ]
        [ "$output" = 1 ]
    done
    # the file is exactly the expected text
    item honcho '"1e-7" in it["metadata_json"]' metadata_json | head -c -1 >"$WORK/want.json"
    timeout 20 cmp "$WORK/want.json" "$f"
}

@test "metadata.json: ends in exactly one newline and st_size equals the bytes read" {
    local f
    for f in "$MNT/${PROVIDERS[0]}"/{a／b,．,．．,Case,dup,metadata.json}/metadata.json; do
        [ "$(timeout 20 tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || { echo "no final newline: $f"; return 1; }
        [ "$(timeout 20 tail -c 2 "$f" | od -An -c | tr -d ' ')" != '\n\n' ] || { echo "two final newlines: $f"; return 1; }
        [ "$(timeout 20 wc -c <"$f")" -eq "$(timeout 20 stat -c %s "$f")" ] || { echo "size mismatch: $f"; return 1; }
    done
    # and the same for every file of the mount, in one process
    run timeout 120 python3 - "$MNT" <<'PY'
import os, sys
n = bad = 0
for top, dirs, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(top, f)
        data = open(p, "rb").read()
        n += 1
        if not data.endswith(b"}\n") or os.stat(p).st_size != len(data):
            bad += 1
            print("bad:", p, os.stat(p).st_size, len(data), data[-3:])
print(n, "files", bad, "bad")
sys.exit(1 if bad else 0)
PY
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "$(cat "$WORK/total") files 0 bad" ]
}

@test "metadata.json: grep -r reads every file of every provider" {
    run timeout 60 grep -rl '"id"' "$MNT"
    [ "$status" -eq 0 ]
    [ "$(printf '%s\n' "$output" | wc -l)" -eq "$(cat "$WORK/total")" ]
}

@test "times: a pre-1970 collection has a negative mtime (every provider)" {
    local p when
    for p in "${PROVIDERS[@]}"; do
        when=$(item "$p" 'it["name"] == "a/b"' updated)
        [ -n "$when" ] || when=$(item "$p" 'it["name"] == "a/b"' created)
        run timeout 20 stat -c %Y "$MNT/$p/a／b"
        [ "$status" -eq 0 ]
        echo "$p/a／b: mtime $output, expected $when"
        [ "$output" -lt 0 ]
        [ "$output" -eq "$(floor_of "$when")" ]
    done
}

@test "times: mtime is the updated time, or the created time where the provider gives none" {
    local p name when got kind
    for p in "${PROVIDERS[@]}"; do
        # an ordinary item: plain name (updated later than created, where there is an updated time)
        name=$(item "$p" 'it["name"] and it["name"].endswith(" 0040")' name)
        when=$(item "$p" 'it["name"] and it["name"].endswith(" 0040")' updated) kind=updated
        [ -n "$when" ] || when=$(item "$p" 'it["name"] and it["name"].endswith(" 0040")' created) kind=created
        [ -n "$when" ]
        got=$(timeout 20 stat -c %Y "$MNT/$p/$name")
        echo "$p/$name: mtime $got, $kind $when"
        [ "$got" -eq "$(floor_of "$when")" ]
    done
}

@test "times: a collection directory and its metadata.json share mtime and ctime" {
    local p d
    for p in "${PROVIDERS[@]}"; do
        for d in "$MNT/$p/a／b" "$MNT/$p/dup" "$MNT/$p/Case"; do
            [ "$(timeout 20 stat -c '%.9Y %.9Z' "$d")" = "$(timeout 20 stat -c '%.9Y %.9Z' "$d/metadata.json")" ] ||
                { echo "times differ: $d"; return 1; }
            # ctime is the same time as mtime
            [ "$(timeout 20 stat -c '%.9Y' "$d")" = "$(timeout 20 stat -c '%.9Z' "$d")" ] ||
                { echo "ctime != mtime: $d"; return 1; }
        done
    done
}

@test "statfs: name max 255, block size 4096; df works" {
    run timeout 20 stat -f -c '%l %S' "$MNT"
    [ "$status" -eq 0 ]
    [ "$output" = "255 4096" ]
    run timeout 20 stat -f -c '%l %S' "$MNT/${PROVIDERS[0]}/Case"
    [ "$output" = "255 4096" ]
    run timeout 20 df "$MNT"
    [ "$status" -eq 0 ]
    [[ "$output" == *"$MNT"* ]]
}
