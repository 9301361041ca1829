#!/usr/bin/env bats
# DESIGN §4: every modifying call fails with EROFS ("Read-only file system"),
# directories are 0555 and files 0444. One shared mount; nothing changes.

load '../lib/common'

setup_file() {
    setup_mount --count 20
}

teardown_file() {
    teardown_mount
}

setup() {
    SECTION="$MNT/${PROVIDERS[0]}"
    DIR="$SECTION/$(timeout 20 ls "$SECTION" | head -1)"
    FILE="$DIR/metadata.json"
    timeout 20 test -f "$FILE"
    BEFORE=$(timeout 20 sha256sum <"$FILE")
}

# refused CMD...: the command fails and says "Read-only file system"; nothing changed.
refused() {
    run timeout 20 "$@"
    echo "$* -> status $status: $output"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]              # not a hang
    [[ "$output" == *"Read-only file system"* ]]
    [ "$(timeout 20 sha256sum <"$FILE")" = "$BEFORE" ]
    [ "$(timeout 20 stat -c %a "$DIR")" = 555 ]
}

@test "read-only: writing to metadata.json fails" {
    refused bash -c 'echo x >"$1"' _ "$FILE"
    refused bash -c 'echo x >>"$1"' _ "$FILE"
}

@test "read-only: touch of a file and creating a new file fail" {
    refused touch "$FILE"
    refused touch "$DIR/new"
    run timeout 20 test -e "$DIR/new"
    [ "$status" -eq 1 ]
}

@test "read-only: mkdir fails (in a section and in a collection)" {
    refused mkdir "$SECTION/newdir"
    refused mkdir "$DIR/sub"
    refused mkdir "$MNT/newsection"
}

@test "read-only: rm of metadata.json fails" {
    refused rm -f "$FILE"
    timeout 20 test -f "$FILE"
}

@test "read-only: rmdir of a collection fails" {
    refused rmdir "$DIR"
    timeout 20 test -d "$DIR"
}

@test "read-only: mv fails" {
    refused mv "$DIR" "$DIR.renamed"
    refused mv "$FILE" "$DIR/other.json"
    timeout 20 test -f "$FILE"
}

@test "read-only: ln (hard link) fails" {
    refused ln "$FILE" "$DIR/hard"
}

@test "read-only: ln -s fails" {
    refused ln -s metadata.json "$DIR/soft"
}

@test "read-only: chmod fails" {
    refused chmod 644 "$FILE"
    refused chmod 755 "$DIR"
}

@test "read-only: setfattr fails" {
    refused setfattr -n user.x -v 1 "$FILE"
    refused setfattr -n user.x -v 1 "$DIR"
}

@test "read-only: truncate -s0 fails" {
    refused truncate -s0 "$FILE"
    [ "$(timeout 20 stat -c %s "$FILE")" -gt 0 ]
}

@test "read-only: modes are dr-xr-xr-x for directories and -r--r--r-- for files" {
    run timeout 20 stat -c %A "$MNT" "$SECTION" "$DIR" "$FILE"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = dr-xr-xr-x ]
    [ "${lines[1]}" = dr-xr-xr-x ]
    [ "${lines[2]}" = dr-xr-xr-x ]
    [ "${lines[3]}" = -r--r--r-- ]
    # and the mount itself is read-only
    run timeout 20 findmnt -n -o OPTIONS "$MNT"
    [[ ",$output," == *,ro,* ]]
}
