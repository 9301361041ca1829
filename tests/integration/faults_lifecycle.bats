#!/usr/bin/env bats
# Unmounting and signals (DESIGN §6), idle and under faults: `fusermount3 -u`
# and SIGTERM / SIGINT make the daemon unmount and exit 0 with the mount point
# clean, also while requests to a stalled provider are in flight; a provider
# that holds its answer or is rate limited does not hold up the shutdown (the
# daemon exits before the answer or the retry comes); SIGHUP drops caches
# without harming anything. Requests "in flight" are ones the fake has seen.
# The request budget (120 s) is far longer than the daemon is given to exit
# (daemon_exits: 20 s, a hang guard), so a daemon that waits for a stalled
# request instead of leaving fails. Fresh mount per test.

load '../lib/common'

setup() {
    export CFS_TIMEOUT=120 # a long budget, so requests really are in flight at shutdown
    setup_mount
}

teardown() {
    teardown_mount
}

# in_flight PROVIDER N: N readers blocked on the provider, stalled (READERS,
# LS_PIDS, see start_readers), once the fake has their request.
in_flight() {
    fault "{\"provider\":\"$1\",\"mode\":\"stall\"}"
    start_readers "$1" "$2" 60
    wait_seen "$1"
}

# clean_mountpoint: nothing mounted, and the directory is usable and empty again.
clean_mountpoint() {
    wait_for 5 bash -c "! mountpoint -q '$MNT'" || { echo "$MNT still mounted"; return 1; }
    run timeout 5 ls -A "$MNT"
    [ "$status" -eq 0 ] && [ -z "$output" ] || { echo "ls -A $MNT: status $status: $output"; return 1; }
}

@test "fusermount3 -u of an idle mount (after a fault): exit 0, the mount point clean" {
    local bad=${PROVIDERS[-1]} good=${PROVIDERS[0]}
    remount -o timeout=3 # the 500s are retried for the whole budget
    fault "{\"provider\":\"$bad\",\"mode\":\"status\",\"status\":500}"
    ! timeout "$BOUND" ls "$MNT/$bad" 2>/dev/null || false
    timeout "$BOUND" ls "$MNT/$good" >/dev/null
    run timeout 10 fusermount3 -u "$MNT"
    echo "fusermount3 -u: status $status: $output"
    [ "$status" -eq 0 ]
    daemon_exits
    clean_mountpoint
}

@test "SIGTERM of an idle mount: the daemon unmounts and exits 0" {
    timeout "$BOUND" ls "$MNT/${PROVIDERS[0]}" >/dev/null
    kill -TERM "$CFS_PID"
    daemon_exits
    clean_mountpoint
}

@test "fusermount3 -u with lookups in flight returns at once; the daemon exits when they end" {
    in_flight "${PROVIDERS[1]:-${PROVIDERS[0]}}" 4
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
    # the kernel lets the daemon go when the last lookup is answered: answer them
    fault "{\"provider\":\"${PROVIDERS[1]:-${PROVIDERS[0]}}\",\"mode\":\"none\"}"
    daemon_exits 30
    readers_end
    ! mountpoint -q "$MNT"
}

@test "SIGTERM with a stalled provider and requests in flight: unmounts and exits, the readers fail" {
    in_flight "${PROVIDERS[-1]}" 4
    kill -TERM "$CFS_PID"
    daemon_exits
    readers_end
    [ "$LS_OK" -eq 0 ] || { echo "$LS_OK listings of the stalled provider succeeded"; false; }
    clean_mountpoint
}

@test "SIGINT with a stalled provider and requests in flight: unmounts and exits" {
    # a background job of a non-interactive shell starts with SIGINT ignored,
    # and libfuse leaves ignored signals alone: start the daemon the way a
    # terminal would, with SIGINT at its default
    unmount_cfs
    printf '#!/bin/sh\nexec env --default-signal=INT "%s" "$@"\n' "$CFS_BIN" >"$WORK/cfs-int"
    chmod +x "$WORK/cfs-int"
    CFS_BIN="$WORK/cfs-int" mount_cfs
    in_flight "${PROVIDERS[0]}" 4
    kill -INT "$CFS_PID"
    daemon_exits
    readers_end
    clean_mountpoint
}

@test "SIGTERM while every provider stalls: no provider holds the shutdown" {
    local p
    for p in "${PROVIDERS[@]}"; do
        fault "{\"provider\":\"$p\",\"mode\":\"stall\"}"
        timeout 60 ls "$MNT/$p" >/dev/null 2>&1 &
    done
    for p in "${PROVIDERS[@]}"; do wait_seen "$p"; done
    kill -TERM "$CFS_PID"
    daemon_exits
    clean_mountpoint
}

@test "SIGTERM while a provider holds its answer: the daemon exits before the answer comes" {
    local p=${PROVIDERS[-1]} pid rc=0
    fault "{\"provider\":\"$p\",\"mode\":\"hold\"}" # held until the fault changes: never, here
    timeout 60 ls "$MNT/$p" >/dev/null 2>&1 &
    pid=$!
    wait_seen "$p"
    kill -TERM "$CFS_PID"
    daemon_exits
    wait "$pid" || rc=$?
    [ "$rc" -ne 124 ] || { echo "ls of $p hung after the daemon left"; false; }
    clean_mountpoint
}

@test "SIGTERM while the provider is rate limited (retry hint inside the budget): exits before the retry" {
    local p=${PROVIDERS[1]:-${PROVIDERS[0]}}
    fault "{\"provider\":\"$p\",\"mode\":\"429\",\"k\":1000,\"retry_after\":15}"
    timeout 60 ls "$MNT/$p" >/dev/null 2>&1 &
    wait_for "$BOUND" answered "$p" 429 || { echo "the fake never answered 429"; false; }
    # the daemon now sleeps on the retry hint
    kill -TERM "$CFS_PID"
    daemon_exits
    [ "$(requests "$p")" -eq 1 ] || { echo "$(requests "$p") requests: the daemon waited for the retry"; false; }
}

@test "SIGHUP during a stall: the daemon stays up, others unaffected, the next access refetches; unmount still clean" {
    local ok=${PROVIDERS[0]} stalled=${PROVIDERS[-1]} before pid
    timeout "$BOUND" ls "$MNT/$ok" >/dev/null
    before=$(requests "$ok")
    fault "{\"provider\":\"$stalled\",\"mode\":\"stall\"}"
    timeout 60 ls "$MNT/$stalled" >/dev/null 2>&1 &
    pid=$!
    wait_seen "$stalled"
    hup
    daemon_alive
    provider_ok "$ok"
    [ "$(requests "$ok")" -gt "$before" ] || { echo "SIGHUP did not drop $ok's listing"; false; }
    fault "{\"provider\":\"$stalled\",\"mode\":\"none\"}"
    wait "$pid" || [ $? -ne 124 ]
    recovers "$stalled"
    run timeout 10 fusermount3 -u "$MNT"
    [ "$status" -eq 0 ]
    daemon_exits
    clean_mountpoint
}

@test "SIGTERM while a SIGHUP runs a slow *_command: exits at once, the command killed, nothing swapped in" {
    write_config --secrets command
    remount
    timeout "$BOUND" ls "$MNT/${PROVIDERS[0]}" >/dev/null
    # the reload's first command starts, says so, and then takes longer than the
    # daemon is given to exit (a secret command gets 10 s before it is killed)
    sed -i "0,\|_command = cat |s|_command = cat |_command = touch $WORK/started; exec sleep 59.25; cat |" "$CONFIG"
    grep -q "sleep 59.25" "$CONFIG"
    kill -HUP "$CFS_PID"
    wait_for "$BOUND" test -e "$WORK/started"
    kill -TERM "$CFS_PID"
    daemon_exits 5
    clean_mountpoint
    ! pgrep -f "sleep 59.25" || false
    grep -q "SIGHUP: the file system is being unmounted" "$WORK/daemon.log"
    ! grep -q "SIGHUP: configuration read again" "$WORK/daemon.log" || false
}

@test "the fake dies with requests in flight: they fail in time, the daemon stays up" {
    remount -o timeout=5 # the readers fail once the budget is over
    in_flight "${PROVIDERS[2]:-${PROVIDERS[0]}}" 3
    kill -9 "$FAKE_PID"
    FAKE_PID=
    readers_end
    daemon_alive
    run timeout 10 fusermount3 -u "$MNT"
    [ "$status" -eq 0 ]
    daemon_exits
}
