#!/usr/bin/env bash
# FUSE requests the kernel still sends on warm traversals: which cases of
# perf.sh are warm in the kernel, and which only in the daemon.
#
#   CFS_BIN=build-rel/collectionsfs tests/bench/warm_ops.sh [N]     (default 100000)
#
# Starts the fake with N Honcho collections, mounts (ttl an hour), then runs a
# cold `ls -f`, a cold `find`, three warm `find`s in a row and, 10 s later, an
# `ls -f` of the section again, and prints each one's time and the FUSE
# requests it caused by opcode (the kernel's
# fuse:fuse_request_send tracepoint, counted with `perf record -a`: other FUSE
# mounts on the machine count too). A warm `find` the kernel answers alone
# shows only the STATFS that find itself asks; a guest that pages out idle page
# cache makes it re-read directories all the same (the first line says whether
# this one does). Needs root; installs linux-perf when missing. Not a test: a
# measurement (RESULTS.md sections O and P).
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib/common.bash"
n=${1:-100000}
command -v perf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf >/dev/null ||
    { echo "warm_ops.sh: cannot install linux-perf" >&2; exit 1; }
export CFS_TTL=3600 CFS_TIMEOUT=600
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cfs-ops.XXXXXX")
trap 'unmount_cfs >/dev/null 2>&1; stop_fake; rm -rf "$WORK"' EXIT
FAKE_START_WAIT=600 start_fake --count 0 --honcho "$n" >/dev/null || { echo "the fake did not start"; exit 1; }
PROVIDERS=(honcho)
write_config >/dev/null || exit 1
mount_cfs || exit 1

# ops LABEL CMD...: the command's time, and the FUSE requests sent while it ran
ops() {
    local t
    t=$(TM_BOUND=1800 tm perf record -q -o "$WORK/p.data" -e fuse:fuse_request_send -a -- "${@:2}")
    printf '%-14s %6s s  %s\n' "$1" "$t" \
        "$(perf script -i "$WORK/p.data" 2>/dev/null | grep -o '(FUSE_[A-Z_]*)' | sort | uniq -c |
            awk '{printf "%s %s  ", $2, $1}' | tr -d '()')"
}

echo "$n collections; $(nproc) cores, kernel $(uname -r)$(vm_policy)"
ops "cold ls -f" ls -f "$MNT/honcho"
ops "cold find" find "$MNT/honcho"
for i in 1 2 3; do ops "warm find $i" find "$MNT/honcho"; done
# Left alone for a while: what the machine's reclaim leaves of the kernel's copy.
sleep 10
ops "ls -f, 10 s idle" ls -f "$MNT/honcho"
