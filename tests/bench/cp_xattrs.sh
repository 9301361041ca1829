#!/bin/bash
# tests/bench/cp_xattrs.sh: [N=10000] [BIN=build-rel/collectionsfs] (needs root: tmpfs, FUSE)
# warm cp -a of N honcho collections, 3 rounds interleaved: the mount with
# xattrs (default), the mount with -o xattrs=no, and tmpfs copies of each
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$top/build-rel/collectionsfs}
N=${N:-10000}
W=$(mktemp -d)
trap 'for m in $W/m1 $W/m2; do fusermount3 -uz $m 2>/dev/null; done; umount $W/t 2>/dev/null; kill $FP 2>/dev/null; rm -rf --one-file-system $W' EXIT
python3 "$top/tests/fake_providers.py" --port 0 --port-file $W/port --honcho $N >/dev/null 2>&1 & FP=$!
for i in $(seq 50); do [ -s $W/port ] && break; sleep 0.1; done
P=$(cat $W/port)
{ printf '[global]\nttl = 3600\n'; curl -s "http://127.0.0.1:$P/_fake/config-sections?provider=honcho"; } > $W/config
mkdir $W/m1 $W/m2 $W/t
$BIN -c $W/config $W/m1
$BIN -c $W/config -o xattrs=no $W/m2
mount -t tmpfs tmpfs $W/t; mkdir $W/t/x $W/t/nox $W/t/dst
ls -f $W/m1/honcho >/dev/null; ls -f $W/m2/honcho >/dev/null
cp -a $W/m1/honcho $W/t/x/; cp -a $W/m2/honcho $W/t/nox/
echo "attributes on the tmpfs copy: $(getfattr -R -d $W/t/x/honcho 2>/dev/null | grep -c collectionsfs) vs $(getfattr -R -d $W/t/nox/honcho 2>/dev/null | grep -c collectionsfs)"
t() { local s=$(date +%s.%N); cp -a "$1" $W/t/dst/c; local e=$(date +%s.%N); rm -rf $W/t/dst/c; awk "BEGIN { printf \"%.2f\", $e - $s }"; }
echo "round  mount  tmpfs(with attrs)  mount(xattrs=no)  tmpfs(no attrs)  (seconds)"
for k in 1 2 3; do
  echo "$k $(t $W/m1/honcho) $(t $W/t/x/honcho) $(t $W/m2/honcho) $(t $W/t/nox/honcho)"
done
