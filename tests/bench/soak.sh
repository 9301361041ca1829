#!/usr/bin/env bash
# Whether the daemon's memory, file descriptors and threads stay bounded over
# many refreshes that change the listing, with readers holding files open.
#
#   CFS_BIN=build-rel/collectionsfs tests/bench/soak.sh [PROVIDER [N [CYCLES]]]
#   defaults: honcho 10000 60
#
# Mounts N collections of one provider (ttl 2 s) and runs CYCLES rounds. Each
# round changes the account at the fake (50 renames to names of 20 bytes, which
# change metadata.json sizes; 10 deletions and 10 additions, so N stays), then
# makes the daemon see it (odd rounds by letting the ttl pass, even rounds by
# SIGHUP), and reads the whole tree as a user would: `ls -f` of the section, a
# `find -printf %s` (every inode referenced; it sums the metadata.json bytes),
# `cat` of 100 metadata.json files, and three files held open across the round
# (the oldest closed, a new one opened). The entry count is checked against the
# fake every round. After each round it samples the daemon's VmRSS, open
# descriptors and threads, and the inodes the kernel references. A leak shows
# as growth that goes on after the first rounds, so the RESULT line compares
# the last round with round 10 (the allocator's high-water mark is reached by
# then), less what the metadata.json bytes themselves grew by (the renamed
# names are not as long as the fake's).
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib/common.bash"
prov=${1:-honcho} n=${2:-10000} cycles=${3:-60}
[ "$cycles" -ge 12 ] || { echo "soak.sh: at least 12 cycles (round 10 is the reference)"; exit 2; }
export CFS_TTL=2 CFS_TIMEOUT=${CFS_TIMEOUT:-60}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cfs-soak.XXXXXX")
trap 'exec 3<&- 4<&- 5<&-; unmount_cfs; stop_fake; rm -rf "$WORK"' EXIT
FAKE_START_WAIT=300 start_fake --count 0 --"$prov" "$n" >/dev/null || { echo "the fake did not start"; exit 1; }
PROVIDERS=("$prov")
fake_post /_fake/config "{\"provider\": \"$prov\", \"gzip\": false}" >/dev/null
write_config || exit 1
mount_cfs || exit 1
sec=$(timeout 60 ls "$MNT" | head -1)
fake_get "/_fake/expect?provider=$prov" | python3 -c '
import json, sys
json.dump([o["id"] for o in json.load(sys.stdin)], open(sys.argv[1], "w"))' "$WORK/ids.json"

# change ROUND: one round of changes at the fake; the ids left stay in ids.json.
change() {
    python3 - "$WORK/ids.json" "$1" "$prov" "$FAKE_URL" <<'EOF'
import json, random, sys, urllib.request
path, rnd, prov, url = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ids = json.load(open(path))
r = random.Random(rnd)
def post(body):
    req = urllib.request.Request(url + "/_fake/config", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=60))
gone = set(r.sample(ids, 10))
renamed = {i: "soak %06d %08x" % (rnd, r.getrandbits(32))
           for i in r.sample([i for i in ids if i not in gone], 50)}
post({"provider": prov, "delete": sorted(gone), "rename": renamed})
ids = [i for i in ids if i not in gone]
for k in range(10):
    ids += post({"provider": prov, "add": {"name": "added %d.%d" % (rnd, k)}})["added"]
json.dump(ids, open(path, "w"))
EOF
}

fetched() { getfattr --only-values -n user.collectionsfs.fetched_at "$MNT/$sec" 2>/dev/null; }
# sample ROUND ENTRIES JSON_BYTES: one row; inodes is what the kernel references (statfs's f_files)
sample() {
    printf '%5s %9s %8s %5s %7s %8s %8s\n' "$1" "$(rss_kb)" "$(($3 / 1024))" \
        "$(ls "/proc/$CFS_PID/fd" | wc -l)" "$(awk '/^Threads:/ {print $2}' "/proc/$CFS_PID/status")" \
        "$2" "$(stat -f -c %c "$MNT")"
}

timeout 600 ls -f "$MNT/$sec" >/dev/null || { echo "the first listing failed"; exit 1; }
mapfile -t f < <(timeout 60 ls -f "$MNT/$sec" | grep -v '^\.' | head -3)
exec 3<"$MNT/$sec/${f[0]}/metadata.json" 4<"$MNT/$sec/${f[1]}/metadata.json" \
    5<"$MNT/$sec/${f[2]}/metadata.json"
echo "soak: $prov, $n collections, $cycles rounds, $(nproc) cores, $(uname -r)"
printf '%5s %9s %8s %5s %7s %8s %8s\n' round rss_kB json_kB fds threads entries inodes
declare -A at
for ((i = 1; i <= cycles; i++)); do
    change "$i" || { echo "round $i: the fake refused the change"; exit 1; }
    before=$(fetched)
    if ((i % 2)); then
        # the ttl passes; the next access starts the refresh and waits one budget for it
        wait_for 30 bash -c "[ \"\$(getfattr --only-values -n user.collectionsfs.fetched_at '$MNT/$sec' 2>/dev/null)\" != '$before' ] || { stat '$MNT/$sec' >/dev/null; false; }" ||
            { echo "round $i: no refresh after the ttl"; exit 1; }
    else
        hup || exit 1
    fi
    want=$(fake_get "/_fake/expect?provider=$prov&count=1")
    wait_for 60 bash -c "[ \"\$(timeout 60 ls -f '$MNT/$sec' | grep -vc '^\.\.\?$')\" = '$want' ]" ||
        { echo "round $i: the listing never showed $want entries"; exit 1; }
    bytes=$(timeout 600 find "$MNT/$sec" -name metadata.json -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    timeout 120 ls -f "$MNT/$sec" | grep -v '^\.' | shuf -n 100 --random-source=<(yes "$i") |
        while read -r d; do cat "$MNT/$sec/$d/metadata.json" >/dev/null 2>&1; done
    # the oldest open file goes, a new one comes (it may have been renamed away: then
    # what it held is read by inode, or ESTALE after two refreshes, both fine here)
    cat <&3 >/dev/null 2>&1
    exec 3<&4 4<&5 5<&-
    new=$(timeout 60 ls -f "$MNT/$sec" | grep -v '^\.' | shuf -n 1 --random-source=<(yes "$i"))
    exec 5<"$MNT/$sec/$new/metadata.json"
    line=$(sample "$i" "$want" "$bytes")
    echo "$line"
    at[$i]=$line
done
read -r _ rss10 json10 fd10 th10 _ <<<"${at[10]}"
read -r _ rssN jsonN fdN thN _ <<<"${at[$cycles]}"
echo "RESULT provider=$prov n=$n rounds=$cycles rss_round10_kB=$rss10 rss_last_kB=$rssN" \
    "rss_ratio=$(awk -v a="$rssN" -v b="$rss10" 'BEGIN {printf "%.3f", a / b}')" \
    "growth_beyond_json_kB=$((rssN - rss10 - (jsonN - json10)))" \
    "fds_round10=$fd10 fds_last=$fdN threads_round10=$th10 threads_last=$thN"
