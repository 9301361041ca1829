#!/usr/bin/env bats
# Reload (DESIGN §3, §6): SIGHUP reads the config file again and resolves the
# secrets again (a *_command runs again), sections added or removed appear and
# disappear as directories (the kernel's "no such name" answers included), a
# section whose account changed never shows the old account's bytes, and a
# config error keeps the running configuration. Each test waits for the
# daemon's log line that says the reload is done, never for time to pass.

load '../lib/common'

setup() {
    export CFS_TTL=60 CFS_TIMEOUT="${CFS_TIMEOUT:-4}"
    setup_fake
}

teardown() {
    teardown_mount
}

# keep_sections FILE SECTION...: write $CONFIG's [global] and the named sections to FILE.
keep_sections() {
    python3 - "$CONFIG" "$@" <<'PY'
import re, sys
src, dst, keep = sys.argv[1], sys.argv[2], set(sys.argv[3:])
out, on = [], True
for line in open(src):
    m = re.match(r"\[(.*)\]\s*$", line)
    if m:
        on = m.group(1) == "global" or m.group(1) in keep
    if on:
        out.append(line)
open(dst, "w").write("".join(out))
PY
    chmod 600 "$1"
}

@test "reload: a rotated secret is read again (its _command runs again), without a remount" {
    write_config --secrets command
    mount_cfs
    local p=fount old new
    old=$(cat "$WORK/secrets/$p.token")
    timeout "$BOUND" ls "$MNT/$p" >/dev/null
    # the provider rotates the token: the old one is refused from now on
    fake_post /_fake/config "{\"provider\":\"$p\",\"credentials\":{\"token\":\"rotated-$old\"}}" >/dev/null
    echo "rotated-$old" >"$WORK/secrets/$p.token"
    fake_reset
    hup
    run timeout "$BOUND" ls "$MNT/$p"
    [ "$status" -eq 0 ] || { echo "listing after the reload failed: $output"; false; }
    [ "${#lines[@]}" -eq "$(expected_count "$p")" ]
    [ "$(requests "$p")" -gt 0 ]
    ! grep -q ' 401' <(fake_get /_fake/stats | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["log"]))') || false
    grep -q 'SIGHUP: configuration read again' "$WORK/daemon.log"
    # the new secret reaches no log either
    ! grep -qF "rotated-$old" "$WORK/daemon.log"
}

@test "reload: sections added and removed appear and disappear, the kernel's negative entries too" {
    local all=("${PROVIDERS[@]}") first second rest
    first=${all[0]} second=${all[1]}
    cp "$CONFIG" "$WORK/config.all"
    keep_sections "$WORK/config.one" "$first"
    cp "$WORK/config.one" "$CONFIG"
    mount_cfs
    [ "$(ls "$MNT")" = "$first" ]
    # the kernel now remembers that $second does not exist (for a day)
    [ "$(fs_op stat "$MNT/$second")" = ENOENT ]
    cp "$WORK/config.all" "$CONFIG"
    hup
    [ "$(ls "$MNT" | sort)" = "$(printf '%s\n' "${all[@]}" | sort)" ]
    [ "$(fs_op stat "$MNT/$second")" = OK ]
    run timeout "$BOUND" ls "$MNT/$second"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq "$(expected_count "$second")" ]
    # and the first one goes
    rest=("${all[@]:1}")
    keep_sections "$CONFIG" "${rest[@]}"
    timeout "$BOUND" ls "$MNT/$first" >/dev/null
    hup
    ! ls "$MNT" | grep -qx "$first" || false
    [ "$(fs_op stat "$MNT/$first")" = ENOENT ]
    [ "$(ls "$MNT" | wc -l)" -eq "${#rest[@]}" ]
}

@test "reload: a section whose account changed never shows the old account's bytes" {
    mount_cfs
    local p=fount dir holder
    dir=$(ls "$MNT/$p" | head -n 1)
    # a reader keeps the file open across the reload: its reads after it can
    # come straight from the kernel's page cache, path lookups aside
    python3 - "$MNT/$p/$dir/metadata.json" "$WORK/go" >"$WORK/held.txt" 2>&1 <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
old = os.pread(fd, 1 << 20, 0)
open(sys.argv[2] + ".ready", "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
try:
    new = os.pread(fd, 1 << 20, 0)
    print("SAME" if new == old else "OTHER")
except OSError as e:
    print("ERROR", e.errno)
PY
    holder=$!
    wait_for "$BOUND" test -e "$WORK/go.ready"
    # another account: the same ids (so the same inode numbers) and, as the
    # new account's listing never comes, nothing new to show
    fake_post /_fake/config "{\"provider\":\"$p\",\"credentials\":{\"token\":\"another-account\"}}" >/dev/null
    sed -i 's/^token = .*/token = another-account/' "$CONFIG"
    grep -q '^token = another-account' "$CONFIG"
    fault "{\"provider\":\"$p\",\"mode\":\"stall\"}"
    hup
    touch "$WORK/go"
    timeout "$BOUND" tail --pid="$holder" -f /dev/null
    cat "$WORK/held.txt"
    [ "$(cat "$WORK/held.txt")" != SAME ] || { echo "the old account's bytes were shown after the reload"; false; }
    grep -q '^ERROR\|^OTHER' "$WORK/held.txt"
    fault '{"provider":"'"$p"'","mode":"none"}'
    wait_for "$BOUND" timeout "$BOUND" ls "$MNT/$p/$dir"
    [ "$(fs_op stat "$MNT/$p/$dir/metadata.json")" = OK ]
}

@test "reload: the same account keeps serving what it had while it refreshes" {
    mount_cfs
    local p=fount dir old
    dir=$(ls "$MNT/$p" | head -n 1)
    old=$(timeout "$BOUND" cat "$MNT/$p/$dir/metadata.json")
    fault "{\"provider\":\"$p\",\"mode\":\"stall\"}"
    hup
    # nothing about the account changed: the cached bytes stay right
    [ "$(timeout "$BOUND" cat "$MNT/$p/$dir/metadata.json")" = "$old" ]
    fault '{"provider":"'"$p"'","mode":"none"}'
}

@test "reload: a config error keeps the running configuration, with one log line" {
    mount_cfs
    local p=${PROVIDERS[0]} before
    before=$(ls "$MNT" | sort)
    cp "$CONFIG" "$WORK/config.good"
    printf '\n[broken]\ntype = no-such-type\n' >>"$CONFIG"
    hup
    [ "$(grep -c 'previous configuration keeps running' "$WORK/daemon.log")" -eq 1 ]
    grep 'previous configuration keeps running' "$WORK/daemon.log" | grep -q 'broken'
    [ "$(ls "$MNT" | sort)" = "$before" ]
    run timeout "$BOUND" ls "$MNT/$p"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq "$(expected_count "$p")" ]
    # the reason stays visible to anyone who can see the mount
    getfattr --only-values -n user.collectionsfs.reload_error "$MNT" | grep -q 'broken'
    run timeout "$BOUND" "$CFS_BIN" --status "$MNT"
    echo "$output"
    [[ $output == *broken* ]]
    # fixed, and read again: the error is gone
    cp "$WORK/config.good" "$CONFIG"
    hup
    grep -q 'SIGHUP: configuration read again' "$WORK/daemon.log"
    ! getfattr --only-values -n user.collectionsfs.reload_error "$MNT" 2>/dev/null | grep -q .
}

@test "reload: during a stalled walk, waiting readers get an answer, nothing hangs or leaks" {
    mount_cfs
    local p=${PROVIDERS[0]} q pids=() st
    fault "{\"provider\":\"$p\",\"mode\":\"stall\"}"
    for q in 1 2 3; do
        timeout 60 ls "$MNT/$p" >/dev/null 2>&1 &
        pids+=($!)
    done
    wait_seen "$p"
    hup
    hup
    # each reader ends by the request budget of the walk it ends up waiting for
    for q in "${pids[@]}"; do
        st=0
        wait "$q" || st=$?
        [ "$st" -ne 124 ] || { echo "a reader waited past 60 s"; false; }
    done
    daemon_alive
    fault '{"provider":"'"$p"'","mode":"none"}'
    run timeout "$BOUND" ls "$MNT/$p"
    echo "ls once the provider answers: status $status: ${output:0:200}"
    # a failed walk is remembered for a second (DESIGN §3): the readers' one may
    # have failed just now
    if [ "$status" -ne 0 ]; then
        [[ $output == *"Input/output error"* ]] || [[ $output == *"Connection timed out"* ]]
        wait_for 10 timeout "$BOUND" ls "$MNT/$p"
        run timeout "$BOUND" ls "$MNT/$p"
    fi
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq "$(expected_count "$p")" ]
    fusermount3 -u "$MNT"
    daemon_exits
    [ "$DAEMON_RC" -eq 0 ]
    ! grep -q 'WARNING: ThreadSanitizer\|ERROR: AddressSanitizer' "$WORK/daemon.log"
}

@test "reload: a relative -c that is a symlink is read again where the symlink points at the SIGHUP" {
    # -c was made absolute with realpath, which also resolved the symlink: a
    # re-pointed config (dotfile managers link files into place) was never read
    local first=${PROVIDERS[0]}
    keep_sections "$WORK/a.conf" "${PROVIDERS[@]}"
    keep_sections "$WORK/b.conf" "$first"
    ln -s a.conf "$WORK/current.conf"
    cd "$WORK"
    CONFIG=current.conf mount_cfs
    [ "$(timeout "$BOUND" ls "$MNT" | wc -l)" -eq "${#PROVIDERS[@]}" ]
    ln -sfn b.conf "$WORK/current.conf"
    hup
    grep -q 'SIGHUP: configuration read again (1 provider)' "$WORK/daemon.log"
    [ "$(timeout "$BOUND" ls "$MNT")" = "$first" ]
}
