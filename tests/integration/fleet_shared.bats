#!/usr/bin/env bats
# The shared listing cache (DESIGN §3, "The fleet"): eight daemons on eight mount
# points share one account's listings through a Redis of the test's own. One
# walk serves them all; each checks its own credentials with the provider;
# a refresh published by one reaches the others at once; a damaged copy in
# Redis, or Redis gone, means fetching alone, never a failed mount.

load '../lib/common'
load '../lib/fleet'

N=8

setup() {
    start_fake --count 3000
    start_redis
    CFS_TTL=${CFS_TTL:-60} write_config "shared_cache = unix:$REDIS_SOCK"
}

teardown() {
    [ -z "${READER:-}" ] || kill "$READER" 2>/dev/null # a file held open keeps a daemon alive
    fleet_unmount
    local rc=$?
    unmount_cfs
    stop_redis
    stop_fake
    [ "$rc" -eq 0 ]
}

# ls_all: a cold `ls` of every provider on every mount, all at once.
ls_all() {
    local i p pids=()
    for ((i = 1; i <= FLEET_N; i++)); do
        for p in "${PROVIDERS[@]}"; do
            timeout "$BOUND" ls "$WORK/m$i/$p" >"$WORK/ls.$i.$p" &
            pids+=($!)
        done
    done
    for i in "${pids[@]}"; do wait "$i" || return 1; done
}

# alone: requests one daemon makes for a cold listing of every provider, without the fleet.
alone() {
    fake_reset
    grep -v '^shared_cache' "$CONFIG" >"$WORK/alone.conf"
    chmod 600 "$WORK/alone.conf"
    mkdir -p "$WORK/alone"
    "$CFS_BIN" -f -c "$WORK/alone.conf" "$WORK/alone" >"$WORK/alone.log" 2>&1 &
    local pid=$! p
    wait_for 10 mountpoint -q "$WORK/alone" || return 1
    for p in "${PROVIDERS[@]}"; do timeout "$BOUND" ls "$WORK/alone/$p" >/dev/null || return 1; done
    requests_besides
    fusermount3 -uz "$WORK/alone"
    wait_for 10 bash -c "! kill -0 $pid" || kill -9 "$pid"
}

@test "fleet: eight cold listings at once cost one walk and eight credential checks" {
    local one follow all i
    # A first walk's waiters walk alone once their budget is spent (DESIGN §3, "One walk per
    # ttl"): eight sanitizer builds on two cores, beside another test file, once took longer
    # than the default 10 s for the cold walk of 3,000 Honcho collections.
    CFS_TIMEOUT=30 write_config "shared_cache = unix:$REDIS_SOCK"
    one=$(alone)
    # what a daemon costs when the fleet's listing is fresh: its credential check only
    fake_reset
    fleet_mount 1
    for p in "${PROVIDERS[@]}"; do timeout "$BOUND" ls "$WORK/m1/$p" >/dev/null; done
    fleet_unmount
    fake_reset
    fleet_mount 1
    for p in "${PROVIDERS[@]}"; do timeout "$BOUND" ls "$WORK/m1/$p" >/dev/null; done
    follow=$(requests_besides)
    fleet_unmount
    rcli FLUSHALL >/dev/null
    fake_reset
    fleet_mount "$N"
    ls_all
    all=$(requests_besides)
    echo "one daemon alone: $one requests; a follower: $follow; $N daemons sharing: $all ($(request_counts))"
    [ "$one" -ge $((${#PROVIDERS[@]} * 2)) ]
    [ "$follow" -le $((${#PROVIDERS[@]} * 2)) ]
    # HIVO's pages fetched ahead past the end vary from walk to walk: up to parallel (4)
    [ "$all" -le $((one + (N - 1) * follow + 4)) ]
    [ "$all" -lt $((2 * one)) ]
    fleet_view 1 >"$WORK/view.1"
    [ "$(grep -c metadata.json "$WORK/view.1")" -gt $((${#PROVIDERS[@]} * 1000)) ]
    for ((i = 2; i <= N; i++)); do
        fleet_view "$i" >"$WORK/view.$i"
        cmp "$WORK/view.1" "$WORK/view.$i"
    done
    # each listing was walked by one daemon and taken from the fleet by the seven others
    for p in "${PROVIDERS[@]}"; do
        local fleet=0
        for ((i = 1; i <= N; i++)); do
            [[ "$(getfattr --only-values -n user.collectionsfs.source "$WORK/m$i/$p")" == "fleet (fetched by "* ]] &&
                fleet=$((fleet + 1))
        done
        echo "$p: $fleet of $N from the fleet"
        [ "$fleet" -ge $((N - 1)) ]
    done
}

@test "fleet: after the ttl, eight accesses at once make one refresh in all" {
    local one all p
    CFS_TTL=3 write_config "shared_cache = unix:$REDIS_SOCK"
    one=$(alone)
    rcli FLUSHALL >/dev/null
    fleet_mount "$N"
    ls_all
    # every listing is older than the ttl once a new second past it has begun
    local at
    at=$(getfattr --only-values -n user.collectionsfs.fetched_at "$WORK/m1/${PROVIDERS[0]}")
    wait_for 20 past "$(($(date -u -d "$at" +%s) + 3))"
    fake_reset
    ls_all
    all=$(requests_besides)
    echo "one daemon alone: $one requests; $N daemons refreshing together: $all"
    [ "$all" -le $((one + (N - 1) * ${#PROVIDERS[@]} * 2)) ]
    [ "$all" -lt $((2 * one)) ]
}

# fetched_of I P: when the listing daemon I shows for provider P was fetched.
fetched_of() { getfattr --absolute-names --only-values -n user.collectionsfs.fetched_at "$WORK/m$1/$2"; }
# refetched I P AT: daemon I shows a listing of P fetched at another time than AT.
refetched() {
    local f
    f=$(fetched_of "$1" "$2") && [ -n "$f" ] && [ "$f" != "$3" ]
}

@test "fleet: a refresh that outlasts the lease is waited for, not walked twice" {
    local p=honcho cold at all i fleet=0
    # timeout 5: the lease is its minimum, 5 s; the refresh below takes about 12 s
    CFS_TTL=3 CFS_TIMEOUT=5 write_config "shared_cache = unix:$REDIS_SOCK"
    fake_reset
    fleet_mount 2
    timeout "$BOUND" ls "$WORK/m1/$p" >/dev/null
    timeout "$BOUND" ls "$WORK/m2/$p" >/dev/null
    cold=$(requests "$p") # one walk and the follower's credential check
    at=$(fetched_of 1 "$p")
    wait_for 20 past "$(($(date -u -d "$at" +%s) + 3))"
    fake_reset
    fault "{\"provider\": \"$p\", \"mode\": \"latency\", \"seconds\": 1.5}"
    # both past the ttl at once: one takes the lease and walks, the other waits for it
    # (each answers from its last listing meanwhile, once a budget has passed)
    timeout "$BOUND" ls "$WORK/m1/$p" >/dev/null &
    timeout "$BOUND" ls "$WORK/m2/$p" >/dev/null
    wait $!
    for i in 1 2; do
        wait_for 60 refetched "$i" "$p" "$at" ||
            { echo "daemon $i never took the new listing"; tail -n 5 "$WORK/d$i.log"; return 1; }
    done
    all=$(requests "$p")
    echo "the cold listing with a follower: $cold requests; the slow refresh: $all"
    [ "$all" -le "$cold" ]
    for i in 1 2; do
        [[ "$(getfattr --absolute-names --only-values -n user.collectionsfs.source "$WORK/m$i/$p")" == "fleet (fetched by "* ]] &&
            fleet=$((fleet + 1))
    done
    [ "$fleet" -eq 1 ]
}

@test "fleet: a rename and SIGHUP on one daemon shows on all eight at once" {
    local p=${PROVIDERS[0]} id old new i start
    [[ " ${PROVIDERS[*]} " == *" honcho "* ]] && p=honcho
    fleet_mount "$N"
    ls_all
    id=$(item_at "$p" 10 id)
    old=$(item_at "$p" 10 name)
    new="renamed-on-one-$RANDOM"
    rename_item "$p" "$id" "$new"
    start=$(now_ms)
    kill -HUP "${FLEET_PID[1]}"
    for ((i = 1; i <= N; i++)); do
        wait_for "$BOUND" renamed "$WORK/m$i/$p" "$new" "$old" || { echo "m$i never showed $new alone"; ls "$WORK/m$i/$p" | head; return 1; }
    done
    echo "the rename reached all $N mounts in $(($(now_ms) - start)) ms"
    # the others took daemon 1's walk from the fleet rather than walking themselves
    for ((i = 2; i <= N; i++)); do
        [[ "$(getfattr --only-values -n user.collectionsfs.source "$WORK/m$i/$p")" == *":${FLEET_PID[1]})" ]]
    done
}

@test "fleet: a damaged chunk in Redis is detected and the listing fetched from the provider" {
    local p=${PROVIDERS[0]} k one after
    fleet_mount 1
    for p in "${PROVIDERS[@]}"; do timeout "$BOUND" ls "$WORK/m1/$p" >/dev/null; done
    fleet_view 1 >"$WORK/view.1"
    fleet_unmount
    # garbage in every chunk
    keys '*:c:*' >"$WORK/chunks"
    [ -s "$WORK/chunks" ]
    while read -r k; do rcli SET "$k" "garbage-$RANDOM" KEEPTTL >/dev/null; done <"$WORK/chunks"
    fake_reset
    fleet_mount 1
    for p in "${PROVIDERS[@]}"; do timeout "$BOUND" ls "$WORK/m1/$p" >/dev/null; done
    fleet_view 1 >"$WORK/view.2"
    cmp "$WORK/view.1" "$WORK/view.2"
    grep -q "damaged" "$WORK/d1.log"
    [ "$(requests_besides)" -ge $((${#PROVIDERS[@]} * 2)) ]
}

@test "fleet: with Redis gone every daemon fetches alone and shares again once it is back" {
    local p at
    CFS_TTL=2 write_config "shared_cache = unix:$REDIS_SOCK"
    stop_redis
    fleet_mount 2
    for p in "${PROVIDERS[@]}"; do
        timeout "$BOUND" ls "$WORK/m1/$p" >/dev/null
        timeout "$BOUND" ls "$WORK/m2/$p" >/dev/null
    done
    fleet_view 1 >"$WORK/view.1"
    fleet_view 2 >"$WORK/view.2"
    cmp "$WORK/view.1" "$WORK/view.2"
    # one line for the streak, not one per provider or request
    [ "$(grep -c 'working alone until it answers' "$WORK/d1.log")" -eq 1 ]
    start_redis
    # past the ttl, the next access refreshes, finds Redis again and publishes
    at=$(getfattr --only-values -n user.collectionsfs.fetched_at "$WORK/m1/${PROVIDERS[0]}")
    wait_for 20 past "$(($(date -u -d "$at" +%s) + 2))"
    for p in "${PROVIDERS[@]}"; do timeout "$BOUND" ls "$WORK/m1/$p" >/dev/null; done
    wait_for "$BOUND" grep -q 'shared cache .*: connected again' "$WORK/d1.log"
    wait_for "$BOUND" manifests_are "${#PROVIDERS[@]}"
}

@test "fleet: a password for a Redis on another host is refused unless allowed; a bad URL is named" {
    write_config "shared_cache = redis://192.0.2.1:6379/0" "shared_cache_password = pw-not-shown"
    mkdir -p "$WORK/mnt"
    run timeout 20 "$CFS_BIN" -f -c "$CONFIG" "$WORK/mnt"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"in clear"* ]]
    [[ "$output" != *pw-not-shown* ]]
    write_config "shared_cache = http://localhost:6379"
    run timeout 20 "$CFS_BIN" -f -c "$CONFIG" "$WORK/mnt"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"shared_cache"* || "$output" == *"redis://"* ]]
}

# published: a listing's generation is in Redis.
published() { [ -n "$(keys '*:gen')" ]; }

@test "fleet: a first page handed out before the fleet's listing is taken leaves nothing behind" {
    # A cold daemon checks its credentials with the provider's first page and a
    # waiting reader may be handed it; then it takes the fleet's listing, older
    # than that page. The kernel must end up with the listing the daemon serves:
    # no name of that page, no size of its bytes.
    local p=${PROVIDERS[0]} id old new=ZZ-renamed-after-the-fleet-walked got want
    [[ " ${PROVIDERS[*]} " == *" honcho "* ]] && p=honcho
    fleet_mount 2
    timeout "$BOUND" ls "$WORK/m1/$p" >/dev/null
    wait_for 10 published || { echo "daemon 1 published nothing"; return 1; }
    want=$(timeout "$BOUND" ls -1 "$WORK/m1/$p" | wc -l)
    id=$(item_at "$p" 0 id)
    old=$(item_at "$p" 0 name)
    rename_item "$p" "$id" "$new"
    timeout "$BOUND" ls "$WORK/m2/$p" >/dev/null
    for _ in 1 2; do # the second read may come from the kernel's cache
        got=$(timeout "$BOUND" ls -1 "$WORK/m2/$p")
        grep -qxF -- "$old" <<<"$got" || { echo "$old (the fleet's) not listed"; return 1; }
        ! grep -qxF -- "$new" <<<"$got" || { echo "$new (the first page's) still listed"; return 1; }
        [ "$(grep -c . <<<"$got")" -eq "$want" ] || { echo "$(grep -c . <<<"$got") listed, want $want"; return 1; }
    done
    [ ! -e "$WORK/m2/$p/$new" ] || { echo "$new can still be looked up"; return 1; }
    timeout "$BOUND" python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
        "$WORK/m2/$p/$old/metadata.json" || { echo "metadata.json of $old is not whole"; return 1; }
    [[ "$(getfattr --only-values -n user.collectionsfs.source "$WORK/m2/$p")" == *":${FLEET_PID[1]})" ]] ||
        { echo "m2 did not take the fleet's listing"; return 1; }
}

@test "fleet: a listing taken over a fresh one reaches a file held open within seconds" {
    # A daemon whose listing is still fresh takes the newer one another daemon
    # published. While it makes the kernel forget the changed inodes, its old
    # listing still answers; with the old listing's remaining ttl in those
    # answers the kernel would keep the old size and bytes of a file for that
    # ttl (an hour here). A reader holding the file open keeps asking for its
    # attributes, so one of its requests lands in that moment; renaming every
    # collection makes the moment long (a forget each, the held file's first).
    # The held file's new name has the length of the old one: a file whose
    # size changes gets a new inode number, and the held one keeps its bytes.
    local p=${PROVIDERS[0]} id old new
    [[ " ${PROVIDERS[*]} " == *" honcho "* ]] && p=honcho
    CFS_TTL=3600 write_config "shared_cache = unix:$REDIS_SOCK"
    fleet_mount 2
    timeout "$BOUND" ls "$WORK/m1/$p" >/dev/null
    wait_for 10 published || { echo "daemon 1 published nothing"; return 1; }
    timeout "$BOUND" ls "$WORK/m2/$p" >/dev/null
    [[ "$(getfattr --only-values -n user.collectionsfs.source "$WORK/m2/$p")" == *":${FLEET_PID[1]})" ]] ||
        { echo "m2 did not take the fleet's listing"; return 1; }
    id=$(item_at "$p" 0 id)
    old=$(item_at "$p" 0 name)
    new=$(tr 'a-zA-Z0-9' 'b-zaB-ZA1-90' <<<"$old")
    [ "${#new}" -eq "${#old}" ]
    [ "$new" != "$old" ]
    timeout 300 python3 - "$WORK/m2/$p/$old/metadata.json" "$WORK/stop" "$WORK/ready" \
        >"$WORK/held.txt" 2>&1 <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
reads, end = 0, time.monotonic() + 240
while not os.path.exists(sys.argv[2]) and time.monotonic() < end:
    os.fstat(fd)
    os.pread(fd, 1 << 16, 0)
    reads += 1
    if reads == 1:
        open(sys.argv[3], "w").close()
print("reads", reads)
PY
    READER=$!
    wait_for 10 test -e "$WORK/ready" || { echo "the reader did not start"; cat "$WORK/held.txt"; return 1; }
    # every other collection gets a longer name: its metadata.json grows
    fake_get "/_fake/expect?provider=$p" | python3 -c '
import json, sys
items = json.load(sys.stdin)
print(json.dumps({"provider": sys.argv[1], "rename": {it["id"]: (sys.argv[2] if it["id"] == sys.argv[3]
      else (it["name"] or it["id"]) + " renamed") for it in items}}))' "$p" "$new" "$id" >"$WORK/rename.json"
    fake_post /_fake/config "$(cat "$WORK/rename.json")" >/dev/null
    kill -HUP "${FLEET_PID[1]}"
    wait_for "$BOUND" test -d "$WORK/m2/$p/$new" || { echo "m2 never showed $new"; return 1; }
    touch "$WORK/stop"
    wait "$READER"
    READER=
    cat "$WORK/held.txt"
    grep -q '^reads [1-9]' "$WORK/held.txt"
    # the kernel must hold the new size and bytes now, or learn them within seconds
    wait_for 10 python3 -c '
import json, sys
sys.exit(json.load(open(sys.argv[1]))["name"] != sys.argv[2])' "$WORK/m2/$p/$new/metadata.json" "$new" ||
        { echo "m2 still shows: $(head -c 200 "$WORK/m2/$p/$new/metadata.json")"; return 1; }
}
