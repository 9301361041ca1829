#!/usr/bin/env bats
# Backups with rsync (DESIGN §2): a copy of the mount is complete and exact,
# and a second `rsync -a` finds nothing to transfer because size and mtime
# are stable. Hostile data so odd names and pre-1970 times are included.

load '../lib/common'

setup() {
    setup_mount --hostile
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
    [ "$(find "$DEST" -type f -name metadata.json | wc -l)" -eq "$(expected_total)" ]
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
    fake_reset
    hup
    run timeout 120 rsync -a --itemize-changes "$MNT/" "$DEST/"
    echo "$output" | head -20
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    local p
    for p in "${PROVIDERS[@]}"; do
        [ "$(requests "$p")" -gt 0 ] || { echo "$p was not listed again"; false; } # it did list again
    done
}

@test "rsync: the copy keeps the mtimes, including negative ones" {
    run timeout 120 rsync -a "$MNT/" "$DEST/"
    [ "$status" -eq 0 ]
    local p
    for p in "${PROVIDERS[@]}"; do
        [ "$(stat -c %Y "$DEST/$p/a／b/metadata.json")" = "$(timeout 20 stat -c %Y "$MNT/$p/a／b/metadata.json")" ]
        [ "$(stat -c %Y "$DEST/$p/a／b")" -lt 0 ]
    done
}
