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
