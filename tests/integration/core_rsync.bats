#!/usr/bin/env bats
# Backups with rsync (DESIGN §2): a copy of the mount is complete and exact,
# and a second `rsync -a` finds nothing to transfer because size and mtime
# are stable. Hostile data so odd names and pre-1970 times are included.

load '../lib/common'

setup() {
    setup_mount --honcho 150 --hivo 300 --fount 1200 --scenario 150 --hostile
    DEST="$WORK/backup"
    mkdir -p "$DEST"
}

teardown() {
    teardown_mount
}

@test "rsync: a copy of the mount is exact and a second rsync -a transfers nothing" {
    run timeout 120 rsync -a "$MNT/" "$DEST/"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(find "$DEST" -type f -name metadata.json | wc -l)" -eq $((150 + 300 + 1200 + 150)) ]
    run timeout 120 rsync -a --itemize-changes "$MNT/" "$DEST/"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    run timeout 120 diff -r "$MNT" "$DEST"
    echo "$output" | head -20
    [ "$status" -eq 0 ]
}

@test "rsync: after SIGHUP and a re-listing of unchanged data, rsync -a still transfers nothing" {
    run timeout 120 rsync -a "$MNT/" "$DEST/"
    [ "$status" -eq 0 ]
    kill -HUP "$CFS_PID"
    wait_for 10 grep -q 'SIGHUP' "$WORK/daemon.log"
    fake_reset
    run timeout 120 rsync -a --itemize-changes "$MNT/" "$DEST/"
    echo "$output" | head -20
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "$(requests honcho)" -gt 0 ]     # it did list again
}

@test "rsync: the copy keeps the mtimes, including negative ones" {
    run timeout 120 rsync -a "$MNT/" "$DEST/"
    [ "$status" -eq 0 ]
    local p
    for p in honcho hivo fount scenario; do
        [ "$(stat -c %Y "$DEST/$p/a／b/metadata.json")" = "$(timeout 20 stat -c %Y "$MNT/$p/a／b/metadata.json")" ]
        [ "$(stat -c %Y "$DEST/$p/a／b")" -lt 0 ]
    done
}
