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

@test "inodes: two sections' collections on one number: one is left out, the rest listed" {
    # DESIGN §2: a directory's number is 51 bits of a hash of section and id,
    # so two sections of a million collections share one with odds of about 1
    # in 2,250. These two ids do (a search over 2^26 ids a side; test_listing.c
    # checks it). The second section's READDIRPLUS stopped at the loser, and
    # the empty reply to the read after it ended that listing there.
    local p=honcho a=a64477993 b=b20166223 n k
    unmount_cfs
    fake_post /_fake/config "{\"provider\": \"$p\", \"add\": {\"name\": \"collides a\", \"id\": \"$a\"}}" >/dev/null
    fake_post /_fake/config "{\"provider\": \"$p\", \"add\": {\"name\": \"collides b\", \"id\": \"$b\"}}" >/dev/null
    for k in 1 2 3 4 5; do
        fake_post /_fake/config "{\"provider\": \"$p\", \"add\": {\"name\": \"after $k\"}}" >/dev/null
    done
    n=$(expected_count "$p")
    # a second section over the same account
    awk -v s="[$p]" '$0 == s {on = 1; print "[twin]"; next} /^\[/ {on = 0} on' "$CONFIG" >"$WORK/twin"
    cat "$WORK/twin" >>"$CONFIG"
    mount_cfs
    [ "$(timeout 60 ls -f "$MNT/$p" | grep -cvxE '\.|\.\.')" -eq "$n" ]
    timeout 60 ls -f "$MNT/twin" | grep -vxE '\.|\.\.' >"$WORK/twin.ls"
    echo "$p: $n collections; twin: $(grep -c . "$WORK/twin.ls") listed"
    # twin's b has honcho's a's number: b alone is left out, and answers EIO
    [ "$(grep -c . "$WORK/twin.ls")" -eq $((n - 1)) ]
    ! grep -qx 'collides b' "$WORK/twin.ls" || false
    grep -qx 'after 5' "$WORK/twin.ls"
    [ "$(fs_op stat "$MNT/twin/collides b")" = EIO ]
    [ "$(fs_op stat "$MNT/twin/collides a")" = OK ]
    [ "$(fs_op stat "$MNT/$p/collides b")" = OK ]
}
