#!/usr/bin/env bash
# A/B of the first traversal that reads files: two (or more) daemon binaries
# against one fake Honcho of N collections at 0 ms, taking turns ROUNDS times.
# Per binary and round: a fresh mount, `ls -f` of the section (the listing is
# then cached, the kernel holds nothing below it), then a cold
# `find -name metadata.json -exec cat {} +`, the same again warm, and a warm
# `find`. What it isolates is the kernel round trips below a cached listing,
# e.g. the push of metadata.json at the end of a directory read (src/fs.c).
# Asserts nothing; prints one line per binary and round.
#
#   tests/bench/ab_read.sh N ROUNDS BIN_A BIN_B...
#   e.g. git worktree add /tmp/base HEAD~1 && meson setup /tmp/base/b -Dbuildtype=release &&
#        ninja -C /tmp/base/b && tests/bench/ab_read.sh 100000 2 /tmp/base/b/collectionsfs build-rel/collectionsfs
set -uo pipefail
[ $# -ge 3 ] || { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
n=$1 rounds=$2
shift 2
CFS_BIN=$(realpath "$1")
source "$here/../lib/common.bash"
bench_fake honcho "$n" 120
TM_BOUND=600
for ((r = 1; r <= rounds; r++)); do
    for bin in "$@"; do
        CFS_BIN=$(realpath "$bin")
        mount_cfs || exit 1
        timeout 600 ls -f "$MNT/honcho" >/dev/null
        fc="find '$MNT/honcho' -name metadata.json -exec cat {} + | wc -c"
        cold=$(tsh "$fc")
        warm=$(tsh "$fc")
        f=$(tsh "find '$MNT/honcho' | wc -l")
        echo "round $r $bin: cold find+cat $cold s, warm find+cat $warm s, warm find $f s"
        unmount_cfs
    done
done
