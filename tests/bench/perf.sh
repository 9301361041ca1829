#!/usr/bin/env bash
# Performance benchmark of collectionsfs (issue 7): one run that measures the
# daemon and its yardsticks side by side and prints ONE table of ratios
# (collectionsfs / reference), written with the machine's facts to
# tests/bench/RESULTS.md. A benchmark, never part of the test suite: nothing
# here asserts a time; the targets column only says what the issue asks for.
#
# For every size N (default 10,000, 100,000 and 1,000,000) and per-response
# latency of the fake (default 20 ms and 0 ms) it measures, on the main
# provider (Honcho): cold `ls -f`, cold `ls -R`, cold find+cat, warm find,
# warm find+cat, warm `ls -lR`, cold and second `rsync -a`, warm `cp -a`; on the other providers
# the cold listing. References, in the same run: one sequential curl and one
# `curl --parallel --parallel-max 4` over the same pages (tests/bench/pages.py),
# and that again with --compressed (the fake compresses each page once, in an
# untimed pass before the timed ones, and keeps it: the same for the daemon),
# the same tree on tmpfs (a `cp -a` of the warm mount; cold `ls -R` also against
# curl + tmpfs `ls -R`, the floor under its target), `jq` over the same
# pages for CPU; requests per case from the fake's /_fake/stats; the daemon's
# peak RSS (VmHWM) against metadata.json bytes + 256 B/collection + 32 MiB;
# bytes on the wire per collection through a counting relay
# (tests/bench/byteproxy.py). At 1,000,000 only the cold listing of each
# provider, and for Fount the time to the first entry of a cold `ls -f`. The peers, rclone mount (:http: remote) and
# httpdirfs, mount the same collections as static files behind an HTML
# directory index with the same latency (tests/bench/dirserver.py), at a
# smaller N (--peer-size, default 1,000, for rclone; --httpdirfs-size, default
# 200, for httpdirfs: at 20 ms they take minutes beyond).
#
#   tests/bench/perf.sh [--quick] [--sizes 10000,100000,1000000] [--latencies 20,0]
#                       [--providers honcho,hivo,fount,scenario] [--main honcho|none]
#                       [--peer-size 1000|0]
#                       [--httpdirfs-size 200|0] [--out FILE] [--merge EARLIER_RESULTS.md]
#   CFS_BIN=/path/to/collectionsfs tests/bench/perf.sh ...
#
# --quick: N = 10,000 only. --main: the provider that gets every case (none: only
# the cold listings; the peers need one). --merge: the rows of an earlier RESULTS.md come
# first in the table (a run split in parts, e.g. --quick then --sizes 100000,1000000 --peer-size 0
# --httpdirfs-size 0). CFS_BIN defaults to this tree's release build
# (build-rel/collectionsfs, built when missing). Installs jq, curl, rclone,
# httpdirfs, rsync and time with apt-get when missing. Needs root (tmpfs, FUSE).
set -uo pipefail
ARGS="$*"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
CFS_BIN=${CFS_BIN:-$repo/build-rel/collectionsfs}
source "$here/../lib/common.bash"

sizes=10000,100000,1000000
latencies=20,0
provs=honcho,hivo,fount,scenario
main=honcho
peer_n=1000 # rclone mount
hdf_n=200   # httpdirfs: about 0.15 s per request here, 3-4 requests per collection
out=$here/RESULTS.md
merge=
TM_BOUND=900 # `timeout` of one measured operation (tm, tsh): a hang becomes "fail"
while [ $# -gt 0 ]; do
    case $1 in
    --quick) sizes=10000; shift ;;
    --sizes) sizes=$2; shift 2 ;;
    --latencies) latencies=$2; shift 2 ;;
    --providers) provs=$2; shift 2 ;;
    --main) main=$2; shift 2 ;;
    --peer-size) peer_n=$2; shift 2 ;;
    --httpdirfs-size) hdf_n=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --merge) merge=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "perf.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
IFS=, read -ra SIZES <<<"$sizes"
IFS=, read -ra LATS <<<"$latencies"
IFS=, read -ra BPROVS <<<"$provs"

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- setup

need_tools() {
    local missing=() t
    for t in jq:jq curl:curl rclone:rclone httpdirfs:httpdirfs rsync:rsync /usr/bin/time:time \
        fusermount3:fuse3; do
        command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -q >/dev/null 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null ||
            { echo "perf.sh: cannot install ${missing[*]}" >&2; exit 1; }
    fi
}
need_tools
if [ ! -x "$CFS_BIN" ]; then
    say "building $CFS_BIN"
    [ -d "$repo/build-rel" ] ||
        meson setup "$repo/build-rel" -Dbuildtype=release >/dev/null || exit 1
    ninja -C "$repo/build-rel" >/dev/null || exit 1
fi
[ "$(id -u)" -eq 0 ] || { echo "perf.sh: run as root (tmpfs and FUSE mounts)" >&2; exit 1; }

BENCH=$(mktemp -d /tmp/cfs-bench.XXXXXX)
ROWS=$BENCH/rows.tsv
: >"$ROWS"
TMPFS=$BENCH/tmpfs
mkdir -p "$TMPFS"
mount -t tmpfs -o size=8g,mode=0755 benchtmpfs "$TMPFS" || { echo "perf.sh: no tmpfs" >&2; exit 1; }
HELPERS=() # pids of the dir server, the relay, the peers
PEER_MNT=$BENCH/peer
mkdir -p "$PEER_MNT"

cleanup() {
    unmount_cfs >/dev/null 2>&1
    fusermount3 -uz "$PEER_MNT" 2>/dev/null
    local p
    for p in "${HELPERS[@]}"; do kill "$p" 2>/dev/null; done
    stop_fake
    umount -l "$TMPFS" 2>/dev/null
    rm -rf "$BENCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# mib KB: kilobytes as MiB. budget JSON_BYTES N: the RSS target in MiB. per BYTES N: bytes each.
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
budget() { awk -v j="$1" -v n="$2" 'BEGIN {printf "%.1f", (j + 256 * n) / 1048576 + 32}'; }
per() { awk -v b="$1" -v n="$2" 'BEGIN {printf "%.0f", b / n}'; }
# plus A B: two times in seconds added, for a curl + tmpfs reference
plus() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a + b}'; }
# hwm_kb PID: its peak resident set.
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo fail; }

# row N LAT CASE CFS REQUESTS REFERENCE REF_VALUE TARGET: one line of the table
# (the ratio is CFS / REF_VALUE, computed when the table is printed).
row() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"
    say "  $3: $4 (req $5) | $6: $7"
}

# fake_up ARGS...: a fresh fake (the previous one stopped) with these counts.
fake_up() {
    stop_fake
    unset WORK
    WORK=$BENCH/w$RANDOM
    say "fake: $*"
    FAKE_START_WAIT=600 start_fake "$@" || exit 1
}

# latency P MS: every response of P's API delayed by MS (0: none); zeroes counters.
latency() {
    fake_reset
    local s
    s=$(awk -v m="$2" 'BEGIN {print m / 1000}')
    [ "$2" = 0 ] || fault "{\"provider\": \"$1\", \"mode\": \"latency\", \"seconds\": $s}"
}

# cold P MS: a freshly mounted daemon with only P, nothing cached, counters zero.
cold() {
    unmount_cfs >/dev/null 2>&1
    PROVIDERS=("$1")
    CFS_TTL=3600 CFS_TIMEOUT=120 write_config >/dev/null || exit 1
    latency "$1" "$2"
    mount_cfs || { say "mount failed"; exit 1; }
}

# curl_refs P N MS: pages of P in $BENCH/pages/P (uncompressed); sets SEQ PAR
# ZPAR NPAGES (sequential, parallel and parallel --compressed curl seconds), JQ
# (jq CPU seconds), JSONB (metadata.json bytes of the listing), ZIP/RAW (bytes on
# the wire with and without --compressed).
curl_refs() {
    local p=$1 n=$2 ms=$3 dir=$BENCH/pages/$1 key opts max
    rm -rf "$dir"
    mkdir -p "$dir"
    PROVIDERS=("$p")
    write_config >/dev/null || exit 1
    max=$(provider_info "$p" max_page)
    latency "$p" 0
    mapfile -d '' opts < <(python3 "$here/pages.py" "$WORK/sections.json" "$p" "$n" "$max" "$dir")
    NPAGES=$(grep -c '^url' "$dir/urls.curl")
    # untimed, before any timed run: the fake compresses each page once and keeps
    # it (GzipCache), so no client below is timed for the fake's zlib
    ZIP=$(curl -sf --compressed --parallel --parallel-max 4 "${opts[@]}" -K "$dir/urls.curl" \
        -o /dev/null -w '%{size_download}\n' 2>/dev/null | awk '{s += $1} END {print s + 0}')
    latency "$p" "$ms"
    SEQ=$(tm curl -sf "${opts[@]}" -K "$dir/urls.curl")
    PAR=$(tm curl -sf --parallel --parallel-max 4 "${opts[@]}" -K "$dir/urls.curl")
    # the same, asking for gzip as the daemon does: the same bytes on the wire
    ZPAR=$(tm curl -sf --compressed --parallel --parallel-max 4 "${opts[@]}" -K "$dir/urls.curl")
    latency "$p" 0
    RAW=$(cat "$dir"/p*.json | wc -c)
    key=$(list_key "$p")
    JQ=$(/usr/bin/time -f '%U %S' jq -c "$key" "$dir"/p*.json 2>&1 >/dev/null | tail -1 |
        awk '{printf "%.2f", $1 + $2}')
    JSONB=$(python3 - "$dir" "$key" "$TESTS_DIR" <<'PY'
import glob, json, sys
sys.path.insert(0, sys.argv[3])
from fake_providers import pretty
key = sys.argv[2].strip(".[]")
n = 0
for f in sorted(glob.glob(sys.argv[1] + "/p*.json")):
    d = json.load(open(f))
    for o in (d[key] if key else d):
        n += len(pretty(json.dumps(o, ensure_ascii=False)).encode())
print(n)
PY
)
    say "  $p: $NPAGES pages, curl sequential $SEQ s, parallel $PAR s (gzip $ZPAR s), jq $JQ s CPU"
}

# listing P N MS: the cold listing of P against curl, its CPU against jq, its RSS.
listing() {
    local p=$1 n=$2 ms=$3 t req cpu hwm cnt ref refname target
    curl_refs "$p" "$n" "$ms"
    cold "$p" "$ms"
    t=$(tsh "ls -f '$MNT/$p' | wc -l > '$BENCH/count'")
    req=$(requests "$p")
    cpu=$(cpu_s "$CFS_PID")
    hwm=$(hwm_kb "$CFS_PID")
    cnt=$(($(cat "$BENCH/count" 2>/dev/null || echo 2) - 2))
    [ "$cnt" -eq "$n" ] || say "  WARNING: ls -f showed $cnt collections of $p, want $n"
    if [ "$p" = scenario ]; then
        ref=$SEQ refname="curl sequential" target="≤ 1.1×"
    else
        ref=$PAR refname="curl --parallel 4" target="≤ 1.2×"
    fi
    row "$n" "$ms" "$p: cold \`ls -f\` (s)" "$t" "$req" "$refname ($NPAGES pages)" "$ref" "$target"
    [ "$p" = scenario ] ||
        row "$n" "$ms" "$p: cold \`ls -f\` (s)" "$t" "$req" "curl --compressed --parallel 4" "$ZPAR" "–"
    [ "$p" = scenario ] ||
        row "$n" "$ms" "$p: cold \`ls -f\` (s)" "$t" "$req" "curl sequential" "$SEQ" "–"
    row "$n" "$ms" "$p: daemon CPU, cold listing (s)" "$cpu" "" "jq over the pages" "$JQ" "≤ 0.5×"
    row "$n" "$ms" "$p: peak RSS after the listing (MiB)" "$(mib "$hwm")" "" \
        "json + 256 B/coll + 32 MiB" "$(budget "$JSONB" "$n")" "≤ 1×"
    LISTING_T=$t
}

# wire P N: bytes from the fake to the daemon per collection, through the relay.
wire() {
    local p=$1 n=$2 port cnt
    cold "$p" 0
    unmount_cfs >/dev/null 2>&1
    rm -f "$BENCH/relay.port" "$BENCH/relay.count"
    python3 "$here/byteproxy.py" --target "$FAKE_PORT" --port-file "$BENCH/relay.port" \
        --count-file "$BENCH/relay.count" &
    local rp=$!
    HELPERS+=("$rp")
    wait_for 10 test -s "$BENCH/relay.port" || { say "relay did not start"; return; }
    port=$(cat "$BENCH/relay.port")
    sed -i "s#127.0.0.1:$FAKE_PORT/#127.0.0.1:$port/#" "$CONFIG"
    mount_cfs || exit 1
    timeout "$TM_BOUND" ls -f "$MNT/$p" >/dev/null
    kill -USR1 "$rp"
    wait_for 10 test -s "$BENCH/relay.count"
    cnt=$(awk '{print $2}' "$BENCH/relay.count")
    unmount_cfs >/dev/null 2>&1
    kill "$rp" 2>/dev/null
    row "$n" 0 "$p: bytes on the wire per collection" "$(per "$cnt" "$n")" "" \
        "uncompressed JSON (curl --compressed: $(per "$ZIP" "$n"))" "$(per "$RAW" "$n")" "≤ 0.25×"
}

# tree P N: the warm mount of P copied once into tmpfs ($TMPFS/N/P): the same tree.
tree() {
    local dst=$TMPFS/$2
    [ -d "$dst/$1" ] && return 0
    mkdir -p "$dst"
    timeout "$TM_BOUND" cp -a "$MNT/$1" "$dst/" || say "  WARNING: cp -a of the mount failed"
}

# everything P N MS: the full set of cases on the main provider.
everything() {
    local p=$1 n=$2 ms=$3 t r0 tt req hwm d=$TMPFS/$2
    listing "$p" "$n" "$ms"
    cold "$p" "$ms"
    t=$(tm ls -R "$MNT/$p")
    row "$n" "$ms" "$p: cold \`ls -R\` (s)" "$t" "$(requests "$p")" "curl --parallel 4" "$PAR" \
        "≤ 1.2×"
    # The floor under that target: `ls -R` sorts a directory before it descends, so even a
    # filesystem that cost nothing per directory would take the pages plus tmpfs's own walk.
    tree "$p" "$n"
    tt=$(tm ls -R "$d/$p")
    row "$n" "$ms" "$p: cold \`ls -R\` (s)" "$t" "$(requests "$p")" "curl --parallel 4 + tmpfs ls -R" \
        "$(plus "$PAR" "$tt")" "–"
    cold "$p" "$ms"
    t=$(tm find "$MNT/$p" -name metadata.json -exec cat {} +)
    tt=$(tm find "$d/$p" -name metadata.json -exec cat {} +)
    row "$n" "$ms" "$p: cold find+cat (s)" "$t" "$(requests "$p")" "curl --parallel 4 + tmpfs find+cat" \
        "$(plus "$PAR" "$tt")" "≤ 1.5×"
    # warm: the same mount, listing within its TTL
    r0=$(requests "$p")
    t=$(tm find "$MNT/$p")
    row "$n" "$ms" "$p: warm find (s)" "$t" "$(($(requests "$p") - r0))" "tmpfs" \
        "$(tm find "$d/$p")" "≤ 1.5×"
    r0=$(requests "$p")
    t=$(tm find "$MNT/$p" -name metadata.json -exec cat {} +)
    row "$n" "$ms" "$p: warm find+cat (s)" "$t" "$(($(requests "$p") - r0))" "tmpfs" \
        "$(tm find "$d/$p" -name metadata.json -exec cat {} +)" "≤ 1.5×"
    r0=$(requests "$p")
    row "$n" "$ms" "$p: warm \`ls -lR\` (s)" "$(tm ls -lR "$MNT/$p")" "$(($(requests "$p") - r0))" \
        "tmpfs" "$(tm ls -lR "$d/$p")" "≤ 1.5×"
    # a backup's first run, from a cold mount, then its second run
    rm -rf "$TMPFS/rs1" "$TMPFS/rs2"
    cold "$p" "$ms"
    t=$(tm rsync -a "$MNT/$p/" "$TMPFS/rs1/")
    tt=$(tm rsync -a "$d/$p/" "$TMPFS/rs2/")
    row "$n" "$ms" "$p: cold \`rsync -a\` (s)" "$t" "$(requests "$p")" \
        "curl --parallel 4 + tmpfs rsync -a" "$(plus "$PAR" "$tt")" \
        "≤ 1.5×"
    r0=$(requests "$p")
    t=$(tm rsync -a "$MNT/$p/" "$TMPFS/rs1/")
    req=$(($(requests "$p") - r0))
    row "$n" "$ms" "$p: second \`rsync -a\` (s)" "$t" "$req" "tmpfs" \
        "$(tm rsync -a "$d/$p/" "$TMPFS/rs2/")" "≤ 2×"
    rm -rf "$TMPFS/rs1" "$TMPFS/rs2"
    # cp -a also copies every user.collectionsfs.* attribute: one listxattr and
    # one getxattr per attribute per node reach the daemon
    r0=$(requests "$p")
    t=$(tm cp -a "$MNT/$p" "$TMPFS/cp1")
    req=$(($(requests "$p") - r0))
    row "$n" "$ms" "$p: warm \`cp -a\` (s)" "$t" "$req" "tmpfs" "$(tm cp -a "$d/$p" "$TMPFS/cp2")" "–"
    rm -rf "$TMPFS/cp1" "$TMPFS/cp2"
    hwm=$(hwm_kb "$CFS_PID")
    row "$n" "$ms" "$p: peak RSS after all cases (MiB)" "$(mib "$hwm")" "" \
        "json + 256 B/coll + 32 MiB" "$(budget "$JSONB" "$n")" "≤ 1×"
    unmount_cfs >/dev/null 2>&1
}

# first_entry P N MS: time to the first entry of a cold `ls -f` (million-collection case).
first_entry() {
    local p=$1 n=$2 ms=$3
    cold "$p" "$ms"
    local t
    t=$(tsh "ls -f '$MNT/$p' | head -1")
    row "$n" "$ms" "$p: cold \`ls -f\`, first entry (\`head -1\`) (s)" "$t" "$(requests "$p")" \
        "target" "1" "< 1 s"
    unmount_cfs >/dev/null 2>&1
}

# ---------------------------------------------------------------- peers

# peers N MS KIND...: collectionsfs and the peers (rclone, httpdirfs) over the same N collections.
peers() {
    local n=$1 ms=$2 p=$main url port dp t k
    shift 2
    fake_up --count 0 --"$p" "$n"
    cold "$p" "$ms"
    local c_ls c_ls_r c_fc c_fc_r
    c_ls=$(tm ls -R "$MNT/$p")
    c_ls_r=$(requests "$p")
    cold "$p" "$ms"
    c_fc=$(tm find "$MNT/$p" -name metadata.json -exec cat {} +)
    c_fc_r=$(requests "$p")
    tree "$p" "peer$n"
    unmount_cfs >/dev/null 2>&1
    rm -f "$BENCH/dir.port"
    python3 "$here/dirserver.py" --root "$TMPFS/peer$n/$p" --port-file "$BENCH/dir.port" \
        --latency "$(awk -v m="$ms" 'BEGIN {print m / 1000}')" &
    dp=$!
    HELPERS+=("$dp")
    wait_for 10 test -s "$BENCH/dir.port" || { say "dir server did not start"; return; }
    port=$(cat "$BENCH/dir.port")
    url=http://127.0.0.1:$port/
    for k in "$@"; do
        for case in ls find; do
            fusermount3 -uz "$PEER_MNT" 2>/dev/null
            curl -s "${url}_count" >"$BENCH/r0"
            if [ "$k" = rclone ]; then
                rclone mount :http: "$PEER_MNT" --http-url "$url" --read-only --config /dev/null \
                    >"$BENCH/rclone.log" 2>&1 &
            else
                httpdirfs -f "$url" "$PEER_MNT" >"$BENCH/httpdirfs.log" 2>&1 &
            fi
            HELPERS+=($!)
            wait_for 20 mountpoint -q "$PEER_MNT" || { say "$k did not mount"; continue 2; }
            local r0
            r0=$(($(curl -s "${url}_count")))
            if [ "$case" = ls ]; then
                t=$(tm ls -R "$PEER_MNT")
                row "$n" "$ms" "peers: cold \`ls -R\` (s)" "$c_ls" "$c_ls_r" \
                    "$k ($(($(curl -s "${url}_count") - r0)) req)" "$t" "–"
            else
                t=$(tm find "$PEER_MNT" -name metadata.json -exec cat {} +)
                row "$n" "$ms" "peers: cold find+cat (s)" "$c_fc" "$c_fc_r" \
                    "$k ($(($(curl -s "${url}_count") - r0)) req)" "$t" "–"
            fi
            fusermount3 -uz "$PEER_MNT" 2>/dev/null
            wait_for 10 bash -c "! kill -0 ${HELPERS[-1]} 2>/dev/null" ||
                kill -9 "${HELPERS[-1]}" 2>/dev/null
        done
    done
    kill "$dp" 2>/dev/null
    rm -rf "${TMPFS:?}/peer$n"
}

# ---------------------------------------------------------------- the table

table() {
    echo "| N | latency | case | collectionsfs | requests | reference | reference value | ratio |" \
        "target |"
    echo "|---:|---:|---|---:|---:|---|---:|---:|---|"
    [ -z "$merge" ] || grep -E '^\| [0-9]+ \| ' "$merge"
    awk -F'\t' '{
        ok = $4 ~ /^[0-9.]+$/ && $7 ~ /^[0-9.]+$/ && $7 + 0 > 0
        r = ok ? sprintf("%.2f×", $4 / $7) : "–"
        printf "| %s | %s ms | %s | %s | %s | %s | %s | %s | %s |\n",
            $1, $2, $3, $4, ($5 == "" ? "–" : $5), $6, $7, r, $8
    }' "$ROWS"
}
write_results() {
    local commit dirty cpu mem tools
    commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
    dirty=$(git -C "$repo" status --porcelain -- src 2>/dev/null | grep -q . && echo " (src modified)")
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
    mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
    tools="$(curl --version | head -1 | cut -d' ' -f1-2), $(jq --version)"
    tools+=", rclone $(rclone version 2>/dev/null | head -1 | awk '{print $2}')"
    tools+=", httpdirfs $(httpdirfs --version 2>&1 | head -1 | awk '{print $3}')"
    {
        echo "# collectionsfs benchmark results"
        echo
        echo "Written by \`tests/bench/perf.sh $ARGS\`;"
        echo "ratio = collectionsfs / reference (lower is better)."
        echo "Not a test: one run on a shared machine; repeat before drawing fine conclusions."
        echo
        echo "- date: $start"
        echo "- commit: $commit$dirty; binary: $(basename "$(dirname "$CFS_BIN")")/$(basename "$CFS_BIN")"
        echo "- machine: $(nproc) cores, $cpu, $mem, kernel $(uname -r)$(vm_policy)"
        echo "- tools: $tools"
        echo "- load average (1, 5, 15 min) at the start: $load0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
        [ -z "$merge" ] || echo "- rows before this run's: $(grep -m1 -A1 '^Written by' "$merge" |
            cut -d'`' -f2 | head -1), $(grep -m1 '^- date' "$merge" | cut -c3-)"
        echo "- sizes: ${SIZES[*]}; latencies: ${LATS[*]} ms per response; providers: ${BPROVS[*]}"
        echo "  (every case on $main); rclone at $peer_n, httpdirfs at $hdf_n collections"
        echo
        table
        echo
        echo "Notes: cold = a fresh mount (nothing cached in the daemon or the kernel). warm = the"
        echo "same mount right after the cold find+cat, listing within its TTL (3600 s). requests ="
        echo "requests the fake saw for the case (warm: the increase). tmpfs = \`cp -a\` of the warm"
        echo "mount. The 1,000,000 rows are the cold listings, one provider's fake at a time (Fount:"
        echo "500 requests per minute; the fake reports X-RateLimit-Remaining but never answers 429;"
        echo "curl is not paced, the daemon is). Peers: rclone mount (:http:) and httpdirfs over the same collections"
        echo "served as static files behind an HTML index with the same latency, at the N of their"
        echo "rows only (they take minutes beyond); requests in their reference column are the"
        echo "static server's count. Bytes on the wire: what the daemon received through a"
        echo "counting TCP relay, at 0 ms; the fake gzips every page a client accepts gzip for (each body once, then kept)."
    } >"$out.tmp"
    mv "$out.tmp" "$out"
}

# ---------------------------------------------------------------- the run

start=$(date -u '+%Y-%m-%d %H:%M UTC')
load0=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -n "$merge" ]; then # the earlier file may be $out itself
    cp "$merge" "$BENCH/merge.md" || exit 1
    merge=$BENCH/merge.md
fi
say "collectionsfs: $CFS_BIN"
nonzero=
for ms in "${LATS[@]}"; do [ "$ms" != 0 ] && { nonzero=$ms; break; }; done
if [ "$main" = none ]; then
    peer_n=0 hdf_n=0
fi
if [ "$peer_n" -gt 0 ] && [ "$peer_n" = "$hdf_n" ]; then
    say "peers at $peer_n collections, ${nonzero:-0} ms"
    peers "$peer_n" "${nonzero:-0}" rclone httpdirfs
else
    [ "$peer_n" -gt 0 ] && say "rclone at $peer_n collections, ${nonzero:-0} ms" &&
        peers "$peer_n" "${nonzero:-0}" rclone
    [ "$hdf_n" -gt 0 ] && say "httpdirfs at $hdf_n collections, ${nonzero:-0} ms" &&
        peers "$hdf_n" "${nonzero:-0}" httpdirfs
fi
write_results
for n in "${SIZES[@]}"; do
    if [ "$n" -ge 1000000 ]; then
        # the cold listing only, one provider's fake at a time (a million items
        # take the fake gigabytes), at the first latency that is not 0
        ms=${nonzero:-0}
        for p in "${BPROVS[@]}"; do
            fake_up --count 0 --"$p" "$n"
            say "N=$n $p, $ms ms"
            [ "$p" = fount ] && first_entry fount "$n" "$ms"
            listing "$p" "$n" "$ms"
            write_results
        done
        continue
    fi
    args=(--count 0)
    for p in "${BPROVS[@]}"; do args+=(--"$p" "$n"); done
    fake_up "${args[@]}"
    for ms in "${LATS[@]}"; do
        for p in "${BPROVS[@]}"; do
            say "N=$n $p, $ms ms"
            if [ "$p" = "$main" ]; then everything "$p" "$n" "$ms"; else listing "$p" "$n" "$ms"; fi
            [ "$n" = "${SIZES[0]}" ] && [ "$ms" = "${LATS[-1]}" ] && wire "$p" "$n"
        done
    done
    rm -rf "${TMPFS:?}/$n"
    write_results
done
stop_fake
write_results

echo
table
say "written to $out"
