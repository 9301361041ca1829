# Shared set-up for the bats integration tests: a fake provider server, a
# config pointing at it, and a real collectionsfs mount. Every wait is bounded;
# teardown always unmounts lazily so a hung mount fails a test, never CI.

TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$TESTS_DIR/.." && pwd)"
CFS_BIN="${CFS_BIN:-$REPO_DIR/build/collectionsfs}"
FAKE="$TESTS_DIR/fake_providers.py"

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds or the time is up.
wait_for() {
    local limit=$1; shift
    local end=$((SECONDS + limit))
    while ! "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.05
    done
}

# start_fake [fake_providers.py args...]: sets FAKE_PORT, FAKE_PID, FAKE_URL.
start_fake() {
    WORK="${WORK:-$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/cfs.XXXXXX")}"
    rm -f "$WORK/port"
    python3 "$FAKE" --port 0 --port-file "$WORK/port" "$@" >"$WORK/fake.log" 2>&1 &
    FAKE_PID=$!
    wait_for 15 test -s "$WORK/port" || { cat "$WORK/fake.log"; return 1; }
    FAKE_PORT=$(cat "$WORK/port")
    FAKE_URL="http://127.0.0.1:$FAKE_PORT"
    export WORK FAKE_PID FAKE_PORT FAKE_URL
}

# write_config [extra global lines]: the four providers with the fake's credentials.
write_config() {
    CONFIG="$WORK/config"
    cat >"$CONFIG" <<CONF
[global]
ttl = ${CFS_TTL:-60}
timeout = ${CFS_TIMEOUT:-10}
$*

[honcho]
type = honcho
url = $FAKE_URL/honcho
app_id = app_aaaaaaaaaaaaaaaaaa
user_id = usr_bbbbbbbbbbbbbbbbbb

[hivo]
type = hivo
url = $FAKE_URL/hivo
user_id = u1
api_key = hivo-secret-key

[fount]
type = fount
url = $FAKE_URL/fount
token = fount-secret-token

[scenario]
type = scenario
url = $FAKE_URL/scenario
api_key = sk-key
api_secret = sk-secret
CONF
    chmod 600 "$CONFIG"
    export CONFIG
}

# mount_cfs [collectionsfs args...]: mounts at $MNT in the foreground, logs to $WORK/daemon.log.
mount_cfs() {
    MNT="$WORK/mnt"
    mkdir -p "$MNT"
    "$CFS_BIN" -f -c "$CONFIG" "$@" "$MNT" >"$WORK/daemon.log" 2>&1 &
    CFS_PID=$!
    export MNT CFS_PID
    wait_for 10 mountpoint -q "$MNT" || { cat "$WORK/daemon.log"; return 1; }
}

unmount_cfs() {
    [ -n "${MNT:-}" ] && fusermount3 -uz "$MNT" 2>/dev/null
    if [ -n "${CFS_PID:-}" ]; then
        wait_for 10 bash -c "! kill -0 $CFS_PID" || kill -9 "$CFS_PID" 2>/dev/null
    fi
    CFS_PID=
}

stop_fake() {
    [ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null
    FAKE_PID=
}

# The standard fixture: fake server with the given data, config, mount.
setup_mount() {
    start_fake "$@" && write_config && mount_cfs
}

teardown_mount() {
    unmount_cfs
    stop_fake
}

# fake_get PATH / fake_post PATH JSON: talk to the fake's control endpoints.
fake_get() { curl -sf --max-time 10 "$FAKE_URL$1"; }
fake_post() { curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' -d "${2:-{\}}" "$FAKE_URL$1"; }
fake_reset() { fake_post /_fake/reset '{}' >/dev/null; }
# requests PROVIDER: how many list requests the fake has seen for it since the last reset.
requests() { fake_get /_fake/stats | python3 -c "import json,sys; print(json.load(sys.stdin)['requests']['$1'])"; }
fault() { fake_post /_fake/fault "$1" >/dev/null; }
