#!/usr/bin/env bats
# Inode numbers and times that stay put (DESIGN §2): across a SIGHUP and a
# re-listing, and across unmount + mount, so find/du/rsync -H and file
# managers see the same file as the same file. Fresh mount per test.

load '../lib/common'

PROVIDERS=(honcho hivo fount scenario)

setup() {
    setup_mount --honcho 150 --hivo 300 --fount 1200 --scenario 150 --hostile
}

teardown() {
    teardown_mount
}

# snapshot: "path inode mtime" of a few directories and files of every provider.
snapshot() {
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
    fake_reset
    kill -HUP "$CFS_PID"
    wait_for 10 grep -q 'SIGHUP' "$WORK/daemon.log" || { cat "$WORK/daemon.log"; return 1; }
    timeout 60 ls "$MNT/honcho" "$MNT/hivo" "$MNT/fount" "$MNT/scenario" >/dev/null || return 1
    [ "$(requests honcho)" -gt 0 ] && [ "$(requests scenario)" -gt 0 ] ||
        { echo "SIGHUP did not make the daemon list again"; return 1; }
}

remount() {
    unmount_cfs
    timeout 5 mountpoint -q "$MNT" && { echo "still mounted"; return 1; }
    mount_cfs
}

@test "inodes: a collection directory and its metadata.json have different inodes" {
    local p d di fi
    for p in "${PROVIDERS[@]}"; do
        for d in "a／b" dup Case; do
            di=$(timeout 20 stat -c %i "$MNT/$p/$d")
            fi=$(timeout 20 stat -c %i "$MNT/$p/$d/metadata.json")
            [ -n "$di" ] && [ -n "$fi" ]
            [ "$di" != "$fi" ]
        done
    done
    # no two entries of the whole tree share an inode
    run timeout 60 bash -c "find '$MNT' -printf '%i\n' | sort | uniq -d"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "inodes: stable across SIGHUP and a re-listing" {
    local before after
    before=$(snapshot)
    [ -n "$before" ]
    hup_and_relist
    after=$(snapshot)
    diff <(echo "$before") <(echo "$after")
    # and the same through readdir (ls -i), not only lookup
    run timeout 20 ls -i "$MNT/honcho"
    [[ "$output" == *"$(timeout 20 stat -c %i "$MNT/honcho/dup") dup"* ]]
}

@test "inodes: stable across unmount and mount" {
    local before after
    before=$(snapshot)
    [ -n "$before" ]
    remount
    after=$(snapshot)
    diff <(echo "$before") <(echo "$after")
}

@test "inodes: find -inum finds a collection directory and its metadata.json" {
    local di fi
    di=$(timeout 20 stat -c %i "$MNT/hivo/dup")
    fi=$(timeout 20 stat -c %i "$MNT/hivo/dup/metadata.json")
    run timeout 60 find "$MNT" -inum "$di"
    [ "$status" -eq 0 ]
    [ "$output" = "$MNT/hivo/dup" ]
    run timeout 60 find "$MNT" -inum "$fi"
    [ "$status" -eq 0 ]
    [ "$output" = "$MNT/hivo/dup/metadata.json" ]
}

@test "times: root and section directories keep their mtime (and inode) across remounts" {
    local before after
    before=$(timeout 20 stat -c '%n %i %Y' "$MNT" "$MNT"/honcho "$MNT"/hivo "$MNT"/fount "$MNT"/scenario)
    [ -n "$before" ]
    remount
    after=$(timeout 20 stat -c '%n %i %Y' "$MNT" "$MNT"/honcho "$MNT"/hivo "$MNT"/fount "$MNT"/scenario)
    diff <(echo "$before") <(echo "$after")
}
