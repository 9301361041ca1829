#!/usr/bin/env bats
# Secrets never leak (DESIGN §6-7): with every secret given inline, as
# *_env, *_file or *_command, a debug run (-d, one log line per request)
# over a full listing and a read of every file shows no secret in the
# daemon's log, in any file under the mount, or in any xattr.

load '../lib/common'

teardown() {
    teardown_mount
}

# Distinctive values, so a hit can only be a leak.
HONCHO_TOKEN=HT-honcho-7c1e55d0
HIVO_KEY=HK-hivo-93b2aa41
FOUNT_TOKEN=FT-fount-0d8e6f27
SC_KEY=SKK-scen-51f0c3e9
SC_SECRET=SKS-scen-a47b9d12
SECRETS=("$HONCHO_TOKEN" "$HIVO_KEY" "$FOUNT_TOKEN" "$SC_KEY" "$SC_SECRET")

# secret_line FORM KEY ENVNAME VALUE: the config line for one secret.
secret_line() {
    local form=$1 key=$2 env=$3 value=$4
    case $form in
        inline) echo "$key = $value" ;;
        env) echo "${key}_env = $env" ;;
        file) printf '%s\n' "$value" >"$WORK/secrets/$env"
              chmod 600 "$WORK/secrets/$env"
              echo "${key}_file = $WORK/secrets/$env" ;;
        command) printf '%s\n' "$value" >"$WORK/secrets/$env"
                 echo "${key}_command = cat $WORK/secrets/$env" ;;
    esac
}

# mount_with FORM: fake requiring the secrets above, config giving them as FORM, debug mount.
mount_with() {
    local form=$1
    start_fake --honcho 150 --hivo 300 --fount 1200 --scenario 150 --hostile \
        --honcho-token "$HONCHO_TOKEN" --hivo-key "$HIVO_KEY" --fount-token "$FOUNT_TOKEN" \
        --scenario-key "$SC_KEY" --scenario-secret "$SC_SECRET"
    write_config
    mkdir -p "$WORK/secrets"
    export CFS_HONCHO_TOKEN=$HONCHO_TOKEN CFS_HIVO_KEY=$HIVO_KEY CFS_FOUNT_TOKEN=$FOUNT_TOKEN \
        CFS_SC_KEY=$SC_KEY CFS_SC_SECRET=$SC_SECRET
    python3 - "$CONFIG" \
        "$(secret_line "$form" token CFS_HONCHO_TOKEN "$HONCHO_TOKEN")" \
        "$(secret_line "$form" api_key CFS_HIVO_KEY "$HIVO_KEY")" \
        "$(secret_line "$form" token CFS_FOUNT_TOKEN "$FOUNT_TOKEN")" \
        "$(secret_line "$form" api_key CFS_SC_KEY "$SC_KEY")" \
        "$(secret_line "$form" api_secret CFS_SC_SECRET "$SC_SECRET")" <<'PY'
import re, sys
path, honcho, hivo, fount, sck, scs = sys.argv[1:]
text = open(path).read()
text = text.replace("user_id = usr_bbbbbbbbbbbbbbbbbb\n", "user_id = usr_bbbbbbbbbbbbbbbbbb\n" + honcho + "\n", 1)
text = text.replace("api_key = hivo-secret-key", hivo)
text = text.replace("token = fount-secret-token", fount)
text = text.replace("api_key = sk-key", sck)
text = text.replace("api_secret = sk-secret", scs)
open(path, "w").write(text)
PY
    echo "--- config ($form)"; cat "$CONFIG"
    mount_cfs -d
}

# no_leaks WHAT FILE: fail, printing them, if FILE holds any secret (or the Basic credential).
no_leaks() {
    local s hit=0 basic
    basic=$(printf '%s:%s' "$SC_KEY" "$SC_SECRET" | base64)
    for s in "${SECRETS[@]}" "$basic"; do
        if grep -qF -- "$s" "$2"; then
            echo "$1 holds the secret $s:"
            grep -nF -- "$s" "$2" | head -3
            hit=1
        fi
    done
    return $hit
}

check_no_leaks() {
    # the mount works with these secrets: every section lists in full
    run timeout 120 ls -lR "$MNT"
    [ "$status" -eq 0 ]
    [ "$(timeout 60 find "$MNT" -type f | wc -l)" -eq $((150 + 300 + 1200 + 150)) ]
    # read every file, and look for the secrets in their contents
    timeout 120 grep -r -l -F -e "$HONCHO_TOKEN" -e "$HIVO_KEY" -e "$FOUNT_TOKEN" -e "$SC_KEY" -e "$SC_SECRET" \
        "$MNT" >"$WORK/grep.out" 2>&1 && { echo "secrets in files:"; cat "$WORK/grep.out"; return 1; }
    [ ! -s "$WORK/grep.out" ]          # no read errors either
    timeout 120 bash -c 'cat "$1"/*/*/metadata.json' _ "$MNT" >"$WORK/all.json"
    no_leaks "file contents" "$WORK/all.json"
    # every xattr of every entry
    timeout 120 getfattr -d -m - -R "$MNT" >"$WORK/xattr.out" 2>&1 || true
    no_leaks "getfattr output" "$WORK/xattr.out"
    # the debug log: it did log the requests, and nothing secret
    grep -q 'api/v2/collections' "$WORK/daemon.log"
    grep -q 'v1/collections' "$WORK/daemon.log"
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
