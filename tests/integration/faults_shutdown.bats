#!/usr/bin/env bats
# Shutdown with work in flight. A worker thread that is still fetching when the
# daemon stops must be joined before its cache, the providers and libcurl are
# freed: the daemon logs (with -d) "[section] worker joined" for each one and
# then "caches freed" once, and returns from main with status 0. Replies held
# by the fake are released while the daemon stops, so they land in the middle
# of the teardown. Run it against sanitizer builds too (CFS_BIN=build-asan/...,
# build-tsan/...): any sanitizer report in the daemon log fails the test.
#
# Interrupts: a reader killed (Ctrl-C) while its request waits on a stalled
# provider must leave at once, not when the request budget runs out, while the
# walk it waited for goes on for the other readers.

load '../lib/common'

BUDGET=30 # request budget (-o timeout): every bound below is well under it

setup() {
    READERS=()
    setup_fake
    P=${PROVIDERS[0]} # the provider the interrupt tests stall
}

teardown() {
    local pid
    for pid in "${READERS[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    teardown_mount
}

# hold_all: every provider's requests wait until the fault changes.
hold_all() {
    local p
    for p in "${PROVIDERS[@]}"; do
        fault "{\"provider\":\"$p\",\"mode\":\"hold\"}"
    done
}

release_all() {
    local p
    for p in "${PROVIDERS[@]}"; do
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
    done
}

# read_sections: one background ls per section, each waiting on the fake.
read_sections() {
    local p
    for p in "${PROVIDERS[@]}"; do
        timeout 60 ls "$MNT/$p" >/dev/null 2>&1 &
        READERS+=($!)
    done
    for p in "${PROVIDERS[@]}"; do
        wait_seen "$p" || return 1
    done
}

# daemon_exits_0: the daemon ends by itself, long before the budget, with status 0.
daemon_exits_0() {
    local bound=$((BUDGET / 2)) rc=0
    if ! wait_for "$bound" bash -c "! kill -0 $CFS_PID 2>/dev/null"; then
        echo "daemon still running $bound s after being asked to stop"
        return 1
    fi
    wait "$CFS_PID" || rc=$?
    CFS_PID=
    [ "$rc" -eq 0 ] || { echo "daemon exit status $rc"; return 1; }
}

# readers_gone: every background reader has ended (bounded).
readers_gone() {
    local pid
    for pid in "${READERS[@]}"; do
        wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || { echo "reader $pid still blocked"; return 1; }
    done
}

# joined_before_freed SECTION...: each section logged exactly one "worker joined",
# all of them before the single "caches freed".
joined_before_freed() {
    local log="$WORK/daemon.log" freed n p
    n=$(grep -c 'caches freed' "$log" || true)
    [ "$n" -eq 1 ] || { echo "'caches freed' logged $n times"; return 1; }
    freed=$(grep -n 'caches freed' "$log" | cut -d: -f1)
    for p in "$@"; do
        n=$(head -n "$freed" "$log" | grep -c "\[$p\] worker joined" || true)
        [ "$n" -eq 1 ] || { echo "[$p] worker joined $n times before the caches were freed"; return 1; }
    done
    n=$(tail -n +"$freed" "$log" | grep -c 'worker joined' || true)
    [ "$n" -eq 0 ] || { echo "$n workers joined after the caches were freed"; return 1; }
}

# gone PID: the process has ended.
gone() {
    ! kill -0 "$1" 2>/dev/null
}

# interruptible_ls DIR: an ls in the background that a SIGINT kills, as at a
# terminal (a background job of a script starts with SIGINT ignored); sets LS_PID.
interruptible_ls() {
    env --default-signal=INT ls "$1" >/dev/null 2>&1 &
    LS_PID=$!
    READERS+=("$LS_PID")
}

# opened_by PID: the daemon has received a directory read from this process (-d log).
opened_by() {
    grep -qE "opcode: READDIR(PLUS)? .*pid: $1\b" "$WORK/daemon.log"
}

# daemon_healthy: alive, mounted, and every section lists in full.
daemon_healthy() {
    local p n
    kill -0 "$CFS_PID" 2>/dev/null || { echo "daemon gone"; return 1; }
    for p in "${PROVIDERS[@]}"; do
        n=$(timeout 20 ls -1 "$MNT/$p" | wc -l)
        [ "$n" -eq "$(expected_count "$p")" ] || { echo "ls $p: $n entries, want $(expected_count "$p")"; return 1; }
    done
}

@test "shutdown: SIGTERM while held replies arrive; every worker joined before the caches are freed" {
    mount_cfs -d -o timeout=$BUDGET
    hold_all
    read_sections
    kill -TERM "$CFS_PID"
    release_all # the replies now reach a daemon that is stopping
    daemon_exits_0
    readers_gone
    wait_for 5 bash -c "! mountpoint -q '$MNT'" || { echo "still mounted"; return 1; }
    joined_before_freed "${PROVIDERS[@]}"
    no_sanitizer_reports
}

@test "shutdown: SIGTERM with replies still held; the transfers are aborted, the workers joined" {
    mount_cfs -d -o timeout=$BUDGET
    hold_all
    read_sections
    kill -TERM "$CFS_PID"
    daemon_exits_0
    readers_gone
    joined_before_freed "${PROVIDERS[@]}"
    no_sanitizer_reports
    release_all
}

@test "interrupt: Ctrl-C on an ls waiting on a stalled provider ends it long before the budget" {
    mount_cfs -d -o timeout=$BUDGET
    fault "{\"provider\":\"$P\",\"mode\":\"stall\"}"
    interruptible_ls "$MNT/$P"
    local victim=$LS_PID
    wait_seen "$P" || return 1
    # another reader waiting on the same walk
    ls -1 "$MNT/$P" >"$WORK/other.out" 2>&1 &
    local other=$!
    READERS+=("$other")
    wait_for 10 opened_by "$other" || { echo "the second ls never reached the daemon"; return 1; }
    wait_for 10 opened_by "$victim" || { echo "the first ls never reached the daemon"; return 1; }
    kill -INT "$victim"
    # without an answer to the interrupt it would stay until the budget (30 s) ran out
    wait_for $((BUDGET / 3)) gone "$victim" || { echo "ls still blocked after SIGINT"; return 1; }
    local rc=0
    wait "$victim" || rc=$?
    [ "$rc" -eq 130 ] || { echo "ls ended with status $rc, not by SIGINT"; return 1; }
    # the walk went on for the other reader, which gets the whole listing once the fault clears
    kill -0 "$other" 2>/dev/null || { echo "the other reader ended with the interrupted one"; return 1; }
    [ "$(requests "$P")" -eq 1 ] || { echo "the walk was restarted: $(requests "$P") requests"; return 1; }
    fault "{\"provider\":\"$P\",\"mode\":\"none\"}"
    wait_for $((BUDGET / 2)) gone "$other" || { echo "the other reader never got its listing"; return 1; }
    rc=0
    wait "$other" || rc=$?
    [ "$rc" -eq 0 ] || { echo "the other ls failed ($rc): $(cat "$WORK/other.out")"; return 1; }
    [ "$(wc -l <"$WORK/other.out")" -eq "$(expected_count "$P")" ]
    grep -q 'opcode: INTERRUPT' "$WORK/daemon.log" || { echo "no FUSE_INTERRUPT reached the daemon"; return 1; }
    # the INIT reply got the flag libfuse 3.14 leaves out, and only it
    [ "$(grep -c 'parallel directory operations granted' "$WORK/daemon.log")" -eq 1 ]
    daemon_healthy
    kill -TERM "$CFS_PID"
    daemon_exits_0
    no_sanitizer_reports
}

@test "shutdown: unmount after an interrupted reader, its walk's reply held; the worker is joined" {
    mount_cfs -d -o timeout=$BUDGET
    fault "{\"provider\":\"$P\",\"mode\":\"hold\"}"
    interruptible_ls "$MNT/$P"
    wait_seen "$P" || return 1
    wait_for 10 opened_by "$LS_PID" || { echo "ls never reached the daemon"; return 1; }
    kill -INT "$LS_PID"
    wait_for $((BUDGET / 3)) gone "$LS_PID" || { echo "ls still blocked after SIGINT"; return 1; }
    # nothing keeps the mount busy now, but the worker still waits for its page
    run timeout 10 fusermount3 -u "$MNT"
    [ "$status" -eq 0 ] || { echo "fusermount3 -u: $status: $output"; return 1; }
    fault "{\"provider\":\"$P\",\"mode\":\"none\"}" # the reply reaches a daemon that is stopping
    daemon_exits_0
    joined_before_freed "$P"
    no_sanitizer_reports
}
