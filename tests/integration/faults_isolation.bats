#!/usr/bin/env bats
# Isolation (DESIGN §5: "One broken provider never slows down or breaks the
# others"): with one provider stalled (accepts TCP, never answers) or very
# slow, and many readers blocked on it, ls / stat / cat on the other three
# stay as fast as without a fault (a tight `timeout`), and every reader of the
# broken one gets its answer within the request budget.

load faults_helpers

FAST=5   # seconds: generous for a loopback fake, far below the stall

setup() {
    fault_setup
}

teardown() {
    fault_teardown
}

# fast_ok PROVIDER: ls, stat and cat of the section, each within $FAST seconds.
fast_ok() {
    local p=$1 n first
    n=$(timeout "$FAST" ls -1 "$MNT/$p" | wc -l)
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "ls $p: failed or slower than $FAST s"; return 1; }
    [ "$n" -eq "$(expected_count "$p")" ] || { echo "ls $p: $n entries"; return 1; }
    first=$(timeout "$FAST" ls -1 "$MNT/$p" | head -n 1)
    timeout "$FAST" stat "$MNT/$p/$first/metadata.json" >/dev/null || { echo "stat in $p slow or failed"; return 1; }
    timeout "$FAST" cat "$MNT/$p/$first/metadata.json" >/dev/null || { echo "cat in $p slow or failed"; return 1; }
}

# block_readers PROVIDER N: N background readers of the broken section; pids in READERS.
block_readers() {
    READERS=()
    local i
    for ((i = 0; i < $2; i++)); do
        if ((i % 2)); then
            timeout "$BOUND" ls "$MNT/$1" >/dev/null 2>&1 &
        else
            timeout "$BOUND" stat "$MNT/$1/probe $i" >/dev/null 2>&1 &
        fi
        READERS+=($!)
    done
}

# readers_done: every blocked reader ended by itself (none killed by timeout).
readers_done() {
    local pid rc hung=0
    for pid in "${READERS[@]}"; do
        wait "$pid" && rc=0 || rc=$?
        [ "$rc" -ne 124 ] || hung=$((hung + 1))
    done
    [ "$hung" -eq 0 ] || { echo "$hung readers of the broken provider hung past $BOUND s"; return 1; }
}

isolation() {
    local fault_tail=$1 p q
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount                       # nothing cached: the others need the network too
        fault "{\"provider\":\"$p\",$fault_tail}"
        block_readers "$p" 16
        sleep 0.5                     # let them reach the daemon
        for q in "${PROVIDERS[@]}"; do
            [ "$q" = "$p" ] && continue
            fast_ok "$q" || { echo "while $p is broken"; return 1; }
        done
        readers_done
        daemon_alive
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
    done
}

@test "isolation: one provider stalled, 16 readers blocked on it, the others stay fast" {
    isolation '"mode":"stall"'
}

@test "isolation: one provider answering after 30 s, the others stay fast" {
    isolation '"mode":"latency","seconds":30'
}

@test "isolation: one provider resetting every connection, the others stay fast" {
    isolation '"mode":"reset"'
}

@test "isolation: all readers of a stalled provider share one request, not one each" {
    mount_cfs
    fault '{"provider":"scenario","mode":"stall"}'
    block_readers scenario 16
    readers_done
    n=$(requests scenario)
    # one walk at a time: the 16 readers ride on it (a retry or a second walk
    # after the first failed are fine; one request per reader is not)
    [ "$n" -le 4 ] || { echo "$n requests for 16 readers of one stalled listing"; false; }
    daemon_alive
}
