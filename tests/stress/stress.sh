#!/usr/bin/env bash
# Stress under faults: 64 parallel readers doing ls / stat / ls+cat over every
# provider of a mount (those the fake serves and the binary knows) with
# -o ttl=1 (so refreshes happen all the time), while a loop switches faults
# (none / every / latency / 429 / reset) every second on random providers. At the end: the daemon is alive, every provider recovers,
# the unmount is clean, the daemon exits 0, and its log holds no sanitizer
# report (ThreadSanitizer / AddressSanitizer / UBSan / LeakSanitizer).
#
#   tests/stress/stress.sh                          # the normal build
#   CFS_BIN=build-tsan/collectionsfs tests/stress/stress.sh
#   CFS_BIN=build-asan/collectionsfs ASAN_OPTIONS=detect_leaks=1 tests/stress/stress.sh
#
# Environment: STRESS_SECONDS (20), STRESS_READERS (64), CFS_BIN, CFS_TIMEOUT
# (request budget of the daemon, 5), STRESS_HUP (1: a SIGHUP, which drops every
# cached listing, in about one switch of four; 0: none), STRESS_KEEP=1 keeps
# the work directory.
# Prints one final line, "stress: PASS" or "stress: FAIL (reasons)"; exit 0/1.
#
# Sanitizer builds:
#   meson setup build-tsan -Db_sanitize=thread -Dbuildtype=debug && ninja -C build-tsan collectionsfs
#   meson setup build-asan -Db_sanitize=address,undefined -Dbuildtype=debug && ninja -C build-asan collectionsfs
# On kernels with a large vm.mmap_rnd_bits, a TSan binary dies at start with
# "FATAL: ThreadSanitizer: unexpected memory mapping". This script detects
# that and runs the daemon under `setarch $(uname -m) -R` (no address space
# randomisation), which needs no root; the other cure is
# `sysctl vm.mmap_rnd_bits=28` as root.

set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib/common.bash"

SECONDS_TOTAL=${STRESS_SECONDS:-20}
NREADERS=${STRESS_READERS:-64}
export CFS_TIMEOUT=${CFS_TIMEOUT:-5}
MODES=(none every latency 429 reset)
STRESS_HUP=${STRESS_HUP:-1}
READER_BOUND=$((CFS_TIMEOUT * 3 + 15))   # one operation: budget plus slack for sanitizers
FAILS=()

WORK="$(mktemp -d "${TMPDIR:-/tmp}/cfs-stress.XXXXXX")"
export WORK
say() { echo "stress: $*" >&2; }
fail() { FAILS+=("$*"); say "FAIL: $*"; }

cleanup() {
    [ -n "${SWITCHER:-}" ] && kill "$SWITCHER" 2>/dev/null
    for pid in "${READER_PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null; done
    unmount_cfs 2>/dev/null
    stop_fake
    if [ "${STRESS_KEEP:-0}" = 1 ]; then say "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- the daemon binary
[ -x "$CFS_BIN" ] || { echo "stress: FAIL (no daemon binary at $CFS_BIN)"; exit 1; }
if "$CFS_BIN" --version 2>&1 | grep -q 'unexpected memory mapping'; then
    say "ThreadSanitizer needs a fixed address space here: running the daemon under setarch -R"
    REAL_BIN=$CFS_BIN
    CFS_BIN="$WORK/cfs-setarch"
    printf '#!/bin/sh\nexec setarch "%s" -R "%s" "$@"\n' "$(uname -m)" "$REAL_BIN" >"$CFS_BIN"
    chmod +x "$CFS_BIN"
    "$CFS_BIN" --version >/dev/null 2>&1 || { echo "stress: FAIL (the TSan binary does not start even under setarch -R)"; exit 1; }
fi
# keep running after the first report so the log shows them all
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0 second_deadlock_stack=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

# ---------------------------------------------------------------- mount
start_fake || { echo "stress: FAIL (fake providers did not start)"; exit 1; }
write_config
mount_cfs -o ttl=1 || { echo "stress: FAIL (mount failed)"; exit 1; }
say "daemon $CFS_PID ($CFS_BIN), $NREADERS readers, $SECONDS_TOTAL s, timeout=$CFS_TIMEOUT s, work $WORK"

# ---------------------------------------------------------------- readers
reader() {
    local id=$1 end=$2 ops=0 errs=0 hung=0 p op name rc
    RANDOM=$((id * 7919 + $$))
    while [ "$SECONDS" -lt "$end" ]; do
        p=${PROVIDERS[RANDOM % ${#PROVIDERS[@]}]}
        op=$((RANDOM % 3))
        rc=0
        case $op in
        0) timeout "$READER_BOUND" ls -l "$MNT/$p" >/dev/null 2>&1 || rc=$? ;;
        *)
            name=$(timeout "$READER_BOUND" ls "$MNT/$p" 2>/dev/null | shuf -n 1)
            rc=${PIPESTATUS[0]}
            if [ "$rc" -eq 0 ] && [ -n "$name" ]; then
                if [ "$op" -eq 1 ]; then
                    timeout "$READER_BOUND" stat "$MNT/$p/$name/metadata.json" >/dev/null 2>&1 || rc=$?
                else # the directory first: while files are read, that pushes the file (fs.c)
                    timeout "$READER_BOUND" ls "$MNT/$p/$name" >/dev/null 2>&1 &&
                        timeout "$READER_BOUND" cat "$MNT/$p/$name/metadata.json" >/dev/null 2>&1 || rc=$?
                fi
            fi
            ;;
        esac
        ops=$((ops + 1))
        [ "$rc" -eq 124 ] && hung=$((hung + 1))
        [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && errs=$((errs + 1))
    done
    echo "$ops $errs $hung" >"$WORK/reader.$id"
}

switcher() {
    local end=$1 p m body
    RANDOM=$$
    while [ "$SECONDS" -lt "$end" ]; do
        p=${PROVIDERS[RANDOM % ${#PROVIDERS[@]}]}
        m=${MODES[RANDOM % ${#MODES[@]}]}
        case $m in
        every) body="\"k\":$((2 + RANDOM % 3)),\"status\":$((RANDOM % 2 ? 500 : 503))" ;;
        latency) body="\"seconds\":0.$((1 + RANDOM % 9))" ;;
        429) body="\"k\":$((1 + RANDOM % 3)),\"retry_after\":1" ;;
        *) body="\"k\":1" ;;
        esac
        fault "{\"provider\":\"$p\",\"mode\":\"$m\",$body}" || true
        echo "$SECONDS $p $m" >>"$WORK/faults.log"
        # now and then drop every cache while readers and walks are busy
        if [ "$STRESS_HUP" = 1 ] && [ $((RANDOM % 4)) -eq 0 ]; then
            kill -HUP "$CFS_PID" 2>/dev/null || true
            echo "$SECONDS SIGHUP" >>"$WORK/faults.log"
        fi
        sleep 1 # the pace of the storm, not a wait for anything
    done
}

END=$((SECONDS + SECONDS_TOTAL))
READER_PIDS=()
for ((i = 0; i < NREADERS; i++)); do
    reader "$i" "$END" &
    READER_PIDS+=($!)
done
switcher "$END" &
SWITCHER=$!

wait "$SWITCHER"
SWITCHER=
fake_post /_fake/reset '{}' >/dev/null || fail "cannot reset the fake's faults"
for pid in "${READER_PIDS[@]}"; do wait "$pid"; done
READER_PIDS=()

ops=0 errs=0 hung=0
for f in "$WORK"/reader.*; do
    read -r o e h <"$f"
    ops=$((ops + o)) errs=$((errs + e)) hung=$((hung + h))
done
say "$ops operations, $errs failed (faults make some fail), $hung hung past $READER_BOUND s; $(wc -l <"$WORK/faults.log") fault switches"
[ "$ops" -gt 0 ] || fail "no operation completed"
[ "$hung" -eq 0 ] || fail "$hung operations hung past ${READER_BOUND} s"

# ---------------------------------------------------------------- after the storm
# shows_all PROVIDER: ls of the section shows every collection the fake has.
shows_all() {
    [ "$(timeout "$READER_BOUND" ls "$MNT/$1" | wc -l)" -eq "$(expected_count "$1")" ]
}

if kill -0 "$CFS_PID" 2>/dev/null && mountpoint -q "$MNT"; then
    # once ttl has passed the next access refreshes with the faults gone (a
    # 429 hint may hold a provider back a little longer): poll, bounded
    for p in "${PROVIDERS[@]}"; do
        wait_for 60 shows_all "$p" ||
            fail "$p shows $(timeout "$READER_BOUND" ls "$MNT/$p" | wc -l) collections 60 s after the faults stopped, want $(expected_count "$p")"
    done
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$CFS_PID/status")
    say "daemon RSS ${rss} kB"
    if [ "$STRESS_HUP" = 1 ]; then
        # a SIGHUP shortly before the unmount (log rotation during shutdown)
        hups=$(grep -c SIGHUP "$WORK/daemon.log")
        kill -HUP "$CFS_PID" 2>/dev/null
        wait_for 10 bash -c "[ \$(grep -c SIGHUP '$WORK/daemon.log') -gt $hups ]" ||
            fail "no log line for the last SIGHUP"
        timeout "$READER_BOUND" ls "$MNT/${PROVIDERS[0]}" >/dev/null || fail "${PROVIDERS[0]} unreadable after SIGHUP"
    fi
    if out=$(timeout 20 fusermount3 -u "$MNT" 2>&1); then
        if wait_for 30 bash -c "! kill -0 $CFS_PID 2>/dev/null"; then
            rc=0
            wait "$CFS_PID" || rc=$?
            [ "$rc" -eq 0 ] || fail "daemon exit status $rc after unmount"
            CFS_PID=
        else
            fail "daemon still running 30 s after the unmount"
        fi
    else
        fail "fusermount3 -u: $out"
    fi
else
    fail "daemon died or the mount vanished during the storm"
fi

# ---------------------------------------------------------------- sanitizer reports
unmount_cfs 2>/dev/null
pat='WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:'
if grep -qE "$pat" "$WORK/daemon.log"; then
    n=$(grep -cE "$pat" "$WORK/daemon.log")
    fail "$n sanitizer reports in the daemon log"
    grep -nE -A14 "$pat" "$WORK/daemon.log" | head -n 80 >&2
    cp "$WORK/daemon.log" "${TMPDIR:-/tmp}/cfs-stress-daemon.log" 2>/dev/null &&
        say "full daemon log: ${TMPDIR:-/tmp}/cfs-stress-daemon.log"
fi
if grep -qE 'Segmentation fault|Aborted|double free|stack smashing' "$WORK/daemon.log"; then
    fail "the daemon log shows a crash"
fi

if [ "${#FAILS[@]}" -eq 0 ]; then
    echo "stress: PASS"
    exit 0
fi
reasons=$(printf '%s; ' "${FAILS[@]}")
echo "stress: FAIL (${reasons%; })"
exit 1
