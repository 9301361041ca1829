#!/usr/bin/env bats
# Extended attributes and the status of a running daemon (DESIGN §6, issue 8):
# user.collectionsfs.* on the root, the provider directories, the collection
# directories and their metadata.json, exact against the fake's data; read
# from memory only, so no xattr read and no `--status` costs a request;
# setfattr is refused with EROFS, other namespaces answer EOPNOTSUPP; a
# failing provider shows stale and last_error; SIGUSR1 logs one line per
# provider; a hostile name comes back raw and capped; no secret anywhere.

load '../lib/common'

PY=/usr/bin/python3 # Debian's python, with python3-xattr (not a pyenv shim)

setup() {
    export CFS_TTL="${CFS_TTL_XATTR:-60}"
}

teardown() {
    teardown_mount
}

# xattrs_of PATH: every user.collectionsfs.* attribute of PATH as JSON {name: value}
# (values as latin-1 strings, so raw bytes survive).
xattrs_of() {
    "$PY" -c '
import json, os, sys
p = sys.argv[1]
print(json.dumps({n: os.getxattr(p, n, follow_symlinks=False).decode("latin-1")
                  for n in os.listxattr(p, follow_symlinks=False)}))' "$1"
}

# check_collections PROVIDER: every collection directory and metadata.json
# carries exactly the fake's id, name, created, updated, plus provider, type, url.
check_collections() {
    fake_get "/_fake/expect?provider=$1" >"$WORK/expect.$1.json"
    "$PY" - "$MNT/$1" "$1" "$WORK/expect.$1.json" "$FAKE_URL" <<'PY'
import calendar, json, os, sys, time, urllib.parse
root, prov, expect, base = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), sys.argv[4]
P = "user.collectionsfs."
def attrs(p):
    return {n[len(P):]: os.getxattr(p, n) for n in os.listxattr(p)}
def iso(v):
    s = v.decode()
    assert s.endswith("Z"), s
    whole, _, frac = s[:-1].partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + (float("0." + frac) if frac else 0)
by_id = {e["id"]: e for e in expect}
seen = 0
bad = []
for d in sorted(os.listdir(root)):
    for path in (os.path.join(root, d), os.path.join(root, d, "metadata.json")):
        a = attrs(path)
        e = by_id.get(a.get("id", b"").decode())
        if e is None:
            bad.append("%s: id %r is not the fake's" % (path, a.get("id"))); continue
        want = {"provider", "type", "id"} | {k for k in ("name", "created", "updated") if e[k] is not None}
        if "url" in a:
            want.add("url")
        if set(a) != want:
            bad.append("%s: names %s, want %s" % (path, sorted(a), sorted(want)))
        if a.get("provider") != prov.encode() or a.get("type") != prov.encode():
            bad.append("%s: provider/type %r/%r" % (path, a.get("provider"), a.get("type")))
        # a lone surrogate escape reaches the record as U+FFFD (DESIGN §2)
        raw = "".join("\ufffd" if 0xd800 <= ord(c) < 0xe000 else c for c in e["name"] or "")
        if e["name"] is not None and a.get("name") != raw.encode()[:4096]:
            bad.append("%s: name %r, want %r" % (path, a.get("name"), e["name"]))
        for k in ("created", "updated"):
            if e[k] is not None and abs(iso(a[k]) - e[k]) > 1e-6:
                bad.append("%s: %s %r, want %r" % (path, k, a[k], e[k]))
        u = a.get("url", b"").decode()
        if u and not (u.startswith(base + "/" + prov + "/") and
                      u.endswith("/collections/" + urllib.parse.quote(e["id"], safe=""))):
            bad.append("%s: url %r" % (path, u))
        seen += 1
if seen != 2 * len(expect):
    bad.append("%d nodes checked, want %d" % (seen, 2 * len(expect)))
print("\n".join(bad[:10]))
sys.exit(1 if bad else 0)
PY
}

@test "xattr: getfattr -d on the root, a provider, a collection and metadata.json" {
    setup_mount --count 40
    local p got want d
    got=$(timeout "$BOUND" getfattr --absolute-names -d "$MNT")
    want=$("$CFS_BIN" --version | sed -n 's/^collectionsfs //p')
    grep -qx "user.collectionsfs.version=\"$want\"" <<<"$got" || { echo "root: $got"; false; }
    ! grep -q reload_error <<<"$got" || false
    for p in "${PROVIDERS[@]}"; do
        timeout "$BOUND" ls "$MNT/$p" >/dev/null
        got=$(timeout "$BOUND" getfattr --absolute-names -d "$MNT/$p")
        for want in "provider=\"$p\"" "type=\"$p\"" "count=\"$(expected_count "$p")\"" \
            'complete="1"' 'stale="0"' 'errors="0"' 'retries="0"'; do
            grep -qx "user.collectionsfs.$want" <<<"$got" || { echo "$p: no $want in:"; echo "$got"; false; }
        done
        for want in fetched_at refreshed_at refresh_ms requests cache_hits; do
            grep -q "^user.collectionsfs.$want=" <<<"$got" || { echo "$p: no $want in:"; echo "$got"; false; }
        done
        ! grep -qE "last_error|paused_until" <<<"$got" || { echo "$p: $got"; false; }
        d=$(timeout "$BOUND" ls "$MNT/$p" | head -n 1)
        got=$(timeout "$BOUND" getfattr --absolute-names -d "$MNT/$p/$d" "$MNT/$p/$d/metadata.json")
        [ "$(grep -c "^user.collectionsfs.id=" <<<"$got")" -eq 2 ] || { echo "$p/$d: $got"; false; }
        check_collections "$p"
    done
}

@test "xattr: reading every attribute of every node, and --status, cost no request" {
    setup_mount --count 40
    local p n
    for p in "${PROVIDERS[@]}"; do timeout "$BOUND" ls -l "$MNT/$p" >/dev/null; done
    fake_reset
    timeout "$BOUND" getfattr -R -d --absolute-names "$MNT" >"$WORK/all.txt"
    timeout "$BOUND" "$PY" -m xattr.tool -l "$MNT/${PROVIDERS[0]}" >/dev/null
    timeout "$BOUND" "$CFS_BIN" --status "$MNT" >/dev/null
    n=$(grep -c '^user.collectionsfs.id=' "$WORK/all.txt")
    [ "$n" -eq $((2 * $(expected_total))) ] || { echo "ids of $n nodes"; false; }
    for p in "${PROVIDERS[@]}"; do
        [ "$(requests "$p")" -eq 0 ] || { echo "xattr reads caused requests: $(request_counts)"; false; }
    done
}

# Past the ttl any access to a provider directory, a permission check for an
# xattr read included, makes the kernel ask for its attributes first, and that
# answer waits for the refresh (DESIGN §3): so --status reads only the root,
# whose attributes never expire, and the root carries each provider's facts.
@test "xattr: past the ttl, --status and the root's attributes still cost no request" {
    export CFS_TTL=1
    setup_mount --count 10
    local p
    for p in "${PROVIDERS[@]}"; do timeout "$BOUND" ls "$MNT/$p" >/dev/null; done
    fake_reset
    sleep 2 # a lower bound: the listings are past their ttl of 1 s
    timeout "$BOUND" "$CFS_BIN" --status "$MNT" >"$WORK/status.txt"
    timeout "$BOUND" getfattr -d --absolute-names "$MNT" >"$WORK/root.txt"
    for p in "${PROVIDERS[@]}"; do
        [ "$(requests "$p")" -eq 0 ] || { echo "--status past the ttl caused requests: $(request_counts)"; false; }
        grep -q "^user.collectionsfs.status.$p=\"provider=$p\\\\012" "$WORK/root.txt" ||
            { cat "$WORK/root.txt"; false; }
    done
    # the listings were indeed past their ttl: a listing now refreshes
    timeout "$BOUND" ls "$MNT/${PROVIDERS[0]}" >/dev/null
    seen "${PROVIDERS[0]}" || { echo "no refresh: the test proved nothing"; false; }
}

@test "xattr: xattr -l and listxattr work; sizes, ERANGE, ENODATA, EOPNOTSUPP" {
    setup_mount --count 5
    local p=${PROVIDERS[0]} d
    d=$(timeout "$BOUND" ls "$MNT/$p" | head -n 1)
    run timeout "$BOUND" "$PY" -m xattr.tool -l "$MNT/$p/$d/metadata.json"
    [ "$status" -eq 0 ]
    grep -q "^user.collectionsfs.id: " <<<"$output" || { echo "$output"; false; }
    timeout "$BOUND" "$PY" - "$MNT/$p/$d" <<'PY'
import ctypes, errno, os, sys
p = sys.argv[1].encode()
libc = ctypes.CDLL(None, use_errno=True)
libc.lgetxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
libc.llistxattr.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
names = os.listxattr(p)
assert names and all(n.startswith("user.collectionsfs.") for n in names), names
n = libc.llistxattr(p, None, 0)
assert n == sum(len(x) + 1 for x in names), n
buf = ctypes.create_string_buffer(n)
assert libc.llistxattr(p, buf, n - 1) == -1 and ctypes.get_errno() == errno.ERANGE
size = libc.lgetxattr(p, b"user.collectionsfs.id", None, 0)
assert size == len(os.getxattr(p, "user.collectionsfs.id")), size
assert libc.lgetxattr(p, b"user.collectionsfs.id", buf, size - 1) == -1 and ctypes.get_errno() == errno.ERANGE
for name, want in (("user.collectionsfs.nonesuch", errno.ENODATA), ("user.other", errno.ENODATA),
                   ("security.selinux", errno.EOPNOTSUPP), ("system.posix_acl_access", errno.EOPNOTSUPP),
                   ("trusted.x", errno.EOPNOTSUPP)):
    try:
        os.getxattr(p, name)
        sys.exit("%s: answered, want %s" % (name, errno.errorcode[want]))
    except OSError as e:
        # the kernel may answer trusted.* / ACL names itself for an unprivileged caller
        if e.errno not in (want, errno.ENODATA, errno.EOPNOTSUPP):
            sys.exit("%s: %s, want %s" % (name, errno.errorcode[e.errno], errno.errorcode[want]))
PY
}

@test "xattr: setfattr and setfattr -x are refused with EROFS" {
    setup_mount --count 5
    local p=${PROVIDERS[0]} d path
    d=$(timeout "$BOUND" ls "$MNT/$p" | head -n 1)
    for path in "$MNT" "$MNT/$p" "$MNT/$p/$d" "$MNT/$p/$d/metadata.json"; do
        run timeout "$BOUND" setfattr -n user.collectionsfs.id -v x "$path"
        [ "$status" -ne 0 ] && grep -q "Read-only file system" <<<"$output" || { echo "set $path: $output"; false; }
        run timeout "$BOUND" setfattr -x user.collectionsfs.id "$path"
        [ "$status" -ne 0 ] && grep -q "Read-only file system" <<<"$output" || { echo "remove $path: $output"; false; }
    done
}

@test "xattr: a failing provider shows stale and last_error, then recovers" {
    export CFS_TTL=1 CFS_TIMEOUT=3
    setup_mount --count 10
    local p=${PROVIDERS[0]} n0 a
    timeout "$BOUND" ls "$MNT/$p" >/dev/null
    fault "{\"provider\":\"$p\",\"mode\":\"status\",\"status\":500}"
    n0=$(requests "$p")
    # keep listing (stale data is served) until a refresh was attempted and failed
    wait_for 30 bash -c "ls '$MNT/$p' >/dev/null && getfattr --only-values -n user.collectionsfs.last_error '$MNT/$p'" ||
        { echo "no last_error; requests $n0 -> $(requests "$p")"; getfattr -d "$MNT/$p"; false; }
    wait_for 30 bash -c "ls '$MNT/$p' >/dev/null; [ \"\$(getfattr --only-values -n user.collectionsfs.stale '$MNT/$p')\" -ge 1 ]" ||
        { getfattr -d "$MNT/$p"; false; }
    a=$(getfattr --absolute-names -d "$MNT/$p")
    grep -q '^user.collectionsfs.last_error=".*HTTP 500' <<<"$a" || { echo "$a"; false; }
    grep -q '^user.collectionsfs.errors="[1-9]' <<<"$a" || { echo "$a"; false; }
    grep -q '^user.collectionsfs.retries="[1-9]' <<<"$a" || { echo "$a"; false; }
    grep -qx "user.collectionsfs.count=\"$(expected_count "$p")\"" <<<"$a" || { echo "$a"; false; }
    run timeout "$BOUND" "$CFS_BIN" --status "$MNT"
    [ "$status" -eq 0 ]
    grep -q "^$p: last error: .*HTTP 500" <<<"$output" || { echo "$output"; false; }
    fault "{\"provider\":\"$p\",\"mode\":\"none\"}"
    wait_for 30 bash -c "ls '$MNT/$p' >/dev/null; [ \"\$(getfattr --only-values -n user.collectionsfs.stale '$MNT/$p')\" = 0 ] && ! getfattr -n user.collectionsfs.last_error '$MNT/$p'" ||
        { getfattr -d "$MNT/$p"; false; }
}

@test "status: SIGUSR1 logs one line per provider" {
    setup_mount --count 5
    local p
    timeout "$BOUND" ls "$MNT/${PROVIDERS[0]}" >/dev/null
    kill -USR1 "$CFS_PID"
    for p in "${PROVIDERS[@]}"; do
        wait_for 10 grep -q "\\[$p\\] status: " "$WORK/daemon.log" || { cat "$WORK/daemon.log"; false; }
        [ "$(grep -c "\\[$p\\] status: " "$WORK/daemon.log")" -eq 1 ]
    done
    grep -q "\\[${PROVIDERS[0]}\\] status: 5 collections at .*, complete, fresh, from the provider (stale 0 s); requests [1-9]" \
        "$WORK/daemon.log" || { grep status: "$WORK/daemon.log"; false; }
    daemon_alive
}

@test "status: --status prints a table; a path that is no mount fails clearly" {
    setup_mount --count 7
    local p
    timeout "$BOUND" ls "$MNT/${PROVIDERS[0]}" >/dev/null
    run timeout "$BOUND" "$CFS_BIN" --status "$MNT"
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    grep -q "^PROVIDER  *TYPE  *COUNT  *COMPLETE" <<<"$output" || { echo "$output"; false; }
    grep -qE "^${PROVIDERS[0]} +${PROVIDERS[0]} +7 +1 +0 " <<<"$output" || { echo "$output"; false; }
    for p in "${PROVIDERS[@]:1}"; do
        grep -qE "^$p +$p +0 +0 +0 +- " <<<"$output" || { echo "$p: $output"; false; }
    done
    # a symlink to the mount point (~/Collections -> /srv/collections) names it too
    ln -s "$MNT" "$WORK/link"
    run timeout "$BOUND" "$CFS_BIN" --status "$WORK/link"
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    grep -qE "^${PROVIDERS[0]} +${PROVIDERS[0]} +7 +1 +0 " <<<"$output" || { echo "$output"; false; }
    run timeout "$BOUND" "$CFS_BIN" --status "$WORK"
    [ "$status" -ne 0 ] && grep -q "is not a collectionsfs mount" <<<"$output" || { echo "$output"; false; }
    run timeout "$BOUND" "$CFS_BIN" --status "$MNT/${PROVIDERS[0]}"
    [ "$status" -ne 0 ] && grep -q "is not a collectionsfs mount" <<<"$output" || { echo "$output"; false; }
    run timeout "$BOUND" "$CFS_BIN" --status "$WORK/nonexistent"
    [ "$status" -ne 0 ] && grep -q "is not a collectionsfs mount" <<<"$output" || { echo "$output"; false; }
}

@test "status: --status of a stopped daemon ends within its bound and says why" {
    setup_mount --count 3
    timeout "$BOUND" ls "$MNT/${PROVIDERS[0]}" >/dev/null
    # a stopped daemon answers nothing: an unbounded getxattr would wait for ever
    kill -STOP "$CFS_PID"
    run timeout "$BOUND" "$CFS_BIN" --status "$MNT"
    kill -CONT "$CFS_PID"
    echo "status $status: $output"
    [ "$status" -eq 1 ]
    grep -q "did not answer within .* stopped or hung" <<<"$output"
    # and the daemon, woken, still answers
    run timeout "$BOUND" "$CFS_BIN" --status "$MNT"
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    daemon_alive
}

@test "xattr: a hostile name comes back raw in .name, capped at 4096 bytes" {
    setup_mount --hostile --count 45
    local p id
    for p in "${PROVIDERS[@]}"; do
        id=$(item_at "$p" 44 id)
        # control characters, a newline, a slash and 6000 bytes of two-byte characters
        "$PY" -c '
import json, sys, urllib.request
name = "ctl\x01\x1f\n/end " + "\u00e9" * 3000
req = urllib.request.Request(sys.argv[1] + "/_fake/config", method="POST",
    data=json.dumps({"provider": sys.argv[2], "rename": {sys.argv[3]: name}}).encode(),
    headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=10).read()' "$FAKE_URL" "$p" "$id"
        timeout "$BOUND" "$PY" - "$MNT/$p" "$id" <<'PY'
import os, sys
root, want_id = sys.argv[1], sys.argv[2]
want = ("ctl\x01\x1f\n/end " + "\u00e9" * 3000).encode()[:4096]
for d in os.listdir(root):
    path = os.path.join(root, d)
    if os.getxattr(path, "user.collectionsfs.id").decode() == want_id:
        got = os.getxattr(path, "user.collectionsfs.name")
        assert got == want, (len(got), got[:40])
        assert os.getxattr(path + "/metadata.json", "user.collectionsfs.name") == want
        assert len(d.encode()) <= 255 and "\n" not in d and "/" not in d, d
        break
else:
    sys.exit("no directory has id " + want_id)
PY
        check_collections "$p"
    done
}

@test "xattr: no secret in any attribute of any node" {
    setup_mount --count 10
    local p s
    for p in "${PROVIDERS[@]}"; do
        timeout "$BOUND" ls "$MNT/$p" >/dev/null
    done
    fault "{\"provider\":\"${PROVIDERS[0]}\",\"mode\":\"status\",\"status\":401}"
    kill -HUP "$CFS_PID"
    wait_for 20 getfattr -n user.collectionsfs.last_error "$MNT/${PROVIDERS[0]}" || true
    timeout "$BOUND" getfattr -R -d -e text --absolute-names "$MNT" >"$WORK/all.txt"
    [ -s "$WORK/all.txt" ]
    secret_values >"$WORK/secrets.txt"
    [ -s "$WORK/secrets.txt" ]
    while IFS= read -r s; do
        [ -n "$s" ] || continue
        ! grep -qF -- "$s" "$WORK/all.txt" || { echo "a secret shows in an xattr"; false; }
    done <"$WORK/secrets.txt"
}

@test "xattr: with xattrs = no, one ENOSYS and the kernel asks no more; cp -a copies no attribute" {
    setup_fake --count 20
    sed -i 's/^\[global\]$/[global]\nxattrs = no/' "$CONFIG"
    grep -qx 'xattrs = no' "$CONFIG"
    mount_cfs -d
    local p=${PROVIDERS[0]} d n
    d=$(timeout "$BOUND" ls "$MNT/$p" | head -n 1)
    [ -n "$d" ]
    run timeout "$BOUND" getfattr -n user.collectionsfs.id "$MNT/$p/$d"
    [ "$status" -ne 0 ] && [[ "$output" == *"Operation not supported"* ]] || { echo "$output"; false; }
    timeout "$BOUND" cp -a "$MNT/$p" "$WORK/copy"
    [ "$(find "$WORK/copy" -name metadata.json | wc -l)" -eq "$(expected_count "$p")" ]
    ! getfattr -R -d --absolute-names "$WORK/copy" 2>/dev/null | grep -q collectionsfs || false
    # the first GETXATTR and the first LISTXATTR answered ENOSYS (the kernel keeps
    # one flag for each); it sent no other, cp -a's included
    local get list
    get=$(grep -c 'opcode: GETXATTR' "$WORK/daemon.log" || true)
    list=$(grep -c 'opcode: LISTXATTR' "$WORK/daemon.log" || true)
    [ "$get" -eq 1 ] && [ "$list" -eq 1 ] || { echo "$get GETXATTR, $list LISTXATTR"; false; }
    run timeout "$BOUND" "$CFS_BIN" --status "$MNT"
    [ "$status" -ne 0 ] && [[ "$output" == *"xattrs = no"* ]] || { echo "$output"; false; }
    # and -o xattrs=yes on the command line wins over the file
    remount -o xattrs=yes
    [ "$(timeout "$BOUND" getfattr --only-values -n user.collectionsfs.provider "$MNT/$p/$d")" = "$p" ]
}
