#!/usr/bin/env bats
# Unmounting (DESIGN §6): `fusermount3 -u` and SIGTERM make the daemon leave
# promptly with status 0 and the mount point clean, also while a request to
# a stalled provider is in flight. Fresh mount per test.

load '../lib/common'

# mounted: a fresh mount with honcho already listed (CFS_TIMEOUT is honoured).
mounted() {
    setup_mount --honcho 150 --hivo 30 --fount 30 --scenario 30
    timeout 20 ls "$MNT/honcho" >/dev/null
}

teardown() {
    teardown_mount
}

# fount_asked: the fake has seen a fount request since the last reset.
fount_asked() { [ "$(requests fount)" -gt 0 ]; }

# daemon_exits: the daemon is gone within 10 s; sets DAEMON_RC to its exit status.
daemon_exits() {
    wait_for 10 bash -c "! kill -0 $CFS_PID" || { echo "daemon $CFS_PID still running"; return 1; }
    DAEMON_RC=0
    wait "$CFS_PID" || DAEMON_RC=$?
    CFS_PID=
    echo "daemon exit status: $DAEMON_RC"
    cat "$WORK/daemon.log"
}

# clean_mountpoint: nothing mounted, and the directory is usable again.
clean_mountpoint() {
    ! timeout 5 mountpoint -q "$MNT" || false
    run timeout 5 ls -A "$MNT"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "unmount: fusermount3 -u makes the daemon exit 0 within 10 s" {
    mounted
    run timeout 20 fusermount3 -u "$MNT"
    echo "$output"
    [ "$status" -eq 0 ]
    daemon_exits
    [ "$DAEMON_RC" -eq 0 ]
    clean_mountpoint
}

@test "unmount: SIGTERM makes the daemon unmount and exit 0 within 10 s" {
    mounted
    kill -TERM "$CFS_PID"
    daemon_exits
    [ "$DAEMON_RC" -eq 0 ]
    clean_mountpoint
}

@test "unmount: SIGTERM while a request to a stalled provider is in flight still exits within 10 s" {
    # a long request budget: leaving must not wait for it
    CFS_TIMEOUT=30 mounted
    fault '{"provider": "fount", "mode": "stall"}'
    timeout 30 ls "$MNT/fount" >"$WORK/ls.out" 2>&1 &
    local ls_pid=$!
    wait_for 10 fount_asked
    kill -TERM "$CFS_PID"
    daemon_exits
    [ "$DAEMON_RC" -eq 0 ]
    local rc=0
    wait "$ls_pid" || rc=$?
    echo "ls: status $rc: $(cat "$WORK/ls.out")"
    [ "$rc" -ne 0 ]                    # it failed ...
    [ "$rc" -ne 124 ]                  # ... rather than hang
    clean_mountpoint
}

@test "unmount: the daemon survives SIGHUP and still unmounts cleanly" {
    mounted
    kill -HUP "$CFS_PID"
    wait_for 10 grep -q SIGHUP "$WORK/daemon.log"
    run timeout 20 ls "$MNT/honcho"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 150 ]
    run timeout 20 fusermount3 -u "$MNT"
    [ "$status" -eq 0 ]
    daemon_exits
    [ "$DAEMON_RC" -eq 0 ]
}
