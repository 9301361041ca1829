#!/usr/bin/env bats
# Command line and configuration (DESIGN §6): --help/--version, refusal of a
# group/world-readable config holding an inline secret and of unsafe section
# names, --check against the fake, -o ttl= / -o timeout= overriding the file.

load '../lib/common'

setup() {
    start_fake --honcho 30 --hivo 30 --fount 30 --scenario 30
    write_config
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

@test "config: an inline secret in a mode-644 file is refused, mentioning chmod, without the secret" {
    chmod 644 "$CONFIG"
    refused_mount
    [[ "$output" == *chmod* ]]
    [[ "$output" != *hivo-secret-key* ]]
    [[ "$output" != *fount-secret-token* ]]
    [[ "$output" != *sk-secret* ]]
    daemon --check -c "$CONFIG"
    [ "$status" -ne 0 ]
    [[ "$output" == *chmod* ]]
    [[ "$output" != *hivo-secret-key* && "$output" != *fount-secret-token* && "$output" != *sk-secret* ]]
}

@test "config: a mode-644 file without inline secrets (only *_env) is accepted" {
    sed -i -e 's/^api_key = hivo-secret-key/api_key_env = CFS_T_HIVO/' \
           -e 's/^token = fount-secret-token/token_env = CFS_T_FOUNT/' \
           -e 's/^api_key = sk-key/api_key_env = CFS_T_SK/' \
           -e 's/^api_secret = sk-secret/api_secret_env = CFS_T_SS/' "$CONFIG"
    ! grep -q 'secret-key\|secret-token\|sk-secret' "$CONFIG" || false
    chmod 644 "$CONFIG"
    CFS_T_HIVO=hivo-secret-key CFS_T_FOUNT=fount-secret-token CFS_T_SK=sk-key CFS_T_SS=sk-secret \
        daemon --check -c "$CONFIG"
    [ "$status" -eq 0 ]
}

@test "config: a section named a/b is refused with a message naming it" {
    cat >>"$CONFIG" <<EOF

[a/b]
type = honcho
url = $FAKE_URL/honcho
app_id = app_aaaaaaaaaaaaaaaaaa
user_id = usr_bbbbbbbbbbbbbbbbbb
EOF
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
        printf '\n[%s]\ntype = honcho\nurl = %s/honcho\napp_id = x\nuser_id = y\n' "$bad" "$FAKE_URL" >>"$CONFIG"
        refused_mount
    done
}

@test "check: --check reports ok for all four sections against the fake" {
    daemon --check -c "$CONFIG"
    [ "$status" -eq 0 ]
    local s
    for s in honcho hivo fount scenario; do
        printf '%s\n' "${lines[@]}" | grep -E "^$s\b.*\bok\b" || { echo "no ok line for $s"; return 1; }
    done
    [[ "$output" != *hivo-secret-key* && "$output" != *fount-secret-token* && "$output" != *sk-secret* ]]
    # --check mounts nothing and does not need a mount point
    ! timeout 5 mountpoint -q "$WORK/mnt" || false
}

@test "check: --check fails for a wrong token and says which section, without the token" {
    sed -i 's/^token = fount-secret-token/token = wrong-fount-token-123/' "$CONFIG"
    daemon --check -c "$CONFIG"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    printf '%s\n' "${lines[@]}" | grep fount | grep -vq '\bok\b'
    printf '%s\n' "${lines[@]}" | grep -E '^honcho\b.*\bok\b'
    [[ "$output" != *wrong-fount-token-123* ]]
}

@test "cli: -o ttl=1 overrides ttl = 60 in the config" {
    grep -q '^ttl = 60' "$CONFIG"
    mount_cfs -o ttl=1
    local first id
    first=$(fake_get "/_fake/expect?provider=scenario" | python3 -c 'import json,sys; i=json.load(sys.stdin)[0]; print(i["id"]); print(i["name"])')
    id=$(head -1 <<<"$first")
    timeout 20 ls "$MNT/scenario" | grep -qxF -- "$(tail -1 <<<"$first")"
    fake_post /_fake/config "{\"provider\": \"scenario\", \"rename\": {\"$id\": \"Renamed via -o ttl\"}}" >/dev/null
    wait_for 10 bash -c "timeout 20 ls '$MNT/scenario' | grep -qxF 'Renamed via -o ttl'"
}

@test "cli: -o timeout=2 overrides timeout in the config" {
    CFS_TIMEOUT=30 write_config
    grep -q '^timeout = 30' "$CONFIG"
    mount_cfs -o timeout=2
    fault '{"provider": "hivo", "mode": "stall"}'
    local t0=$SECONDS
    run timeout 30 ls "$MNT/hivo"
    echo "$output; took $((SECONDS - t0)) s"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    [ $((SECONDS - t0)) -le 8 ]
}

@test "cli: a plain mount and listing log no warnings or errors" {
    mount_cfs
    run timeout 20 ls "$MNT"/honcho "$MNT"/hivo "$MNT"/fount "$MNT"/scenario
    [ "$status" -eq 0 ]
    cat "$WORK/daemon.log"
    grep -q 'info: mounted 4 providers' "$WORK/daemon.log"
    # every line is one of ours, at level info
    run grep -v '^collectionsfs [0-9:.]* info: ' "$WORK/daemon.log"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
}
