#!/usr/bin/env bats
# Command line and configuration (DESIGN §6): --help/--version, refusal of a
# group/world-readable config holding an inline secret and of unsafe section
# names, --check against the fake, -o ttl= / -o timeout= overriding the file.

load '../lib/common'

setup() {
    setup_fake --count 30
}

teardown() {
    teardown_mount
}

# daemon ARGS...: run the daemon in the foreground (bounded) and capture all output.
daemon() {
    run timeout 20 "$CFS_BIN" "$@"
    echo "collectionsfs $* -> status $status"
    echo "$output"
}

# refused_mount: mounting with $CONFIG fails, prints something, and mounts nothing.
refused_mount() {
    mkdir -p "$WORK/mnt"
    daemon -f -c "$CONFIG" "$WORK/mnt"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    [ -n "$output" ]
    ! timeout 5 mountpoint -q "$WORK/mnt" || false
}

# no_secret_in TEXT: no credential of the config (nor its wire form) is in TEXT.
no_secret_in() {
    local s
    while read -r s; do
        [[ "$1" != *"$s"* ]] || { echo "the output holds a secret"; return 1; }
    done < <(secret_values)
}

# first_section_as NAME: the first provider's config section, under the name NAME.
first_section_as() {
    fake_get "/_fake/config-sections?provider=${PROVIDERS[0]}" | sed "1s|.*|[$1]|"
}

@test "cli: --help and --version exit 0" {
    daemon --help
    [ "$status" -eq 0 ]
    [[ "$output" == *usage* ]]
    [[ "$output" == *--check* ]]
    daemon --version
    [ "$status" -eq 0 ]
    printf '%s\n' "${lines[@]}" | grep -Eq '^collectionsfs [0-9]+\.[0-9]+'
    # --help goes to stdout, so `collectionsfs --help | less` works
    [ -n "$(timeout 20 "$CFS_BIN" --help 2>/dev/null)" ]
}

@test "cli: no mount point is an error, not a hang" {
    daemon -c "$CONFIG"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    [ -n "$output" ]
}

@test "cli: a mount point that is not a directory is refused, nothing mounted over it" {
    # `collectionsfs ~/.config/collectionsfs/config` (-c forgotten) mounted over the
    # file and exited 0, leaving a mount whose every access failed with EIO
    local mounted
    printf 'keep me\n' >"$WORK/file"
    for fg in -f ""; do # the background's exit status is the mount's too
        daemon $fg -c "$CONFIG" "$WORK/file"
        mounted=$(grep -c " $WORK/file " /proc/self/mounts || true)
        [ "$mounted" -eq 0 ] || fusermount3 -uz "$WORK/file"
        [ "$mounted" -eq 0 ]
        [ "$status" -eq 1 ]
        grep -q "$WORK/file is not a directory" <<<"$output"
    done
    [ "$(cat "$WORK/file")" = "keep me" ]
}

@test "cli: a mount that cannot start its threads says why and fails, in the background too" {
    # libfuse's fuse_daemonize let the starting process exit 0 before the daemon
    # started its threads: a start that failed there was silent, successful and
    # unmounted (in the foreground it exited 1 without a word)
    MNT="$WORK/mnt" # teardown unmounts it, should a check below fail with it mounted
    mkdir -p "$MNT"
    for fg in -f ""; do
        # a stack limit above the address space: no thread's stack fits (EAGAIN)
        run bash -c 'ulimit -s 274877906944 && exec timeout 20 "$@"' - "$CFS_BIN" $fg -c "$CONFIG" "$MNT"
        echo "collectionsfs $fg -> status $status: $output"
        [ "$status" -eq 1 ]
        grep -q "cannot start its threads: Resource temporarily unavailable; check the limits on processes (ulimit -u) and on each thread's stack (ulimit -s)" <<<"$output"
        [ "$(grep -c " $MNT " /proc/self/mounts || true)" -eq 0 ]
    done
    # and a start in the background that works serves by the time it returns
    daemon -c "$CONFIG" "$MNT"
    [ "$status" -eq 0 ]
    [ "$(ls "$MNT" | wc -l)" -eq "${#PROVIDERS[@]}" ]
    fusermount3 -u "$MNT"
}

@test "cli: a second mount on a mounted point is refused; a dead one is named with its cure" {
    # a second daemon stacked on the first unnoticed; after a kill -9 libfuse said only
    # "failed to access mountpoint … Transport endpoint is not connected"
    mount_cfs
    timeout 10 ls "$MNT" >/dev/null
    daemon -f -c "$CONFIG" "$MNT"
    [ "$status" -eq 1 ]
    grep -q "collectionsfs is mounted at $MNT already.*fusermount3 -u $MNT" <<<"$output"
    [ "$(grep -c " $MNT fuse.collectionsfs " /proc/self/mounts)" -eq 1 ]
    kill -9 "$CFS_PID"
    wait_for 10 bash -c "! kill -0 $CFS_PID"
    CFS_PID=
    daemon -f -c "$CONFIG" "$MNT"
    [ "$status" -eq 1 ]
    grep -q "$MNT is still mounted by a FUSE daemon that has ended.*fusermount3 -uz $MNT" <<<"$output"
    fusermount3 -uz "$MNT"
    mount_cfs
    timeout 10 ls "$MNT" >/dev/null
}

@test "config: paths mean what a reload sees: relative *_file and ca_file refused, *_command runs in /" {
    # the daemon works in / once mounted: a relative path passed --check and the
    # start (read from here), then failed every reload (*_file) or every request (ca_file)
    cd "$WORK"
    write_config --secrets file
    sed -i "0,\|_file = $WORK/|s|_file = $WORK/|_file = |" "$CONFIG"
    grep -qE '_file = secrets/' "$CONFIG"
    daemon --check -c "$CONFIG"
    [ "$status" -eq 1 ]
    grep -q "_file secrets/.* is a relative path; give an absolute one or start it with ~/" <<<"$output"
    refused_mount
    write_config
    touch "$WORK/ca.pem"
    sed -i "0,/^type = .*/s//&\nca_file = ca.pem/" "$CONFIG"
    grep -qx 'ca_file = ca.pem' "$CONFIG"
    daemon --check -c "$CONFIG"
    [ "$status" -eq 1 ]
    grep -q "ca_file = ca.pem is a relative path; give an absolute one" <<<"$output"
    refused_mount
    write_config --secrets command
    sed -i "0,\|_command = cat |s|_command = cat |_command = pwd >$WORK/cwd; cat |" "$CONFIG"
    daemon --check -c "$CONFIG"
    [ "$status" -eq 0 ]
    [ "$(cat "$WORK/cwd")" = / ]
}

@test "config: an inline secret in a mode-644 file is refused, mentioning chmod, without the secret" {
    [ -n "$(secret_values)" ]
    chmod 644 "$CONFIG"
    refused_mount
    [[ "$output" == *chmod* ]]
    no_secret_in "$output"
    daemon --check -c "$CONFIG"
    [ "$status" -ne 0 ]
    [[ "$output" == *chmod* ]]
    no_secret_in "$output"
}

@test "config: a mode-644 file without inline secrets (only *_env) is accepted" {
    local s
    write_config --secrets env # exports the variables it names
    grep -q '_env = ' "$CONFIG"
    while read -r s; do
        ! grep -qF -- "$s" "$CONFIG" || { echo "a secret is still inline"; false; }
    done < <(secret_values)
    chmod 644 "$CONFIG"
    daemon --check -c "$CONFIG"
    [ "$status" -eq 0 ]
}

@test "config: a section named a/b is refused with a message naming it" {
    { echo; first_section_as 'a/b'; } >>"$CONFIG"
    grep -qxF '[a/b]' "$CONFIG"
    refused_mount
    [[ "$output" == *"a/b"* ]]
    daemon --check -c "$CONFIG"
    [ "$status" -ne 0 ]
    [[ "$output" == *"a/b"* ]]
}

@test "config: sections named . and .. are refused" {
    local bad
    for bad in . ..; do
        write_config
        { echo; first_section_as "$bad"; } >>"$CONFIG"
        grep -qxF "[$bad]" "$CONFIG"
        refused_mount
    done
}

@test "check: --check reports ok for every section against the fake" {
    daemon --check -c "$CONFIG"
    [ "$status" -eq 0 ]
    local s
    for s in "${PROVIDERS[@]}"; do
        printf '%s\n' "${lines[@]}" | grep -E "^$s\b.*\bok\b" || { echo "no ok line for $s"; return 1; }
    done
    no_secret_in "$output"
    # --check mounts nothing and does not need a mount point
    ! timeout 5 mountpoint -q "$WORK/mnt" || false
}

@test "check: --check refuses a -o option the mount would refuse, and takes the ones it takes" {
    daemon --check -o ro,allow_other,ttl=5,no_such_option -c "$CONFIG"
    [ "$status" -eq 1 ]
    [[ "$output" == *"unknown option(s): \`-o no_such_option'"* ]]
    daemon --check -o ro,allow_other,ttl=5,timeout=20 -c "$CONFIG"
    [ "$status" -eq 0 ]
}

@test "check: --check fails for a wrong secret and says which section, without the secret" {
    # the last section with a secret gets a wrong one; the others stay right
    local p key bad=wrong-secret-123 good
    read -r p key < <(python3 -c '
import json, sys
print(*[(s["section"], s["secrets"][0][0]) for s in json.load(open(sys.argv[1])) if s["secrets"]][-1])' \
        "$WORK/sections.json")
    [ -n "$p" ]
    [ -n "$key" ]
    write_config --set "$p.$key=$bad"
    grep -qx "$key = $bad" "$CONFIG"
    daemon --check -c "$CONFIG"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    printf '%s\n' "${lines[@]}" | grep -E "^$p\b" | grep -vq '\bok\b'
    for good in "${PROVIDERS[@]}"; do
        [ "$good" = "$p" ] && continue
        printf '%s\n' "${lines[@]}" | grep -E "^$good\b.*\bok\b" || { echo "no ok line for $good"; false; }
    done
    [[ "$output" != *"$bad"* ]]
}

@test "check: --check SECTION... checks those only, in that order; an unknown one is named" {
    local first=${PROVIDERS[0]} last=${PROVIDERS[-1]}
    [ "$first" != "$last" ]
    fake_reset
    daemon --check -c "$CONFIG" "$last" "$first"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[0]}" == "$last: ok "* ]]
    [[ "${lines[1]}" == "$first: ok "* ]]
    # only the providers named were asked
    [ "$(requests_besides "$first" "$last")" -eq 0 ]
    seen "$first"
    seen "$last"
    # --check may come after the sections
    daemon -c "$CONFIG" "$first" --check
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "${lines[0]}" == "$first: ok "* ]]
    fake_reset
    daemon --check -c "$CONFIG" "$first" nosuch
    [ "$status" -eq 1 ]
    [[ "$output" == *"no section [nosuch] in $CONFIG; its sections: ${PROVIDERS[*]}"* ]]
    [ "$(requests "$first")" -eq 0 ] # nothing fetched before every name is known
    # a mount takes one mount point, not two words
    daemon -f -c "$CONFIG" "$WORK/mnt" "$first"
    [ "$status" -eq 1 ] && [[ "$output" == *"one mount point only"* ]]
}

@test "check: --check refuses the [global] shared cache settings the mount refuses" {
    # --check said ok (exit 0) to each of these, and the mount then refused to start
    local g
    while IFS='|' read -r g want; do
        write_config "${g//;/$'\n'}"
        daemon --check -c "$CONFIG"
        [ "$status" -eq 1 ]
        grep -qF -- "$want" <<<"$output"
        ! grep -q ": ok (" <<<"$output" || false
        refused_mount
    done <<'CASES'
shared_cache = redis://192.0.2.1:6379;shared_cache_password = pw|would travel in clear to a Redis on another host
shared_cache = bogus://x|not a Redis address
shared_cache = unix:/nonexistent.sock;shared_cache_password_command = exit 3|shared_cache_password_command failed (exit status 3)
CASES
    # a Redis that is down is no error, for the mount as for --check
    write_config "shared_cache = unix:$WORK/no-redis.sock"
    daemon --check -c "$CONFIG"
    [ "$status" -eq 0 ]
}

@test "cli: the fstab helper mounts with the options mount(8) hands it, on a path with a space" {
    # what util-linux's mount(8) passes for "defaults,relatime,user,_netdev,nofail":
    # its file-system-independent options, which libfuse partly does not know
    local mnt="$WORK/mnt point" mounted
    mkdir -p "$mnt"
    run env COLLECTIONSFS="$CFS_BIN" timeout 20 sh "$REPO_DIR/contrib/mount.collectionsfs" "$CONFIG" "$mnt" \
        -n -o rw,relatime,noexec,nosuid,nodev,user,_netdev,nofail,lazytime,ttl=30
    echo "status $status: $output"
    mounted=$(grep -cF " ${mnt// /\\040} fuse.collectionsfs " /proc/self/mounts || true)
    [ "$mounted" -eq 0 ] || {
        timeout "$BOUND" ls "$mnt" >"$WORK/ls" 2>&1
        fusermount3 -u "$mnt" || fusermount3 -uz "$mnt"
    }
    [ "$status" -eq 0 ]
    [ "$mounted" -eq 1 ]
    grep -qx "${PROVIDERS[0]}" "$WORK/ls"
}

@test "cli: -o ttl=1 overrides ttl = 60 in the config" {
    local p=${PROVIDERS[-1]} id
    grep -q '^ttl = 60' "$CONFIG"
    mount_cfs -o ttl=1
    id=$(item_at "$p" 0 id)
    timeout 20 ls "$MNT/$p" | grep -qxF -- "$(item_at "$p" 0 name)"
    rename_item "$p" "$id" "Renamed via -o ttl"
    wait_for 10 bash -c "timeout 20 ls '$MNT/$p' | grep -qxF 'Renamed via -o ttl'"
}

@test "cli: -o timeout=2 overrides timeout in the config" {
    # with the config's budget (an hour) the ls would hang until its `timeout`
    # kills it; with -o timeout=2 the daemon gives up by itself while the fake
    # still stalls (the fault never changes), and logs that the budget ran out
    local p=${PROVIDERS[0]}
    CFS_TIMEOUT=3600 write_config
    grep -q '^timeout = 3600' "$CONFIG"
    mount_cfs -o timeout=2
    fault "{\"provider\": \"$p\", \"mode\": \"stall\"}"
    run timeout 120 ls "$MNT/$p"
    echo "ls: status $status: $output"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    [ "$(requests "$p")" -ge 1 ]
    grep -E "\[$p\].*(budget|timeout)" "$WORK/daemon.log" || { echo "no log line about the budget"; false; }
}

@test "cli: a plain mount and listing log no warnings or errors" {
    local p
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        run timeout 20 ls "$MNT/$p"
        [ "$status" -eq 0 ] || { echo "ls $p: $output"; false; }
    done
    cat "$WORK/daemon.log"
    grep -q "info: mounted ${#PROVIDERS[@]} providers" "$WORK/daemon.log"
    # every line is one of ours, at level info
    run grep -v '^collectionsfs [0-9:.]* info: ' "$WORK/daemon.log"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
}

@test "config: credentials for plain http:// to another host are refused unless allowed" {
    # 192.0.2.1 is TEST-NET-1: the refusal comes before any request, none is sent
    sed "s|^url = http://127.0.0.1:[0-9]*|url = http://192.0.2.1:9|" "$CONFIG" >"$WORK/remote"
    chmod 600 "$WORK/remote"
    daemon --check -c "$WORK/remote"
    [ "$status" -ne 0 ]
    [[ "$output" == *"plain http:// to 192.0.2.1"* ]]
    [[ "$output" == *allow_insecure_http* ]]
    no_secret_in "$output"
    # on loopback the same sections are fine (--check reaches the fake)
    daemon --check -c "$CONFIG"
    [ "$status" -eq 0 ]
}

@test "cli: --list-types prints the registry; an unknown type is refused naming each of them" {
    daemon --list-types
    [ "$status" -eq 0 ]
    types=("${lines[@]}")
    for t in honcho hivo fount scenario; do printf '%s\n' "${types[@]}" | grep -qx "$t"; done
    printf '[x]\ntype = dropbox\n' >"$WORK/unknown"
    chmod 600 "$WORK/unknown"
    daemon --check -c "$WORK/unknown"
    [ "$status" -ne 0 ]
    [[ "$output" == *"unknown type 'dropbox'"* ]]
    for t in "${types[@]}"; do [[ "$output" == *" $t"* ]] || { echo "$t not named"; false; }; done
}
