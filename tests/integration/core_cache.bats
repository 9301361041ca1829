#!/usr/bin/env bats
# Freshness (DESIGN §3): a listing is kept for ttl seconds, and a change on
# the server shows after ttl (or at once after SIGHUP). A failing refresh is
# faults_stale.bats's. Fresh mount per test (each needs its own ttl).

load '../lib/common'

NEW_NAME="Renamed by core_cache"

teardown() {
    teardown_mount
}

# listed SECTION NAME / unlisted SECTION NAME: readdir shows / does not show NAME.
listed() { timeout 20 ls "$MNT/$1" | grep -qxF -- "$2"; }
unlisted() {
    local out
    out=$(timeout 20 ls "$MNT/$1") || return 1
    ! grep -qxF -- "$2" <<<"$out" || false
}

# gone SECTION NAME: lookup of NAME fails with ENOENT.
gone() {
    local out
    out=$(timeout 20 stat "$MNT/$1/$2" 2>&1) && return 1
    [[ "$out" == *"No such file or directory"* ]]
}

# holds_name SECTION NAME TEXT: metadata.json of collection NAME holds TEXT
# (the provider's name field, whatever it is called, as a JSON string).
holds_name() {
    timeout 20 grep -qF "\": \"$3\"" "$MNT/$1/$2/metadata.json"
}

@test "ttl: with ttl=2 a rename on the server shows up and the old name vanishes" {
    CFS_TTL=2 setup_mount --count 30
    local p=${PROVIDERS[0]} id old
    id=$(item_at "$p" 0 id)
    old=$(item_at "$p" 0 name)
    listed "$p" "$old"
    rename_item "$p" "$id" "$NEW_NAME"
    wait_for 10 listed "$p" "$NEW_NAME"
    wait_for 10 unlisted "$p" "$old"
    gone "$p" "$old"
    holds_name "$p" "$NEW_NAME" "$NEW_NAME"
}

@test "ttl: a change past the ttl under the same file number reaches a page cache holding the old bytes" {
    # A server changes a field of a collection without moving its update time,
    # at the same length: metadata.json keeps its size and mtime, so its
    # number, and the kernel's page cache holds the old bytes under it, with
    # nothing in their attributes to say they changed. The access past the ttl
    # that starts the refresh must make the kernel drop them. (A rename would
    # not show it: the kernel drops the old name's directory with its file.)
    CFS_TTL=2 setup_mount --count 30
    local p id path ino i
    p=$(fake_get "/_fake/providers?detail=1" | python3 -c '
import json, sys
print(next(v["name"] for v in json.load(sys.stdin) if v["retouch"] and v["name"] in sys.argv[1:]))' "${PROVIDERS[@]}")
    id=$(item_at "$p" 5 id)
    path="$MNT/$p/$(item_at "$p" 5 name)/metadata.json"
    for i in 1 2; do timeout 20 cat "$path" >/dev/null; done
    ino=$(stat -c %i "$path")
    fake_post /_fake/config "{\"provider\": \"$p\", \"retouch\": [\"$id\"]}" >/dev/null
    wait_for "$BOUND" same_bytes "$p" 5 || same_bytes "$p" 5
    # the premise: the same number, whose page the kernel had
    [ "$(stat -c %i "$path")" = "$ino" ] || { echo "$p: a new file number"; false; }
}

@test "ttl: with ttl=60 a rename stays unseen until SIGHUP, then shows up" {
    CFS_TTL=60 setup_mount --count 30
    local p=${PROVIDERS[-1]} id old
    id=$(item_at "$p" 0 id)
    old=$(item_at "$p" 0 name)
    listed "$p" "$old"
    timeout 20 cat "$MNT/$p/$old/metadata.json" >/dev/null
    rename_item "$p" "$id" "$NEW_NAME"
    fake_reset
    # within ttl: the old listing, and no request
    listed "$p" "$old"
    unlisted "$p" "$NEW_NAME"
    gone "$p" "$NEW_NAME"
    holds_name "$p" "$old" "$old"
    [ "$(requests "$p")" -eq 0 ]
    hup
    wait_for 10 listed "$p" "$NEW_NAME"
    unlisted "$p" "$old"
    gone "$p" "$old"
    holds_name "$p" "$NEW_NAME" "$NEW_NAME"
    [ "$(requests "$p")" -ge 1 ]
}
