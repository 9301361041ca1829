#!/usr/bin/env bats
# Errors a user can understand (DESIGN §5): refused credentials are EACCES
# with a log line naming the section; an unreachable or silent server is EIO
# (or ETIMEDOUT) within the request budget; one broken provider never breaks
# or slows down the others. Fresh mount per test.

load '../lib/common'

teardown() {
    teardown_mount
}

# fount_asked: the fake has seen a fount request since the last reset.
fount_asked() { [ "$(requests fount)" -gt 0 ]; }

# io_error OUTPUT: the message of EIO or ETIMEDOUT.
io_error() {
    [[ "$1" == *"Input/output error"* || "$1" == *"Connection timed out"* ]]
}

# others_work SECTION...: each listed section lists without error.
others_work() {
    local s
    for s in "$@"; do
        run timeout 20 ls "$MNT/$s"
        [ "$status" -eq 0 ] || { echo "ls $s: $output"; return 1; }
        [ "${#lines[@]}" -gt 0 ] || { echo "ls $s: empty"; return 1; }
    done
}

# dead_port: a loopback TCP port nobody listens on.
dead_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

@test "errors: 401 from fount is 'Permission denied' and the log names [fount] and refused credentials" {
    CFS_TIMEOUT=3 setup_mount --honcho 30 --hivo 30 --fount 30 --scenario 30
    fault '{"provider": "fount", "mode": "status", "status": 401}'
    run timeout 30 ls "$MNT/fount"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    [[ "$output" == *"Permission denied"* ]]
    run timeout 20 stat "$MNT/fount/anything"
    [[ "$output" == *"Permission denied"* ]]
    cat "$WORK/daemon.log"
    grep '\[fount\]' "$WORK/daemon.log" | grep -qi 'credentials.*refused\|refused.*credentials'
    others_work honcho hivo scenario
}

@test "errors: 403 from hivo is 'Permission denied' too" {
    CFS_TIMEOUT=3 setup_mount --honcho 30 --hivo 30 --fount 30 --scenario 30
    fault '{"provider": "hivo", "mode": "status", "status": 403}'
    run timeout 30 ls "$MNT/hivo"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Permission denied"* ]]
    grep '\[hivo\]' "$WORK/daemon.log" | grep -qi 'credentials'
    others_work honcho fount scenario
}

@test "errors: a stopped fake makes an uncached section fail with EIO within the budget; cached ones keep working" {
    CFS_TIMEOUT=3 setup_mount --honcho 30 --hivo 30 --fount 30 --scenario 30
    others_work honcho hivo
    stop_fake
    wait_for 10 bash -c "! curl -s --max-time 1 '$FAKE_URL/_fake/stats'"
    local t0=$SECONDS
    run timeout 30 ls "$MNT/fount"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    io_error "$output"
    [ $((SECONDS - t0)) -le 10 ]
    grep '\[fount\]' "$WORK/daemon.log"
    # listed before the fake went away, still within ttl
    others_work honcho hivo
}

@test "errors: connection refused for one section is EIO, logged with section and URL path; the others work" {
    start_fake --honcho 30 --hivo 30 --fount 30 --scenario 30
    CFS_TIMEOUT=3 write_config
    local port
    port=$(dead_port)
    sed -i "s|^url = $FAKE_URL/fount|url = http://127.0.0.1:$port/fount|" "$CONFIG"
    grep -q "127.0.0.1:$port/fount" "$CONFIG"
    mount_cfs
    run timeout 30 ls "$MNT/fount"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    io_error "$output"
    cat "$WORK/daemon.log"
    grep '\[fount\]' "$WORK/daemon.log" | grep -q '/api/v2/collections'
    ! grep -q 'fount-secret-token' "$WORK/daemon.log" || false
    others_work honcho hivo scenario
}

@test "errors: a stalled fount fails within the budget and does not slow down the others" {
    CFS_TIMEOUT=3 setup_mount --honcho 30 --hivo 30 --fount 30 --scenario 30
    fault '{"provider": "fount", "mode": "stall"}'
    local t0=$SECONDS
    timeout 30 ls "$MNT/fount" >"$WORK/fount.out" 2>&1 &
    local pid=$!
    wait_for 10 fount_asked
    # while fount hangs, the others answer at once
    local t1=$SECONDS
    others_work honcho hivo scenario
    [ $((SECONDS - t1)) -le 2 ]
    local rc=0
    wait "$pid" || rc=$?
    cat "$WORK/fount.out"
    [ "$rc" -ne 0 ]
    [ "$rc" -ne 124 ]
    io_error "$(cat "$WORK/fount.out")"
    [ $((SECONDS - t0)) -le 10 ]
}
