#!/usr/bin/env bash
# A/B of the daemon's own work for a cold listing, in instructions: each binary
# runs under `valgrind --tool=callgrind` (all threads counted together) against
# one fake provider P of N collections at 0 ms, lists the section once with
# `ls -f`, and is unmounted. Callgrind counts instructions, not seconds, so two
# runs of one binary agree to about 0.1% however busy the machine is: a change
# of a few percent in the parse, render and index code shows here, where
# perf.sh's CPU seconds move by 10-20% from run to run. What it does not count:
# the kernel's share (system calls, page faults). The yardstick of the CPU
# target is counted the same way: `jq -c` over the same pages (perf.sh's,
# fetched once with curl), and each binary's ratio to it is printed. With
# ROUNDS=K set, the binaries then also take turns K times natively, and the
# daemon's CPU seconds (user and system, from /proc) and page faults over the
# listing alone (the mount's start-up left out) are printed per run: there
# the kernel's share shows.
# Asserts nothing; prints one line per binary (and per native run).
#
#   [ROUNDS=K] tests/bench/ab_cpu.sh P N BIN_A BIN_B...
#   e.g. git worktree add /tmp/base HEAD~1 && meson setup /tmp/base/b -Dbuildtype=release &&
#        ninja -C /tmp/base/b && tests/bench/ab_cpu.sh honcho 100000 /tmp/base/b/collectionsfs build-rel/collectionsfs
#   (at 100,000 each binary takes about 40 s under callgrind, jq about 2 minutes)
set -uo pipefail
[ $# -ge 3 ] || { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
p=$1 n=$2
shift 2
BINS=()
for b in "$@"; do BINS+=("$(realpath "$b")"); done
for t in valgrind jq curl; do
    command -v "$t" >/dev/null || apt-get install -y -q "$t" >/dev/null || exit 1
done
CFS_BIN=${BINS[0]}
source "$here/../lib/common.bash"
bench_fake "$p" "$n" 600
# the daemon under callgrind, as mount_cfs starts a daemon
cat >"$WORK/daemon" <<'EOF'
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="$CG_OUT" "$CG_BIN" "$@"
EOF
chmod +x "$WORK/daemon"
CFS_BIN=$WORK/daemon
# instructions PROG ARGS...: what callgrind counts for one run of PROG
instructions() {
    valgrind --tool=callgrind --callgrind-out-file="$WORK/jq.out" "$@" >/dev/null 2>&1 || return 1
    sed -n 's/^totals: //p' "$WORK/jq.out"
}
mkdir -p "$WORK/pages"
mapfile -d '' opts < <(python3 "$here/pages.py" "$WORK/sections.json" "$p" "$n" \
    "$(provider_info "$p" max_page)" "$WORK/pages")
curl -sf --parallel --parallel-max 4 "${opts[@]}" -K "$WORK/pages/urls.curl" >/dev/null 2>&1 ||
    { echo "fetching the pages failed"; exit 1; }
jq=$(instructions jq -c "$(list_key "$p")" "$WORK/pages"/p*.json) || { echo "jq failed"; exit 1; }
awk -v t="$jq" -v n="$n" -v k="$(list_key "$p")" 'BEGIN {
    printf "jq -c %s over the same pages: %.0f instructions, %.0f per collection\n", k, t, t / n }'
for bin in "${BINS[@]}"; do
    export CG_BIN=$bin CG_OUT=$WORK/callgrind.out
    rm -f "$CG_OUT"
    mount_cfs || exit 1
    pid=$CFS_PID
    shown=$(timeout 900 ls -f "$MNT/$p" | wc -l)
    fusermount3 -uz "$MNT"
    CFS_PID=
    # callgrind writes its file as the daemon exits: wait for that, bounded
    wait_for 300 bash -c "! kill -0 $pid 2>/dev/null" || { echo "$bin: did not exit"; exit 1; }
    total=$(sed -n 's/^totals: //p' "$CG_OUT")
    awk -v t="$total" -v n="$n" -v s="$((shown - 2))" -v b="$bin" -v jq="$jq" 'BEGIN {
        printf "%s: %d collections shown, %.0f instructions, %.0f per collection, %.2f× jq\n",
            b, s, t, t / n, t / jq }'
done
for ((r = 1; r <= ${ROUNDS:-0}; r++)); do
    for bin in "${BINS[@]}"; do
        CFS_BIN=$bin
        mount_cfs || exit 1
        pid=$CFS_PID
        read -r u0 s0 f0 < <(awk '{print $14, $15, $10}' "/proc/$pid/stat")
        timeout 900 ls -f "$MNT/$p" >/dev/null
        read -r u1 s1 f1 < <(awk '{print $14, $15, $10}' "/proc/$pid/stat")
        unmount_cfs
        awk -v r="$r" -v b="$bin" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v f=$((f1 - f0)) \
            -v hz="$(getconf CLK_TCK)" 'BEGIN {
            printf "round %d %s: %.2f s CPU for the listing (user %.2f, system %.2f), %d page faults\n",
                r, b, (u + s) / hz, u / hz, s / hz, f }'
    done
done
