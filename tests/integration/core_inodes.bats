#!/usr/bin/env bats
# Inode numbers and times that stay put (DESIGN §2): across a SIGHUP and a
# re-listing, and across unmount + mount, so find/du/rsync -H and file
# managers see the same file as the same file. Fresh mount per test.

load '../lib/common'

setup() {
    setup_mount --hostile
}

teardown() {
    teardown_mount
}

# stat_snapshot: "path inode mtime" of a few directories and files of every provider.
stat_snapshot() {
    local p d
    for p in "${PROVIDERS[@]}"; do
        for d in "a／b" dup Case "．．"; do
            timeout 20 stat -c '%n %i %.9Y' "$MNT/$p/$d" "$MNT/$p/$d/metadata.json" || return 1
        done
    done
}

# hup_and_relist: SIGHUP, wait until the daemon says it dropped its listings,
# then list every provider again and check that this went to the network.
hup_and_relist() {
    local p
    fake_reset
    hup || return 1
    for p in "${PROVIDERS[@]}"; do
        timeout 60 ls "$MNT/$p" >/dev/null || return 1
        [ "$(requests "$p")" -gt 0 ] || { echo "SIGHUP did not make the daemon list $p again"; return 1; }
    done
}

# top_stat: "path inode mtime" of the mount point and of every section directory.
top_stat() {
    local p dirs=("$MNT")
    for p in "${PROVIDERS[@]}"; do dirs+=("$MNT/$p"); done
    timeout 20 stat -c '%n %i %Y' "${dirs[@]}"
}

@test "inodes: a collection directory and its metadata.json have different inodes" {
    local p d di fi
    for p in "${PROVIDERS[@]}"; do
        for d in "a／b" dup Case; do
            di=$(timeout 20 stat -c %i "$MNT/$p/$d")
            fi=$(timeout 20 stat -c %i "$MNT/$p/$d/metadata.json")
            [ -n "$di" ]
            [ -n "$fi" ]
            [ "$di" != "$fi" ]
        done
    done
    # no two entries of the whole tree share an inode
    run timeout 60 bash -c "find '$MNT' -printf '%i\n' | sort | uniq -d"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "inodes: stable across SIGHUP and a re-listing" {
    local before after p=${PROVIDERS[0]}
    before=$(stat_snapshot)
    [ -n "$before" ]
    hup_and_relist
    after=$(stat_snapshot)
    diff <(echo "$before") <(echo "$after")
    # and the same through readdir (ls -i), not only lookup
    run timeout 20 ls -i "$MNT/$p"
    [[ "$output" == *"$(timeout 20 stat -c %i "$MNT/$p/dup") dup"* ]]
}

@test "inodes: stable across unmount and mount" {
    local before after
    before=$(stat_snapshot)
    [ -n "$before" ]
    remount
    after=$(stat_snapshot)
    diff <(echo "$before") <(echo "$after")
}

@test "inodes: find -inum finds a collection directory and its metadata.json" {
    local di fi p=${PROVIDERS[-1]}
    di=$(timeout 20 stat -c %i "$MNT/$p/dup")
    fi=$(timeout 20 stat -c %i "$MNT/$p/dup/metadata.json")
    run timeout 60 find "$MNT" -inum "$di"
    [ "$status" -eq 0 ]
    [ "$output" = "$MNT/$p/dup" ]
    run timeout 60 find "$MNT" -inum "$fi"
    [ "$status" -eq 0 ]
    [ "$output" = "$MNT/$p/dup/metadata.json" ]
}

@test "times: root and section directories keep their mtime (and inode) across remounts" {
    local before after
    before=$(top_stat)
    [ -n "$before" ]
    remount
    after=$(top_stat)
    diff <(echo "$before") <(echo "$after")
}
