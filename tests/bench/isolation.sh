#!/usr/bin/env bash
# Isolation benchmark: time to first byte of the healthy providers (cold cache:
# ls of the section, then cat of one metadata.json) with no fault, and again
# while the first provider is stalled (accepts TCP, never answers) with 16
# readers blocked on it. The providers are those the fake serves and the
# binary knows. Prints both medians and their ratio; a ratio near 1 means the stalled
# provider costs the others nothing. Not a test: these machines are noisy.
#
#   tests/bench/isolation.sh [ROUNDS]     (default 10)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/common.bash"
rounds=${1:-10}
CFS_TIMEOUT=30 # the stalled provider holds its readers for the whole budget
TM_BOUND=60    # one round's ls+cat of the healthy sections ("fail" past it)

start_fake --count 300
trap 'stop_fake' EXIT
write_config
stalled=${PROVIDERS[0]}
healthy=("${PROVIDERS[@]:1}")

# one cold round: remount, then ls + cat on each healthy section; prints seconds
round() {
    fake_reset
    [ "$1" = stalled ] && fault "{\"provider\":\"$stalled\",\"mode\":\"stall\"}"
    mount_cfs
    if [ "$1" = stalled ]; then
        for i in $(seq 16); do timeout 60 stat "$MNT/$stalled/probe $i" >/dev/null 2>&1 & done
        wait_seen "$stalled" >&2 # the stalled provider has the request
    fi
    # a collection the section lists, then its metadata.json ($0 is the mount)
    local t
    t=$(tm bash -c 'for p; do f=$(ls "$0/$p" | head -n 1); cat "$0/$p/$f/metadata.json"; done' \
        "$MNT" "${healthy[@]}") || true
    # the blocked readers go first: the session ends when nothing uses the mount,
    # and the stalled request is let go so the daemon can leave at once
    [ "$1" = stalled ] && fault "{\"provider\":\"$stalled\",\"mode\":\"none\"}"
    local pids
    pids=$(jobs -p | grep -vx "$CFS_PID" || true)
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
    unmount_cfs >/dev/null 2>&1
    echo "$t"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

base=$(for r in $(seq "$rounds"); do round healthy; done | median)
slow=$(for r in $(seq "$rounds"); do round stalled; done | median)
fault "{\"provider\":\"$stalled\",\"mode\":\"none\"}"
printf 'healthy providers, cold ls+cat of %d sections: %.4f s with no fault, %.4f s with %s stalled (16 readers blocked): ratio %.2f\n' \
    "${#healthy[@]}" "$base" "$slow" "$stalled" "$(awk -v a="$slow" -v b="$base" 'BEGIN {print a / b}')"
