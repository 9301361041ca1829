#!/usr/bin/env bats
# The kernel's caches (DESIGN §3, "What the kernel keeps"): within the ttl a
# warm traversal is answered by the kernel alone, and a change at the provider
# still reaches it exactly: new names, sizes, times and bytes, no torn read, no
# entry skipped or repeated by a directory read that a refresh interrupts.
# The daemon runs with -d, so its log holds one "opcode:" line per FUSE request.

load '../lib/common'

teardown() {
    [ -z "${READER:-}" ] || kill "$READER" 2>/dev/null # a file held open keeps the mount busy
    teardown_mount
}

# warm_requests: FUSE requests since log line $MARK besides STATFS (which the
# kernel never caches: find and ls ask it once per run, of tmpfs too), the
# xattr probes of the first file `ls -l` looks at (the root here: its SELinux
# label and ACL answer EOPNOTSUPP, which ls then caches for the file system),
# and FORGETs, which the kernel sends when it pleases and nobody waits for.
warm_requests() {
    tail -n +"$MARK" "$WORK/daemon.log" | grep 'opcode:' |
        grep -vE 'opcode: (STATFS|FORGET|BATCH_FORGET) ' | grep -v 'opcode: GETXATTR (22), nodeid: 1,' || true
}

# told: what the daemon told the kernel to forget since log line $MARK (-d logs each).
told() { tail -n +"$MARK" "$WORK/daemon.log" | grep ' kernel told to forget ' || true; }

# only_reclaimed REQUESTS: every request is a READ or READDIRPLUS, which is all
# a page the kernel reclaimed on its own costs: a guest that pages out idle page
# cache takes cached directory reads and file pages from a warm tree
# (RESULTS.md section P). The daemon told it nothing (checked apart), so a
# walk again must then cost nothing; any other request is the daemon's doing.
only_reclaimed() { ! grep -vqE 'opcode: (READ|READDIRPLUS) \(' <<<"$1"; }

# slow_get PATH: a control request on the fake that may take a while (100,000 collections).
slow_get() { curl -sf --max-time 300 "$FAKE_URL$1"; }

# ops_on INO...: FUSE requests on these inodes since log line $MARK.
ops_on() {
    local ino pat=""
    for ino in "$@"; do pat+="${pat:+|}nodeid: $ino,"; done
    tail -n +"$MARK" "$WORK/daemon.log" | grep -E "opcode: .*($pat)" || true
}

warm() { timeout 60 find "$MNT" -name metadata.json -exec cat {} + >/dev/null; }

# paused_reader DIR FIRST SECONDS: read DIR in the background (os.scandir)
# into $WORK/read.txt, one name a line; returns once the reader has taken
# FIRST names and paused, which it does until reader_goes_on (at most SECONDS).
paused_reader() {
    timeout $((2 * $3 + 60)) python3 - "$1" "$2" "$WORK/go" "$WORK/done" "$3" >"$WORK/read.txt" <<'PY' &
import os, sys, time
path, first, go, done, most = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
names = []
with os.scandir(path) as it:
    for e in it:
        names.append(e.name)
        if len(names) == first:
            open(go, "w").close()
            end = time.monotonic() + most
            while not os.path.exists(done):
                if time.monotonic() > end:
                    sys.exit("the test never changed the provider")
                time.sleep(0.05)
print("\n".join(names))
PY
    READER=$!
    wait_for "$3" test -e "$WORK/go"
}

# reader_goes_on: let paused_reader's reader read the rest, and wait for it.
reader_goes_on() {
    touch "$WORK/done"
    wait "$READER"
    READER=
}

@test "kernel: a warm find, find+cat and ls -lR send no request to the daemon" {
    CFS_TTL=3600 setup_fake --count 200
    mount_cfs -d
    warm
    timeout 60 ls -lR "$MNT" >/dev/null
    fake_reset
    local start got i
    start=$(($(wc -l <"$WORK/daemon.log") + 1))
    for i in 1 2 3; do
        MARK=$(($(wc -l <"$WORK/daemon.log") + 1))
        warm
        timeout 60 find "$MNT" >/dev/null
        timeout 60 ls -lR "$MNT" >/dev/null
        got=$(warm_requests)
        [ -n "$got" ] && only_reclaimed "$got" || break
    done
    [ -z "$got" ] || {
        echo "FUSE requests on a warm tree, walk $i:"
        echo "$got"
        return 1
    }
    MARK=$start
    [ -z "$(told)" ] || {
        echo "an unchanged tree, and the kernel was told to forget:"
        told
        return 1
    }
    [ "$(requests_besides)" -eq 0 ]
}

@test "kernel: a change reaches the kernel exactly; unchanged collections get no request" {
    CFS_TTL=3600 setup_fake --count 40
    mount_cfs -d
    local p=${PROVIDERS[0]} a b keep name_a name_b
    a=$(item_at "$p" 3 id)
    b=$(item_at "$p" 7 id)
    name_a=$(item_at "$p" 3 name)
    name_b=$(item_at "$p" 7 name)
    warm
    # the inodes of collections that will not change: their dirs and files
    keep=()
    local names=()
    for i in 10 20 30; do
        local n
        n=$(item_at "$p" $i name)
        names+=("$n")
        keep+=("$(stat -c %i "$MNT/$p/$n")" "$(stat -c %i "$MNT/$p/$n/metadata.json")")
    done
    local old_size
    old_size=$(stat -c %s "$MNT/$p/$name_b/metadata.json")
    # a longer name (name, size and mtime change) and one of the same length
    rename_item "$p" "$a" "$name_a, renamed to something longer"
    rename_item "$p" "$b" "$(echo "$name_b" | tr 'a-zA-Z' 'b-zaB-ZA')"
    local new_b
    new_b=$(item_at "$p" 7 name)
    hup
    MARK=$(($(wc -l <"$WORK/daemon.log") + 1))
    local gone=("$name_a")
    [ "$new_b" = "$name_b" ] || gone+=("$name_b")
    wait_for "$BOUND" renamed "$MNT/$p" "$name_a, renamed to something longer" "${gone[@]}" || {
        echo "the renames never showed whole:"
        ls "$MNT/$p"
        return 1
    }
    [ -d "$MNT/$p/$name_a, renamed to something longer" ] && [ -d "$MNT/$p/$new_b" ]
    # exactly the provider's new bytes, size and time
    same_bytes "$p" 3
    same_bytes "$p" 7
    [ "$(stat -c %s "$MNT/$p/$new_b/metadata.json")" -eq "$old_size" ] || [ "$new_b" = "$name_b" ]
    # the unchanged ones: the kernel was told to forget none of them, and
    # answers a walk alone (a second or third walk, if it reclaimed a page)
    local forgot got
    forgot=$(told | grep -E " inode ($(
        IFS='|'
        echo "${keep[*]}"
    ))\$" || true)
    for i in "${names[@]}"; do forgot+=$(told | grep -F "name \"$i\" in" || true); done
    [ -z "$forgot" ] || {
        echo "the kernel was told to forget unchanged collections:"
        echo "$forgot"
        return 1
    }
    for i in 1 2 3; do
        warm
        got=$(ops_on "${keep[@]}")
        [ -n "$got" ] && only_reclaimed "$got" || break
        MARK=$(($(wc -l <"$WORK/daemon.log") + 1))
    done
    [ -z "$got" ] || {
        echo "requests on unchanged collections:"
        echo "$got"
        # their whole history, to tell what dropped the kernel's copy
        MARK=1 ops_on "${keep[@]}" | tail -n 40
        return 1
    }
}

# reads_of INO: READ requests on inode INO since log line $MARK.
reads_of() { ops_on "$1" | grep -c 'opcode: READ (' || true; }

@test "kernel: while a section's files are read, a directory read brings its file along" {
    CFS_TTL=3600 setup_fake --count 20
    mount_cfs -d
    local p=${PROVIDERS[0]} a b
    a=$(item_at "$p" 3 name)
    b=$(item_at "$p" 5 name)
    timeout "$BOUND" ls "$MNT/$p" >/dev/null
    # no file of the section read yet: a directory read brings nothing, the cat asks
    MARK=$(($(wc -l <"$WORK/daemon.log") + 1))
    timeout "$BOUND" ls "$MNT/$p/$a" >/dev/null
    same_bytes "$p" 3
    [ "$(reads_of "$(stat -c %i "$MNT/$p/$a/metadata.json")")" -eq 1 ]
    # a file was just read: the next directory read brings exactly its file's bytes
    MARK=$(($(wc -l <"$WORK/daemon.log") + 1))
    timeout "$BOUND" ls "$MNT/$p/$b" >/dev/null
    same_bytes "$p" 5
    [ "$(reads_of "$(stat -c %i "$MNT/$p/$b/metadata.json")")" -eq 0 ] || {
        ops_on "$(stat -c %i "$MNT/$p/$b/metadata.json")"
        return 1
    }
}

@test "kernel: a walk through a streaming first listing does not ask the section's attributes per entry" {
    # rsync -a lstat()s each entry by its path as it reads the directory; with
    # default_permissions every path through the section checks its attributes,
    # which must not expire while the first walk streams (a GETATTR each; the
    # few stats before the walk starts are asked, 8 by rsync 3.2)
    CFS_TTL=3600 setup_fake --count 20
    local p=${PROVIDERS[0]} n=2000 sec got
    set_count "$p" "$n"
    mount_cfs -d
    sec=$(stat -c %i "$MNT/$p")
    fault "{\"provider\": \"$p\", \"mode\": \"latency\", \"seconds\": 0.02}"
    MARK=$(($(wc -l <"$WORK/daemon.log") + 1))
    timeout 120 rsync -a "$MNT/$p/" "$WORK/copy/"
    [ "$(find "$WORK/copy" -name metadata.json | wc -l)" -eq "$n" ]
    got=$(ops_on "$sec" | grep -c 'opcode: GETATTR (' || true)
    [ "$got" -le 20 ] || {
        echo "$got GETATTRs of the section directory during a cold rsync of $n collections"
        return 1
    }
}

# read_whole OLD NEW: the paused reader's names ($WORK/read.txt) repeat no
# collection and skip none that the generations OLD and NEW (the fake's
# /_fake/expect, before and after) both hold.
read_whole() {
    python3 - "$1" "$2" "$WORK/read.txt" <<'PY'
import collections, json, sys
old, new = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
read = [n for n in open(sys.argv[3]).read().split("\n") if n]
by_name = {}
for e in old + new:
    assert by_name.get(e["name"], e["id"]) == e["id"], "names must be unique for this test"
    by_name[e["name"]] = e["id"]
unknown = [n for n in read if n not in by_name]
assert not unknown, "names in neither generation: %r" % unknown[:5]
ids = collections.Counter(by_name[n] for n in read)
dup = [i for i, k in ids.items() if k > 1]
assert not dup, "%d entries repeated, e.g. %r" % (len(dup), dup[:5])
both = {e["id"] for e in old} & {e["id"] for e in new}
missing = both - set(ids)
assert not missing, "%d of %d entries skipped (%d names read), e.g. %r" % (
    len(missing), len(both), len(read), sorted(missing)[:5])
print("read %d entries, none repeated or skipped" % len(read))
PY
}

@test "kernel: a refresh during ls -f of 100,000 entries skips and repeats none" {
    local big
    start_fake --count 20
    # the provider with the largest pages holds the 100,000
    read -r big _ < <(by_page_size max)
    # generating 100,000 collections takes the fake a while
    curl -sf --max-time 300 -X POST -H 'Content-Type: application/json' \
        -d "{\"provider\": \"$big\", \"count\": 100000}" "$FAKE_URL/_fake/config" >/dev/null
    CFS_TTL=3600 write_config
    mount_cfs
    slow_get "/_fake/expect?provider=$big" >"$WORK/old.json"
    paused_reader "$MNT/$big" 5000 120
    # deletions and renames before and after the reader's position, one addition;
    # and the entries at the position: the reader's libc has read past its 5,000
    # names by less than a getdents buffer, and the entry it resumes after is gone
    # in the new generation, so the read goes on from the old one's order
    local ids gone
    ids=$(python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
print(" ".join(v[i]["id"] for i in (100, 4000, 60000, 90000, 200, 70000)))' "$WORK/old.json")
    read -r d1 d2 d3 d4 r1 r2 <<<"$ids"
    gone=$(python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
print(json.dumps([v[i]["id"] for i in range(4990, 6500)])[1:-1])' "$WORK/old.json")
    curl -sf --max-time 300 -X POST -H 'Content-Type: application/json' "$FAKE_URL/_fake/config" -d "{\"provider\": \"$big\", \"delete\": [\"$d1\", \"$d2\", \"$d3\", \"$d4\", $gone],
        \"rename\": {\"$r1\": \"renamed early\", \"$r2\": \"renamed late\"}, \"add\": {\"name\": \"added\"}}" >/dev/null
    slow_get "/_fake/expect?provider=$big" >"$WORK/new.json"
    hup
    # the reader goes on in the new generation, not in the old one to its end
    local want
    want=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/new.json")
    wait_for 120 sh -c '[ "$(getfattr --absolute-names --only-values -n user.collectionsfs.count "$1")" = "$2" ]' \
        _ "$MNT/$big" "$want" || { echo "the refresh never listed $want collections"; false; }
    reader_goes_on
    read_whole "$WORK/old.json" "$WORK/new.json"
    # what the kernel keeps afterwards is the new listing, whole
    timeout 60 ls -f "$MNT/$big" | grep -vxE '\.|\.\.' | sort >"$WORK/after.txt"
    python3 -c '
import json, sys
print("\n".join(sorted(e["name"] for e in json.load(open(sys.argv[1])))))' "$WORK/new.json" |
        diff - "$WORK/after.txt"
}

@test "kernel: a read paused across two refreshes, its place deleted by the first, skips and repeats none" {
    # The read resumes after its last entry. Gone from the new generation, that
    # entry was found in the one before; two refreshes later, in neither, and
    # the read ended there. Where the first refresh put the read is deleted by
    # the second: the read goes on where that one's place leads.
    local big
    start_fake --count 20
    read -r big _ < <(by_page_size max)
    set_count "$big" 3000
    CFS_TTL=3600 write_config
    mount_cfs
    fake_get "/_fake/expect?provider=$big" >"$WORK/g0.json"
    paused_reader "$MNT/$big" 500 120
    # the reader's libc has read past its 500 names by less than a getdents buffer
    local gone
    gone=$(python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
print(json.dumps([v[i]["id"] for i in range(490, 1500)])[1:-1])' "$WORK/g0.json")
    fake_post /_fake/config "{\"provider\": \"$big\", \"delete\": [$gone]}" >/dev/null
    hup
    wait_for 60 sh -c '[ "$(getfattr --absolute-names --only-values -n user.collectionsfs.count "$1")" = 1990 ]' \
        _ "$MNT/$big" || { echo "the first refresh never listed 1990 collections"; false; }
    # the second deletes where the first put the read and the four after it,
    # renames one further on and adds one
    local g1 r
    fake_get "/_fake/expect?provider=$big" >"$WORK/g1.json"
    read -r g1 r < <(python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
print(json.dumps([v[i]["id"] for i in range(490, 495)])[1:-1].replace(" ", ""), v[1700]["id"])' "$WORK/g1.json")
    fake_post /_fake/config "{\"provider\": \"$big\", \"delete\": [$g1], \"rename\": {\"$r\": \"renamed late\"}, \"add\": {\"name\": \"added\"}}" >/dev/null
    fake_get "/_fake/expect?provider=$big" >"$WORK/g2.json"
    hup
    wait_for 60 sh -c '[ "$(getfattr --absolute-names --only-values -n user.collectionsfs.count "$1")" = 1986 ]' \
        _ "$MNT/$big" || { echo "the second refresh never listed 1986 collections"; false; }
    reader_goes_on
    read_whole "$WORK/g0.json" "$WORK/g2.json"
}

@test "kernel: a refresh that lists the same collections in another order skips and repeats none" {
    # Scenario's order is a seeded shuffle; a new seed lists the same items
    # anew. A read that went on across the refresh resumed after its last entry
    # in the new order: entries before that point it never saw were skipped,
    # those after it that it had seen came again.
    local p=scenario n=3000
    start_fake --count 20
    set_count "$p" "$n"
    CFS_TTL=1 CFS_TIMEOUT=2 write_config
    mount_cfs
    # the listing, complete, but not in the kernel's cache of the directory
    [ "$(fs_op stat "$MNT/$p/no such collection")" = ENOENT ]
    paused_reader "$MNT/$p" 100 60
    fake_post /_fake/config "{\"provider\": \"$p\", \"order_seed\": 7}" >/dev/null
    # past the ttl and a budget (a read that goes on is answered from a listing
    # up to a budget old): the reader's next request starts the refresh
    sleep 3
    reader_goes_on
    local read uniq
    read=$(grep -c . "$WORK/read.txt")
    uniq=$(sort -u "$WORK/read.txt" | grep -c .)
    echo "read $read entries, $uniq distinct, of $n; $(requests "$p") requests"
    [ "$read" -eq "$n" ]
    [ "$uniq" -eq "$n" ]
    # the refresh did run, and in the provider's new order
    seen "$p" $((2 * n / $(provider_info "$p" max_page)))
}

# The reader also lists the collection's directory before each read: while it
# reads, that pushes the file's bytes to the kernel (fs.c, push()), so pushes
# race the refreshes too, and one that landed after a change would show. A
# read whose size was settled before a refresh and whose READ came after it
# got the new bytes cut to the old size (1 run in 15 beside three busy loops)
# until metadata.json took a new number with each size (DESIGN §2). Every
# third change keeps the size, and so the number, and the last one does: a
# read answered by the old generation while the kernel forgot the change put
# the old page back for the whole ttl, until complete() forgot it once more.
@test "kernel: reads during refreshes that change a file get the old or the new bytes, never a mix" {
    CFS_TTL=3600 setup_fake --count 10
    mount_cfs
    local p=${PROVIDERS[0]} id short long snort
    id=$(item_at "$p" 2 id)
    short="short"
    long="a much longer name that changes the size of metadata.json a lot"
    snort="snort" # the size of short
    rename_item "$p" "$id" "$short"
    hup
    wait_for "$BOUND" test -e "$MNT/$p/$short/metadata.json"
    local inode
    inode=$(stat -c %i "$MNT/$p/$short")
    # the reader follows the collection by its directory's inode number
    # through its names (the file's number changes with its size)
    timeout 300 python3 - "$MNT/$p" "$inode" "$WORK/stop" "$short" "$long" "$snort" \
        >"$WORK/reads.txt" <<'PY' &
import json, os, sys, time
d, ino, stop, names = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
reads = bad = 0
end = time.monotonic() + 240
while not os.path.exists(stop) and time.monotonic() < end:
    for n in names:
        path = os.path.join(d, n, "metadata.json")
        try:
            if os.stat(os.path.dirname(path)).st_ino != ino:
                continue
            os.listdir(os.path.dirname(path))
            data = open(path, "rb").read()
        except OSError:
            continue  # renamed between stat and open
        reads += 1
        try:
            text = data.decode()
            json.loads(text)
            assert sum(json.dumps(x, ensure_ascii=False) in text for x in names) == 1
        except Exception:
            bad += 1
            print("torn read of %d bytes: %r" % (len(data), data[-80:]))
print("reads", reads, "bad", bad)
PY
    local reader=$! i names=("$short" "$long" "$snort")
    for i in $(seq 9); do
        local to=${names[$((i % 3))]}
        rename_item "$p" "$id" "$to"
        hup
        wait_for "$BOUND" test -e "$MNT/$p/$to/metadata.json"
    done
    touch "$WORK/stop"
    wait "$reader"
    cat "$WORK/reads.txt"
    grep -q "bad 0$" "$WORK/reads.txt"
    ! grep -q "^reads 0 " "$WORK/reads.txt" || false
    # and what the kernel keeps is the last change, whole, within seconds
    wait_for 10 same_bytes "$p" 2 || same_bytes "$p" 2
}

# A size never changes under one inode number (DESIGN §2): a reader that
# holds the file keeps the bytes of its size, answered by the generation
# before when the kernel asks again, and once no generation holds them any
# more it gets ESTALE, never bytes of another size, and at once, also while a
# refresh walks. The kernel keeps their attributes (ttl 3600), so
# POSIX_FADV_DONTNEED is what makes it ask.
@test "kernel: a file held open while its size changes reads its own bytes whole, then ESTALE" {
    CFS_TTL=3600 CFS_TIMEOUT=120 setup_fake --count 10
    mount_cfs -d
    local p=${PROVIDERS[0]} id name longer shorter
    id=$(item_at "$p" 2 id)
    name=$(item_at "$p" 2 name)
    longer="$name, a name that makes metadata.json longer"
    shorter="$name, shorter"
    PYTHONPATH="$TESTS_DIR/lib" timeout 200 python3 - "$MNT/$p/$name/metadata.json" \
        "$MNT/$p/$longer/metadata.json" "$MNT/$p/$shorter/metadata.json" "$WORK" \
        >"$WORK/held.txt" 2>&1 <<'PY' &
import errno, os, sys
from functools import partial
import signal_file
path, new1, new2, work = sys.argv[1:5]
wait = partial(signal_file.wait, work)
def fresh(path, old_ino, dir_ino):
    data, st = open(path, "rb").read(), os.stat(path)
    assert len(data) == st.st_size, "%s: %d bytes, st_size %d" % (path, len(data), st.st_size)
    assert st.st_ino != old_ino, "%s kept the number of another size" % path
    assert os.stat(os.path.dirname(path)).st_ino == dir_ino, "the directory changed number"
    return data
fd = os.open(path, os.O_RDONLY)
dir_ino = os.stat(os.path.dirname(path)).st_ino
mine, st = os.pread(fd, 1 << 16, 0), os.fstat(fd)
assert len(mine) == st.st_size
open(os.path.join(work, "held"), "w").write("%d\n" % st.st_ino)
wait("changed1")
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
again, st2 = os.pread(fd, 1 << 16, 0), os.fstat(fd)
assert again == mine, "held file after a change: %r" % again[-80:]
assert (st2.st_ino, st2.st_size) == (st.st_ino, st.st_size)
assert fresh(new1, st.st_ino, dir_ino) != mine
open(os.path.join(work, "read1"), "w").close()
wait("changed2")
assert fresh(new2, st.st_ino, dir_ino) != mine
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
try:
    got = os.pread(fd, 1 << 16, 0)
    sys.exit("held file after two changes: %d bytes: %r" % (len(got), got[-80:]))
except OSError as e:
    assert e.errno == errno.ESTALE, "held file after two changes: %s" % e
open(os.path.join(work, "stale1"), "w").close()
# the same while a refresh is under way: at once, not once the walk is over
wait("walking")
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
try:
    got = os.pread(fd, 1 << 16, 0)
    sys.exit("held file after two changes, during a walk: %d bytes" % len(got))
except OSError as e:
    assert e.errno == errno.ESTALE, "held file after two changes, during a walk: %s" % e
open(os.path.join(work, "stale2"), "w").close()
print("ok")
PY
    READER=$!
    wait_for 20 test -s "$WORK/held" || { cat "$WORK/held.txt"; return 1; }
    MARK=$(($(wc -l <"$WORK/daemon.log") + 1))
    rename_item "$p" "$id" "$longer"
    hup
    wait_for "$BOUND" test -e "$MNT/$p/$longer/metadata.json"
    touch "$WORK/changed1"
    wait_for 60 test -e "$WORK/read1" || { cat "$WORK/held.txt"; return 1; }
    # the held file's bytes were asked again, and answered by the generation before
    [ "$(ops_on "$(cat "$WORK/held")" | grep -c 'opcode: READ (')" -ge 1 ]
    rename_item "$p" "$id" "$shorter"
    hup
    wait_for "$BOUND" test -e "$MNT/$p/$shorter/metadata.json"
    touch "$WORK/changed2"
    wait_for 60 test -e "$WORK/stale1" || { cat "$WORK/held.txt"; return 1; }
    # a refresh whose first page the provider holds back; timeout=120 s, so a
    # reader that waited for the walk would wait for minutes
    local n
    n=$(requests "$p")
    fault "{\"provider\": \"$p\", \"mode\": \"hold\"}"
    hup
    wait_for "$BOUND" seen "$p" $((n + 1))
    touch "$WORK/walking"
    local answered=0
    wait_for "$BOUND" test -e "$WORK/stale2" && answered=1
    fault "{\"provider\": \"$p\", \"mode\": \"none\"}"
    wait "$READER"
    READER=
    cat "$WORK/held.txt"
    [ "$answered" = 1 ]
    [ "$(cat "$WORK/held.txt")" = ok ]
}

# The same for a change that keeps the size, where the provider gives an
# update time: the new mtime gives the file a new number, so a reader that
# holds the old one gets the old bytes whole from the generation before, not
# new bytes under the old number, whatever part of them the kernel still
# holds. Where it gives none (Honcho), the file changes under its number:
# the kernel is made to forget the old bytes, and the reader gets the new.
@test "kernel: a file held open while it changes at the same size keeps its bytes if its mtime moved" {
    CFS_TTL=3600 CFS_TIMEOUT=120 setup_fake --count 10
    mount_cfs
    local p paths=() news=() dated=0 renumbered=0
    for p in "${PROVIDERS[@]}"; do
        local id name same
        id=$(item_at "$p" 2 id)
        name=$(item_at "$p" 2 name)
        # letters and digits swapped for letters: the same bytes long, escapes and all
        same=$(python3 -c 'import sys; print("".join(("b" if c == "a" else "a") if c.isascii() and c.isalnum() else c for c in sys.argv[1]))' "$name")
        [ "$same" != "$name" ]
        paths+=("$MNT/$p/$name/metadata.json")
        news+=("$p" "$id" "$same" "$(item_at "$p" 2 updated)")
    done
    PYTHONPATH="$TESTS_DIR/lib" timeout 200 python3 - "$WORK" "${paths[@]}" >"$WORK/held.txt" 2>&1 <<'PY' &
import os, sys
from signal_file import wait
work, paths = sys.argv[1], sys.argv[2:]
held = []
for path in paths:
    fd = os.open(path, os.O_RDONLY)
    data, st = os.pread(fd, 1 << 16, 0), os.fstat(fd)
    assert len(data) == st.st_size
    held.append((fd, data, st))
open(os.path.join(work, "held"), "w").close()
wait(work, "changed")
for i, (fd, data, st) in enumerate(held):
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED) # the kernel asks again
    got, st2 = os.pread(fd, 1 << 16, 0), os.fstat(fd)
    assert st2.st_ino == st.st_ino
    open(os.path.join(work, "old.%d" % i), "wb").write(data)
    open(os.path.join(work, "got.%d" % i), "wb").write(got)
    open(os.path.join(work, "ino.%d" % i), "w").write("%d %d\n" % (st.st_ino, st.st_size))
print("ok")
PY
    READER=$!
    wait_for 20 test -e "$WORK/held" || { cat "$WORK/held.txt"; return 1; }
    local i
    for ((i = 0; i < ${#news[@]}; i += 4)); do
        rename_item "${news[i]}" "${news[i + 1]}" "${news[i + 2]}"
    done
    hup
    for ((i = 0; i < ${#news[@]}; i += 4)); do
        wait_for "$BOUND" test -e "$MNT/${news[i]}/${news[i + 2]}/metadata.json"
    done
    touch "$WORK/changed"
    local rc=0
    wait "$READER" || rc=$?
    READER=
    cat "$WORK/held.txt"
    [ "$rc" = 0 ]
    [ "$(cat "$WORK/held.txt")" = ok ]
    local k ino size new
    for ((k = 0; k < ${#paths[@]}; k++)); do
        read -r ino size <"$WORK/ino.$k"
        new="$MNT/${news[k * 4]}/${news[k * 4 + 2]}/metadata.json"
        echo "${news[k * 4]}: held $ino ($size bytes), now $(stat -c '%i (%s bytes)' "$new")"
        [ "$(stat -c %s "$new")" = "$size" ]          # the change kept the size
        [ "$(cmp -s "$new" "$WORK/old.$k"; echo $?)" = 1 ] # and changed the bytes
        [ -n "${news[k * 4 + 3]}" ] && dated=$((dated + 1))
        if [ -n "${news[k * 4 + 3]}" ] && [ "$(stat -c %i "$new")" != "$ino" ]; then
            renumbered=$((renumbered + 1))
            cmp "$WORK/got.$k" "$WORK/old.$k"
        else
            # no update time, or the 1 in 4,096 of a new mtime that keeps the
            # number (DESIGN §2): changed in place, and read whole
            [ "$(stat -c %i "$new")" = "$ino" ]
            cmp "$WORK/got.$k" "$new"
        fi
    done
    echo "$renumbered of $dated files with an update time got a new number"
    [ "$renumbered" -ge 1 ] && [ "$renumbered" -ge $((dated - 1)) ]
}

@test "walk: a long cold walk streams to readdir; a lookup past its budget gets EAGAIN" {
    start_fake --count 20
    local p pages per
    # the provider with the smallest pages: many pages for few collections
    read -r p per < <(by_page_size min)
    pages=60
    set_count "$p" $((pages * per))
    CFS_TIMEOUT=2 write_config
    mount_cfs
    fault "{\"provider\": \"$p\", \"mode\": \"latency\", \"seconds\": 0.25}"
    local first
    first=$(timeout 60 ls -f "$MNT/$p" | grep -vxE '\.|\.\.' | head -1)
    [ -n "$first" ]
    # the first entry came before the walk was over
    [ "$(requests "$p")" -lt "$pages" ]
    # a probe for a name the walk has not reached within timeout=2 s: try again later
    run fs_op stat "$MNT/$p/.hidden"
    [ "$output" = EAGAIN ]
    [ "$(requests "$p")" -lt "$pages" ]
    # the walk goes on for a reader of the whole listing, and then the answers are final
    [ "$(timeout 120 ls -f "$MNT/$p" | grep -cvxE '\.|\.\.')" -eq $((pages * per)) ]
    run fs_op stat "$MNT/$p/.hidden"
    [ "$output" = ENOENT ]
    run fs_op read "$MNT/$p/$(item_at "$p" $((pages * per - 1)) name)/metadata.json"
    [[ "$output" == "OK "* ]]
}

@test "walk: a lookup's budget ends its wait, not the next page after it" {
    # pages of 3.5 s against timeout=4 s: the walk moves, but not to the name.
    # The wait ended only when a page came: after the second page's answer,
    # 7 s after the lookup began, where the budget ends between the two.
    start_fake --count 20
    local p per t0 t1 n
    read -r p per < <(by_page_size min)
    set_count "$p" $((20 * per))
    CFS_TIMEOUT=4 write_config
    mount_cfs
    fake_reset
    fault "{\"provider\": \"$p\", \"mode\": \"latency\", \"seconds\": 3.5}"
    t0=$(now_ms)
    run fs_op stat "$MNT/$p/$(item_at "$p" $((20 * per - 1)) name)"
    t1=$(now_ms)
    n=$(logged "$p")
    fault "{\"provider\": \"$p\", \"mode\": \"none\"}"
    echo "$output after $((t1 - t0)) ms, $n page(s) answered by then"
    [ "$output" = EAGAIN ]
    [ $((t1 - t0)) -ge 4000 ] # not before the budget
    [ "$n" -eq 1 ]            # and before the second page came
}
