# A fleet on one machine for the shared-cache tests and benchmark: a
# redis-server of the test's own on a unix socket, and N daemons on N mount
# points sharing it (DESIGN §3, "The fleet"). Sourced after common.bash.

# start_redis: REDIS_SOCK, REDIS_PID; a Redis that cannot start fails the test.
start_redis() {
    REDIS_SOCK="$WORK/redis.sock"
    rm -f "$REDIS_SOCK"
    redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 --save '' \
        --appendonly no --dir "$WORK" --logfile "$WORK/redis.log" &
    REDIS_PID=$!
    export REDIS_SOCK REDIS_PID
    wait_for 10 rcli PING || { echo "redis-server did not start"; cat "$WORK/redis.log"; return 1; }
}

stop_redis() {
    [ -n "${LISTEN_PID:-}" ] && { kill "$LISTEN_PID" 2>/dev/null || true; }
    LISTEN_PID=
    [ -n "${REDIS_PID:-}" ] || return 0
    kill "$REDIS_PID" 2>/dev/null
    wait_for 10 bash -c "! kill -0 $REDIS_PID" || kill -9 "$REDIS_PID" 2>/dev/null
    REDIS_PID=
}

# rcli ARGS...: redis-cli against the test's Redis, no retries.
rcli() { timeout 10 redis-cli -s "$REDIS_SOCK" "$@"; }
# The daemon's Redis key prefix, read from the source so that a new record
# format (which names its keys) needs no change here.
KEYS=$(sed -n 's/^#define PREFIX "\(.*\)"$/\1/p' "$TESTS_DIR/../src/shared.c")
: "${KEYS:?no PREFIX in src/shared.c}"
# keys PATTERN: the daemon's keys that match PATTERN after the prefix.
keys() { rcli --scan --pattern "$KEYS$1"; }

# listen_publications: record the fleet's announcements from now on; publications counts them
# (a generation number says nothing of how many: the first is Redis's clock).
listen_publications() {
    timeout 600 redis-cli -s "$REDIS_SOCK" SUBSCRIBE "${KEYS}published" >"$WORK/published.out" 2>&1 &
    LISTEN_PID=$!
    wait_for 10 grep -qx subscribe "$WORK/published.out" || { cat "$WORK/published.out"; return 1; }
}
publications() { grep -cx message "$WORK/published.out"; }
publications_are() { [ "$(publications)" -eq "$1" ]; }

# fleet_mount N [collectionsfs args]: daemons 1..N on $WORK/m1.. (logs $WORK/d1.log..), with
# $WORK/config.I when it exists, else $CONFIG.
fleet_mount() {
    local n=$1 i
    shift
    for ((i = 1; i <= n; i++)); do
        mkdir -p "$WORK/m$i"
        local cfg="$CONFIG"
        [ -f "$WORK/config.$i" ] && cfg="$WORK/config.$i" # a daemon of its own config
        "$CFS_BIN" -f -c "$cfg" "$@" "$WORK/m$i" >"$WORK/d$i.log" 2>&1 &
        FLEET_PID[i]=$!
    done
    for ((i = 1; i <= n; i++)); do
        wait_for 10 mountpoint -q "$WORK/m$i" || { cat "$WORK/d$i.log"; return 1; }
    done
    FLEET_N=$n
}

# fleet_unmount: every daemon of the fleet, then no sanitizer report in any log. All are
# unmounted first, then waited for together: eight sanitizer builds checking for leaks at
# exit on two cores take a while (LeakSanitizer stops the process to scan it).
fleet_unmount() {
    local i rc=0
    # A daemon a test stopped must run to exit. SIGCONT goes before any unmount: sent
    # to a daemon already exiting, it cancels the SIGSTOP with which LeakSanitizer's
    # tracer attaches to it, and the tracer then waits for that stop forever.
    for ((i = 1; i <= ${FLEET_N:-0}; i++)); do
        [ -n "${FLEET_PID[i]:-}" ] && { kill -CONT "${FLEET_PID[i]}" 2>/dev/null || true; }
    done
    for ((i = 1; i <= ${FLEET_N:-0}; i++)); do
        fusermount3 -uz "$WORK/m$i" 2>/dev/null
    done
    for ((i = 1; i <= ${FLEET_N:-0}; i++)); do
        [ -n "${FLEET_PID[i]:-}" ] || continue
        if ! wait_for 60 bash -c "! kill -0 ${FLEET_PID[i]}"; then
            echo "daemon $i did not end within 60 s of its unmount" >&2
            tail -n 20 "$WORK/d$i.log" >&2
            # what it waits for, and who may still hold its mount
            ps -eo pid,stat,wchan:32,args | grep -E "^ *[0-9]+ D|$WORK" | grep -v grep >&2
            local pid t
            for pid in "${FLEET_PID[i]}" $(pgrep -P "${FLEET_PID[i]}"); do
                for t in /proc/"$pid"/task/*; do
                    echo "task ${t##*/} of $pid: $(cut -d' ' -f3 "$t/stat" 2>/dev/null) $(cat "$t/wchan" 2>/dev/null)"
                    head -n 6 "$t/stack" 2>/dev/null
                done
            done >&2
            timeout 60 gdb -p "${FLEET_PID[i]}" -batch -ex 'thread apply all bt' 2>&1 |
                grep -E '^(Thread|#)' | head -n 120 >&2
            kill -9 "${FLEET_PID[i]}" 2>/dev/null || true
            rc=1
        fi
    done
    for ((i = 1; i <= ${FLEET_N:-0}; i++)); do
        WORK_LOG="$WORK/d$i.log"
        [ -f "$WORK_LOG" ] || continue
        if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:' "$WORK_LOG"; then
            echo "sanitizer report in $WORK_LOG" >&2
            grep -nE -A12 'ERROR: |WARNING: ThreadSanitizer|runtime error:' "$WORK_LOG" | head -n 40 >&2
            rc=1
        fi
    done
    FLEET_N=0
    return $rc
}

# fleet_view I: names, inodes and bytes of every collection daemon I shows.
fleet_view() {
    local m="$WORK/m$1"
    (cd "$m" && timeout "$BOUND" find . -mindepth 1 -printf '%i %p\n' | LC_ALL=C sort &&
        timeout "$BOUND" find . -name metadata.json -exec md5sum {} + | LC_ALL=C sort)
}

# manifests_are N: Redis holds N published listings.
manifests_are() { [ "$(keys '*:manifest' | wc -l)" -eq "$1" ]; }

# past T: the wall clock is past second T (a listing's fetched_at + ttl, say).
past() { [ "$(date -u +%s)" -gt "$1" ]; }
