#!/usr/bin/env bats
# Transport and HTTP-status faults, nothing cached yet (DESIGN §5, issue
# "Never crash, never hang, never lose data"): each fault on each of the four
# providers, asserting the errno, that the operation ends within the request
# budget (measured with `timeout`, never asserted as a duration), what the log
# says, how often the provider was asked, and that the other three providers
# and the daemon are unaffected.

load faults_helpers

setup() {
    fault_setup
}

teardown() {
    fault_teardown
}

# expect_fail PROVIDER ERRNO...: listing the section fails with one of the errnos, in time.
expect_fail() {
    local p=$1; shift
    local got
    got=$(fs_op listdir "$MNT/$p")
    [ "$got" != HUNG ] || { echo "ls $p hung (> $BOUND s with timeout=$CFS_TIMEOUT)"; return 1; }
    local e
    for e in "$@"; do [ "$got" = "$e" ] && return 0; done
    echo "ls $p: got '$got', want one of: $*"
    return 1
}

@test "HTTP 500 on every request: EIO within the budget, retried, logged, others unaffected" {
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"status\",\"status\":500}"
        expect_fail "$p" EIO
        n=$(requests "$p")
        [ "$n" -ge 2 ] || { echo "$p: 500 not retried ($n request)"; false; }
        grep -E "\[$p\].*500" "$WORK/daemon.log" || { echo "no log line for $p's 500"; false; }
        others_ok "$p"
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
        recovers "$p"                 # a failure is not remembered once the provider is back
        daemon_alive
    done
}

@test "HTTP 503 on every request: EIO within the budget" {
    mount_cfs
    fault '{"provider":"fount","mode":"status","status":503}'
    expect_fail fount EIO
    [ "$(requests fount)" -ge 2 ]
    others_ok fount
    daemon_alive
}

@test "HTTP 500 on every 2nd request: retries hide it, the listing is complete" {
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"every\",\"k\":2,\"status\":500}"
        provider_ok "$p"
        n=$(requests "$p")
        [ "$n" -ge 3 ] || { echo "$p: $n requests, a 500 must have been retried"; false; }
    done
    daemon_alive
}

@test "HTTP 408 is retried like a 5xx" {
    mount_cfs
    fault '{"provider":"hivo","mode":"every","k":2,"status":408}'
    provider_ok hivo
    [ "$(requests hivo)" -ge 3 ]
}

@test "429 with the provider's retry hint is waited out, then the listing succeeds" {
    # honcho: Retry-After; hivo: meta.retryAfter; fount: Retry-After +
    # X-RateLimit-Remaining: 0; scenario: remainingSeconds
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"429\",\"k\":1,\"retry_after\":2}"
        t0=$(now_ms)
        provider_ok "$p"
        t1=$(now_ms)
        # a lower bound only: the retry must not come before the hint says
        [ $((t1 - t0)) -ge 1500 ] || { echo "$p: retried after $((t1 - t0)) ms despite a 2 s retry hint"; false; }
        [ "$(requests "$p")" -ge 2 ]
    done
    daemon_alive
}

@test "429 whose retry hint exceeds the budget fails at once (EAGAIN/EIO), without hammering" {
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"429\",\"k\":100000,\"retry_after\":8}"
        expect_fail "$p" EAGAIN EIO
        n=$(requests "$p")
        [ "$n" -le 2 ] || { echo "$p: $n requests although the server asked to wait 8 s"; false; }
        grep -E "\[$p\].*429" "$WORK/daemon.log" || { echo "no log line for $p's 429"; false; }
        others_ok "$p"
        # until the hint has passed, asking again fails at once without a request
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
        expect_fail "$p" EAGAIN EIO
        [ "$(requests "$p")" -eq "$n" ] || { echo "$p: asked again inside the server's 8 s"; false; }
        recovers "$p" 15
    done
    daemon_alive
}

@test "connection reset: EIO within the budget, retried, others unaffected" {
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"reset\"}"
        expect_fail "$p" EIO ECONNRESET
        [ "$(requests "$p")" -ge 2 ] || { echo "$p: reset not retried"; false; }
        grep -E "\[$p\]" "$WORK/daemon.log"
        others_ok "$p"
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
        recovers "$p"
    done
    daemon_alive
}

@test "stall (accepts, never answers): fails within the budget; others stay fine meanwhile" {
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"stall\"}"
        expect_fail "$p" ETIMEDOUT EIO
        grep -E "\[$p\].*(timeout|time)" "$WORK/daemon.log" || { echo "no timeout log line for $p"; false; }
        others_ok "$p"                # while the stall goes on
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
        recovers "$p"
    done
    daemon_alive
}

@test "latency below the budget is waited out; above it the operation fails in time" {
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"latency\",\"seconds\":1}"
        provider_ok "$p"
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"latency\",\"seconds\":30}"
        expect_fail "$p" ETIMEDOUT EIO
        others_ok "$p"
    done
    daemon_alive
}

@test "4xx other than 408/429 is not retried: 400 gives EIO after one request" {
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"status\",\"status\":400}"
        expect_fail "$p" EIO
        n=$(requests "$p")
        [ "$n" -eq 1 ] || { echo "$p: a 400 was asked $n times"; false; }
        grep -E "\[$p\].*400" "$WORK/daemon.log"
    done
    daemon_alive
}

@test "403: EACCES after one request, the log says the credentials were refused" {
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"status\",\"status\":403}"
        expect_fail "$p" EACCES
        [ "$(requests "$p")" -eq 1 ]
        grep -E "\[$p\].*credentials" "$WORK/daemon.log"
        others_ok "$p"
    done
    ! grep -E 'hivo-secret-key|fount-secret-token|sk-secret' "$WORK/daemon.log"
}

@test "connection refused: EIO within the budget, the log names section and path" {
    # the hivo section points at a port nobody listens on
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    sed -i "s|^url = $FAKE_URL/hivo\$|url = http://127.0.0.1:$port/hivo|" "$CONFIG"
    grep -q "127.0.0.1:$port/hivo" "$CONFIG"
    mount_cfs
    expect_fail hivo EIO ECONNREFUSED
    grep -E '\[hivo\].*/hivo/v1/collections.*refused' "$WORK/daemon.log"
    others_ok hivo
    daemon_alive
}
