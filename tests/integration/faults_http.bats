#!/usr/bin/env bats
# Transport and HTTP-status faults, nothing cached yet (DESIGN §5, issue
# "Never crash, never hang, never lose data"): each fault on each provider,
# asserting the errno, that the operation ends (a `timeout` turns a hang into
# a failure; no duration is asserted), what the log says, how often the
# provider was asked, and that the other providers and the daemon are
# unaffected. The home of the errno tests of DESIGN §5 (401/403, refused
# connections, stalls).

load '../lib/common'

export CFS_TIMEOUT="${CFS_TIMEOUT:-3}"   # request budget of the daemon under test

setup() {
    setup_fake
}

teardown() {
    teardown_mount
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
    local p=${PROVIDERS[-1]}
    mount_cfs
    fault "{\"provider\":\"$p\",\"mode\":\"status\",\"status\":503}"
    expect_fail "$p" EIO
    [ "$(requests "$p")" -ge 2 ]
    others_ok "$p"
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
    local p=${PROVIDERS[0]}
    mount_cfs
    fault "{\"provider\":\"$p\",\"mode\":\"every\",\"k\":2,\"status\":408}"
    provider_ok "$p"
    [ "$(requests "$p")" -ge 3 ]
}

@test "429 with the provider's retry hint is waited out, then the listing succeeds" {
    # each provider's own hint (the fake's too_many(): Retry-After, a body
    # field, X-RateLimit-Remaining: 0 ...)
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
        gap=$(retry_gap_ms "$p" 429)
        [ "$gap" != none ] && [ "$gap" -ge 1750 ] || { echo "$p: asked again $gap ms after a 2 s hint"; false; }
    done
    daemon_alive
}

@test "429 whose retry hint exceeds the budget fails at once with EAGAIN, one log line, no hammering" {
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"429\",\"k\":100000,\"retry_after\":8}"
        expect_fail "$p" EAGAIN
        n=$(requests "$p")
        [ "$n" -le 2 ] || { echo "$p: $n requests although the server asked to wait 8 s"; false; }
        # asking again fails at once, without a request before the hint has passed
        expect_fail "$p" EAGAIN
        # one line for the streak, saying that it was a 429 and until when
        lines=$(grep -cE "\[$p\].*429.*pause until ([0-9-]+ )?[0-9:]+ UTC" "$WORK/daemon.log")
        [ "$lines" -eq 1 ] || { echo "$p: $lines log lines naming the 429 and its pause, want 1"; false; }
        others_ok "$p"
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
        recovers "$p" 30
        # a lower bound only: no request came sooner than the hint allowed
        gap=$(retry_gap_ms "$p" 429)
        [ "$gap" != none ] && [ "$gap" -ge 7750 ] ||
            { echo "$p: asked again $gap ms after a 429 asking to wait 8 s"; false; }
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

# no_secret_in_log: no credential of the config (nor its wire form) is in the daemon log.
no_secret_in_log() {
    local s
    while read -r s; do
        ! grep -qF -- "$s" "$WORK/daemon.log" || { echo "the daemon log holds a secret"; return 1; }
    done < <(secret_values)
}

@test "401 and 403: EACCES after one request, also for a lookup; the log says the credentials were refused" {
    local st p got
    mount_cfs
    for st in 401 403; do
        for p in "${PROVIDERS[@]}"; do
            remount
            fault "{\"provider\":\"$p\",\"mode\":\"status\",\"status\":$st}"
            expect_fail "$p" EACCES
            [ "$(requests "$p")" -eq 1 ] || { echo "$p: a $st was asked $(requests "$p") times"; false; }
            got=$(fs_op stat "$MNT/$p/anything")
            [ "$got" = EACCES ] || { echo "$p: a lookup after a $st gave '$got'"; false; }
            grep -E "\[$p\]" "$WORK/daemon.log" | grep -Eqi 'credentials.*refused|refused.*credentials' ||
                { echo "$p: the log does not say that the credentials were refused ($st)"; false; }
            others_ok "$p"
        done
    done
    no_secret_in_log
}

@test "connection refused: EIO within the budget, the log names section, URL path and cause, no secret" {
    local port p
    port=$(dead_port)
    for p in "${PROVIDERS[@]}"; do
        # this provider's section points at a port nobody listens on
        write_config --set "$p.url=http://127.0.0.1:$port/$p"
        grep -q "127.0.0.1:$port/$p" "$CONFIG"
        remount
        expect_fail "$p" EIO ECONNREFUSED
        grep -E "\[$p\].*/$p/.*refused" "$WORK/daemon.log" ||
            { echo "$p: no log line naming the section, the URL path and the cause"; false; }
        no_secret_in_log
        others_ok "$p"
        daemon_alive
    done
}
