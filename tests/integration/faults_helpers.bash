# Helpers shared by the faults_*.bats files (fault injection against a real
# mount). Everything that touches the mount is wrapped in `timeout`: a hung
# daemon fails a test, never the suite.
#
# Works with any daemon binary: CFS_BIN=/path/to/a/sanitizer/build is honoured
# by common.bash, and the teardown fails a test whose daemon log holds an
# AddressSanitizer / UBSan / ThreadSanitizer / LeakSanitizer report.

source "$BATS_TEST_DIRNAME/../lib/common.bash"

PROVIDERS=(honcho hivo fount scenario)
export CFS_TIMEOUT="${CFS_TIMEOUT:-3}"   # request budget of the daemon under test
BOUND=20                                 # `timeout` for one operation on the mount

# fault_setup [fake args]: a fresh fake and work dir, no mount yet (so a test
# can edit $CONFIG before mounting).
fault_setup() {
    WORK="$(mktemp -d "$BATS_TEST_TMPDIR/w.XXXX")"
    export WORK
    start_fake "$@"
    write_config
}

fault_teardown() {
    unmount_cfs
    stop_fake
    [ -n "${HOSTILE_PID:-}" ] && kill "$HOSTILE_PID" 2>/dev/null
    if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "${WORK:-/nonexistent}/daemon.log" ]; then
        echo "---- daemon.log (last 40 lines)"
        tail -n 40 "$WORK/daemon.log"
    fi
    no_sanitizer_reports
}

# no_sanitizer_reports: the daemon log holds no sanitizer report (call after unmount).
no_sanitizer_reports() {
    [ -f "${WORK:-/nonexistent}/daemon.log" ] || return 0
    if grep -nE 'ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:' "$WORK/daemon.log"; then
        echo "sanitizer report in $WORK/daemon.log:" >&2
        grep -nE -A12 'ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:' \
            "$WORK/daemon.log" | head -n 60 >&2
        return 1
    fi
}

# remount: unmount (if mounted), zero the fake's counters and faults, mount again.
remount() {
    unmount_cfs
    fake_reset
    mount_cfs "$@"
}

# fs_op OP PATH: do one file operation and print OK (with a count or the bytes
# for listdir/read) or the errno's name. OP: listdir stat read.
# A hang prints HUNG (status 124 from timeout).
fs_op() {
    local out rc
    out=$(timeout "$BOUND" python3 - "$1" "$2" <<'PY'
import errno, os, sys
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "listdir":
        print("OK", len(os.listdir(path)))
    elif op == "stat":
        os.stat(path)
        print("OK")
    elif op == "read":
        with open(path, "rb") as f:
            print("OK", len(f.read()))
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
PY
)
    rc=$?
    [ "$rc" -eq 124 ] && out=HUNG
    echo "$out"
}

# expected_count PROVIDER: how many collections the fake serves for it now.
expected_count() {
    fake_get "/_fake/expect?provider=$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# provider_ok PROVIDER: ls, stat and cat work and ls shows every collection.
provider_ok() {
    local p=$1 n want first
    n=$(timeout 10 ls -1 "$MNT/$p" | wc -l) || return 1
    want=$(expected_count "$p")
    [ "$n" -eq "$want" ] || { echo "ls $p: $n entries, want $want"; return 1; }
    first=$(timeout 10 ls -1 "$MNT/$p" | head -n 1)
    timeout 10 stat "$MNT/$p/$first/metadata.json" >/dev/null || { echo "stat $p/$first failed"; return 1; }
    timeout 10 cat "$MNT/$p/$first/metadata.json" | python3 -c 'import json,sys; json.load(sys.stdin)' ||
        { echo "cat $p/$first/metadata.json: not JSON"; return 1; }
}

# others_ok PROVIDER: every provider but this one works in full, fast (5 s bound).
others_ok() {
    local q
    for q in "${PROVIDERS[@]}"; do
        [ "$q" = "$1" ] && continue
        provider_ok "$q" || { echo "provider $q affected by a fault on $1"; return 1; }
    done
}

daemon_alive() {
    kill -0 "$CFS_PID" 2>/dev/null && mountpoint -q "$MNT"
}

# log_lines_since N PATTERN: lines after line N of daemon.log matching PATTERN (grep -E).
log_lines_since() {
    tail -n +"$(($1 + 1))" "$WORK/daemon.log" | grep -E -- "$2" || true
}

log_size() {
    wc -l <"$WORK/daemon.log"
}

# now_ms: milliseconds of the monotonic-ish wall clock, for lower bounds only.
now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# start_hostile [--mode M]: the hostile server of faults_server.py; sets HOSTILE_URL.
start_hostile() {
    rm -f "$WORK/hport"
    python3 "$BATS_TEST_DIRNAME/faults_server.py" --port 0 --port-file "$WORK/hport" "$@" \
        >"$WORK/hostile.log" 2>&1 &
    HOSTILE_PID=$!
    wait_for 15 test -s "$WORK/hport" || { cat "$WORK/hostile.log"; return 1; }
    HOSTILE_URL="http://127.0.0.1:$(cat "$WORK/hport")"
    export HOSTILE_PID HOSTILE_URL
}

hostile_mode() {
    curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' \
        -d "{\"mode\": \"$1\"}" "$HOSTILE_URL/_mode" >/dev/null
}

hostile_requests() {
    curl -sf --max-time 10 "$HOSTILE_URL/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'
}

# rss_kb: resident memory of the daemon.
rss_kb() {
    awk '/^VmRSS:/ {print $2}' "/proc/$CFS_PID/status"
}

# recovers PROVIDER: once the fault is gone, the section works again within a
# few seconds (a failure may be remembered briefly so that queued lookups do
# not each wait a full budget; it must not outlive that).
# recovers PROVIDER [SECONDS]: ... within SECONDS (8).
recovers() {
    local i limit=${2:-8}
    for ((i = 0; i < limit * 2; i++)); do
        provider_ok "$1" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    provider_ok "$1" || { echo "$1 still failing $limit s after the fault was cleared"; return 1; }
}
