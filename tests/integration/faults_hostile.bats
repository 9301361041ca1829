#!/usr/bin/env bats
# Hostile responses (issue "Never crash, never hang, never lose data"):
# truncated JSON, HTML with status 200, wrong types, short pages, empty pages,
# absurd totals, a cursor that repeats forever (the fake's content faults), and
# from faults_server.py: invalid UTF-8, deep nesting, duplicate ids, NUL in
# strings, totals that move between pages, endless and dripping bodies,
# Retry-After as an HTTP date, Fount's X-RateLimit-Remaining: 0, TLS that fails
# (faults_server.py --cert). Each must be detected, logged and contained: an
# errno (EIO, or EPROTO for TLS) or partial-but-marked data, never a crash, a
# loop, or unbounded memory; the other providers keep working.
# faults_server.py speaks the wire formats of Scenario (a cursor API) and Fount
# (a page API); those two tests are about those formats.

load '../lib/common'

export CFS_TIMEOUT="${CFS_TIMEOUT:-3}"   # request budget of the daemon under test
RSS_MAX_KB=$((400 * 1024))   # generous: sanitizer builds carry shadow memory

setup() {
    setup_fake
    start_hostile
    # two more sections on the hostile server: a cursor API and a page API
    cat >>"$CONFIG" <<CONF

[hostile]
type = scenario
url = $HOSTILE_URL/scenario
api_key = k
api_secret = s

[hostilef]
type = fount
url = $HOSTILE_URL/fount
token = t
CONF
    mount_cfs
}

teardown() {
    [ -n "${TLS_PID:-}" ] && kill "$TLS_PID" 2>/dev/null
    TLS_PID=
    teardown_mount
}

# contained PROVIDER: the daemon lives, stays small, and the fake's sections work.
contained() {
    daemon_alive || { echo "daemon died or unmounted after hostile input to $1"; return 1; }
    local rss
    rss=$(rss_kb)
    [ "$rss" -lt "$RSS_MAX_KB" ] || { echo "daemon RSS ${rss} kB after hostile input to $1"; return 1; }
    others_ok "$1"
}

# logged SINCE PROVIDER: something about the section was logged after line SINCE.
logged() {
    [ -n "$(log_lines_since "$1" "\\[$2\\]")" ] || { echo "nothing logged for [$2]"; return 1; }
}

# ---------------------------------------------------------------- the fake's content faults

@test "truncated JSON: EIO within the budget, logged, contained (every provider)" {
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"truncate\"}"
        got=$(fs_op listdir "$MNT/$p")
        [ "$got" = EIO ] || { echo "$p: got '$got'"; false; }
        logged 0 "$p"
        contained "$p"
    done
}

@test "HTML with status 200: EIO, the log says it was not JSON (every provider)" {
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"html\"}"
        got=$(fs_op listdir "$MNT/$p")
        [ "$got" = EIO ] || { echo "$p: got '$got'"; false; }
        grep -E "\[$p\].*(HTML|html|JSON|malformed|parse)" "$WORK/daemon.log" ||
            { echo "$p: the log does not say what was wrong"; false; }
        [ "$(requests "$p")" -le 2 ] || { echo "$p: a 200 HTML page was retried $(requests "$p") times"; false; }
        contained "$p"
    done
}

@test "wrong types (total as a string, items as an object): EIO, logged (every provider)" {
    for p in "${PROVIDERS[@]}"; do
        remount
        fault "{\"provider\":\"$p\",\"mode\":\"wrongtypes\"}"
        got=$(fs_op listdir "$MNT/$p")
        [ "$got" = EIO ] || { echo "$p: got '$got'"; false; }
        logged 0 "$p"
        contained "$p"
    done
}

# each_provider FUNC PROVIDER...: remount, then FUNC PROVIDER for each; all
# of them run, and the test fails naming every provider that failed.
each_provider() {
    local f=$1 p bad=
    shift
    for p in "$@"; do
        remount
        "$f" "$p" || bad="$bad $p"
    done
    [ -z "$bad" ] || { echo "failed for:$bad"; return 1; }
}

# bounded_partial PROVIDER: the listing ends (EIO or at most the real items,
# each shown once), with a log line, few requests, small memory.
bounded_partial() {
    local p=$1 got n want
    got=$(fs_op listdir "$MNT/$p")
    [ "$got" != HUNG ] || { echo "$p: ls hung"; return 1; }
    want=$(expected_count "$p")
    if [ "$got" != EIO ]; then
        n=${got#OK }
        [ "$n" -le "$want" ] || { echo "$p: $n entries, only $want exist"; return 1; }
    fi
    n=$(requests "$p")
    [ "$n" -le 200 ] || { echo "$p: $n requests for one listing"; return 1; }
    logged 0 "$p" || { echo "$p: ls gave '$got' after $n requests, silently"; return 1; }
    contained "$p"
}

absurd_total() {
    fault "{\"provider\":\"$1\",\"mode\":\"absurd_total\"}"
    bounded_partial "$1"
}

@test "absurd totals (6.7 billion, 67 million pages): bounded, logged, small (every provider)" {
    each_provider absurd_total "${PROVIDERS[@]}"
}

cursor_loop() {
    fault "{\"provider\":\"$1\",\"mode\":\"cursor_loop\"}"
    bounded_partial "$1"
}

@test "a cursor or page that repeats forever: the walk stops, logged (every provider)" {
    each_provider cursor_loop "${PROVIDERS[@]}"
}

empty_pages() {
    local p=$1 got
    fault "{\"provider\":\"$p\",\"mode\":\"empty\"}"
    got=$(fs_op listdir "$MNT/$p")
    [ "$got" != HUNG ] || { echo "$p: ls hung"; return 1; }
    contained "$p" || return 1
    # where the page states a total or a next link (the fake's states_more),
    # zero collections contradicts the server (DESIGN §3: the walk stops at
    # an empty page "with a log line")
    if [ "$(provider_info "$p" states_more)" = true ]; then
        logged 0 "$p" || { echo "$p: empty page not logged (ls gave '$got')"; return 1; }
    fi
}

@test "empty pages: the walk stops with a log line; never an empty listing passed off as complete" {
    each_provider empty_pages "${PROVIDERS[@]}"
}

short_complete() {
    # next link / cursor follow what was sent: nothing is lost
    fault "{\"provider\":\"$1\",\"mode\":\"short_pages\"}"
    provider_ok "$1" && contained "$1"
}

short_gap() {
    # page numbers over pages one short: one item per page is never seen; the
    # listing is short of the stated total, so it must be an error or logged
    local p=$1 got want
    fault "{\"provider\":\"$p\",\"mode\":\"short_pages\"}"
    got=$(fs_op listdir "$MNT/$p")
    [ "$got" != HUNG ] || { echo "$p: ls hung"; return 1; }
    want=$(expected_count "$p")
    if [ "$got" != EIO ] && [ "${got#OK }" -lt "$want" ]; then
        logged 0 "$p" || { echo "$p: ${got#OK } of $want collections shown as a complete listing"; return 1; }
    fi
    contained "$p"
}

@test "short pages: offset and cursor APIs still get every item; page APIs do not hide the gap" {
    # by the fake's paging style; a plain array (paging "array") ends at a
    # short page by definition, so it has nothing to check here
    local p complete=() gap=() ok=0
    for p in "${PROVIDERS[@]}"; do
        case $(provider_info "$p" paging) in
        offset | cursor) complete+=("$p") ;;
        page) gap+=("$p") ;;
        esac
    done
    [ $((${#complete[@]} + ${#gap[@]})) -gt 0 ]
    each_provider short_complete "${complete[@]}" || ok=1
    each_provider short_gap "${gap[@]}" || ok=1
    [ "$ok" -eq 0 ]
}

# ---------------------------------------------------------------- faults_server.py

@test "invalid UTF-8 in names: every name and metadata.json is valid UTF-8, no '/' smuggled in" {
    hostile_mode badutf8
    got=$(fs_op listdir "$MNT/hostile")
    [ "$got" = "OK 30" ] || { echo "ls hostile: $got"; false; }
    timeout "$BOUND" python3 - "$MNT/hostile" <<'PY'
import os, sys
root = sys.argv[1]
for name in os.listdir(os.fsencode(root)):
    name.decode("utf-8")                   # strict: raises on invalid UTF-8
    assert b"/" not in name
    with open(os.path.join(os.fsencode(root), name, b"metadata.json"), "rb") as f:
        f.read().decode("utf-8")
PY
    contained hostile
}

@test "nesting 100000 deep: EIO, logged, no stack overflow" {
    hostile_mode deep
    got=$(fs_op listdir "$MNT/hostile")
    [ "$got" = EIO ] || { echo "ls hostile: $got"; false; }
    logged 0 hostile
    contained hostile
}

@test "nesting 200 deep (legal): shown, and metadata.json keeps all of it" {
    hostile_mode deep_ok
    got=$(fs_op listdir "$MNT/hostile")
    [ "$got" = "OK 30" ] || { echo "ls hostile: $got"; false; }
    timeout "$BOUND" python3 - "$MNT/hostile/Item 000/metadata.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))["nested"]
d = 0
while isinstance(v, list):
    v, d = v[0], d + 1
assert d == 200, d
PY
    contained hostile
}

@test "duplicate ids on a page and across pages: each id once, the first copy wins, logged" {
    hostile_mode dupids
    got=$(fs_op listdir "$MNT/hostile")
    [ "$got" = "OK 30" ] || { echo "ls hostile: $got (30 distinct ids)"; false; }
    [ "$(fs_op stat "$MNT/hostile/Item 001")" = OK ]
    [ "$(fs_op stat "$MNT/hostile/Item 005")" = OK ]
    [ "$(fs_op stat "$MNT/hostile/Impostor of 001")" = ENOENT ]
    grep -E '\[hostile\].*(col_001|duplicate|repeat)' "$WORK/daemon.log" ||
        { echo "duplicate ids not logged"; false; }
    contained hostile
}

@test "NUL inside an id and a name: no crash, no truncated-name collision" {
    hostile_mode nul_id
    got=$(fs_op listdir "$MNT/hostile")
    [ "$got" != HUNG ]
    [ "$got" = EIO ] || [ "${got#OK }" -ge 28 ]
    contained hostile
}

@test "a total that grows on every page: the walk ends, bounded" {
    hostile_mode total_grows
    got=$(fs_op listdir "$MNT/hostilef")
    [ "$got" != HUNG ]
    [ "$got" = EIO ] || [ "${got#OK }" -le 30 ]
    n=$(hostile_requests)
    [ "$n" -le 100 ] || { echo "$n requests"; false; }
    logged 0 hostilef
    contained hostilef
}

@test "a total that shrinks between pages: the walk ends, no duplicates" {
    hostile_mode total_shrinks
    got=$(fs_op listdir "$MNT/hostilef")
    [ "$got" != HUNG ]
    [ "$got" = EIO ] || [ "${got#OK }" -le 30 ]
    [ "$(hostile_requests)" -le 20 ]
    contained hostilef
}

@test "Retry-After as an HTTP date is honoured, then the listing succeeds" {
    # 2 s ahead at second resolution is a pause of 1-2 s after the first answer:
    # a budget of 3 s is too close under a loaded CI, so give this one 10 s
    sed -i 's/^timeout = .*/timeout = 10/' "$CONFIG"
    remount
    hostile_mode retry_date
    t0=$(now_ms)
    got=$(fs_op listdir "$MNT/hostile")
    t1=$(now_ms)
    [ "$got" = "OK 30" ] || { echo "ls hostile: $got"; false; }
    # the date is 2 s ahead at second resolution: at least 1 s of waiting
    [ $((t1 - t0)) -ge 1000 ] || { echo "retried after $((t1 - t0)) ms, before the Retry-After date"; false; }
    contained hostile
}

@test "Retry-After as an HTTP date an hour ahead: fails at once, no hammering" {
    hostile_mode retry_date_far
    got=$(fs_op listdir "$MNT/hostile")
    [ "$got" = EAGAIN ] || [ "$got" = EIO ] || { echo "ls hostile: $got"; false; }
    [ "$(hostile_requests)" -le 2 ]
    logged 0 hostile
    contained hostile
}

@test "Retry-After of a year or past a long long of milliseconds: not believed, retried, the listing succeeds" {
    local mode s got
    for mode in retry_after_huge retry_after_overflow; do
        for s in hostile hostilef; do
            remount
            hostile_mode "$mode"
            got=$(fs_op listdir "$MNT/$s")
            [ "$got" = "OK 30" ] || { echo "$mode: ls $s: $got (the section paused for the hint)"; false; }
            [ "$(hostile_requests)" -ge 2 ] || { echo "$mode: $s was not asked again"; false; }
        done
    done
    contained hostile
}

@test "a redirect is not followed: EIO after one request; the log says where it points (no userinfo, no query) and to set url" {
    hostile_mode redirect
    got=$(fs_op listdir "$MNT/hostile")
    [ "$got" = EIO ] || { echo "ls hostile: $got"; false; }
    [ "$(hostile_requests)" -eq 1 ]
    grep -E '\[hostile\] GET /scenario/.*HTTP 301 .*redirected.* https://new\.example\.invalid:8443/v2/collections is where it points.*set url' \
        "$WORK/daemon.log" || { echo "no log line saying where the redirect points"; false; }
    got=$(fs_op listdir "$MNT/hostilef")
    [ "$got" = EIO ] || { echo "ls hostilef: $got"; false; }
    [ "$(hostile_requests)" -eq 2 ]
    # a relative Location, resolved against the request
    grep -E "\[hostilef\] GET /fount/.*HTTP 308 .*redirected.* $HOSTILE_URL/fount/api/v3/collections is where it points" \
        "$WORK/daemon.log" || { echo "no log line saying where the relative redirect points"; false; }
    ! grep -E 'alice|hunter2|SECRET-QUERY' "$WORK/daemon.log" || { echo "the Location's credentials reached the log"; false; }
    contained hostile
}

@test "Fount 429 with X-RateLimit-Remaining: 0 and a reset time: waits for the reset" {
    hostile_mode fount_remaining0
    got=$(fs_op listdir "$MNT/hostilef")
    [ "$got" = "OK 30" ] || { echo "ls hostilef: $got"; false; }
    # the second request must not come before X-RateLimit-Reset (2 s ahead, whole seconds)
    gap=$(curl -sf --max-time 10 "$HOSTILE_URL/_stats" | python3 -c '
import json, sys
log = json.load(sys.stdin)["log"]
print(int((log[1][0] - log[0][0]) * 1000))')
    [ "$gap" -ge 1000 ] || { echo "retried $gap ms after a 429 with X-RateLimit-Remaining: 0 (reset ~2 s ahead)"; false; }
    contained hostilef
}

@test "Fount X-RateLimit-Remaining: INT64_MAX: the listing succeeds, no overflow (sanitizer builds report it)" {
    hostile_mode remaining_max
    got=$(fs_op listdir "$MNT/hostilef")
    [ "$got" = "OK 30" ] || { echo "ls hostilef: $got"; false; }
    contained hostilef
}

@test "a 200 whose body never ends: EIO at max_response, memory bounded" {
    hostile_mode endless
    got=$(fs_op listdir "$MNT/hostile")
    [ "$got" = EIO ] || { echo "ls hostile: $got"; false; }
    grep -E '\[hostile\].*max_response' "$WORK/daemon.log"
    contained hostile
}

@test "a body dripping one byte every half second: fails within the budget" {
    hostile_mode drip
    got=$(fs_op listdir "$MNT/hostile")
    [ "$got" = EIO ] || [ "$got" = ETIMEDOUT ] || { echo "ls hostile: $got"; false; }
    logged 0 hostile
    contained hostile
}

@test "an empty 200 body and a top-level array: EIO, logged" {
    for mode in empty_body top_array; do
        remount
        hostile_mode "$mode"
        got=$(fs_op listdir "$MNT/hostile")
        [ "$got" = EIO ] || { echo "$mode: ls hostile: $got"; false; }
        logged 0 hostile
        contained hostile
    done
}

@test "a 200 kB pagination token: no crash, bounded" {
    hostile_mode token_huge
    got=$(fs_op listdir "$MNT/hostile")
    [ "$got" != HUNG ]
    contained hostile
}

@test "TLS failures (untrusted certificate, wrong name, TLS to a plain port): EPROTO at once, not retried, the log says TLS, where and what to do" {
    # a self-signed certificate for 127.0.0.1 only, and the hostile server speaking TLS with it
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
    python3 "$TESTS_DIR/integration/faults_server.py" --port 0 --port-file "$WORK/tport" \
        --cert "$WORK/cert.pem" --key "$WORK/key.pem" >"$WORK/tls.log" 2>&1 &
    TLS_PID=$!
    wait_for 15 test -s "$WORK/tport" || { cat "$WORK/tls.log"; false; }
    local tport plain
    tport=$(cat "$WORK/tport")
    plain=${HOSTILE_URL##*:}
    # untrusted (no ca_file), a name the certificate does not cover, TLS to a plain-HTTP port,
    # and the same server trusted through ca_file
    local name url ca
    while read -r name url ca; do
        printf '\n[%s]\ntype = scenario\nurl = %s/scenario\n' "$name" "$url"
        [ -z "$ca" ] || printf 'ca_file = %s\n' "$ca"
        printf 'api_key = k\napi_secret = s\n'
    done >>"$CONFIG" <<SECTIONS
tls_untrusted https://127.0.0.1:$tport
tls_name https://localhost:$tport $WORK/cert.pem
tls_plain https://127.0.0.1:$plain
tls_ok https://127.0.0.1:$tport $WORK/cert.pem
SECTIONS
    remount
    local s host
    for s in tls_untrusted tls_name tls_plain; do
        got=$(fs_op listdir "$MNT/$s")
        [ "$got" = EPROTO ] || { echo "ls $s: $got, want EPROTO"; false; }
        case $s in tls_name) host="localhost:$tport" ;; tls_plain) host="127.0.0.1:$plain" ;; *) host="127.0.0.1:$tport" ;; esac
        # one attempt, TLS and the host named, curl's reason in parentheses, the remedy
        grep -E "\[$s\] GET /scenario/.*TLS with https://$host failed \(.+\).*ca_file.*\(1 attempt\)" \
            "$WORK/daemon.log" || { echo "$s: no log line saying TLS, the host and what to do"; false; }
    done
    grep -E '\[tls_untrusted\].*certificate' "$WORK/daemon.log"
    grep -E '\[tls_name\].*(name|localhost)' "$WORK/daemon.log"
    got=$(fs_op listdir "$MNT/tls_ok")
    [ "$got" = "OK 30" ] || { echo "ls tls_ok (ca_file set): $got"; false; }
    contained hostile
}
