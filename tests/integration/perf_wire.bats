#!/usr/bin/env bats
# What a listing costs on the wire (issue 7, "Bytes on the wire" and "Rate
# limits at scale"): response bodies travel gzipped, pages reuse kept-alive
# connections instead of one TCP connection per page, and a provider that
# reports a rate limit is paced below it, a headroom kept, without a single
# 429. Everything is read from the fake's counters (GET /_fake/stats:
# wire_bytes, raw_bytes, connections, windows); no duration is asserted.

load '../lib/common'

PARALLEL=4

teardown() {
    teardown_mount
}

# stats_check PYTHON [ARGS...]: run checks over the fake's stats (`s`) for the providers
# under test (`provs`; ARGS in sys.argv[3:]); a line printed starting with FAIL fails the test.
stats_check() {
    local out
    out=$(fake_get /_fake/stats | python3 -c "
import json, sys
s = json.load(sys.stdin)
provs = sys.argv[1].split()
par = int(sys.argv[2])
$1" "${PROVIDERS[*]}" "$PARALLEL" "${@:2}") || { echo "$out"; return 1; }
    echo "$out" | sed 's/^/# /' >&3
    ! grep -q '^FAIL' <<<"$out" || { echo "$out"; return 1; }
}

# Python for stats_check, after `limit` and `keep` are set: no window of the fake's rate
# limit saw more than limit - keep requests, and no answer was a 429.
WITHIN_LIMIT='
if max(n for _, n in win) > limit - keep:
    print("FAIL a window saw %d requests; the limit is %d, the headroom %d" % (max(n for _, n in win), limit, keep))
refused = [l for l in s["log"] if l.split(" ")[-1] == "429"]
if refused:
    print("FAIL %d answers were 429: %s" % (len(refused), refused[:3]))
'

# cold_ls_all: a cold `ls -f` of every provider under test shows all its collections (as
# many as $WANT holds, when set: the fake takes seconds to count 100,000, a time that a test
# timed against its rate window cannot spend between its own requests and the listing's).
cold_ls_all() {
    local p n want
    for p in "${PROVIDERS[@]}"; do
        want=${WANT:-$(expected_count "$p")}
        n=$(timeout 60 ls -f "$MNT/$p" | grep -cvx '\.\|\.\.')
        [ "$n" -eq "$want" ] || { echo "ls $p: $n entries, want $want"; return 1; }
    done
}

@test "cold ls of thousands of collections: wire bytes <= 0.25 x the JSON, a few connections, not one per page" {
    start_fake --count 4000
    write_config "parallel = $PARALLEL"
    mount_cfs
    fake_reset
    cold_ls_all
    stats_check '
for p in provs:
    wire, raw, req, conns = s["wire_bytes"][p], s["raw_bytes"][p], s["requests"][p], s["connections_by"][p]
    print("%s: %d requests, %d connections, %d bytes on the wire for %d of JSON: %.3f" % (p, req, conns, wire, raw, wire / max(raw, 1)))
    if raw == 0 or wire > 0.25 * raw:
        print("FAIL %s: wire/raw %.3f > 0.25" % (p, wire / max(raw, 1)))
    if conns > par + 2:
        print("FAIL %s: %d connections for %d requests with parallel = %d" % (p, conns, req, par))
# the providers share one host here, so their connections are shared too
print("all: %d connections" % s["connections"])
if s["connections"] > par + 2:
    print("FAIL %d connections in all, parallel = %d" % (s["connections"], par))
# the count must be able to tell: at least one provider needed many more pages than connections
if max(s["requests"][p] for p in provs) < 3 * (par + 2):
    print("FAIL too few pages to tell keep-alive from a connection per page")
'
}

@test "the fake's counters tell: uncompressed bodies are counted as such" {
    # without this the ratio above could pass by counting the wrong thing
    start_fake --count 1000
    write_config "parallel = $PARALLEL"
    local p
    for p in "${PROVIDERS[@]}"; do
        fake_post /_fake/config "{\"provider\": \"$p\", \"gzip\": false}" >/dev/null
    done
    mount_cfs
    fake_reset
    cold_ls_all
    stats_check '
for p in provs:
    wire, raw = s["wire_bytes"][p], s["raw_bytes"][p]
    print("%s: gzip off: %d bytes on the wire for %d of JSON" % (p, wire, raw))
    if raw == 0 or wire != raw:
        print("FAIL %s: gzip off, yet wire %d != raw %d" % (p, wire, raw))
'
}

@test "Fount over a small rate limit: paced below it with headroom, no 429, the listing complete" {
    local limit=8 window=2 keep=1 # keep: max(1, limit / 10), the headroom the daemon leaves
    start_fake --count 10 --fount 20000
    [[ " ${PROVIDERS[*]} " == *" fount "* ]] || skip "this binary has no fount type"
    PROVIDERS=(fount)
    write_config "parallel = $PARALLEL"
    fake_post /_fake/config "{\"provider\": \"fount\", \"rate_limit\": $limit, \"rate_window\": $window}" >/dev/null
    mount_cfs
    fake_reset
    cold_ls_all
    stats_check '
limit, keep = int(sys.argv[3]), int(sys.argv[4])
win = s["windows"]["fount"]
print("fount: %d requests; per window of the rate limit: %s" % (s["requests"]["fount"], [n for _, n in win]))
if len(win) < 3:
    print("FAIL the listing fitted in %d window(s): pacing not exercised" % len(win))
'"$WITHIN_LIMIT" "$limit" "$keep"
    # one streak of pacing, one log line
    n=$(log_lines_since 0 'pacing requests' | wc -l)
    [ "$n" -eq 1 ] || { log_lines_since 0 'pacing'; echo "$n pacing lines, want 1"; false; }
}

@test "Fount naming its window's end only in a 429: a window that turns early shows in the counts, and is used" {
    # Fount sends X-RateLimit-Reset only with a 429, so the daemon takes a window
    # to last a minute from its first answer; the fake's windows here are 6 s and
    # start on the clock, not with the walk. Spreading the second half of a
    # window's budget over that minute would leave the server's windows all but
    # empty; an answer with more left than before must open the next window.
    local limit=40 window=6 keep=4 # keep: max(1, limit / 10)
    start_fake --count 10 --fount 60000
    [[ " ${PROVIDERS[*]} " == *" fount "* ]] || skip "this binary has no fount type"
    PROVIDERS=(fount)
    CFS_TIMEOUT=30 write_config "parallel = $PARALLEL"
    fake_post /_fake/config "{\"provider\": \"fount\", \"rate_limit\": $limit, \"rate_window\": $window,
        \"reset_header\": \"429\"}" >/dev/null
    mount_cfs
    fake_reset
    cold_ls_all
    stats_check '
limit, keep, w = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
win = s["windows"]["fount"]
print("fount: %d requests; per window of the rate limit: %s" % (s["requests"]["fount"], [n for _, n in win]))
if len(win) < 3:
    print("FAIL the listing fitted in %d window(s): nothing to see" % len(win))
starts = [round(t / w) for t, _ in win]
if starts != list(range(starts[0], starts[0] + len(starts))):
    print("FAIL windows with no request between the first and the last: %s" % starts)
inner = [n for _, n in win[1:-1]]
if inner and min(inner) < (limit - keep) // 3:
    print("FAIL a window between the first and the last saw %d requests, under a third of %d" % (min(inner), limit - keep))
'"$WITHIN_LIMIT" "$limit" "$keep" "$window"
}

# window_begun W: the fake's rate windows of W seconds (they start on the clock) began under
# 0.3 s ago.
window_begun() { python3 -c 'import sys, time; sys.exit(time.time() % float(sys.argv[1]) >= 0.3)' "$1"; }

@test "Fount with its window part spent by the user's other clients: the headroom is a tenth of the limit it names" {
    # The first answer's X-RateLimit-Remaining lacks what the other clients spent: taken
    # for the limit, it left them a tenth of what was left instead of a tenth of the limit.
    local limit=100 window=10 keep=10 spent=60 # keep: max(1, limit / 10)
    start_fake --count 10 --fount 100000
    [[ " ${PROVIDERS[*]} " == *" fount "* ]] || skip "this binary has no fount type"
    PROVIDERS=(fount)
    CFS_TIMEOUT=30 write_config "parallel = $PARALLEL"
    fake_post /_fake/config "{\"provider\": \"fount\", \"rate_limit\": $limit, \"rate_window\": $window}" >/dev/null
    mount_cfs
    WANT=$(expected_count fount)
    wait_for $((2 * window)) window_begun "$window"
    fake_reset
    # another client of the same user spends part of this window (the fake counts every request)
    curl -s -o /dev/null "$FAKE_URL/fount/api/v2/other-client?[1-$spent]"
    cold_ls_all
    stats_check '
limit, keep, spent = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
win = s["windows"]["fount"]
print("fount: %d requests; per window of the rate limit: %s" % (s["requests"]["fount"], [n for _, n in win]))
if win[0][1] <= spent:
    print("FAIL the walk did not start in the window the other client spent from: %s" % win)
if len(win) < 2:
    print("FAIL the listing fitted in one window: the headroom not exercised")
'"$WITHIN_LIMIT" "$limit" "$keep" "$spent"
}
