#!/usr/bin/env bats
# The fleet's lease (DESIGN §3, "The fleet"): a daemon that holds it and stops
# delays the others by at most the lease time, and one paused past it cannot
# publish over the listing of the daemon that took over. One Honcho account
# whose pages each take 0.2 s, so a walk is under way long enough to interrupt;
# timeout = 5 makes the lease 5 s.

load '../lib/common'
load '../lib/fleet'

setup() {
    start_fake --count 3000
    PROVIDERS=(honcho)
    start_redis
    listen_publications
    CFS_TIMEOUT=5 write_config "shared_cache = unix:$REDIS_SOCK" "parallel = 2"
    fault '{"provider": "honcho", "mode": "latency", "seconds": 0.2}'
}

teardown() {
    fleet_unmount
    local rc=$?
    stop_redis
    stop_fake
    [ "$rc" -eq 0 ]
}

lease_held() { [ "$(keys '*:lease' | wc -l)" -eq 1 ]; }
manifest_who() { rcli GET "$(keys '*:manifest' | head -1)" | grep -a '^who ' ; }

@test "lease: a holder killed mid-walk delays the next by at most the lease, publishes nothing" {
    local start took
    fleet_mount 2
    timeout "$BOUND" ls "$WORK/m1/honcho" >/dev/null &
    wait_for "$BOUND" lease_held
    kill -9 "${FLEET_PID[1]}"
    fusermount3 -uz "$WORK/m1"
    FLEET_PID[1]=
    start=$(now_ms)
    run timeout 30 ls "$WORK/m2/honcho"
    took=$(($(now_ms) - start))
    echo "the second daemon listed $(echo "$output" | wc -l) collections in $took ms"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | wc -l)" -eq 3000 ]
    # the lease (5 s) plus its own walk (30 pages of 0.2 s, 2 at a time: 3 s), with slack
    [ "$took" -lt 15000 ]
    # it publishes after the walk that answered the ls
    wait_for "$BOUND" publications_are 1
    manifest_who | grep -q ":${FLEET_PID[2]}\$"
}

@test "lease: a holder paused past its lease cannot publish over its successor" {
    fleet_mount 2
    timeout 60 ls "$WORK/m1/honcho" >/dev/null &
    local reader=$!
    wait_for "$BOUND" lease_held
    kill -STOP "${FLEET_PID[1]}"
    # the lease runs out while daemon 1 stands still; daemon 2 walks and publishes
    run timeout 30 ls "$WORK/m2/honcho"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | wc -l)" -eq 3000 ]
    wait_for "$BOUND" publications_are 1
    manifest_who | grep -q ":${FLEET_PID[2]}\$"
    kill -CONT "${FLEET_PID[1]}"
    wait "$reader" || true
    # daemon 1 wakes past its request budget too: its walk either ends and is refused, or fails
    wait_for 30 grep -qE 'another daemon took the lease while this one walked|\[honcho\] .*(timeout|budget)' "$WORK/d1.log"
    grep -E 'another daemon took the lease|\[honcho\]' "$WORK/d1.log" | head -3
    publications_are 1
    manifest_who | grep -q ":${FLEET_PID[2]}\$"
}
