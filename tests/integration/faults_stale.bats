#!/usr/bin/env bats
# Faults after a listing was fetched (DESIGN §3): a failing refresh keeps
# serving the last complete listing (up to stale_ttl) with one log line per
# failure streak; a refresh that fails half-way never replaces a complete
# listing with a partial one, never makes collections vanish, and a partial
# listing is never presented as complete; with nothing cached a failure is an
# error. No test assumes how much time has passed: each keeps reading until
# the fake (or the daemon's debug log) shows that a refresh was attempted.

load '../lib/common'

setup() {
    export CFS_TTL=1 CFS_TIMEOUT="${CFS_TIMEOUT:-3}"
    setup_fake
}

teardown() {
    [ -z "${READER:-}" ] || kill "$READER" 2>/dev/null # a file held open keeps the mount busy
    teardown_mount
}

# listing_snapshot PROVIDER FILE: the sorted listing of a section, and the
# first metadata.json of it, into FILE and FILE.meta.
listing_snapshot() {
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
    listing_snapshot "$1" "$WORK/after" || { echo "$1: listing not served while the refresh fails"; return 1; }
    diff "$2" "$WORK/after" >/dev/null || { echo "$1: listing changed: $(diff "$2" "$WORK/after" | head -n 5)"; return 1; }
    cmp -s "$2.meta" "$WORK/after.meta" || { echo "$1: metadata.json changed"; return 1; }
}

# stale_until_refreshed PROVIDER BEFORE: keep reading the section, each read
# serving exactly BEFORE, until the fake has seen a new request for it (a
# refresh was attempted: ttl passed). A read waits for the refresh it starts,
# so when this returns that attempt is over. Bounded: 60 s.
stale_until_refreshed() {
    local n0 end=$((SECONDS + 60))
    n0=$(requests "$1")
    while :; do
        serves_stale "$1" "$2" || return 1
        [ "$(requests "$1")" -gt "$n0" ] && return 0
        [ "$SECONDS" -lt "$end" ] || { echo "$1: no refresh attempted within 60 s (ttl=1)"; return 1; }
        sleep 0.1
    done
}

# stale_cycle MODE_JSON_TAIL: for each provider, cache, break, and check that
# over two refresh attempts the old listing is served, with one log line (two
# failures are the fewest that tell one line per streak from one per failure).
stale_cycle() {
    local fault_tail=$1 p mark lines n
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount
        listing_snapshot "$p" "$WORK/before.$p"
        mark=$(log_size)
        fault "{\"provider\":\"$p\",$fault_tail}"
        for _ in 1 2; do
            stale_until_refreshed "$p" "$WORK/before.$p"
        done
        daemon_alive
        others_ok "$p"
        lines=$(log_lines_since "$mark" "\\[$p\\]")
        n=$(printf '%s' "$lines" | grep -c . || true)
        [ "$n" -ge 1 ] || { echo "$p: the failing refresh was not logged"; return 1; }
        [ "$n" -eq 1 ] || { echo "$p: $n log lines for one failure streak (want 1):"; echo "$lines"; return 1; }
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
        recovers "$p" 30
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
    # a hint of 4 s against a 3 s budget: each refresh fails at once, and the
    # next one reaches the fake once the hint has passed
    stale_cycle '"mode":"429","k":100000,"retry_after":4'
}

@test "stale: empty pages under a stated total do not empty a cached listing" {
    # where a page states a total or a next link (the fake's states_more), a
    # refresh whose pages are all empty contradicts that and must not replace
    # the collections by nothing (DESIGN §3: the walk stops at an empty page
    # "with a log line")
    local p bad= mark tested=0
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        [ "$(provider_info "$p" states_more)" = true ] || continue
        tested=$((tested + 1))
        remount
        listing_snapshot "$p" "$WORK/before.$p"
        mark=$(log_size)
        fault "{\"provider\":\"$p\",\"mode\":\"empty\"}"
        stale_until_refreshed "$p" "$WORK/before.$p" || bad="$bad $p"
        [ -n "$(log_lines_since "$mark" "\\[$p\\]")" ] || { echo "$p: empty pages not logged"; bad="$bad $p"; }
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
    done
    daemon_alive
    [ "$tested" -gt 0 ] || { echo "no provider states a total or a next link"; false; }
    [ -z "$bad" ] || { echo "failed for:$bad"; false; }
}

# listing_has PROVIDER NAME: readdir of the section shows NAME.
listing_has() { timeout "$BOUND" ls -1 "$MNT/$1" | grep -qxF -- "$2"; }

@test "stale: a refresh failing half-way keeps the complete old listing, nothing vanishes" {
    local p ids name
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        # more pages than a walk keeps in flight (parallel = 4), so that the
        # request the fault hits is always one the listing needs, even when
        # offsets are fetched ahead of the end (HIVO states no total)
        set_count "$p" $(($(provider_info "$p" max_page) * 5 + 1))
        remount
        listing_snapshot "$p" "$WORK/before.$p"
        # change the data so that a half-new listing would show: one renamed,
        # one added, one deleted
        ids=$(fake_get "/_fake/expect?provider=$p" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[0]["id"], d[-1]["id"])')
        set -- $ids
        fake_post /_fake/config "{\"provider\":\"$p\",\"rename\":{\"$1\":\"Renamed by the test\"},\"delete\":[\"$2\"],\"add\":{\"name\":\"Added by the test\"}}" >/dev/null
        # the second request of the refresh to arrive gets a 400 (not retried)
        fault "{\"provider\":\"$p\",\"mode\":\"every\",\"k\":2,\"status\":400}"
        stale_until_refreshed "$p" "$WORK/before.$p"
        stale_until_refreshed "$p" "$WORK/before.$p"
        # every old collection is still there, by lookup too
        while read -r name; do
            [ "$(fs_op stat "$MNT/$p/$name/metadata.json")" = OK ] || { echo "$p: '$name' vanished"; false; }
        done < <(tail -n 3 "$WORK/before.$p")
        # and once the provider is fine the new listing replaces the old one
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
        wait_for 30 listing_has "$p" 'Added by the test' || { echo "$p: new listing not taken after recovery"; false; }
        timeout "$BOUND" ls -1 "$MNT/$p" >"$WORK/new.$p"
        grep -qx 'Renamed by the test' "$WORK/new.$p"
        [ "$(wc -l <"$WORK/new.$p")" -eq "$(wc -l <"$WORK/before.$p")" ]
        fake_post /_fake/reset '{"data": true}' >/dev/null
    done
    daemon_alive
}

@test "partial: with nothing cached, a listing failing on page 2 is an error, never a short listing" {
    local p got
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        # more pages than a walk keeps in flight, so that the second request is
        # one the listing needs, not an offset fetched ahead past the end (HIVO)
        set_count "$p" $(($(provider_info "$p" max_page) * 5 + 1))
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

# renamed_only PROVIDER OLD NEW COUNT: the section lists NEW and not OLD, COUNT
# names in all, twice (the second read may come from the kernel's cache), and
# OLD cannot be looked up.
renamed_only() {
    local p=$1 old=$2 new=$3 want=$4 got
    for _ in 1 2; do
        got=$(timeout "$BOUND" ls -1 "$MNT/$p")
        grep -qxF -- "$new" <<<"$got" || { echo "$p: $new not listed"; return 1; }
        ! grep -qxF -- "$old" <<<"$got" || { echo "$p: the old name $old is still listed"; return 1; }
        [ "$(grep -c . <<<"$got")" -eq "$want" ] ||
            { echo "$p: $(grep -c . <<<"$got") listed, want $want"; return 1; }
    done
    [ "$(fs_op stat "$MNT/$p/$old")" = ENOENT ] || { echo "$p: $old can still be looked up"; return 1; }
}

@test "partial: a first listing that failed after a reader got its first page leaves no old name behind" {
    # The kernel keeps what a reader was handed of a first walk that then
    # failed (where names stream: ordered providers). The next walk, whose
    # names changed meanwhile, must make it forget that, or its cached read of
    # the directory would still show the old name once a later read completed it.
    local p id old new=ZZ-renamed-after-the-failure want
    CFS_TTL=3600 write_config
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        set_count "$p" $(($(provider_info "$p" max_page) * 5 + 1))
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"every\",\"k\":2,\"status\":400}"
        [ "$(fs_op listdir "$MNT/$p")" = EIO ] || { echo "$p: the failing listing was not EIO"; return 1; }
        id=$(item_at "$p" 0 id)
        old=$(item_at "$p" 0 name)
        rename_item "$p" "$id" "$new"
        want=$(expected_count "$p")
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
        wait_for 10 timeout "$BOUND" ls "$MNT/$p"
        renamed_only "$p" "$old" "$new" "$want" || return 1
    done
}

# first_entry DIR: read one entry of DIR and stop, as `ls -f | head -1` does
# (one getdents: the kernel caches what it got as a partial read).
first_entry() {
    timeout "$BOUND" python3 -c 'import os, sys
with os.scandir(sys.argv[1]) as d:
    sys.exit(0 if next(d, None) else 1)' "$1"
}

# past MS: the wall clock is past MS (now_ms), for a wait on the ttl.
past() { [ "$(now_ms)" -gt "$1" ]; }

# cold_section PROVIDER: four pages and more of it, on a fresh mount.
cold_section() {
    set_count "$1" $(($(provider_info "$1" max_page) * 4 + 1500))
    remount
}

# pause_first_walk PROVIDER: read one getdents of the cold section, so that an
# ordered walk pauses (the read is tried again while a failure before it is
# remembered); sets the caller's want (the count), id and old (the first
# collection), and counts in paused the walks that stopped short of the last
# page (where names are final only at the end, scenario, the walk completes).
pause_first_walk() {
    local max
    max=$(provider_info "$1" max_page)
    wait_for 10 first_entry "$MNT/$1" || { echo "$1: no first entry"; return 1; }
    want=$(expected_count "$1")
    [ "$(requests "$1")" -ge $(((want + max - 1) / max)) ] || paused=$((paused + 1))
    id=$(item_at "$1" 0 id)
    old=$(item_at "$1" 0 name)
}

@test "partial: a paused first listing started over after the ttl leaves no old name behind" {
    # A reader that stops early leaves an ordered first walk paused, its first
    # entries in the kernel's cached read of the directory. Past the ttl the
    # next reader starts the walk over; a rename in between must not survive
    # in that cached read.
    local p id old new=ZZ-renamed-while-paused want t0 paused=0
    # one page at a time: the walk pauses 2 pages past what the reader got
    # (one getdents, a few hundred entries), so a few pages make it pause
    write_config "parallel = 1"
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        cold_section "$p"
        pause_first_walk "$p" || return 1
        t0=$(now_ms)
        rename_item "$p" "$id" "$new"
        wait_for 10 past $((t0 + CFS_TTL * 1000 + 100))
        renamed_only "$p" "$old" "$new" "$want" || return 1
    done
    [ "$paused" -gt 0 ] || { echo "no walk paused: the test tests nothing"; return 1; }
}

# hup_taken MARK: the daemon logged a SIGHUP reload after line MARK.
hup_taken() { [ -n "$(log_lines_since "$1" 'SIGHUP: configuration read again')" ]; }

@test "partial: SIGHUP during a paused first listing leaves no old name or size behind" {
    # A reload of the same account keeps what each section knew; what a first
    # walk had handed out is part of that, or the next walk could not tell the
    # kernel which of those names changed.
    local p id old new=ZZ-renamed-before-the-reload want mark paused=0
    CFS_TTL=3600 write_config "parallel = 1"
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        cold_section "$p"
        pause_first_walk "$p" || return 1
        # the kernel now holds the file's size, which the rename changes
        timeout "$BOUND" stat "$MNT/$p/$old/metadata.json" >/dev/null || { echo "$p: $old not found"; return 1; }
        rename_item "$p" "$id" "$new"
        mark=$(log_size)
        kill -HUP "$CFS_PID"
        wait_for 10 hup_taken "$mark" || { echo "$p: SIGHUP not taken"; return 1; }
        renamed_only "$p" "$old" "$new" "$want" || return 1
        timeout "$BOUND" python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
            "$MNT/$p/$new/metadata.json" || { echo "$p: metadata.json of $new is not whole"; return 1; }
        timeout "$BOUND" grep -qF -- "\"$new\"" "$MNT/$p/$new/metadata.json" ||
            { echo "$p: metadata.json of $new does not hold its new name"; return 1; }
    done
    [ "$paused" -gt 0 ] || { echo "no walk paused: the test tests nothing"; return 1; }
}

@test "partial: two first listings given up one after the other leave no old name or size behind" {
    # A paused walk older than the ttl answers nothing more, even where the
    # kernel asks no GETATTR first; and the kernel holds what either of two
    # first walks that ended early handed out, so the next walk must be
    # compared with both, or a file only the second one handed out keeps its
    # old size. Timed on the ttl (8 s): the second walk must be older than it
    # to be given up, while the file's attributes, handed out late in that
    # walk, must still be valid.
    local p=honcho id old new=ZZ-renamed-after-two-first-walks-that-ended-early want t2 ts max
    [[ " ${PROVIDERS[*]} " == *" $p "* ]] || p=${PROVIDERS[0]}
    CFS_TTL=8 write_config "parallel = 1"
    mount_cfs
    max=$(provider_info "$p" max_page)
    set_count "$p" $((max * 8 + 1500))
    remount
    first_entry "$MNT/$p" || { echo "$p: no first entry"; return 1; }
    wait_for 20 past $(($(now_ms) + 8100))
    # the first walk is given up; the second stops at the first name's page
    timeout "$BOUND" stat "$MNT/$p/$(item_at "$p" 0 name)" >/dev/null || { echo "$p: first name not found"; return 1; }
    t2=$(now_ms)
    wait_for 20 past $((t2 + 6000))
    # now it goes further than the first one did, to a collection on page 6
    id=$(item_at "$p" $((max * 5 + 1)) id)
    old=$(item_at "$p" $((max * 5 + 1)) name)
    timeout "$BOUND" stat "$MNT/$p/$old/metadata.json" >/dev/null || { echo "$p: $old not found"; return 1; }
    ts=$(now_ms)
    [ "$(requests "$p")" -lt "$(((max * 8 + 1500) / max))" ] || { echo "$p: the walks did not stop early"; return 1; }
    want=$(expected_count "$p")
    rename_item "$p" "$id" "$new"
    wait_for 20 past $((t2 + 8100))
    renamed_only "$p" "$old" "$new" "$want" || return 1
    timeout "$BOUND" python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
        "$MNT/$p/$new/metadata.json" || { echo "$p: metadata.json of $new is not whole"; return 1; }
    # read while the kernel could still hold the old size, or this tested nothing
    [ "$(now_ms)" -lt $((ts + 8000)) ] || { echo "$p: too slow to test within the ttl"; return 1; }
}

# refresh_failed_twice PROVIDER MARK: after line MARK of the daemon log, the
# section logged its failure and then made another request (debug lines, -d):
# a second refresh attempt began after the first had failed.
refresh_failed_twice() {
    tail -n +"$(($2 + 1))" "$WORK/daemon.log" | python3 -c '
import re, sys
tag, failed = "[%s]" % sys.argv[1], False
for line in sys.stdin:
    if tag not in line:
        continue
    debug = re.match(r"collectionsfs [0-9:.]* debug: ", line)
    if not debug:
        failed = True
    elif failed:
        sys.exit(0)
sys.exit(1)' "$1"
}

# stale_all_until_retried MARK PROVIDER...: read every section (each must
# serve its old listing) until each has failed a refresh and tried again.
stale_all_until_retried() {
    local mark=$1 p pending end=$((SECONDS + 60))
    shift
    while :; do
        pending=
        for p in "$@"; do
            serves_stale "$p" "$WORK/before.$p" || return 1
            refresh_failed_twice "$p" "$mark" || pending="$pending $p"
        done
        [ -z "$pending" ] && return 0
        [ "$SECONDS" -lt "$end" ] || { echo "no second refresh attempt within 60 s for:$pending"; return 1; }
        sleep 0.1
    done
}

@test "stale: the fake going away entirely: cached sections keep serving, one line each; an uncached one is EIO" {
    local p port mark n got uncached=${PROVIDERS[-1]} cached=()
    mount_cfs -d # one debug line per request: the refresh attempts show without the fake
    for p in "${PROVIDERS[@]}"; do
        [ "$p" = "$uncached" ] && continue
        cached+=("$p")
        listing_snapshot "$p" "$WORK/before.$p"
    done
    [ "${#cached[@]}" -gt 0 ] || skip "needs two providers"
    mark=$(log_size)
    port=$FAKE_PORT
    stop_fake
    wait_for 10 bash -c "! curl -s --max-time 1 http://127.0.0.1:$port/_fake/stats"
    stale_all_until_retried "$mark" "${cached[@]}"
    for p in "${cached[@]}"; do
        n=$(log_lines_since "$mark" "\\[$p\\]" | grep -c . || true)
        [ "$n" -eq 1 ] || { echo "$p: $n log lines for one outage (want 1)"; log_lines_since "$mark" "\\[$p\\]"; false; }
    done
    # nothing cached: the operation fails with EIO, the log says why
    got=$(fs_op listdir "$MNT/$uncached")
    [ "$got" = EIO ] || [ "$got" = ETIMEDOUT ] || { echo "$uncached (never listed): ls gave '$got'"; false; }
    [ -n "$(log_lines_since "$mark" "\\[$uncached\\]")" ] || { echo "$uncached: the failure was not logged"; false; }
    # the provider comes back on the same port: the next refresh takes
    python3 "$FAKE" --port "$port" >"$WORK/fake2.log" 2>&1 &
    FAKE_PID=$!
    wait_for 15 curl -sf --max-time 1 "http://127.0.0.1:$port/_fake/stats"
    for p in "${PROVIDERS[@]}"; do recovers "$p" 30; done
    daemon_alive
}

@test "stale_ttl: past it, a failing provider is an error again" {
    # stale_ttl counts from the moment the listing was complete
    local p=${PROVIDERS[1]:-${PROVIDERS[0]}} t0 got n
    write_config "stale_ttl = 7"
    mount_cfs
    t0=$(now_ms) # before the listing completes
    listing_snapshot "$p" "$WORK/before.$p"
    n=$(wc -l <"$WORK/before.$p")
    fault "{\"provider\":\"$p\",\"mode\":\"status\",\"status\":500}"
    stale_until_refreshed "$p" "$WORK/before.$p" # a failing refresh, the old listing served
    # keep reading: the old listing, until stale_ttl has passed; then EIO
    local end=$((SECONDS + 60))
    while :; do
        got=$(fs_op listdir "$MNT/$p")
        [ "$got" = EIO ] && break
        [ "$got" = "OK $n" ] || { echo "within stale_ttl: ls gave '$got' (want the old $n)"; false; }
        [ "$SECONDS" -lt "$end" ] || { echo "still served 60 s after stale_ttl = 7"; false; }
        sleep 0.2
    done
    # a lower bound only: never an error before stale_ttl is over
    [ $(($(now_ms) - t0)) -ge 7000 ] || { echo "EIO $(($(now_ms) - t0)) ms after the listing, before stale_ttl"; false; }
    daemon_alive
}

@test "stale: past the ttl a file held open is answered at once while the refresh it starts waits" {
    # timeout=120 s: an answer that waited for the provider would come minutes late
    local p=${PROVIDERS[0]} name n
    CFS_TIMEOUT=120 write_config
    mount_cfs
    name=$(timeout "$BOUND" ls "$MNT/$p" | head -n 1)
    [ -n "$name" ]
    PYTHONPATH="$TESTS_DIR/lib" timeout 200 python3 - "$MNT/$p/$name/metadata.json" "$WORK" \
        >"$WORK/held.txt" 2>&1 <<'PY' &
import os, sys, time
from signal_file import wait
path, work = sys.argv[1:3]
fd = os.open(path, os.O_RDONLY)
size = os.fstat(fd).st_size
open(os.path.join(work, "held"), "w").close()
wait(work, "go")
time.sleep(1.5) # ttl = 1: the kernel's attributes and the listing are out of date now
st = os.fstat(fd)
open(os.path.join(work, "answered"), "w").close()
assert st.st_size == size, "size %d, was %d" % (st.st_size, size)
print("ok")
PY
    READER=$!
    wait_for "$BOUND" test -e "$WORK/held"
    n=$(requests "$p")
    fault "{\"provider\": \"$p\", \"mode\": \"hold\"}"
    touch "$WORK/go"
    local answered=0
    wait_for "$BOUND" test -e "$WORK/answered" && answered=1
    # the stat did start a refresh, which the provider holds
    local started=0
    seen "$p" $((n + 1)) && started=1
    fault "{\"provider\": \"$p\", \"mode\": \"none\"}"
    wait "$READER"
    READER=
    cat "$WORK/held.txt"
    [ "$answered" = 1 ]
    [ "$started" = 1 ]
    [ "$(cat "$WORK/held.txt")" = ok ]
    daemon_alive
}

# cold_big_listing BUDGET [LATENCY]: mount with that request budget and 4
# requests in flight, then list 200 pages of the provider with the smallest
# pages cold (each answer LATENCY s late) into $WORK/before, sorted. Sets p,
# pages and n0 (the provider's requests by then) for the caller.
cold_big_listing() {
    local per
    read -r p per < <(by_page_size min)
    pages=200
    set_count "$p" $((pages * per))
    CFS_TIMEOUT=$1 write_config "parallel = 4" && mount_cfs || return 1
    [ -z "${2:-}" ] || fault "{\"provider\": \"$p\", \"mode\": \"latency\", \"seconds\": $2}"
    timeout 120 ls -f "$MNT/$p" | sort >"$WORK/before"
    [ "$(grep -cvxE '\.|\.\.' "$WORK/before")" -eq $((pages * per)) ] ||
        { echo "the cold ls of $p did not list $((pages * per)) names"; return 1; }
    n0=$(requests "$p")
}

@test "stale: a refresh that outlasts the budget is waited for one budget, then the last listing answers" {
    # timeout=2 s against a refresh of about 15 s: pages keep coming, slowly
    local p pages n0
    cold_big_listing 2
    fault "{\"provider\": \"$p\", \"mode\": \"latency\", \"seconds\": 0.3}"
    sleep 2 # ttl = 1 s: past it now (a wait for time itself, not for an event)
    # a directory read starts the refresh, waits for it one budget, then gets the whole last listing
    timeout 120 ls -f "$MNT/$p" | sort >"$WORK/during"
    local at_ls at_stat
    at_ls=$(requests "$p")
    # and while the refresh goes on, no access waits again
    timeout 120 stat "$MNT/$p" "$MNT/$p/$(grep -vxE '\.|\.\.' "$WORK/before" | tail -n 1)" >/dev/null
    at_stat=$(requests "$p")
    fault "{\"provider\": \"$p\", \"mode\": \"none\"}"
    echo "requests: $n0 before the refresh, $at_ls after ls, $at_stat after stat; a refresh is $pages"
    cmp "$WORK/before" "$WORK/during"
    [ "$at_ls" -gt "$n0" ]                         # the read did start the refresh
    [ "$at_stat" -lt $((n0 + pages * 3 / 4)) ]     # and nothing waited for most of it
    daemon_alive
}

@test "stale: a refresh of slow pages is waited for one budget, not until its next page" {
    # pages of 3.5 s against timeout=4 s, 4 at a time: the wait for the
    # refresh ended only when a page came, after the second four's answers,
    # 7 s after the stat began, where the budget ends between the two
    local p per t0 t1 n
    read -r p per < <(by_page_size min)
    set_count "$p" $((20 * per))
    CFS_TIMEOUT=4 write_config "parallel = 4"
    mount_cfs
    timeout 60 ls -f "$MNT/$p" >/dev/null # a quick first walk: the next is waited for
    fake_reset
    fault "{\"provider\": \"$p\", \"mode\": \"latency\", \"seconds\": 3.5}"
    sleep 1.5 # ttl = 1 s: past it now (a wait for time itself, not for an event)
    t0=$(now_ms)
    timeout 30 stat "$MNT/$p" >/dev/null
    t1=$(now_ms)
    n=$(logged "$p")
    fault "{\"provider\": \"$p\", \"mode\": \"none\"}"
    echo "the stat past the ttl took $((t1 - t0)) ms, $n page(s) answered by then"
    [ $((t1 - t0)) -ge 4000 ] # not before the budget
    [ "$n" -le 4 ]            # and before the second four came
    daemon_alive
}

@test "stale: a refresh is not waited for when the last walk outlasted the budget" {
    # timeout=6 s against a walk of about 12 s: the next refresh cannot end
    # within a budget, so nothing waits for it
    local p pages n0
    cold_big_listing 6 0.25
    fault "{\"provider\": \"$p\", \"mode\": \"hold\"}"
    sleep 2 # ttl = 1 s: past it now (a wait for time itself, not for an event)
    # a wait of one budget would take 6 s: the old listing must come well before
    local rc=0
    timeout 3 ls -f "$MNT/$p" >"$WORK/raw" || rc=$?
    sort "$WORK/raw" >"$WORK/during"
    local started=0
    seen "$p" $((n0 + 1)) && started=1
    fault "{\"provider\": \"$p\", \"mode\": \"none\"}"
    [ "$rc" = 0 ]
    cmp "$WORK/before" "$WORK/during"
    [ "$started" = 1 ] # the read did start the refresh, which the provider holds
    daemon_alive
}

# A reader of a cold listing of 40 pages that takes its first 30 slowly
# (7.5 s), and the walk runs ahead of it and waits: it must not be thrown away
# and started over under the reader. The rest it reads at once, so the
# listing the walk completes (8 pages ahead of the reader) is not past its ttl
# before the reader ends: no refresh either, unless the machine stalls it.
slow_reader() {
    local p per pages=40
    read -r p per < <(by_page_size min)
    set_count "$p" $((pages * per))
    CFS_TTL=$1 write_config
    mount_cfs
    timeout 120 python3 - "$MNT/$p" $((pages * per)) "$per" >"$WORK/slow.txt" 2>&1 <<'PY'
import os, sys, time
total, per = int(sys.argv[2]), int(sys.argv[3])
names = []
for i, e in enumerate(os.scandir(sys.argv[1])):
    names.append(e.name)
    if i < total * 3 // 4 and i % per == 0:
        time.sleep(0.25)
print(len(names), len(set(names)))
PY
    cat "$WORK/slow.txt"
    local n
    n=$(requests "$p")
    echo "requests: $n for $pages pages"
    [ "$(cat "$WORK/slow.txt")" = "$((pages * per)) $((pages * per))" ]
    # one walk; one refresh is allowed for a reader the machine stalled past
    # the ttl (when each read past the ttl started the walk over: 127 requests)
    [ "$n" -le $((2 * pages)) ]
}

@test "walk: a first walk longer than the ttl goes on while a slow reader reads it" {
    slow_reader 2
}

@test "walk: with ttl = 0 a slow reader costs one walk, not one per directory read" {
    # A paused walk was given up when the reader's last read was older than
    # the ttl, and each read of the completed listing started a refresh:
    # 360 requests and more, growing with the square of the pages.
    slow_reader 0
}
