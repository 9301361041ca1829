#!/usr/bin/env bats
# Faults after a listing was fetched (DESIGN §3): a failing refresh keeps
# serving the last complete listing (up to stale_ttl) with one log line per
# failure streak; a refresh that fails half-way never replaces a complete
# listing with a partial one, never makes collections vanish, and a partial
# listing is never presented as complete.

load faults_helpers

setup() {
    export CFS_TTL=1
    fault_setup
}

teardown() {
    fault_teardown
}

# snapshot PROVIDER FILE: the sorted listing of a section, and the first
# metadata.json of it, into FILE and FILE.meta.
snapshot() {
    timeout "$BOUND" ls -1 "$MNT/$1" >"$2.tmp" || return 1
    sort "$2.tmp" >"$2"
    [ -s "$2" ] || { echo "$1: the listing is empty"; return 1; }
    local first
    first=$(head -n 1 "$2")
    timeout "$BOUND" cat "$MNT/$1/$first/metadata.json" >"$2.meta" || return 1
    [ -s "$2" ] && [ -s "$2.meta" ]
}

# serves_stale PROVIDER BEFORE: the section still shows exactly BEFORE, metadata included.
serves_stale() {
    snapshot "$1" "$WORK/after" || { echo "$1: listing not served while the refresh fails"; return 1; }
    diff "$2" "$WORK/after" >/dev/null || { echo "$1: listing changed: $(diff "$2" "$WORK/after" | head -n 5)"; return 1; }
    cmp -s "$2.meta" "$WORK/after.meta" || { echo "$1: metadata.json changed"; return 1; }
}

# stale_cycle MODE_JSON_TAIL: for each provider, cache, break, and check that
# three ttl periods later the old listing is still served, with one log line.
stale_cycle() {
    local fault_tail=$1 p mark lines n
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        snapshot "$p" "$WORK/before.$p"
        mark=$(log_size)
        fault "{\"provider\":\"$p\",$fault_tail}"
        for _ in 1 2 3; do
            sleep 1.3                       # past ttl: the next access refreshes
            serves_stale "$p" "$WORK/before.$p"
        done
        daemon_alive
        others_ok "$p"
        lines=$(log_lines_since "$mark" "\\[$p\\]")
        n=$(printf '%s' "$lines" | grep -c . || true)
        [ "$n" -ge 1 ] || { echo "$p: the failing refresh was not logged"; return 1; }
        [ "$n" -eq 1 ] || { echo "$p: $n log lines for one failure streak (want 1):"; echo "$lines"; return 1; }
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
    done
}

@test "stale: HTTP 500 on refresh keeps serving the old listing, one log line per streak" {
    stale_cycle '"mode":"status","status":500'
}

@test "stale: connection reset on refresh keeps serving the old listing" {
    stale_cycle '"mode":"reset"'
}

@test "stale: a stalled refresh keeps serving the old listing within the budget" {
    stale_cycle '"mode":"stall"'
}

@test "stale: truncated JSON on refresh keeps serving the old listing" {
    stale_cycle '"mode":"truncate"'
}

@test "stale: an HTML page with status 200 on refresh keeps serving the old listing" {
    stale_cycle '"mode":"html"'
}

@test "stale: wrong types on refresh keep serving the old listing" {
    stale_cycle '"mode":"wrongtypes"'
}

@test "stale: 429 beyond the budget on refresh keeps serving the old listing" {
    stale_cycle '"mode":"429","k":100000,"retry_after":600'
}

@test "stale: empty pages under a stated total do not empty a cached listing" {
    # honcho and fount state a total, hivo sends a links.next with the empty
    # page: a refresh whose pages are all empty contradicts that and must not
    # replace 150 / 300 / 1200 collections by nothing (DESIGN §3: the walk
    # stops at an empty page "with a log line")
    mount_cfs
    bad=
    for p in honcho hivo fount; do
        remount
        snapshot "$p" "$WORK/before.$p"
        mark=$(log_size)
        fault "{\"provider\":\"$p\",\"mode\":\"empty\"}"
        sleep 1.3
        serves_stale "$p" "$WORK/before.$p" || bad="$bad $p"
        [ -n "$(log_lines_since "$mark" "\\[$p\\]")" ] || { echo "$p: empty pages not logged"; bad="$bad $p"; }
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
    done
    daemon_alive
    [ -z "$bad" ] || { echo "failed for:$bad"; false; }
}

@test "stale: a refresh failing half-way keeps the complete old listing, nothing vanishes" {
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        snapshot "$p" "$WORK/before.$p"
        # change the data so that a half-new listing would show: one renamed,
        # one added, one deleted
        ids=$(fake_get "/_fake/expect?provider=$p" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[0]["id"], d[-1]["id"])')
        set -- $ids
        fake_post /_fake/config "{\"provider\":\"$p\",\"rename\":{\"$1\":\"Renamed by the test\"},\"delete\":[\"$2\"],\"add\":{\"name\":\"Added by the test\"}}" >/dev/null
        # page 1 of the refresh succeeds, page 2 gets a 400 (not retried)
        fault "{\"provider\":\"$p\",\"mode\":\"every\",\"k\":2,\"status\":400}"
        sleep 1.3
        serves_stale "$p" "$WORK/before.$p"
        sleep 1.3
        serves_stale "$p" "$WORK/before.$p"
        # every old collection is still there, by lookup too
        while read -r name; do
            [ "$(fs_op stat "$MNT/$p/$name/metadata.json")" = OK ] || { echo "$p: '$name' vanished"; false; }
        done < <(tail -n 3 "$WORK/before.$p")
        # and once the provider is fine the new listing replaces the old one
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
        sleep 1.3
        timeout "$BOUND" ls -1 "$MNT/$p" >"$WORK/new.$p"
        grep -qx 'Added by the test' "$WORK/new.$p" || { echo "$p: new listing not taken after recovery"; false; }
        grep -qx 'Renamed by the test' "$WORK/new.$p"
        [ "$(wc -l <"$WORK/new.$p")" -eq "$(wc -l <"$WORK/before.$p")" ]
        fake_post /_fake/reset '{"data": true}' >/dev/null
    done
    daemon_alive
}

@test "partial: with nothing cached, a listing failing on page 2 is an error, never a short listing" {
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"every\",\"k\":2,\"status\":400}"
        got=$(fs_op listdir "$MNT/$p")
        [ "$got" = EIO ] || { echo "$p: ls gave '$got' while page 2 fails (want EIO)"; false; }
        # a name the partial listing lacks is not "no such file": the rest is unknown
        got=$(fs_op stat "$MNT/$p/surely not a collection")
        [ "$got" != ENOENT ] && [ "$got" != HUNG ] ||
            { echo "$p: lookup in a partial listing gave '$got' (want EIO)"; false; }
        others_ok "$p"
    done
    daemon_alive
}

@test "stale: the fake going away entirely: every section keeps serving, one line each" {
    mount_cfs
    for p in "${PROVIDERS[@]}"; do snapshot "$p" "$WORK/before.$p"; done
    mark=$(log_size)
    port=$FAKE_PORT
    stop_fake
    wait_for 10 bash -c "! curl -s --max-time 1 http://127.0.0.1:$port/_fake/stats"
    for _ in 1 2; do
        sleep 1.3
        for p in "${PROVIDERS[@]}"; do serves_stale "$p" "$WORK/before.$p"; done
    done
    for p in "${PROVIDERS[@]}"; do
        n=$(log_lines_since "$mark" "\\[$p\\]" | grep -c . || true)
        [ "$n" -eq 1 ] || { echo "$p: $n log lines for one outage (want 1)"; log_lines_since "$mark" "\\[$p\\]"; false; }
    done
    # the provider comes back on the same port: the next refresh takes
    python3 "$FAKE" --port "$port" >"$WORK/fake2.log" 2>&1 &
    FAKE_PID=$!
    wait_for 15 curl -sf --max-time 1 "http://127.0.0.1:$port/_fake/stats"
    sleep 1.3
    for p in "${PROVIDERS[@]}"; do provider_ok "$p"; done
    daemon_alive
}

@test "stale_ttl: past it, a failing provider is an error again" {
    # stale_ttl counts from the moment the listing was complete
    write_config "stale_ttl = 7"
    mount_cfs
    snapshot hivo "$WORK/before.hivo"
    fault '{"provider":"hivo","mode":"status","status":500}'
    sleep 1.3
    serves_stale hivo "$WORK/before.hivo"   # the failing refresh takes up to timeout=3 s
    sleep 4
    got=$(fs_op listdir "$MNT/hivo")
    [ "$got" = EIO ] || { echo "after stale_ttl: ls gave '$got' (want EIO)"; false; }
    daemon_alive
}
