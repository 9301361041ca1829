#!/usr/bin/env bash
# Eight daemons on one account, without and with the shared listing cache
# (issue 9's benchmark row; DESIGN §3, "The fleet").
#
#   meson setup build-rel -Dbuildtype=release && ninja -C build-rel
#   CFS_BIN=build-rel/collectionsfs tests/bench/fleet.sh [--honcho N] [--daemons D]
#   (N = 100000 Honcho collections and D = 8 daemons by default)
#
# On loopback: its own fake provider (one Honcho section) and its own
# redis-server on a unix socket, both in a temp dir. `[global] timeout = 30`,
# ttl 600. For each mode, first without `shared_cache`, then with
# `shared_cache = unix:$REDIS_SOCK` (Redis flushed before each cold case):
#   1. one daemon alone, a cold `ls -f` of the provider directory: the
#      provider's requests (the baseline) and the wall time;
#   2. D daemons on D mount points, a cold `ls -f` on all at once: the
#      provider's requests and the wall time until all are done; the D
#      listings must be identical;
#   3. a collection renamed at the provider, SIGHUP to daemon 1: the time
#      until the new name is visible (`test -d`) on daemon 1 and on all D,
#      polled for at most PROPAGATION_WAIT (60) s. Without the shared cache
#      the others only see it after their ttl, which is not waited for.
# Prints a markdown table (with / without = ratio). Needs FUSE.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CFS_BIN="${CFS_BIN:-$HERE/../../build-rel/collectionsfs}"
source "$HERE/../lib/common.bash"
source "$HERE/../lib/fleet.bash"

N=100000 D=8
while [ $# -gt 0 ]; do
    case $1 in
    --honcho) N=$2; shift 2 ;;
    --daemons) D=$2; shift 2 ;;
    *) echo "usage: $0 [--honcho N] [--daemons D]" >&2; exit 2 ;;
    esac
done
WAIT=${PROPAGATION_WAIT:-60} # bound of the propagation poll
LS_BOUND=${LS_BOUND:-900}    # bound of one cold `ls -f`
export CFS_TTL=600 CFS_TIMEOUT=30
PROVIDERS=(honcho)
export CFS_PROVIDERS=honcho
[ -x "$CFS_BIN" ] || { echo "no daemon binary at $CFS_BIN (build it: see the header)" >&2; exit 1; }
CFS_BIN=$(realpath "$CFS_BIN")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cfs-fleet.XXXXXX")
export WORK
FAKE_PID= REDIS_PID= ALONE_PID= FLEET_N=0
FLEET_PID=()

cleanup() {
    local i
    for ((i = 1; i <= D; i++)); do fusermount3 -uz "$WORK/m$i" 2>/dev/null; done
    fusermount3 -uz "$WORK/alone" 2>/dev/null
    for i in "${FLEET_PID[@]}" $ALONE_PID; do
        wait_for 10 bash -c "! kill -0 $i" || kill -9 "$i" 2>/dev/null
    done
    stop_redis
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
    [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "fleet.sh: $*" >&2; exit 1; }

python3 "$FAKE" --port 0 --port-file "$WORK/port" --count 0 --honcho "$N" >"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
wait_for 300 test -s "$WORK/port" || { cat "$WORK/fake.log"; die "the fake did not start"; }
FAKE_PORT=$(cat "$WORK/port")
FAKE_URL="http://127.0.0.1:$FAKE_PORT"
export FAKE_PID FAKE_PORT FAKE_URL
start_redis || die "redis-server did not start"
write_config || die "no config"
mv "$WORK/config" "$WORK/config.alone"
write_config "shared_cache = unix:$REDIS_SOCK" || die "no config"
mv "$WORK/config" "$WORK/config.shared"
WANT=$(expected_count honcho)
[ "$WANT" -eq "$N" ] || die "the fake serves $WANT collections, not $N"

# secs MS: milliseconds as seconds with two decimals.
secs() { awk -v m="$1" 'BEGIN { printf "%.2f s", m / 1000 }'; }

# cold_ls DIR OUT: a cold `ls -f` of DIR into OUT; fails unless it lists N entries.
cold_ls() {
    timeout "$LS_BOUND" ls -f "$1" >"$2" || { echo "ls -f $1 failed or hung" >&2; return 1; }
    local n=$(($(wc -l <"$2") - 2))
    [ "$n" -eq "$N" ] || { echo "ls -f $1: $n entries, want $N" >&2; return 1; }
}

# alone CONFIG: R_ALONE requests and T_ALONE ms of one daemon's cold listing.
alone() {
    fake_reset
    mkdir -p "$WORK/alone"
    "$CFS_BIN" -f -c "$1" "$WORK/alone" >"$WORK/alone.$MODE.log" 2>&1 &
    ALONE_PID=$!
    wait_for 10 mountpoint -q "$WORK/alone" || { cat "$WORK/alone.$MODE.log"; die "mount failed"; }
    local t0
    t0=$(now_ms)
    cold_ls "$WORK/alone/honcho" "$WORK/ls.alone.$MODE" || die "one daemon alone ($MODE)"
    T_ALONE=$(($(now_ms) - t0))
    R_ALONE=$(requests_besides)
    fusermount3 -uz "$WORK/alone"
    wait_for 10 bash -c "! kill -0 $ALONE_PID" || { kill -9 "$ALONE_PID"; die "daemon alone did not end"; }
    ALONE_PID=
}

# fleet_cold: R_ALL requests and T_ALL ms of a cold `ls -f` on all D mounts at once.
fleet_cold() {
    local i pids=() t0 bad=0
    fake_reset
    t0=$(now_ms)
    for ((i = 1; i <= D; i++)); do
        cold_ls "$WORK/m$i/honcho" "$WORK/ls.$i" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || bad=1; done
    T_ALL=$(($(now_ms) - t0))
    R_ALL=$(requests_besides)
    [ "$bad" -eq 0 ] || die "a cold listing failed ($MODE)"
    sort "$WORK/ls.1" >"$WORK/ls.1.sorted"
    for ((i = 2; i <= D; i++)); do
        sort "$WORK/ls.$i" | cmp -s - "$WORK/ls.1.sorted" || die "mount $i lists other names than mount 1 ($MODE)"
    done
}

# propagate INDEX: T_ONE / T_EVERY, ms until a rename is visible on daemon 1 /
# on all D ("" if not within WAIT s); SEEN how many mounts showed it. One
# poller per mount, each `test -d` every 50 ms, so a slow mount delays no other.
propagate() {
    local id new i t0 m0 t pids=()
    id=$(item_at honcho "$1" id)
    new="renamed-$MODE-$RANDOM"
    rename_item honcho "$id" "$new" || die "rename at the fake failed"
    rm -f "$WORK"/seen.*
    fake_reset
    m0=$(python3 -c 'import time; print(time.monotonic())')
    t0=$(now_ms)
    kill -HUP "${FLEET_PID[1]}"
    for ((i = 1; i <= D; i++)); do
        (wait_for "$WAIT" timeout 5 test -d "$WORK/m$i/honcho/$new" &&
            echo $(($(now_ms) - t0)) >"$WORK/seen.$i") &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    T_ONE=$(cat "$WORK/seen.1" 2>/dev/null)
    SEEN=0 T_EVERY=0
    for ((i = 1; i <= D; i++)); do
        [ -s "$WORK/seen.$i" ] || continue
        SEEN=$((SEEN + 1))
        t=$(cat "$WORK/seen.$i")
        [ "$t" -gt "$T_EVERY" ] && T_EVERY=$t
    done
    [ "$SEEN" -eq "$D" ] || T_EVERY=
    # the provider's side of the refresh: its requests, and the SIGHUP to its last
    # answer (the fake logs its last 200 requests on CLOCK_MONOTONIC, as does m0)
    R_HUP=$(requests_besides)
    T_HUP=$(fake_get /_fake/stats | python3 -c '
import json, sys
log = [e for e in json.load(sys.stdin)["timed_log"] if e[2].split(" ")[1].startswith("/honcho/")]
print(int((max(e[1] for e in log) - float(sys.argv[1])) * 1000) if log else 0)' "$m0")
    echo "$MODE: rename seen after (ms, by mount): $(for ((i = 1; i <= D; i++)); do printf '%s ' "$(cat "$WORK/seen.$i" 2>/dev/null || echo -)"; done)" >&2
}

# run MODE CONFIG INDEX: the three measures of one mode, in the variables of MODE.
run() {
    MODE=$1
    CONFIG=$2
    export CONFIG
    rcli FLUSHALL >/dev/null
    alone "$CONFIG"
    rcli FLUSHALL >/dev/null
    fleet_mount "$D" || die "the fleet did not mount ($MODE)"
    fleet_cold
    propagate "$3"
    fleet_unmount || die "the fleet did not end cleanly ($MODE)"
    FLEET_PID=()
    eval "${MODE}_r_alone=$R_ALONE ${MODE}_t_alone=$T_ALONE ${MODE}_r_all=$R_ALL ${MODE}_t_all=$T_ALL" \
        "${MODE}_t_one='$T_ONE' ${MODE}_r_hup=$R_HUP ${MODE}_t_hup=$T_HUP ${MODE}_t_every='$T_EVERY' ${MODE}_seen=$SEEN"
    echo "$MODE: alone $R_ALONE requests in $(secs "$T_ALONE"); $D at once $R_ALL requests in" \
        "$(secs "$T_ALL"); rename on daemon 1 after ${T_ONE:-?} ms, on $SEEN of $D within $WAIT s" \
        "(all: ${T_EVERY:-no}); the refresh: $R_HUP requests in $T_HUP ms" >&2
}

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "commit $(git -C "$HERE" rev-parse --short HEAD), N=$N, D=$D, load $LOAD, $(date -u '+%F %H:%M UTC')" >&2
run without "$WORK/config.alone" 10
run with "$WORK/config.shared" 20

# ratio A B: B / A with two decimals, "—" if either is not a number.
ratio() {
    [[ "$1" =~ ^[0-9]+$ && "$2" =~ ^[0-9]+$ && "$1" -gt 0 ]] || { echo "—"; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", b / a }'
}
ms_or() { [ -n "$1" ] && echo "$1 ms" || echo "$2"; }

echo
echo "N = $N Honcho collections, $D daemons, commit $(git -C "$HERE" rev-parse --short HEAD), load $LOAD at start"
echo
echo "| case | without shared cache | with shared cache | ratio (with / without) |"
echo "|---|---:|---:|---:|"
echo "| one daemon alone, cold \`ls -f\`: provider requests (baseline) | $without_r_alone | $with_r_alone | $(ratio "$without_r_alone" "$with_r_alone") |"
echo "| one daemon alone, cold \`ls -f\`: wall time | $(secs "$without_t_alone") | $(secs "$with_t_alone") | $(ratio "$without_t_alone" "$with_t_alone") |"
echo "| $D daemons, cold \`ls -f\` on all at once: provider requests | $without_r_all | $with_r_all | $(ratio "$without_r_all" "$with_r_all") |"
echo "| $D daemons at once: requests / one daemon alone | $(awk -v a="$without_r_all" -v b="$without_r_alone" 'BEGIN { printf "%.2f×", a / b }') | $(awk -v a="$with_r_all" -v b="$with_r_alone" 'BEGIN { printf "%.2f×", a / b }') | |"
echo "| $D daemons, cold \`ls -f\` on all at once: wall time until all done | $(secs "$without_t_all") | $(secs "$with_t_all") | $(ratio "$without_t_all" "$with_t_all") |"
echo "| rename + SIGHUP on daemon 1: provider requests while polling (the refresh) | $without_r_hup | $with_r_hup | $(ratio "$without_r_hup" "$with_r_hup") |"
echo "| rename + SIGHUP on daemon 1: SIGHUP to the refresh's last answer | $without_t_hup ms | $with_t_hup ms | $(ratio "$without_t_hup" "$with_t_hup") |"
echo "| rename + SIGHUP on daemon 1: new name visible on daemon 1 | $(ms_or "$without_t_one" "not within $WAIT s") | $(ms_or "$with_t_one" "not within $WAIT s") | $(ratio "$without_t_one" "$with_t_one") |"
echo "| rename + SIGHUP on daemon 1: new name visible on all $D | $(ms_or "$without_t_every" "not within $WAIT s ($without_seen of $D)") | $(ms_or "$with_t_every" "not within $WAIT s ($with_seen of $D)") | $(ratio "$without_t_every" "$with_t_every") |"
