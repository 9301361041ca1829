#!/usr/bin/env bats
# Secrets never leak (DESIGN §6-7): with every secret given inline, as
# *_env, *_file or *_command, a debug run (-d, one log line per request)
# over a full listing and a read of every file shows no secret in the
# daemon's log, in any file under the mount, or in any xattr. Every
# credential the fake knows (also one it does not require by default) gets a
# distinctive value, so a hit can only be a leak. A loopback url, which may
# carry credentials over plain HTTP, never goes through http_proxy.

load '../lib/common'

teardown() {
    teardown_mount
}

# mount_with FORM: the fake requiring distinctive secrets, the config giving them as FORM, debug mount.
mount_with() {
    local form=$1 p key
    start_fake --hostile
    fake_get "/_fake/config-sections?format=json" >"$WORK/all-sections.json"
    while read -r p key; do
        fake_post /_fake/config "{\"provider\": \"$p\", \"credentials\": {\"$key\": \"LEAK-$p-$key-$(printf '%s' "$p.$key" | sha1sum | cut -c1-8)\"}}" >/dev/null
    done < <(python3 -c '
import json, sys
for s in json.load(open(sys.argv[1])):
    for k in [k for k, v in s["secrets"]] + s["unset_secrets"]:
        print(s["section"], k)' "$WORK/all-sections.json")
    write_config --secrets "$form"
    [ -n "$(secret_values)" ]
    echo "--- config ($form)"
    cat "$CONFIG"
    mount_cfs -d
}

# no_leaks WHAT FILE: fail, printing them, if FILE holds any secret (or its wire form).
no_leaks() {
    local s hit=0
    while read -r s; do
        if grep -qF -- "$s" "$2"; then
            echo "$1 holds the secret $s:"
            grep -nF -- "$s" "$2" | head -3
            hit=1
        fi
    done < <(secret_values)
    return $hit
}

check_no_leaks() {
    local p
    # the mount works with these secrets: every section lists in full
    run timeout 120 ls -lR "$MNT"
    [ "$status" -eq 0 ]
    [ "$(timeout 60 find "$MNT" -type f | wc -l)" -eq "$(expected_total)" ]
    # read every file, and look for the secrets in their contents
    secret_values >"$WORK/patterns"
    timeout 120 grep -r -l -F -f "$WORK/patterns" "$MNT" >"$WORK/grep.out" 2>&1 &&
        { echo "secrets in files:"; cat "$WORK/grep.out"; return 1; }
    [ ! -s "$WORK/grep.out" ] # no read errors either
    timeout 120 bash -c 'cat "$1"/*/*/metadata.json' _ "$MNT" >"$WORK/all.json"
    no_leaks "file contents" "$WORK/all.json"
    # every xattr of every entry
    timeout 120 getfattr -d -m - -R "$MNT" >"$WORK/xattr.out" 2>&1 || true
    no_leaks "getfattr output" "$WORK/xattr.out"
    # the debug log: it did log every section's requests, and nothing secret
    for p in "${PROVIDERS[@]}"; do
        grep -q " debug: \[$p\] " "$WORK/daemon.log" || { echo "no request of $p in the debug log"; return 1; }
    done
    no_leaks "the daemon log" "$WORK/daemon.log"
    # nor in what --check prints
    timeout 30 "$CFS_BIN" --check -c "$CONFIG" >"$WORK/check.out" 2>&1
    no_leaks "--check output" "$WORK/check.out"
}

@test "secrets: inline secrets never appear in logs, files or xattrs" {
    mount_with inline
    check_no_leaks
}

@test "secrets: *_env secrets never appear in logs, files or xattrs" {
    mount_with env
    check_no_leaks
}

@test "secrets: *_file secrets never appear in logs, files or xattrs" {
    mount_with file
    check_no_leaks
}

@test "secrets: *_command secrets never appear in logs, files or xattrs" {
    mount_with command
    check_no_leaks
}

@test "secrets: a loopback url never goes through http_proxy, so its credentials stay on this machine" {
    # plain http:// with credentials is allowed on loopback only because nothing
    # crosses a network; a proxy from the environment would carry them off in clear
    start_fake
    write_config
    start_hostile # stands in for the proxy: it counts every request it gets
    sed 's|http://127\.0\.0\.1:|http://localhost:|' "$CONFIG" >"$WORK/config.localhost"
    chmod 600 "$WORK/config.localhost"
    local c
    for c in "$CONFIG" "$WORK/config.localhost"; do
        grep -q '^url = http://\(127\.0\.0\.1\|localhost\):' "$c"
        run env -u no_proxy -u NO_PROXY http_proxy="$HOSTILE_URL" https_proxy="$HOSTILE_URL" \
            all_proxy="$HOSTILE_URL" timeout 60 "$CFS_BIN" --check -c "$c"
        echo "$output"
        [ "$status" -eq 0 ] || { echo "--check with http_proxy set failed ($c)"; false; }
        [ "$(hostile_requests)" -eq 0 ] || { echo "$(hostile_requests) requests went to the proxy ($c)"; false; }
    done
}
