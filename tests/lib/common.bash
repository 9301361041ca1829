# The one helper library of the bats integration tests (also sourced by
# tests/stress and tests/bench): a fake provider server, a config pointing at
# it, a real collectionsfs mount, and the checks the tests share. Every wait is
# bounded and waits for an event (a file, a counter or log line of the fake, a
# line of the daemon's log, a process ending), never for the clock alone;
# teardown always unmounts lazily so a hung mount fails a test, never CI.
#
# Which providers a test covers is asked, never listed: the providers the fake
# serves (GET /_fake/providers) that the daemon binary knows ($CFS_BIN
# --list-types), in the fake's order. start_fake puts them in the array
# PROVIDERS and in CFS_PROVIDERS (exported, so the tests of a file see what
# its setup_file found). Counts, page limits and config sections come from
# the fake as well.
#
# Works with any daemon binary: CFS_BIN=/path/to/a/sanitizer/build is honoured,
# and teardown_mount fails a test whose daemon log holds an AddressSanitizer /
# UBSan / ThreadSanitizer / LeakSanitizer report.

TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$TESTS_DIR/.." && pwd)"
CFS_BIN="${CFS_BIN:-$REPO_DIR/build/collectionsfs}"
FAKE="$TESTS_DIR/fake_providers.py"
BOUND=${BOUND:-20} # `timeout` of one operation on the mount: turns a hang into a failure
read -ra PROVIDERS <<<"${CFS_PROVIDERS:-}"

# python3 is the real interpreter, not a version manager's shim: pyenv's runs
# about fifteen shell scripts per call (0.7 s of CPU on a 2-core guest, against
# 0.09 s), and the polling helpers below call python3 several times a second,
# two test files at a time. Resolved once per bats run (once per sourcing
# outside bats) into a directory put first on PATH, so that `timeout N python3`
# and child scripts find it too. Where python3 is not a shim this changes
# nothing; a missing link only falls back to PATH's python3.
use_real_python() {
    local dir=${BATS_RUN_TMPDIR:-${TMPDIR:-/tmp}}/cfs-python real
    [ -n "${BATS_RUN_TMPDIR:-}" ] || dir+=.$UID
    case ":$PATH:" in *":$dir:"*) return 0 ;; esac
    if [ -z "${BATS_RUN_TMPDIR:-}" ] || [ ! -x "$dir/python3" ]; then
        real=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -x "$real" ] || return 0
        mkdir -p "$dir" && ln -sfn "$real" "$dir/python3" || return 0
    fi
    PATH="$dir:$PATH"
}
use_real_python

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds or the time is up.
wait_for() {
    local limit=$1
    shift
    local end=$((SECONDS + limit))
    while ! "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.05
    done
}

# same_bytes P I: collection I of provider P reads as exactly what the provider
# says, with an st_size of its length and the provider's update time (else its
# creation time) as mtime.
same_bytes() {
    fake_get "/_fake/expect?provider=$1" | python3 -c '
import json, os, sys
e = json.load(sys.stdin)[int(sys.argv[3])]
path = os.path.join(sys.argv[1], sys.argv[2], e["name"], "metadata.json")
data = open(path, "rb").read()
assert data == e["metadata_json"].encode(), "%s: bytes differ: %r" % (path, data[-80:])
st = os.stat(path)
assert st.st_size == len(data), "%s: st_size %d, %d bytes" % (path, st.st_size, len(data))
t = e["updated"] if e["updated"] is not None else e["created"]
if t is not None:
    assert abs(st.st_mtime - t) < 1e-3, "%s: mtime %r, provider %r" % (path, st.st_mtime, t)
' "$MNT" "$1" "$2"
}

# renamed DIR NEW OLD...: DIR shows NEW and none of the OLD names. A refresh
# installs its listing before it tells the kernel to forget the old names, so
# a waiter that saw NEW alone could still find an old name the kernel has yet to drop.
renamed() {
    local dir=$1 new=$2 old
    shift 2
    [ -e "$dir/$new" ] || return 1
    for old; do [ ! -e "$dir/$old" ] || return 1; done
}

# tm CMD...: wall seconds of CMD (its output discarded), or "fail" when it fails
# or outlasts TM_BOUND seconds (default 900): for benchmarks, a hang is a result.
tm() {
    local t0 t1
    t0=$(date +%s.%N)
    if ! timeout "${TM_BOUND:-900}" "$@" >/dev/null 2>&1; then
        echo fail
        return 1
    fi
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}'
}

# tsh SCRIPT: tm of a shell pipeline.
tsh() { tm bash -c "$1"; }

# cpu_s PID: user + system seconds of a process so far.
cpu_s() {
    awk -v c="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / c}' "/proc/$1/stat" || echo fail
}

# vm_policy: the guest settings that move benchmark figures, where the guest
# has them (RESULTS.md sections M and P). An idle vCPU that halts at once makes
# every FUSE wake-up a trip through the host; a DAMON scheme that pages out
# idle page cache takes the kernel's readdir and page caches from a warm mount.
# Some guest kernels carry a fuse `wake_here` knob that is not in mainline; on
# it makes each FUSE round trip dearer (section T).
vm_policy() {
    local f=/sys/module/haltpoll/parameters/guest_halt_poll_ns k s
    [ -r "$f" ] && printf ', cpuidle %s guest_halt_poll_ns=%s' \
        "$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null)" "$(cat "$f")"
    f=/sys/module/fuse/parameters/wake_here
    [ -r "$f" ] && printf ', fuse.wake_here=%s' "$(cat "$f")"
    for k in /sys/kernel/mm/damon/admin/kdamonds/[0-9]*; do
        [ "$(cat "$k/state" 2>/dev/null)" = on ] || continue
        for s in "$k"/contexts/*/schemes/[0-9]*; do
            [ "$(cat "$s/action" 2>/dev/null)" = pageout ] &&
                printf ', DAMON pageout of regions idle %s s' "$(($(cat "$s/access_pattern/age/min") *
                    $(cat "$s/../../monitoring_attrs/intervals/aggr_us") / 1000000))"
        done
    done
    return 0
}

# ---------------------------------------------------------------- the fake

# start_fake [fake_providers.py args...]: sets WORK (unless set), FAKE_PORT,
# FAKE_PID, FAKE_URL and the providers under test. FAKE_START_WAIT (15 s)
# bounds its start: a million collections take the fake a minute or two.
start_fake() {
    WORK="${WORK:-$(mktemp -d "${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-/tmp}}/cfs.XXXXXX")}"
    mkdir -p "$WORK"
    rm -f "$WORK/port"
    python3 "$FAKE" --port 0 --port-file "$WORK/port" "$@" >"$WORK/fake.log" 2>&1 &
    FAKE_PID=$!
    wait_for "${FAKE_START_WAIT:-15}" test -s "$WORK/port" || { cat "$WORK/fake.log"; return 1; }
    FAKE_PORT=$(cat "$WORK/port")
    FAKE_URL="http://127.0.0.1:$FAKE_PORT"
    export WORK FAKE_PID FAKE_PORT FAKE_URL
    find_providers
}

# find_providers: PROVIDERS / CFS_PROVIDERS = the fake's providers that $CFS_BIN knows.
find_providers() {
    local types served p
    types=$("$CFS_BIN" --list-types) || { echo "$CFS_BIN --list-types failed"; return 1; }
    served=$(fake_get /_fake/providers | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)))') ||
        { echo "the fake does not say which providers it serves"; return 1; }
    PROVIDERS=()
    for p in $served; do
        grep -qxF -- "$p" <<<"$types" && PROVIDERS+=("$p")
    done
    [ "${#PROVIDERS[@]}" -gt 0 ] || { echo "no provider is both served by the fake and known to $CFS_BIN"; return 1; }
    CFS_PROVIDERS="${PROVIDERS[*]}"
    export CFS_PROVIDERS
}

stop_fake() {
    [ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null
    FAKE_PID=
}

# fake_get PATH / fake_post PATH JSON: talk to the fake's control endpoints
# (bounded so that a hung fake fails the test; generous, as the expected
# listing of 70,000 collections takes seconds on a loaded machine).
fake_get() { curl -sf --max-time 60 "$FAKE_URL$1"; }
# (the body goes on stdin: a large one would not fit on curl's command line)
fake_post() {
    printf '%s' "${2:-{\}}" |
        curl -sf --max-time 60 -X POST -H 'Content-Type: application/json' --data-binary @- "$FAKE_URL$1"
}
# fake_reset: zero the fake's counters and clear its faults (the data stays).
fake_reset() { fake_post /_fake/reset '{}' >/dev/null; }
# fault JSON: set a fault, e.g. fault '{"provider": "hivo", "mode": "stall"}'.
fault() { fake_post /_fake/fault "$1" >/dev/null; }

# requests PROVIDER: how many requests the fake has seen for it since the last reset.
# Polled by many waits, so it asks for the one number and starts no Python.
requests() { fake_get "/_fake/requests?provider=$1"; }

# request_counts: "p=n" for every provider under test, one line, for messages.
request_counts() {
    fake_get /_fake/stats | python3 -c '
import json, sys
r = json.load(sys.stdin)["requests"]
print(" ".join("%s=%d" % (p, r[p]) for p in sys.argv[1:]))' "${PROVIDERS[@]}"
}

# requests_besides PROVIDER...: requests to the providers under test other than these.
requests_besides() {
    local p q n=0 skip
    for p in "${PROVIDERS[@]}"; do
        skip=
        for q in "$@"; do [ "$p" = "$q" ] && skip=1; done
        [ -n "$skip" ] || n=$((n + $(requests "$p")))
    done
    echo "$n"
}

# seen PROVIDER [N]: the fake has seen at least N (1) requests for it since the last reset.
seen() { [ "$(requests "$1")" -ge "${2:-1}" ]; }

# wait_seen PROVIDER [N]: wait until the fake has seen N (1) requests for it, i.e.
# the request really is with the fake (held there by a stall, a hold or a latency).
wait_seen() {
    wait_for "$BOUND" seen "$@" || { echo "the fake never saw ${2:-1} request(s) for $1"; return 1; }
}

# answered PROVIDER STATUS: the fake's log holds a request for it answered with STATUS.
answered() {
    fake_get /_fake/stats | python3 -c '
import json, sys
p, st = sys.argv[1], sys.argv[2]
sys.exit(not any(l.split(" ")[1].startswith("/%s/" % p) and l.split(" ")[-1] == st
                 for l in json.load(sys.stdin)["log"]))' "$1" "$2"
}

# logged PROVIDER: requests for it the fake has answered (logged as they are
# answered) since the last reset: an order of events, where a time would be
# a bound on a noisy machine.
logged() {
    fake_get /_fake/stats | python3 -c '
import json, sys
print(sum(l.split(" ")[1].startswith("/%s/" % sys.argv[1]) for l in json.load(sys.stdin)["log"]))' "$1"
}

# retry_gap_ms PROVIDER STATUS: the shortest time (ms) from the fake answering
# the provider with STATUS to the arrival of the next request for it ("none"
# if no request came after such an answer). A lower bound on it is what a
# test of a retry hint asserts: the daemon can be late, never early.
retry_gap_ms() {
    fake_get /_fake/stats | python3 -c '
import json, sys
p, st = sys.argv[1], sys.argv[2]
log = [e for e in json.load(sys.stdin)["timed_log"] if e[2].split(" ")[1].startswith("/%s/" % p)]
log.sort(key=lambda e: e[0])
# the next request that arrived after such an answer was sent
gaps = [min([int((b[0] - a[1]) * 1000) for b in log if b[0] >= a[1]] or [None])
        for a in log if a[2].split(" ")[-1] == st]
gaps = [g for g in gaps if g is not None]
print(min(gaps) if gaps else "none")' "$1" "$2"
}

# expected_count PROVIDER: how many collections the fake serves for it now.
expected_count() { fake_get "/_fake/expect?provider=$1&count=1"; }

# expected_total: collections of all providers under test.
expected_total() {
    local p n=0
    for p in "${PROVIDERS[@]}"; do n=$((n + $(expected_count "$p"))); done
    echo "$n"
}

# item_at PROVIDER INDEX FIELD: a field of the INDEX-th expected collection (creation order).
item_at() {
    fake_get "/_fake/expect?provider=$1" |
        python3 -c 'import json,sys; v = json.load(sys.stdin)[int(sys.argv[1])][sys.argv[2]]; print("" if v is None else v)' "$2" "$3"
}

# provider_info PROVIDER FIELD: what the fake says about a provider (max_page,
# page_param, paging, states_more, count, default_count).
provider_info() {
    fake_get "/_fake/providers?detail=1" | python3 -c '
import json, sys
v = {p["name"]: p for p in json.load(sys.stdin)}[sys.argv[1]][sys.argv[2]]
print(json.dumps(v) if isinstance(v, bool) else v)' "$1" "$2"
}

# by_page_size min|max: the provider with the smallest (or largest) pages, and that size.
by_page_size() {
    fake_get "/_fake/providers?detail=1" | python3 -c '
import json, sys
v = {"min": min, "max": max}[sys.argv[1]](json.load(sys.stdin), key=lambda p: p["max_page"])
print(v["name"], v["max_page"])' "$1"
}

# list_key PROVIDER: the jq path of the collections in one of its pages.
list_key() {
    case $1 in
    honcho) echo '.items[]' ;;
    scenario) echo '.collections[]' ;;
    jsonarray) echo '.[]' ;;
    *) echo '.data[]' ;;
    esac
}

# set_count PROVIDER N: the fake serves N freshly generated collections for it.
set_count() { fake_post /_fake/config "{\"provider\": \"$1\", \"count\": $2}" >/dev/null; }

# rename_item PROVIDER ID NAME: rename a collection on the fake.
rename_item() { fake_post /_fake/config "{\"provider\": \"$1\", \"rename\": {\"$2\": \"$3\"}}" >/dev/null; }

# ---------------------------------------------------------------- config and mount

# write_config [--secrets FORM] [--set SECTION.KEY=VALUE]... [global lines...]:
# $WORK/config with [global] and one section per provider under test, as the
# fake describes them, its credentials given as FORM: inline (default), env
# (*_env; the variables are exported here), file (*_file) or command (*_command).
write_config() {
    local form=inline sets=()
    while :; do
        case ${1:-} in
        --secrets) form=$2; shift 2 ;;
        --set) sets+=("$2"); shift 2 ;;
        *) break ;;
        esac
    done
    CONFIG="$WORK/config"
    mkdir -p "$WORK/secrets"
    fake_get "/_fake/config-sections?format=json$(printf '&provider=%s' "${PROVIDERS[@]}")" \
        >"$WORK/sections.json" || { echo "no config sections from the fake"; return 1; }
    {
        printf '[global]\nttl = %s\ntimeout = %s\n' "${CFS_TTL:-60}" "${CFS_TIMEOUT:-10}"
        [ $# -eq 0 ] || printf '%s\n' "$@"
        echo
        python3 - "$WORK/sections.json" "$form" "$WORK/secrets" "${sets[@]}" <<'PY'
import json, os, shlex, sys
sections, form, sdir = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
sets = dict(s.split("=", 1) for s in sys.argv[4:])
env = []
for s in sections:
    sec = s["section"]
    print("[%s]\ntype = %s" % (sec, s["type"]))
    for k, v in s["settings"]:
        print("%s = %s" % (k, sets.pop("%s.%s" % (sec, k), v)))
    for k, v in s["secrets"]:
        v = sets.pop("%s.%s" % (sec, k), v)
        var = "CFS_SECRET_%s_%s" % (sec.upper(), k.upper())
        path = os.path.join(sdir, "%s.%s" % (sec, k))
        if form == "inline":
            print("%s = %s" % (k, v))
        elif form == "env":
            env.append("%s=%s\n" % (var, shlex.quote(v)))
            print("%s_env = %s" % (k, var))
        elif form in ("file", "command"):
            with open(path, "w") as f:
                f.write(v + "\n")
            os.chmod(path, 0o600)
            print("%s_file = %s" % (k, path) if form == "file" else "%s_command = cat %s" % (k, path))
        else:
            sys.exit("write_config: unknown secret form %s" % form)
    print()
if sets:
    sys.exit("write_config: no such section key: %s" % ", ".join(sets))
with open(os.path.join(sdir, "env"), "w") as f:
    f.writelines(env)
PY
    } >"$CONFIG" || return 1
    chmod 600 "$CONFIG"
    if [ "$form" = env ]; then
        set -a
        source "$WORK/secrets/env"
        set +a
    fi
    export CONFIG
}

# secret_values: every credential of the config sections and its wire form
# (e.g. a Basic credential), one per line; none may ever show in a log or a file.
secret_values() {
    python3 -c '
import json, sys
for s in json.load(open(sys.argv[1])):
    for k, v in s["secrets"]:
        print(v)
    for w in s["wire"]:
        print(w)' "$WORK/sections.json"
}

# mount_cfs [collectionsfs args...]: mounts at $MNT in the foreground, logs to $WORK/daemon.log.
mount_cfs() {
    MNT="$WORK/mnt"
    mkdir -p "$MNT"
    "$CFS_BIN" -f -c "$CONFIG" "$@" "$MNT" >"$WORK/daemon.log" 2>&1 &
    CFS_PID=$!
    export MNT CFS_PID
    wait_for 10 mountpoint -q "$MNT" || { cat "$WORK/daemon.log"; return 1; }
}

unmount_cfs() {
    [ -n "${MNT:-}" ] && fusermount3 -uz "$MNT" 2>/dev/null
    if [ -n "${CFS_PID:-}" ]; then
        wait_for 10 bash -c "! kill -0 $CFS_PID" || kill -9 "$CFS_PID" 2>/dev/null
    fi
    CFS_PID=
}

# reloads: how many SIGHUPs the daemon has handled to the end, the config read
# again or, on an error, kept.
reloads() {
    grep -cE 'SIGHUP: (configuration read again|.*previous configuration keeps running)' \
        "$WORK/daemon.log" || true
}

# reloads_past N: more than N reloads are done.
reloads_past() { [ "$(reloads)" -gt "$1" ]; }

# hup: SIGHUP the daemon and wait until it has handled it (a second SIGHUP
# counts only once the first is done: the count, not a log line, is waited on).
hup() {
    local n
    n=$(reloads)
    kill -HUP "$CFS_PID"
    wait_for "$BOUND" reloads_past "$n" || {
        echo "SIGHUP not handled"
        tail -n 20 "$WORK/daemon.log"
        return 1
    }
}

# remount [collectionsfs args...]: unmount, zero the fake's counters and faults, mount again.
remount() {
    unmount_cfs
    ! timeout 5 mountpoint -q "$MNT" || { echo "$MNT still mounted"; return 1; }
    fake_reset
    mount_cfs "$@"
}

# setup_fake [fake args]: a fake and a config, no mount yet (so a test can edit $CONFIG).
setup_fake() {
    start_fake "$@" && write_config
}

# The standard fixture: fake server with the given data, config, mount.
setup_mount() {
    setup_fake "$@" && mount_cfs
}

teardown_mount() {
    unmount_cfs
    stop_fake
    [ -n "${HOSTILE_PID:-}" ] && kill "$HOSTILE_PID" 2>/dev/null
    HOSTILE_PID=
    if [ -n "${BATS_TEST_NAME:-}" ] && [ -z "${BATS_TEST_COMPLETED:-}" ] &&
        [ -f "${WORK:-/nonexistent}/daemon.log" ]; then
        echo "---- daemon.log (last 40 lines)"
        tail -n 40 "$WORK/daemon.log"
    fi
    no_sanitizer_reports
}

# no_sanitizer_reports: the daemon log holds no sanitizer report (call after unmount).
no_sanitizer_reports() {
    [ -f "${WORK:-/nonexistent}/daemon.log" ] || return 0
    local pat='ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:'
    if grep -qE "$pat" "$WORK/daemon.log"; then
        echo "sanitizer report in $WORK/daemon.log:" >&2
        grep -nE -A12 "$pat" "$WORK/daemon.log" | head -n 60 >&2
        return 1
    fi
}

# ---------------------------------------------------------------- the daemon

daemon_alive() {
    kill -0 "$CFS_PID" 2>/dev/null && mountpoint -q "$MNT"
}

# daemon_exits [SECONDS]: the daemon ends by itself (within SECONDS, 20, a hang
# guard) with status 0; DAEMON_RC is its exit status.
daemon_exits() {
    local limit=${1:-20}
    if ! wait_for "$limit" bash -c "! kill -0 $CFS_PID 2>/dev/null"; then
        echo "daemon $CFS_PID still running $limit s after being asked to stop"
        return 1
    fi
    DAEMON_RC=0
    wait "$CFS_PID" || DAEMON_RC=$?
    CFS_PID=
    echo "daemon exit status $DAEMON_RC"
    [ "$DAEMON_RC" -eq 0 ]
}

# log_size: lines in the daemon log so far (a mark for log_lines_since).
log_size() {
    wc -l <"$WORK/daemon.log"
}

# log_lines_since N PATTERN: lines after line N of daemon.log matching PATTERN
# (grep -E), debug lines (-d: one per HTTP request) left out.
log_lines_since() {
    tail -n +"$(($1 + 1))" "$WORK/daemon.log" | grep -v '^collectionsfs [0-9:.]* debug: ' |
        grep -E -- "$2" || true
}

# rss_kb: resident memory of the daemon.
rss_kb() {
    awk '/^VmRSS:/ {print $2}' "/proc/$CFS_PID/status"
}

# now_ms: milliseconds of the wall clock, for lower bounds only.
now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# ---------------------------------------------------------------- the mount

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

# provider_ok PROVIDER: ls, stat and cat work and ls shows every collection.
provider_ok() {
    local p=$1 n want first
    n=$(timeout "$BOUND" ls -1 "$MNT/$p" | wc -l)
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "ls $p failed"; return 1; }
    want=$(expected_count "$p")
    [ "$n" -eq "$want" ] || { echo "ls $p: $n entries, want $want"; return 1; }
    first=$(timeout "$BOUND" ls -1 "$MNT/$p" | head -n 1)
    timeout "$BOUND" stat "$MNT/$p/$first/metadata.json" >/dev/null || { echo "stat $p/$first failed"; return 1; }
    timeout "$BOUND" cat "$MNT/$p/$first/metadata.json" | python3 -c 'import json,sys; json.load(sys.stdin)' ||
        { echo "cat $p/$first/metadata.json: not JSON"; return 1; }
}

# others_ok PROVIDER: every provider under test but this one works in full.
others_ok() {
    local q
    for q in "${PROVIDERS[@]}"; do
        [ "$q" = "$1" ] && continue
        provider_ok "$q" || { echo "provider $q affected by a fault on $1"; return 1; }
    done
}

# recovers PROVIDER [SECONDS]: once the fault is gone, the section works again
# within SECONDS (8; a failure may be remembered briefly so that queued lookups
# do not each wait a full budget; it must not outlive that).
recovers() {
    wait_for "${2:-8}" provider_ok "$1" ||
        provider_ok "$1" || { echo "$1 still failing ${2:-8} s after the fault was cleared"; return 1; }
}

# start_readers PROVIDER N [SECONDS]: N readers of the section in the background,
# half of them lookups of absent names, half listings, each under `timeout
# SECONDS` (60); pids in READERS, the listings' in LS_PIDS.
start_readers() {
    local i
    READERS=() LS_PIDS=()
    for ((i = 0; i < $2; i++)); do
        if ((i % 2)); then
            timeout "${3:-60}" ls "$MNT/$1" >/dev/null 2>&1 &
            LS_PIDS+=($!)
        else
            timeout "${3:-60}" stat "$MNT/$1/probe $i" >/dev/null 2>&1 &
        fi
        READERS+=($!)
    done
}

# readers_running: every reader started by start_readers is still blocked.
readers_running() {
    local pid
    for pid in "${READERS[@]}"; do
        kill -0 "$pid" 2>/dev/null || return 1
    done
}

# readers_end: every reader ended by itself (none killed by its timeout);
# LS_OK is how many of the listings succeeded.
readers_end() {
    local pid rc hung=0 l
    LS_OK=0
    for pid in "${READERS[@]}"; do
        wait "$pid" && rc=0 || rc=$?
        [ "$rc" -ne 124 ] || hung=$((hung + 1))
        for l in "${LS_PIDS[@]}"; do
            [ "$l" = "$pid" ] && [ "$rc" -eq 0 ] && LS_OK=$((LS_OK + 1))
        done
    done
    READERS=() LS_PIDS=()
    [ "$hung" -eq 0 ] || { echo "$hung readers hung until their timeout"; return 1; }
}

# dead_port: a loopback TCP port nobody listens on.
dead_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------- the hostile server

# start_hostile [--mode M]: the hostile server of faults_server.py; sets HOSTILE_URL.
start_hostile() {
    rm -f "$WORK/hport"
    python3 "$TESTS_DIR/integration/faults_server.py" --port 0 --port-file "$WORK/hport" "$@" \
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

# bench_fake P N TIMEOUT_S: for the bench A/B scripts, a work directory ($WORK,
# removed with the mount and the fake on exit), one fake serving N collections
# of P alone, and a config for it (ttl an hour, request budget TIMEOUT_S).
bench_fake() {
    WORK=$(mktemp -d /tmp/cfs-bench.XXXXXX)
    trap 'unmount_cfs >/dev/null 2>&1; stop_fake; rm -rf "$WORK"' EXIT
    FAKE_START_WAIT=600 start_fake --count 0 "--$1" "$2" >/dev/null || exit 1
    PROVIDERS=("$1")
    CFS_TTL=3600 CFS_TIMEOUT=$3 write_config >/dev/null || exit 1
}
