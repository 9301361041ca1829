#!/usr/bin/env bats
# Freshness (DESIGN §3): a listing is kept for ttl seconds, a change on the
# server shows after ttl (or at once after SIGHUP), and a failing refresh
# keeps serving the old listing while the other providers carry on.
# Fresh mount per test (each needs its own ttl).

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

# first_item PROVIDER FIELD: a field of the oldest collection.
first_item() {
    fake_get "/_fake/expect?provider=$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][sys.argv[1]])' "$2"
}

rename() { fake_post /_fake/config "{\"provider\": \"$1\", \"rename\": {\"$2\": \"$3\"}}" >/dev/null; }

@test "ttl: with ttl=2 a rename on the server shows up and the old name vanishes" {
    CFS_TTL=2 setup_mount --honcho 150 --hivo 30 --fount 30 --scenario 30
    local id old
    id=$(first_item honcho id)
    old=$(first_item honcho name)
    listed honcho "$old"
    rename honcho "$id" "$NEW_NAME"
    wait_for 10 listed honcho "$NEW_NAME"
    wait_for 10 unlisted honcho "$old"
    gone honcho "$old"
    timeout 20 grep -qF "\"name\": \"$NEW_NAME\"" "$MNT/honcho/$NEW_NAME/metadata.json"
}

@test "ttl: with ttl=60 a rename stays unseen until SIGHUP, then shows up" {
    CFS_TTL=60 setup_mount --honcho 150 --hivo 30 --fount 30 --scenario 30
    local id old
    id=$(first_item fount id)
    old=$(first_item fount name)
    listed fount "$old"
    timeout 20 cat "$MNT/fount/$old/metadata.json" >/dev/null
    rename fount "$id" "$NEW_NAME"
    fake_reset
    # within ttl: the old listing, and no request
    listed fount "$old"
    unlisted fount "$NEW_NAME"
    gone fount "$NEW_NAME"
    timeout 20 grep -qF "\"name\": \"$old\"" "$MNT/fount/$old/metadata.json"
    [ "$(requests fount)" -eq 0 ]
    kill -HUP "$CFS_PID"
    wait_for 10 listed fount "$NEW_NAME"
    unlisted fount "$old"
    gone fount "$old"
    timeout 20 grep -qF "\"name\": \"$NEW_NAME\"" "$MNT/fount/$NEW_NAME/metadata.json"
    [ "$(requests fount)" -ge 1 ]
}

# hivo_refresh_failed: an access after ttl made a hivo request, and it failed.
hivo_refresh_failed() {
    timeout 20 ls "$MNT/hivo" >/dev/null &&
        [ "$(requests hivo)" -gt 0 ] &&
        grep -q '\[hivo\].*500' "$WORK/daemon.log"
}

@test "stale: with ttl=1, a failing hivo refresh keeps serving the old listing; others unaffected" {
    CFS_TTL=1 CFS_TIMEOUT=3 setup_mount --honcho 150 --hivo 300 --fount 30 --scenario 30
    local before_hivo before_honcho
    before_hivo=$(timeout 20 ls "$MNT/hivo")
    before_honcho=$(timeout 20 ls "$MNT/honcho")
    [ "$(printf '%s\n' "$before_hivo" | wc -l)" -eq 300 ]
    fake_reset
    fault '{"provider": "hivo", "mode": "status", "status": 500}'
    wait_for 15 hivo_refresh_failed || { cat "$WORK/daemon.log"; false; }
    run timeout 20 ls "$MNT/hivo"
    [ "$status" -eq 0 ]
    [ "$output" = "$before_hivo" ]
    local first last
    first=$(printf '%s\n' "$before_hivo" | head -1)
    last=$(printf '%s\n' "$before_hivo" | tail -1)
    run timeout 20 cat "$MNT/hivo/$first/metadata.json" "$MNT/hivo/$last/metadata.json"
    [ "$status" -eq 0 ]
    # the others keep working (and do refresh)
    run timeout 20 ls "$MNT/honcho"
    [ "$status" -eq 0 ]
    [ "$output" = "$before_honcho" ]
    run timeout 20 ls "$MNT/fount" "$MNT/scenario"
    [ "$status" -eq 0 ]
    # when hivo answers again, the listing is fresh again
    fault '{"provider": "hivo", "mode": "none"}'
    rename hivo "$(first_item hivo id)" "$NEW_NAME"
    wait_for 15 listed hivo "$NEW_NAME"
}
