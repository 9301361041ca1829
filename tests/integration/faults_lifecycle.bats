#!/usr/bin/env bats
# Lifecycle under faults: `fusermount3 -u` while requests are in flight
# returns promptly and the daemon exits cleanly; SIGTERM and SIGINT unmount
# and exit; a provider that hangs during shutdown does not hold it up beyond
# a few seconds; SIGHUP drops caches without harming anything.

load faults_helpers

EXIT_BOUND=10   # seconds the daemon may take to exit after an unmount or a signal

setup() {
    export CFS_TIMEOUT=20   # a long budget, so requests really are in flight at shutdown
    fault_setup
    mount_cfs
}

teardown() {
    fault_teardown
}

# in_flight PROVIDER N: N lookups blocked on a stalled provider; pids in READERS.
in_flight() {
    fault "{\"provider\":\"$1\",\"mode\":\"stall\"}"
    READERS=()
    local i
    for ((i = 0; i < $2; i++)); do
        timeout 60 stat "$MNT/$1/probe $i" >/dev/null 2>&1 &
        READERS+=($!)
    done
    timeout 60 ls "$MNT/$1" >/dev/null 2>&1 &
    READERS+=($!)
    # wait until the fake has seen the request, so it really is in flight
    wait_for 10 bash -c "[ \$(curl -sf --max-time 2 $FAKE_URL/_fake/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"requests\"][\"$1\"])') -ge 1 ]"
}

# daemon_exits: the daemon ends by itself within EXIT_BOUND seconds; prints its exit status.
daemon_exits() {
    if ! wait_for "$EXIT_BOUND" bash -c "! kill -0 $CFS_PID 2>/dev/null"; then
        echo "daemon $CFS_PID still running ${EXIT_BOUND} s after being asked to stop"
        return 1
    fi
    local rc=0
    wait "$CFS_PID" || rc=$?
    CFS_PID=
    echo "exit status $rc"
    [ "$rc" -eq 0 ] || return 1
}

# readers_end: the blocked readers return (with an error) instead of hanging.
readers_end() {
    local pid rc hung=0
    for pid in "${READERS[@]}"; do
        wait "$pid" && rc=0 || rc=$?
        [ "$rc" -ne 124 ] || hung=$((hung + 1))
    done
    [ "$hung" -eq 0 ] || { echo "$hung readers still blocked 60 s later"; return 1; }
}

@test "fusermount3 -u with lookups in flight returns at once; the daemon exits when they end" {
    in_flight hivo 4
    run timeout 10 fusermount3 -u "$MNT"
    echo "fusermount3 -u: status $status: $output"
    [ "$status" -ne 124 ]
    if [ "$status" -ne 0 ]; then
        # processes inside the mount make it busy (kernel rule): that must be
        # said at once, and a lazy unmount must then work
        [[ "$output" == *busy* ]]
        run timeout 10 fusermount3 -uz "$MNT"
        [ "$status" -eq 0 ]
    fi
    # the kernel lets the daemon go when the last lookup is answered, which
    # the request budget bounds
    EXIT_BOUND=$((CFS_TIMEOUT + 10)) daemon_exits
    readers_end
    ! mountpoint -q "$MNT"
}

@test "fusermount3 -u of an idle mount after faults: clean exit, no leftovers" {
    fault '{"provider":"fount","mode":"status","status":500}'
    timeout "$BOUND" ls "$MNT/fount" 2>/dev/null || true
    timeout "$BOUND" ls "$MNT/honcho" >/dev/null
    run timeout 10 fusermount3 -u "$MNT"
    [ "$status" -eq 0 ]
    daemon_exits
    ! mountpoint -q "$MNT"
}

@test "SIGTERM with a stalled provider and requests in flight: unmounts and exits within seconds" {
    in_flight scenario 4
    kill -TERM "$CFS_PID"
    daemon_exits
    readers_end
    wait_for 5 bash -c "! mountpoint -q '$MNT'"
}

@test "SIGINT with a stalled provider and requests in flight: unmounts and exits within seconds" {
    # a background job of a non-interactive shell starts with SIGINT ignored,
    # and libfuse leaves ignored signals alone: start the daemon the way a
    # terminal would, with SIGINT at its default
    unmount_cfs
    printf '#!/bin/sh\nexec env --default-signal=INT "%s" "$@"\n' "$CFS_BIN" >"$WORK/cfs-int"
    chmod +x "$WORK/cfs-int"
    CFS_BIN="$WORK/cfs-int" mount_cfs
    in_flight honcho 4
    kill -INT "$CFS_PID"
    daemon_exits
    readers_end
    wait_for 5 bash -c "! mountpoint -q '$MNT'"
}

@test "SIGTERM while every provider stalls: no provider holds the shutdown" {
    for p in "${PROVIDERS[@]}"; do
        fault "{\"provider\":\"$p\",\"mode\":\"stall\"}"
        timeout 60 ls "$MNT/$p" >/dev/null 2>&1 &
    done
    sleep 1
    kill -TERM "$CFS_PID"
    daemon_exits
    wait_for 5 bash -c "! mountpoint -q '$MNT'"
}

@test "SIGTERM while a provider answers slowly (latency 30 s): exits within seconds" {
    fault '{"provider":"fount","mode":"latency","seconds":30}'
    timeout 60 ls "$MNT/fount" >/dev/null 2>&1 &
    sleep 1
    kill -TERM "$CFS_PID"
    daemon_exits
}

@test "SIGTERM while the provider is being rate limited (retry hint inside the budget)" {
    fault '{"provider":"hivo","mode":"429","k":1000,"retry_after":15}'
    timeout 60 ls "$MNT/hivo" >/dev/null 2>&1 &
    sleep 1.5                    # the daemon now sleeps on the retry hint
    kill -TERM "$CFS_PID"
    daemon_exits
}

@test "SIGHUP during a stall: the daemon stays up, others unaffected, the next access refetches" {
    timeout "$BOUND" ls "$MNT/fount" >/dev/null
    before=$(requests fount)
    fault '{"provider":"hivo","mode":"stall"}'
    timeout 60 ls "$MNT/hivo" >/dev/null 2>&1 &
    pid=$!
    sleep 0.5
    kill -HUP "$CFS_PID"
    sleep 0.5
    daemon_alive
    provider_ok fount
    [ "$(requests fount)" -gt "$before" ] || { echo "SIGHUP did not drop fount's listing"; false; }
    fault '{"provider":"hivo","mode":"none"}'
    wait "$pid" || [ $? -ne 124 ]
    recovers hivo
}

@test "the fake dies with requests in flight: they fail in time, the daemon stays up" {
    in_flight fount 3
    kill -9 "$FAKE_PID"
    FAKE_PID=
    readers_end
    daemon_alive
    run timeout 10 fusermount3 -u "$MNT"
    [ "$status" -eq 0 ]
    daemon_exits
}
