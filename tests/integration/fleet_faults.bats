#!/usr/bin/env bats
# The fleet when things go wrong (DESIGN §3, "The fleet"): credentials the
# provider refuses are refused whatever Redis holds; Redis flushed under
# running daemons, killed in the middle of a walk, or a "Redis" that answers
# garbage, leaves every mount serving within its budget.

load '../lib/common'
load '../lib/fleet'

setup() {
    start_fake --count 1500
    start_redis
    write_config "shared_cache = unix:$REDIS_SOCK"
}

teardown() {
    fleet_unmount
    local rc=$?
    [ -n "${JUNK_PID:-}" ] && kill "$JUNK_PID" 2>/dev/null
    stop_redis
    stop_fake
    [ "$rc" -eq 0 ]
}

# fence_past P N: a lease of P's listing was taken since its fencing counter was N;
# lease_free P: none is held.
fence_past() { [ "$(rcli GET "$(keys "$1|*:fence")")" -gt "$2" ]; }
lease_free() { [ -z "$(keys "$1|*:lease")" ]; }

# all_listed I: every provider lists its full count on mount I.
all_listed() {
    local p
    for p in "${PROVIDERS[@]}"; do
        [ "$(timeout "$BOUND" ls "$WORK/m$1/$p" | wc -l)" -eq "$(expected_count "$p")" ] ||
            { echo "m$1/$p: wrong count"; return 1; }
    done
}

@test "fleet faults: a token the provider no longer takes gets EACCES, however fresh the fleet's copy" {
    local p=${PROVIDERS[0]} key
    [[ " ${PROVIDERS[*]} " == *" fount "* ]] && p=fount
    fleet_mount 1
    all_listed 1
    manifests_are "${#PROVIDERS[@]}"
    # the provider revokes the token the config holds; Redis still has a fresh listing under it
    key=$(fake_get "/_fake/config-sections?format=json&provider=$p" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["secrets"][0][0])')
    fake_post /_fake/config "{\"provider\": \"$p\", \"credentials\": {\"$key\": \"rotated-$RANDOM\"}}" >/dev/null
    mkdir -p "$WORK/m2"
    "$CFS_BIN" -f -c "$CONFIG" "$WORK/m2" >"$WORK/d2.log" 2>&1 &
    FLEET_PID[2]=$!
    FLEET_N=2
    wait_for 10 mountpoint -q "$WORK/m2"
    run timeout "$BOUND" ls "$WORK/m2/$p"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Permission denied"* ]]
}

@test "fleet faults: Redis flushed under running daemons; they walk again and share again" {
    CFS_TTL=2 write_config "shared_cache = unix:$REDIS_SOCK"
    fleet_mount 2
    all_listed 1
    all_listed 2
    rcli FLUSHALL >/dev/null
    # every section past its ttl, or one still fresh would not walk and publish again
    local m p at last=0
    for m in 1 2; do
        for p in "${PROVIDERS[@]}"; do
            at=$(getfattr --only-values -n user.collectionsfs.fetched_at "$WORK/m$m/$p")
            at=$(date -u -d "$at" +%s)
            [ "$at" -le "$last" ] || last=$at
        done
    done
    wait_for 20 past "$((last + 2))"
    all_listed 1
    all_listed 2
    wait_for "$BOUND" manifests_are "${#PROVIDERS[@]}"
}

@test "fleet faults: the first publication after a flush reaches a daemon holding the last one's number" {
    local p=${PROVIDERS[0]} id new
    [[ " ${PROVIDERS[*]} " == *" honcho "* ]] && p=honcho
    CFS_TTL=3600 write_config "shared_cache = unix:$REDIS_SOCK"
    fleet_mount 2
    [ "$(timeout "$BOUND" ls "$WORK/m1/$p" | wc -l)" -eq "$(expected_count "$p")" ]
    [ "$(timeout "$BOUND" ls "$WORK/m2/$p" | wc -l)" -eq "$(expected_count "$p")" ]
    [[ "$(getfattr --only-values -n user.collectionsfs.source "$WORK/m2/$p")" == *":${FLEET_PID[1]})" ]]
    # a Redis restarted without persistence: every key gone, the generation too
    rcli FLUSHALL >/dev/null
    id=$(item_at "$p" 10 id)
    new="renamed-after-flush-$RANDOM"
    rename_item "$p" "$id" "$new"
    kill -HUP "${FLEET_PID[1]}"
    wait_for "$BOUND" test -d "$WORK/m1/$p/$new"
    # daemon 2 holds daemon 1's first publication; the one after the flush must not
    # look like it (its ttl is an hour: only the fleet's message can bring the name)
    wait_for "$BOUND" test -d "$WORK/m2/$p/$new" ||
        { echo "m2 never showed $new"; grep -i fleet "$WORK/d2.log" | tail -5; return 1; }
}

@test "fleet faults: a Redis with no room for a listing says so once, keeps none of it, and serves the walk" {
    local p=${PROVIDERS[0]} used fence
    [[ " ${PROVIDERS[*]} " == *" honcho "* ]] && p=honcho
    fake_post /_fake/config "{\"provider\": \"$p\", \"count\": 12000}" >/dev/null
    fleet_mount 1
    # room for two of the listing's four 1 MiB chunks (a chunk's command takes as much again)
    used=$(rcli INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
    rcli CONFIG SET maxmemory-policy noeviction >/dev/null
    rcli CONFIG SET maxmemory "$((used + 2621440))" >/dev/null
    [ "$(timeout "$BOUND" ls "$WORK/m1/$p" | wc -l)" -eq 12000 ]
    wait_for "$BOUND" grep -q "\[$p\] shared cache: Redis has no room for the listing of 12000 collections (maxmemory).*raise Redis's maxmemory" "$WORK/d1.log"
    # the chunks written before Redis refused are taken back, not left to a day's ttl
    [ "$(keys '*:c:*' | wc -l)" -eq 0 ]
    [ "$(keys '*:manifest' | wc -l)" -eq 0 ]
    # a second walk that finds no room says nothing new; one that finds room says so
    fence=$(rcli GET "$(keys "$p|*:fence")")
    kill -HUP "${FLEET_PID[1]}"
    # its walk took the lease (the fence moved on) and gave it back once it tried to publish
    wait_for "$BOUND" fence_past "$p" "$fence"
    wait_for "$BOUND" lease_free "$p"
    rcli CONFIG SET maxmemory 0 >/dev/null
    kill -HUP "${FLEET_PID[1]}"
    wait_for "$BOUND" grep -q "\[$p\] shared cache: Redis has room for the listing again; it is shared" "$WORK/d1.log" ||
        { cat "$WORK/d1.log"; return 1; }
    [ "$(grep -c "Redis has no room" "$WORK/d1.log")" -eq 1 ]
    wait_for "$BOUND" manifests_are 1
}

@test "fleet faults: a Redis that answers garbage costs nothing but the sharing" {
    stop_redis
    # a unix socket that answers every connection with junk, then a bulk string it never sends
    python3 - "$REDIS_SOCK" <<'PY' &
import os, socket, sys, threading
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(64)
def serve(c):
    try:
        c.recv(4096)
        c.sendall(b"\x00\xffgarbage\r\n$999999999999\r\n" + os.urandom(512))
        c.recv(4096)
    except OSError:
        pass
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
    JUNK_PID=$!
    wait_for 10 test -S "$REDIS_SOCK"
    local start=$(now_ms)
    fleet_mount 2
    all_listed 1
    all_listed 2
    echo "both listed in $(($(now_ms) - start)) ms"
    kill -0 "${FLEET_PID[1]}"
    kill -0 "${FLEET_PID[2]}"
    grep -q 'working alone until it answers' "$WORK/d1.log"
}

@test "fleet faults: Redis killed in the middle of a walk; both mounts list everything in time" {
    PROVIDERS=(honcho)
    CFS_TIMEOUT=5 write_config "shared_cache = unix:$REDIS_SOCK" "parallel = 2"
    fault '{"provider": "honcho", "mode": "latency", "seconds": 0.2}'
    fleet_mount 2
    timeout 30 ls "$WORK/m1/honcho" >"$WORK/ls.1" &
    local reader=$! start
    wait_for "$BOUND" bash -c "[ \"\$(redis-cli -s $REDIS_SOCK --scan --pattern '$KEYS*:lease' | wc -l)\" -eq 1 ]" ||
        { echo "no daemon took the lease: the walk was not shared"; false; }
    kill -9 "$REDIS_PID"
    REDIS_PID=
    start=$(now_ms)
    run timeout 30 ls "$WORK/m2/honcho"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | wc -l)" -eq 1500 ]
    wait "$reader"
    [ "$(wc -l <"$WORK/ls.1")" -eq 1500 ]
    echo "daemon 2 listed alone in $(($(now_ms) - start)) ms"
    grep -q 'working alone until it answers' "$WORK/d1.log"
}
