#!/usr/bin/env bash
# Warm `cp -a` of N Honcho collections (0 ms) from two mounts of one fake, one
# with extended attributes (the default) and one with -o xattrs=no, and from a
# tmpfs copy of each: three rounds, taking turns (RESULTS.md section H).
# Asserts nothing; prints seconds. Needs root (tmpfs, FUSE).
#
#   [N=10000] [CFS_BIN=build-rel/collectionsfs] tests/bench/cp_xattrs.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CFS_BIN=$(realpath "${CFS_BIN:-${BIN:-$here/../../build-rel/collectionsfs}}")
source "$here/../lib/common.bash"
N=${N:-10000}
WORK=$(mktemp -d /tmp/cfs-cpx.XXXXXX)
T=$WORK/tmpfs
trap 'fusermount3 -uz "$WORK/nox" 2>/dev/null; unmount_cfs >/dev/null 2>&1; umount "$T" 2>/dev/null
      stop_fake; rm -rf --one-file-system "$WORK"' EXIT
FAKE_START_WAIT=120 start_fake --count 0 --honcho "$N" >/dev/null || exit 1
PROVIDERS=(honcho)
CFS_TTL=3600 write_config >/dev/null || exit 1
mount_cfs || exit 1
mkdir -p "$WORK/nox" "$T"
"$CFS_BIN" -c "$CONFIG" -o xattrs=no "$WORK/nox" || exit 1
wait_for 10 mountpoint -q "$WORK/nox" || exit 1
mount -t tmpfs tmpfs "$T" || exit 1
mkdir "$T/x" "$T/nox" "$T/dst"
for m in "$MNT" "$WORK/nox"; do timeout 600 ls -f "$m/honcho" >/dev/null || exit 1; done
cp -a "$MNT/honcho" "$T/x/" && cp -a "$WORK/nox/honcho" "$T/nox/" || exit 1
echo "attributes on the tmpfs copy: $(getfattr -R -d "$T/x/honcho" 2>/dev/null | grep -c collectionsfs)" \
    "with, $(getfattr -R -d "$T/nox/honcho" 2>/dev/null | grep -c collectionsfs) without"
# cp_s DIR: seconds of one `cp -a` of DIR to the tmpfs, the copy then removed
cp_s() {
    tm cp -a "$1" "$T/dst/c"
    rm -rf "$T/dst/c"
}
echo "round  mount  tmpfs(with attrs)  mount(xattrs=no)  tmpfs(no attrs)  (seconds)"
for k in 1 2 3; do
    echo "$k $(cp_s "$MNT/honcho") $(cp_s "$T/x/honcho") $(cp_s "$WORK/nox/honcho") $(cp_s "$T/nox/honcho")"
done
