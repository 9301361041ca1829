#!/usr/bin/env bash
# A/B of the cold listing: two (or more) daemon binaries against one fake
# provider P of N collections at MS milliseconds per response, taking turns
# ROUNDS times. Per binary and round: a fresh mount, a cold `ls -f` of the
# section, the requests it cost (the fake's count) and the daemon's CPU. What it
# isolates is the walk: how many requests stay on the wire and what each page
# costs the daemon between answer and next request. Asserts nothing; prints one
# line per binary and round.
#
#   tests/bench/ab_list.sh P N MS ROUNDS BIN_A BIN_B...
#   e.g. git worktree add /tmp/base HEAD~1 && meson setup /tmp/base/b -Dbuildtype=release &&
#        ninja -C /tmp/base/b && tests/bench/ab_list.sh hivo 1000000 20 3 /tmp/base/b/collectionsfs build-rel/collectionsfs
set -uo pipefail
[ $# -ge 5 ] || { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
p=$1 n=$2 ms=$3 rounds=$4
shift 4
CFS_BIN=$(realpath "$1")
source "$here/../lib/common.bash"
bench_fake "$p" "$n" 120
TM_BOUND=900
s=$(awk -v m="$ms" 'BEGIN {print m / 1000}')
for ((r = 1; r <= rounds; r++)); do
    for bin in "$@"; do
        CFS_BIN=$(realpath "$bin")
        fake_reset >/dev/null
        [ "$ms" = 0 ] || fault "{\"provider\": \"$p\", \"mode\": \"latency\", \"seconds\": $s}"
        mount_cfs || exit 1
        t=$(tsh "ls -f '$MNT/$p' | wc -l > '$WORK/count'")
        echo "round $r $bin: cold ls -f $t s, $(($(cat "$WORK/count") - 2)) entries," \
            "$(requests "$p") requests, daemon CPU $(cpu_s "$CFS_PID") s"
        unmount_cfs
    done
done
