#!/usr/bin/env bash
# Peak RSS of a mounted daemon against issue 7's memory budget
# (metadata.json bytes + 256 bytes per collection + 32 MiB).
#
#   CFS_BIN=build/collectionsfs tests/bench/mem_mount.sh PROVIDER N
#   e.g. tests/bench/mem_mount.sh honcho 100000; tests/bench/mem_mount.sh fount 1000000
#
# Starts tests/fake_providers.py with N collections of one provider (a million
# take the fake a few minutes to generate), mounts, and prints the daemon's
# VmHWM after a cold `ls -f`, after a warm `find -printf %s` (2N inodes
# referenced; it also sums the metadata.json bytes), and after a refresh
# (SIGHUP, then `ls -f`) while three metadata.json files are held open. ttl is
# an hour and the request budget 300 s, so Fount's rate-limit pauses neither
# fail a request nor expire the listing mid-walk. Prints one RESULT line.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib/common.bash"
prov=${1:?provider} n=${2:?count}
export CFS_TTL=${CFS_TTL:-3600} CFS_TIMEOUT=${CFS_TIMEOUT:-300}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cfs-mem.XXXXXX")
trap 'unmount_cfs; stop_fake; rm -rf "$WORK"' EXIT
FAKE_START_WAIT=900 start_fake --count 0 --"$prov" "$n" >/dev/null || { echo "the fake did not start"; exit 1; }
PROVIDERS=("$prov")
write_config || exit 1
mount_cfs || exit 1
sec=$(timeout 60 ls "$MNT" | head -1)
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$CFS_PID/status"; }

cnt=$(timeout 1800 ls -f "$MNT/$sec" | wc -l)
echo "cold ls -f: $cnt entries, VmHWM $(hwm) kB"
bytes=$(timeout 3600 find "$MNT/$sec" -name metadata.json -printf '%s\n' | awk '{s += $1} END {print s}')
echo "warm find: metadata.json bytes ${bytes:-?}, VmHWM $(hwm) kB"
mapfile -t f < <(timeout 60 ls -f "$MNT/$sec" | grep -v '^\.' | head -3)
exec 3<"$MNT/$sec/${f[0]}/metadata.json" 4<"$MNT/$sec/${f[1]}/metadata.json" \
    5<"$MNT/$sec/${f[2]}/metadata.json"
kill -HUP "$CFS_PID"
wait_for 30 grep -q 'SIGHUP: configuration read again' "$WORK/daemon.log" || { echo "SIGHUP not taken"; exit 1; }
cnt=$(timeout 1800 ls -f "$MNT/$sec" | wc -l)
echo "refresh with 3 files open: $cnt entries, VmHWM $(hwm) kB"
exec 3<&- 4<&- 5<&-
h=$(hwm)
echo "RESULT n=$n json_bytes=${bytes:-0} peak_kB=$h" \
    "over_json_B_per_collection=$(((h * 1024 - ${bytes:-0}) / n))" \
    "budget_kB=$(((${bytes:-0} + 256 * n + 32 * 1024 * 1024) / 1024))"
