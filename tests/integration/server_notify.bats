#!/usr/bin/env bats
# systemd readiness without systemd (DESIGN §8): the daemon's sd_notify
# datagrams go to a socket of our own (server_notify.py, given as
# NOTIFY_SOCKET). READY=1 must come from the daemon only once the mount is
# there — the listener looks at /proc/self/mountinfo and `stat -f` the moment
# the datagram arrives — with a STATUS line; STOPPING=1 when it unmounts. A
# mount that fails (bad config, refused by the kernel) exits non-zero and never says
# READY=1. In the foreground (-f, as the units run it) and in the background.

load '../lib/common'

setup() {
    setup_fake --count 20
    MNT="$WORK/mnt"
    mkdir -p "$MNT"
    NOTIFY="$WORK/notify.sock"
    python3 "$TESTS_DIR/integration/server_notify.py" --socket "$NOTIFY" --mountpoint "$MNT" \
        --out "$WORK/notify.log" --timeout 60 &
    LISTENER=$!
    wait_for 10 test -S "$NOTIFY" || { echo "the notify listener did not start"; return 1; }
}

teardown() {
    [ -n "${LISTENER:-}" ] && kill "$LISTENER" 2>/dev/null
    echo "---- notify.log"
    cat "$WORK/notify.log" 2>/dev/null
    teardown_mount
}

# notify_end: every datagram the daemon sent has been read (ours, sent last, has).
notify_end() {
    python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"TEST_END=1", sys.argv[1])' "$NOTIFY"
    wait_for 10 bash -c "! kill -0 $LISTENER 2>/dev/null" || { echo "the listener did not end"; return 1; }
    wait "$LISTENER" || { echo "the listener failed: $?"; return 1; }
    LISTENER=
}

# got PATTERN: a line of notify.log matches PATTERN (grep -E).
got() { grep -qE -- "$1" "$WORK/notify.log" 2>/dev/null; }

# ready_checks PID: READY=1 came once, from PID, with the mount already in place and served.
ready_checks() {
    wait_for "$BOUND" got '^msg .*READY=1' || { echo "no READY=1 within $BOUND s"; return 1; }
    [ "$(grep -c 'READY=1' "$WORK/notify.log")" -eq 1 ] || { echo "READY=1 more than once"; return 1; }
    local n=${#PROVIDERS[@]} s=s
    [ "$n" -ne 1 ] || s=
    got "^msg $1 READY=1\|STATUS=mounted $n provider$s on $MNT\$" ||
        { echo "READY=1 not from pid $1 with the expected STATUS"; return 1; }
    got '^ready-mountinfo fuse\.collectionsfs$' || { echo "READY=1 before the mount showed in mountinfo"; return 1; }
    got '^ready-statfs fuse(blk)?$' || { echo "READY=1 before statfs of the mount point said FUSE"; return 1; }
}

@test "notify: in the foreground, READY=1 only once the mount is served; STOPPING=1 at unmount" {
    NOTIFY_SOCKET="$NOTIFY" mount_cfs
    ready_checks "$CFS_PID"
    timeout "$BOUND" ls "$MNT/${PROVIDERS[0]}" >/dev/null
    run timeout 10 fusermount3 -u "$MNT"
    [ "$status" -eq 0 ]
    daemon_exits
    notify_end
    got "^msg [0-9]+ STOPPING=1\|STATUS=unmounting$"
    # nothing after STOPPING=1 but our own end marker
    [ "$(grep '^msg ' "$WORK/notify.log" | tail -n 2 | head -n 1 | cut -d' ' -f3-)" = "STOPPING=1|STATUS=unmounting" ]
}

@test "notify: SIGTERM sends STOPPING=1 and the daemon exits 0" {
    NOTIFY_SOCKET="$NOTIFY" mount_cfs
    ready_checks "$CFS_PID"
    kill -TERM "$CFS_PID"
    daemon_exits
    notify_end
    got "^msg [0-9]+ STOPPING=1"
}

@test "notify: in the background (no -f) the daemon that stays says READY=1 after the mount" {
    local parent rc=0 child
    NOTIFY_SOCKET="$NOTIFY" timeout 20 "$CFS_BIN" -c "$CONFIG" "$MNT" >"$WORK/daemon.log" 2>&1 &
    parent=$!
    wait "$parent" || rc=$?
    [ "$rc" -eq 0 ] || { echo "collectionsfs (background) exited $rc"; cat "$WORK/daemon.log"; false; }
    wait_for "$BOUND" got '^msg .*READY=1'
    child=$(grep -m1 'READY=1' "$WORK/notify.log" | cut -d' ' -f2)
    [ "$child" != "$parent" ] # the process fuse_daemonize forked, not the one that exited
    ready_checks "$child"
    kill -0 "$child"
    run timeout 10 fusermount3 -u "$MNT"
    [ "$status" -eq 0 ]
    wait_for 20 bash -c "! kill -0 $child 2>/dev/null" || { echo "daemon $child still running"; false; }
    notify_end
    got "^msg $child STOPPING=1"
}

@test "notify: a bad config exits non-zero and never says READY=1" {
    printf '[broken]\ntype = no-such-type\n' >"$CONFIG"
    run env NOTIFY_SOCKET="$NOTIFY" timeout 20 "$CFS_BIN" -f -c "$CONFIG" "$MNT"
    echo "status $status: $output"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    ! mountpoint -q "$MNT" || false
    notify_end
    ! got 'READY=1' || false
}

@test "notify: a mount the kernel refuses exits non-zero and never says READY=1" {
    # blksize= is for fuseblk only: the kernel answers mount(2) with EINVAL,
    # after the config loaded, in fuse_session_mount
    run env NOTIFY_SOCKET="$NOTIFY" timeout 20 "$CFS_BIN" -f -c "$CONFIG" -o blksize=4096 "$MNT"
    echo "status $status: $output"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    [[ "$output" == *mount* ]] # root: "fuse: mount failed: ...", else fusermount3's words
    ! mountpoint -q "$MNT" || false
    # and a mount point that does not exist (refused by the command line parser)
    run env NOTIFY_SOCKET="$NOTIFY" timeout 20 "$CFS_BIN" -f -c "$CONFIG" "$WORK/no-such-dir"
    echo "status $status: $output"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    notify_end
    ! got 'READY=1' || false
}

# journal_start [ARGS...]: run the daemon in the foreground, its stderr a journal
# stream ($WORK/start.log, emptied first): for a start that fails.
journal_start() {
    : >"$WORK/start.log"
    run env JOURNAL_STREAM="$(stat -c '%d:%i' "$WORK/start.log")" timeout 20 \
        sh -c 'log=$1; shift; "$@" 2>>"$log"' _ "$WORK/start.log" "$CFS_BIN" -f "$@" -c "$CONFIG" "$MNT"
    cat "$WORK/start.log"
}

@test "journal: with stderr a journal stream (JOURNAL_STREAM), each log line starts with its level" {
    # journald files a stream's lines at the unit's SyslogLevel (info) unless a
    # line starts with <N>: without it an error was an info line to journalctl -p
    : >"$WORK/daemon.log"
    JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/daemon.log") mount_cfs
    printf '[broken]\ntype = no-such-type\n' >"$CONFIG"
    hup
    grep -qE '^<6>collectionsfs [0-9:.]+ info: mounted ' "$WORK/daemon.log"
    grep -qE '^<3>collectionsfs [0-9:.]+ error: SIGHUP: ' "$WORK/daemon.log"
    ! grep -qE '^collectionsfs ' "$WORK/daemon.log" || false
    unmount_cfs
    # a start that fails says why at level error too
    journal_start
    [ "$status" -eq 1 ]
    grep -qE "^<3>collectionsfs: config: \[broken\]" "$WORK/start.log"
    # a JOURNAL_STREAM that is not this stderr (inherited, redirected) changes nothing
    write_config
    JOURNAL_STREAM=1:1 mount_cfs
    grep -qE '^collectionsfs [0-9:.]+ info: mounted ' "$WORK/daemon.log"
}

@test "journal: libfuse's own lines are logged as ours, whole and with their level" {
    # its default is a bare stderr: no level for journald, /dev/null in the
    # background; and it writes some lines in pieces
    : >"$WORK/daemon.log"
    JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/daemon.log") mount_cfs -d
    ls "$MNT" >/dev/null
    unmount_cfs
    grep -qE '^<7>collectionsfs [0-9:.]+ debug: unique: [0-9]+, opcode: GETATTR \(3\), nodeid: 1,' "$WORK/daemon.log"
    run grep -vE '^<[0-7]>collectionsfs ' "$WORK/daemon.log"
    [ -z "$output" ] || { echo "lines without a level: $output"; false; }
    journal_start -o no_such_option
    [ "$status" -ne 0 ]
    grep -qxE "<3>collectionsfs [0-9:.]+ error: fuse: unknown option\(s\): \`-o no_such_option'" "$WORK/start.log"
    [ "$(wc -l <"$WORK/start.log")" -eq 1 ]
}
