#!/bin/sh
# The demo: build collectionsfs, start the bundled sample providers on
# loopback, mount them, and show what a user sees. Unmounts at the end unless
# --keep is given (then: fusermount3 -u DIR, and kill the printed pids).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
keep=${1:-}

contrib/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

demo=$(mktemp -d /tmp/collectionsfs-demo.XXXXXX)
mnt="$demo/mnt"
mkdir -p "$mnt"
fake=
cleanup() {
    fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null || true
    [ -z "$fake" ] || kill "$fake" 2>/dev/null || true
}
# the providers go with the demo also when it fails before the end
trap cleanup EXIT
python3 tests/fake_providers.py --port 0 --port-file "$demo/port" --sample >"$demo/providers.log" 2>&1 &
fake=$!
i=0
while [ ! -s "$demo/port" ]; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "sample providers did not start"; exit 1; }
    sleep 0.1
done
port=$(cat "$demo/port")
sed "s|@URL@|http://127.0.0.1:$port|" contrib/demo.conf >"$demo/config"
chmod 600 "$demo/config"

build/collectionsfs -c "$demo/config" "$mnt"
[ "$keep" != "--keep" ] || trap - EXIT

echo "== collectionsfs mounted on $mnt (sample providers on 127.0.0.1:$port)"
echo "\$ ls $mnt"
ls "$mnt"
echo
echo "\$ ls -l $mnt/*"
timeout 30 ls -l "$mnt"/*
echo
first=$(timeout 30 find "$mnt/honcho" -name metadata.json | sort | head -n 1)
echo "\$ cat '$first'"
timeout 30 cat "$first"
echo
echo "\$ grep -rl moodboard $mnt"
timeout 30 grep -rli moodboard "$mnt" || true
echo
echo "\$ collectionsfs --status $mnt"
timeout 30 build/collectionsfs --status "$mnt" || true
echo
if [ "$keep" = "--keep" ]; then
    echo "left mounted: fusermount3 -u $mnt; kill $fake  (providers)"
else
    echo "unmounting (run 'contrib/demo.sh --keep' to keep it)"
fi
