#!/usr/bin/env bats
# Contract tests: collectionsfs against Stoplight Prism mock servers built from
# the providers' own OpenAPI documents (Honcho v1.1.0 and HIVO collections,
# vendored beside this file; sources and licenses in README.md). Prism
# validates every request it gets against the spec (path, method, query
# parameters and their ranges, headers, security, body) and logs each
# violation; run with --errors, a violating request also gets an error answer
# instead of data.
#
#  1. static mode: Prism answers with the spec's examples. The mount must list
#     and read everything, the example collection must appear, and Prism's log
#     must show the daemon's list requests and not one request violation.
#     A second Honcho section uses app_name/user_name, so the name-resolving
#     GET routes are checked too; a deliberately bad request of our own proves
#     the violation check can fail.
#  2. dynamic mode (-d): random data that is valid per schema (random names,
#     huge totals and page counts, odd times), twice with a fixed seed (Prism
#     then repeats one random page; reproducible) and once unseeded with six
#     more listings after SIGHUP (every page new). max_collections = 300 bounds
#     the listing; it may be cut short by the daemon's stop rules, but ls -lR
#     must finish within 60 s, the daemon must stay alive, and every request
#     must still be valid.
#
# Prism comes from npm (setup_prism.sh, into tests/.tmp/prism). The tests skip
# only when the npm registry is unreachable (tests/run fails such a skip in CI);
# a missing spec or binary is a failure. CFS_SPECS_DIR overrides where the specs
# are read from. Set PRISM_KEEP=1 to keep the work directories (logs) after the run.

load '../lib/common'

SPECS="${CFS_SPECS_DIR:-$BATS_TEST_DIRNAME}"
HONCHO_SPEC="$SPECS/honcho-v1.1.0-openapi.json"
HIVO_SPEC="$SPECS/hivo-collections-openapi.json"
APP_ID=app_contract_test_0001   # 21 characters, like Honcho's nanoids
USER_ID=usr_contract_test_0001

setup_file() {
    export PRISM_SETUP_RC=0 PRISM_BIN=
    PRISM_BIN=$("$BATS_TEST_DIRNAME/setup_prism.sh" 2>"$BATS_FILE_TMPDIR/setup_prism.err") ||
        PRISM_SETUP_RC=$?
    export PRISM_BIN PRISM_SETUP_RC
}

setup() {
    local spec
    for spec in "$HONCHO_SPEC" "$HIVO_SPEC"; do
        [ -f "$spec" ] || { echo "OpenAPI document missing: $spec" >&2; return 1; }
    done
    if [ "$PRISM_SETUP_RC" -eq 3 ]; then
        skip "Prism not installed, npm registry unreachable: $(cat "$BATS_FILE_TMPDIR/setup_prism.err")"
    fi
    if [ "$PRISM_SETUP_RC" -ne 0 ] || [ ! -x "$PRISM_BIN" ]; then
        cat "$BATS_FILE_TMPDIR/setup_prism.err" >&2
        echo "setup_prism.sh failed (exit $PRISM_SETUP_RC)" >&2
        return 1
    fi
    [ -e /dev/fuse ] || skip "/dev/fuse is missing"
    [ -x "$CFS_BIN" ] || { echo "no daemon binary at $CFS_BIN (build first)" >&2; return 1; }
    WORK=$(mktemp -d "$BATS_TEST_TMPDIR/prism.XXXXXX")
    export WORK
    PRISM_PIDS=()
}

teardown() {
    [ -n "${WORK:-}" ] || return 0 # setup skipped before anything started
    unmount_cfs
    for pid in "${PRISM_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
        wait_for 10 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
    done
    if [ -z "${BATS_TEST_COMPLETED:-}" ] || [ -n "${PRISM_KEEP:-}" ]; then
        # bats deletes its temp dirs; keep the logs where they can be read
        local keep="$TESTS_DIR/.tmp/contract-logs/$(basename "$WORK")"
        mkdir -p "$keep" && cp "$WORK"/*.log "$WORK/config" "$keep/" 2>/dev/null
        echo "# logs kept in $keep" >&3
    fi
    rm -rf "$WORK"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_prism NAME SPEC [prism mock options...]: sets <NAME>_PORT; log in $WORK/prism-NAME.log.
start_prism() {
    local name=$1 spec=$2 port pid log="$WORK/prism-$1.log" try
    shift 2
    for try in 1 2 3; do # a port taken between free_port and listen: try another
        port=$(free_port)
        "$PRISM_BIN" mock -h 127.0.0.1 -p "$port" --errors "$@" "$spec" >"$log" 2>&1 &
        pid=$!
        PRISM_PIDS+=("$pid")
        if wait_for 90 grep -q "Prism is listening on" "$log"; then
            printf -v "${name}_PORT" '%s' "$port"
            return 0
        fi
        kill "$pid" 2>/dev/null
        grep -q "EADDRINUSE" "$log" || break
    done
    echo "Prism ($name) did not start:" >&2
    tail -20 "$log" >&2
    return 1
}

# write_contract_config [extra [global] lines...]: honcho (ids), honcho-byname
# (app_name/user_name, resolved through GET .../name/{name} first) and hivo.
write_contract_config() {
    CONFIG="$WORK/config"
    {
        echo "[global]"
        echo "ttl = 300"
        echo "timeout = 20"
        printf '%s\n' "$@"
        cat <<CONF

[honcho]
type = honcho
url = http://127.0.0.1:$honcho_PORT
app_id = $APP_ID
user_id = $USER_ID

[honcho-byname]
type = honcho
url = http://127.0.0.1:$honcho_PORT
app_name = demo app
user_name = ünïcode user

[hivo]
type = hivo
url = http://127.0.0.1:$hivo_PORT
user_id = 5f0c0ffee0ddba11c0ffee01
api_key = contract-test-api-key
CONF
    } >"$CONFIG"
    chmod 600 "$CONFIG"
    export CONFIG
}

# The request-level findings in a Prism log: violations of the request, routes
# or methods the spec does not have, and requests it refused outright.
request_violations() {
    grep -E 'Violation: request|Request did not pass the validation rules|Request terminated with error|NO_PATH_MATCHED|NO_METHOD_MATCHED|UNAUTHORIZED' "$1"
}

# all_validated LOG: as many requests passed validation as were received, in one
# reading of the log.
all_validated() {
    local text
    text=$(cat "$1")
    [ "$(grep -c 'Request received' <<<"$text")" -eq "$(grep -c 'The request passed the validation rules' <<<"$text")" ]
}

# check_prism_log NAME METHOD PATH_REGEX: Prism saw the daemon's list requests
# (so the check cannot pass vacuously), validated them, and found no violation.
check_prism_log() {
    local log="$WORK/prism-$1.log" n ok bad
    n=$(grep -cE "\[HTTP SERVER\] $2 $3 .*Request received" "$log" || true)
    ok=$(grep -c 'The request passed the validation rules' "$log" || true)
    bad=$(request_violations "$log" || true)
    echo "# prism $1: $n x $2 $3; $ok requests passed validation" >&3
    if [ "$n" -lt 1 ]; then
        echo "Prism ($1) never saw a '$2 $3' request; its log:" >&2
        grep -E '\[HTTP SERVER\]' "$log" | head -20 >&2
        return 1
    fi
    if [ -n "$bad" ]; then
        echo "Prism ($1) reports request violations:" >&2
        echo "$bad" | head -40 >&2
        echo "daemon log:" >&2
        grep -iE 'http|GET|POST' "$WORK/daemon.log" | head -20 >&2
        return 1
    fi
    # every request Prism received passed validation: counted in one reading of
    # the log, once Prism has validated what it received (the daemon may still
    # be fetching after a refresh, and Prism logs the two lines apart)
    local received
    if ! wait_for 10 all_validated "$log"; then
        received=$(grep -c 'Request received' "$log" || true)
        ok=$(grep -c 'The request passed the validation rules' "$log" || true)
        echo "Prism ($1): $received requests received but only $ok passed validation" >&2
        grep -E '\[HTTP SERVER\]|VALIDATOR' "$log" | head -40 >&2
        return 1
    fi
}

# list_and_read [MAX_FILES]: ls -lR the mount (bounded), then cat metadata.json
# files (all, or the first MAX_FILES) and check each is JSON ending in "\n".
list_and_read() {
    local max=${1:-0} n=0 f
    run timeout 60 ls -lR "$MNT"
    echo "$output" | head -30 >&3
    [ "$status" -ne 124 ] || { echo "ls -lR did not finish in 60 s" >&2; return 1; }
    [ "$status" -eq 0 ] || { echo "ls -lR failed ($status): $output" >&2; return 1; }
    while IFS= read -r -d '' f; do
        n=$((n + 1))
        [ "$max" -gt 0 ] && [ "$n" -gt "$max" ] && break
        timeout 20 cat "$f" >"$WORK/file" || { echo "cat $f failed" >&2; return 1; }
        [ "$(stat -c %s "$f")" -eq "$(wc -c <"$WORK/file")" ] ||
            { echo "st_size of $f differs from its content" >&2; return 1; }
        python3 -c '
import json, sys
b = open(sys.argv[1], "rb").read()
assert b.endswith(b"\n") and not b.endswith(b"\n\n"), "no single final newline"
json.loads(b.decode("utf-8"))' "$WORK/file" || { echo "bad metadata.json: $f" >&2; return 1; }
    done < <(timeout 60 find "$MNT" -name metadata.json -print0)
    echo "# read $n metadata.json files" >&3
    [ "$n" -gt 0 ] && return 0
    # Unseeded random data may begin a listing with an empty page, which the
    # spec allows; the daemon must then say so for every section it shows.
    local sec
    if [ -n "${EMPTY_OK:-}" ]; then
        for sec in "$MNT"/*; do
            grep -q "\[${sec##*/}\] listing of 0 collections may be incomplete; an empty page" \
                "$WORK/daemon.log" || { echo "${sec##*/}: empty, and the daemon did not say why" >&2; return 1; }
        done
        echo "# every section began with an empty page (random data); each was reported" >&3
        return 0
    fi
    echo "no metadata.json found under $MNT" >&2
    return 1
}

@test "static Prism mocks (spec examples): listing, reading, and no request violations" {
    start_prism honcho "$HONCHO_SPEC"
    start_prism hivo "$HIVO_SPEC"
    write_contract_config
    mount_cfs -d

    list_and_read
    # the spec's example collection ("name": "string") shows up in both
    [ -f "$MNT/honcho/string/metadata.json" ]
    [ -f "$MNT/hivo/string/metadata.json" ]
    grep -q '"app_id": "string"' "$MNT/honcho/string/metadata.json"
    grep -q '"type": "collections"' "$MNT/hivo/string/metadata.json"
    kill -0 "$CFS_PID"

    check_prism_log honcho post "/v1/apps/$APP_ID/users/$USER_ID/collections/list"
    check_prism_log hivo get "/v1/collections"
    # honcho-byname resolved its names, then listed with the example ids ("string")
    [ -f "$MNT/honcho-byname/string/metadata.json" ]
    check_prism_log honcho get "/v1/apps/name/demo%20app"
    check_prism_log honcho get "/v1/apps/string/users/name/%C3%BCn%C3%AFcode%20user"
    check_prism_log honcho post "/v1/apps/string/users/string/collections/list"

    # The check can see a violation: one bad request of our own must show up.
    curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$hivo_PORT/v1/collections?limit=999"
    wait_for 10 grep -q 'request.query.limit' "$WORK/prism-hivo.log"
    run request_violations "$WORK/prism-hivo.log"
    [ "$status" -eq 0 ] && [ -n "$output" ]
}

# dynamic_run SEED: with a seed Prism answers every request with the same
# random page (reproducible; the daemon's "server repeats itself" rule ends the
# listing); with "" every page is new random data, so huge totals and endless
# next links really run into max_collections.
dynamic_run() {
    local seed=()
    [ -n "$1" ] && seed=(--seed "$1")
    start_prism honcho "$HONCHO_SPEC" -d "${seed[@]}"
    start_prism hivo "$HIVO_SPEC" -d "${seed[@]}"
    # a bounded listing: absurd totals stop at max_collections, not at the test timeout
    write_contract_config "max_collections = 300"
    mount_cfs -d

    local t0=$SECONDS
    EMPTY_OK=$([ -n "$1" ] || echo yes) list_and_read 40
    kill -0 "$CFS_PID" || { echo "daemon died; log:" >&2; tail -30 "$WORK/daemon.log" >&2; return 1; }
    # a second look after the listing is cached, and a name that does not exist
    run timeout 30 ls "$MNT/honcho" "$MNT/hivo"
    [ "$status" -eq 0 ]
    run timeout 10 stat "$MNT/hivo/no such collection"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    kill -0 "$CFS_PID"
    echo "# seed ${1:-none}: $((SECONDS - t0)) s, honcho $(ls "$MNT/honcho" | wc -l), hivo $(ls "$MNT/hivo" | wc -l) collections" >&3
    grep -E 'stopped|error|warning' "$WORK/daemon.log" | head -5 | sed 's/^/# daemon: /' >&3 || true

    check_prism_log honcho post "/v1/apps/$APP_ID/users/$USER_ID/collections/list"
    check_prism_log hivo get "/v1/collections"
}

@test "dynamic Prism mocks (random valid data, seed 1): bounded listing, daemon alive, valid requests" {
    dynamic_run 1
}

@test "dynamic Prism mocks (random valid data, seed 77): bounded listing, daemon alive, valid requests" {
    dynamic_run 77
}

@test "dynamic Prism mocks (random valid data, new data every page): stop rules bound the listing" {
    dynamic_run ""
    # more random listings: SIGHUP drops the cache, each round fetches anew
    local round bad
    for round in 1 2 3 4 5 6; do
        kill -HUP "$CFS_PID"
        run timeout 60 ls -lR "$MNT"
        [ "$status" -ne 124 ] || { echo "round $round: ls -lR did not finish in 60 s" >&2; return 1; }
        # The last listing answers while the refresh runs; one that ends during the walk
        # replaces every random name, and those listed before it are gone when ls opens
        # them (ENOENT), as with any change at the provider. Anything else is a failure.
        bad=$(grep '^ls: ' <<<"$output" | grep -v ': No such file or directory$' || true)
        if [ "$status" -ne 0 ] && { [ -n "$bad" ] || ! grep -q '^ls: ' <<<"$output"; }; then
            echo "round $round: ls -lR failed ($status): ${bad:-$output}" >&2
            return 1
        fi
        kill -0 "$CFS_PID" || { echo "round $round: daemon died" >&2; tail -30 "$WORK/daemon.log" >&2; return 1; }
    done
    echo "# after $round more rounds: $(grep -c 'debug: \[' "$WORK/daemon.log") requests," \
        "$(grep -c 'listing stopped' "$WORK/daemon.log") stop-rule lines" >&3
    check_prism_log honcho post "/v1/apps/$APP_ID/users/$USER_ID/collections/list"
    check_prism_log hivo get "/v1/collections"
}
