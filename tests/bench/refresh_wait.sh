#!/usr/bin/env bash
# What a user waits for while a listing refreshes: one or more daemon binaries
# against one fake of N collections whose every page takes LATENCY seconds,
# with ttl = 3 s and timeout = 5 s. Per binary: a fresh mount, a cold `ls -f`
# (the first walk, at 0 ms), one metadata.json held open; then the latency is
# switched on, the ttl is let run out, and these go in turn, each timed, while
# the refresh they start walks (N / page size pages at LATENCY, `parallel` 4
# at a time): an fstat of the held file, `stat` of the section directory,
# `ls` of it, `stat` of the collection listed last, `cat` of its
# metadata.json. Once that refresh is complete and the ttl has run out
# again, `stat` and `ls` of the section are timed once more: the refresh they
# start comes after a walk that took longer than the budget. Asserts nothing;
# prints one line per binary.
#
#   tests/bench/refresh_wait.sh PROVIDER N LATENCY BIN...
#   e.g. tests/bench/refresh_wait.sh honcho 20000 0.5 /tmp/base/b/collectionsfs build-rel/collectionsfs
set -uo pipefail
[ $# -ge 4 ] || { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
p=$1 n=$2 lat=$3
shift 3
CFS_BIN=$(realpath "$1")
source "$here/../lib/common.bash"
bench_fake "$p" "$n" 5
CFS_TTL=3 CFS_TIMEOUT=5 write_config >/dev/null || exit 1
TM_BOUND=600
# when the section's listing was fetched (the xattr; asks the provider nothing)
fetched_at() {
    python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.collectionsfs.fetched_at").decode())' \
        "$MNT/$p"
}
listed() { fetched_at >/dev/null 2>&1; }
refreshed() { [ "$(fetched_at)" != "$f0" ]; }
for bin in "$@"; do
    CFS_BIN=$(realpath "$bin")
    fault "{\"provider\": \"$p\", \"mode\": \"none\"}"
    mount_cfs || exit 1
    timeout 600 ls -f "$MNT/$p" | grep -vxE '\.|\.\.' >"$WORK/names"
    last=$(tail -n 1 "$WORK/names")
    first=$(head -n 1 "$WORK/names")
    # no fetched_at until a walk completes: the wait for the refresh needs one
    wait_for 120 listed || { echo "$bin: no complete listing after the cold walk" >&2; exit 1; }
    f0=$(fetched_at)
    # the held file: fstat on a signal, report the time
    python3 - "$MNT/$p/$first/metadata.json" "$WORK" <<'PY' &
import os, sys, time
path, work = sys.argv[1:3]
fd = os.open(path, os.O_RDONLY)
os.fstat(fd)
open(os.path.join(work, "held"), "w").close()
end = time.monotonic() + 60
while not os.path.exists(os.path.join(work, "go")):
    if time.monotonic() > end:
        sys.exit("never told to go")
    time.sleep(0.01)
t = time.monotonic()
os.fstat(fd)
open(os.path.join(work, "fstat.t"), "w").write("%.3f" % (time.monotonic() - t))
PY
    held=$!
    wait_for 20 test -e "$WORK/held" || exit 1
    fault "{\"provider\": \"$p\", \"mode\": \"latency\", \"seconds\": $lat}"
    sleep 4 # ttl = 3 s: the listing and the kernel's timeouts are past it now
    n0=$(requests "$p")
    touch "$WORK/go"
    wait "$held"
    st=$(tm stat "$MNT/$p")
    ls=$(tm ls "$MNT/$p")
    sl=$(tm stat "$MNT/$p/$last")
    ct=$(tm cat "$MNT/$p/$last/metadata.json")
    by=$(($(requests "$p") - n0))
    wait_for 600 refreshed || { echo "$bin: the refresh did not complete in 600 s" >&2; exit 1; }
    sleep 4 # past the ttl of the refreshed listing
    st2=$(tm stat "$MNT/$p")
    ls2=$(tm ls "$MNT/$p")
    echo "$bin: fstat held $(cat "$WORK/fstat.t") s, stat section $st s, ls $ls s," \
        "stat last $sl s, cat last $ct s; refresh requests by then $by;" \
        "next refresh: stat section $st2 s, ls $ls2 s"
    rm -f "$WORK/held" "$WORK/go" "$WORK/fstat.t"
    unmount_cfs
done
