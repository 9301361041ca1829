#!/usr/bin/env bats
# File managers, for real (DESIGN §11): Thunar with tumbler under Xvfb, and
# GIO (what Nautilus and most desktops use), browse a real mount. Opening a
# provider directory, listing it and showing one collection -- with the
# desktop's own probes (.hidden, thumbnails, content-type sniffing of
# metadata.json, and the .directory / autorun.inf / desktop.ini probes of other
# desktops) -- must send the provider exactly the pages of one walk and nothing
# else, and never touch another provider. The daemon runs with -d; the FUSE
# operations the desktop caused are printed as TAP comments ("# ..."), by
# opcode and by process. Screenshots go to build/test-logs/desktop/
# ($DESKTOP_SHOTS); docs/thunar.png is the provider window of a run, made
# with `convert thunar-provider-window.png -strip -colors 64 docs/thunar.png`.
#
# Everything desktop-ish runs in its own session (setsid) with a marker in its
# environment; teardown kills those process groups and then any process still
# carrying the marker, unmounts lazily, and stops the fake. Missing Thunar,
# Xvfb or GIO fail the test: contrib/install-deps.sh --test installs them.

load '../lib/common'

setup() {
    local t
    for t in Xvfb thunar xdotool import convert dbus-run-session gio; do
        command -v "$t" >/dev/null || { echo "$t is missing: run contrib/install-deps.sh --test"; return 1; }
    done
    [ -e /usr/share/dbus-1/services/org.xfce.Tumbler.Thumbnailer1.service ] ||
        { echo "tumbler is missing: run contrib/install-deps.sh --test"; return 1; }
    CFS_TTL=3600 setup_fake --count 5
    # the provider under test holds 2.5 pages of its largest page: a walk is
    # 3 requests (core_requests.bats: ceil(N / max page size))
    P=${PROVIDERS[0]}
    set_count "$P" $(($(provider_info "$P" max_page) * 5 / 2))
    PAGES=3
    COLL=$(item_at "$P" 0 name)
    mount_cfs -d
    SHOTS=${DESKTOP_SHOTS:-$REPO_DIR/build/test-logs/desktop}
    mkdir -p "$SHOTS"
    # a desktop user of its own: nothing from the machine's home or session
    export HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/run"
    export XDG_CONFIG_HOME="$HOME/.config" XDG_CACHE_HOME="$HOME/.cache" XDG_DATA_HOME="$HOME/.local/share"
    export NO_AT_BRIDGE=1 # no accessibility bus: it never touches files
    unset DBUS_SESSION_BUS_ADDRESS DISPLAY
    mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
    DESKTOP_PGIDS=()
}

teardown() {
    desktop_stop
    teardown_mount
}

# launch LOG CMD...: CMD in a session of its own, marked; its pid (= pgid = sid)
# in LAUNCHED and in $WORK/sids.
launch() {
    local log=$1
    shift
    CFS_DESKTOP_RUN="$WORK" setsid "$@" >"$log" 2>&1 &
    LAUNCHED=$!
    DESKTOP_PGIDS+=("$LAUNCHED")
    echo "$LAUNCHED" >>"$WORK/sids"
}

# watch_threads: every 0.2 s, note "tid process-name" of every thread in the
# launched sessions ($WORK/threads), so that the FUSE requests (whose -d log
# names the thread) can be told apart by process after GLib's worker threads
# have ended.
watch_threads() {
    : >"$WORK/threads"
    launch "$WORK/watch.log" timeout 600 bash -c '
        while :; do
            ps -e -o pid=,sid=,comm= >"$1/ps.p"
            ps -eL -o lwp=,pid= >"$1/ps.t"
            awk "FILENAME == ARGV[1] {s[\$1]; next}
                 FILENAME == ARGV[2] {if (\$2 in s) c[\$1] = \$3; next}
                 \$2 in c {print \$1, c[\$2]}" "$1/sids" "$1/ps.p" "$1/ps.t" >>"$1/threads"
            sleep 0.2
        done' sh "$WORK"
}

# marked_pids: processes still carrying this test's marker in their environment.
marked_pids() {
    grep -lzxF "CFS_DESKTOP_RUN=$WORK" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3
}

desktop_stop() {
    local g pid left
    for g in ${DESKTOP_PGIDS[@]+"${DESKTOP_PGIDS[@]}"}; do kill -TERM -- "-$g" 2>/dev/null; done
    wait_for 5 test -z "$(marked_pids)"
    left=$(marked_pids)
    if [ -n "$left" ]; then
        echo "# killing leftovers: $(for pid in $left; do cat "/proc/$pid/comm" 2>/dev/null; done | tr '\n' ' ')" >&3
        for g in ${DESKTOP_PGIDS[@]+"${DESKTOP_PGIDS[@]}"}; do kill -KILL -- "-$g" 2>/dev/null; done
        for pid in $left; do kill -KILL "$pid" 2>/dev/null; done
        wait_for 5 test -z "$(marked_pids)" || echo "processes survived SIGKILL: $(marked_pids)"
    fi
    DESKTOP_PGIDS=()
}

# start_x: an Xvfb on a free display (it picks one and says which); DISPLAY set.
start_x() {
    launch "$WORK/xvfb.log" Xvfb -displayfd 9 -screen 0 1024x768x24 -nolisten tcp 9>"$WORK/display"
    wait_for 15 test -s "$WORK/display" || { echo "Xvfb did not start:"; cat "$WORK/xvfb.log"; return 1; }
    DISPLAY=":$(cat "$WORK/display")"
    export DISPLAY
}

# start_session: a D-Bus session bus (services such as tumbler and xfconfd are
# activated on it as a desktop would); DBUS_SESSION_BUS_ADDRESS set. The holder
# ends with the test's teardown, or by itself after 10 minutes.
start_session() {
    launch "$WORK/dbus.log" dbus-run-session -- sh -c \
        'printf %s "$DBUS_SESSION_BUS_ADDRESS" >"$1.tmp" && mv "$1.tmp" "$1" && exec sleep 600' sh "$WORK/bus"
    wait_for 15 test -s "$WORK/bus" || { echo "no D-Bus session:"; cat "$WORK/dbus.log"; return 1; }
    DBUS_SESSION_BUS_ADDRESS=$(cat "$WORK/bus")
    export DBUS_SESSION_BUS_ADDRESS
}

# window NAME: wait (bounded) for a visible window whose title starts with NAME; its id in WID.
window() {
    local re
    re="^$(printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g') - "
    WID=$(timeout "$BOUND" xdotool search --sync --onlyvisible --name "$re" | head -n 1)
    [ -n "$WID" ] || { echo "no window \"$1 - ...\" within $BOUND s"; tail -n 20 "$WORK/thunar.log"; return 1; }
}

# quiet SECONDS: the daemon's log has not grown for SECONDS (bounded by BOUND):
# the desktop has finished with the mount, including its delayed probes.
quiet() {
    local size=-1 now since=$SECONDS end=$((SECONDS + BOUND))
    while [ "$SECONDS" -lt "$end" ]; do
        now=$(stat -c %s "$WORK/daemon.log")
        if [ "$now" != "$size" ]; then
            size=$now since=$SECONDS
        elif [ $((SECONDS - since)) -ge "$1" ]; then
            return 0
        fi
        sleep 0.2
    done
    echo "the mount was still busy after $BOUND s"
    return 1
}

# shot NAME [WINDOW]: a screenshot of the screen (or a window) to $SHOTS/NAME.png.
shot() {
    timeout "$BOUND" import -window "${2:-root}" "$SHOTS/$1.png" || { echo "screenshot $1 failed"; return 1; }
}

# mark: the daemon log's current end; fuse_ops reads from there.
mark() { MARK=$(($(wc -l <"$WORK/daemon.log") + 1)); }

# fuse_ops: FUSE requests since the mark (-d log: "opcode: NAME (n), nodeid: N, ..., pid: P").
fuse_ops() { tail -n +"$MARK" "$WORK/daemon.log" | grep -E 'opcode: [A-Z_]+' || true; }

# report WHAT [OTHER]: the FUSE requests since the mark, by opcode and by
# process (as watch_threads saw them; OTHER, "other" by default, names the
# rest: the test's own commands, such as gio), as TAP comments.
report() {
    local total
    total=$(fuse_ops | wc -l)
    {
        echo "# $1: $total FUSE requests; provider requests: $(request_counts)"
        echo "#   by opcode: $(fuse_ops | sed -nE 's/.*opcode: ([A-Z_]+).*/\1/p' | sort | uniq -c |
            sort -rn | awk '{printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1}')"
        echo "#   by process: $(fuse_ops | sed -nE 's/.*pid: ([0-9]+).*/\1/p' |
            awk -v map="$WORK/threads" -v other="${2:-other}" 'BEGIN {while ((getline l <map) > 0) {split(l, a, " "); c[a[1]] = a[2]}}
                {n[($1 in c) ? c[$1] : other]++} END {for (k in n) printf "%s %d\n", k, n[k]}' |
            sort -k2 -rn | awk '{printf "%s%s %d", (NR > 1 ? ", " : ""), $1, $2}')"
    } >&3
}

# listed INO: the daemon served a directory read of this inode since the mark.
listed() { fuse_ops | grep -qE "opcode: READDIR(PLUS)? .*nodeid: $1,"; }

# only_the_walk: the provider under test got exactly the pages of one walk, no
# other provider got any; the fake's log otherwise.
only_the_walk() {
    local got besides
    got=$(requests "$P") besides=$(requests_besides "$P")
    [ "$got" -eq "$PAGES" ] && [ "$besides" -eq 0 ] && return 0
    echo "want $PAGES requests for $P and none elsewhere, got $(request_counts):"
    fake_get /_fake/stats | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["log"]))'
    return 1
}

# a_walk_would_show: proof that the counters see a walk the desktop did not
# cause: a listing of another provider is counted at once.
a_walk_would_show() {
    local q=${PROVIDERS[1]:-}
    [ -n "$q" ] || { echo "needs a second provider"; return 1; }
    timeout "$BOUND" ls "$MNT/$q" >/dev/null
    [ "$(requests_besides "$P")" -ge 1 ] || { echo "ls $q was not counted: $(request_counts)"; return 1; }
}

# thunar_settings: a window large enough for the whole path in the location
# bar (the defaults otherwise: icon view, thumbnails of local files).
thunar_settings() {
    local d="$XDG_CONFIG_HOME/xfce4/xfconf/xfce-perchannel-xml"
    mkdir -p "$d"
    cat >"$d/thunar.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<channel name="thunar" version="1.0">
  <property name="last-window-width" type="int" value="1000"/>
  <property name="last-window-height" type="int" value="560"/>
</channel>
XML
}

@test "desktop: Thunar opens a provider and a collection with only the listing's requests" {
    thunar_settings
    start_x
    start_session
    watch_threads
    mark
    launch "$WORK/thunar.log" thunar "$MNT/$P"
    window "$P"
    quiet 3
    shot thunar-provider
    shot thunar-provider-window "$WID"
    # the running Thunar opens the collection (the command hands it over on D-Bus)
    CFS_DESKTOP_RUN="$WORK" timeout "$BOUND" thunar "$MNT/$P/$COLL" >>"$WORK/thunar.log" 2>&1
    window "$COLL"
    quiet 3
    shot thunar-collection
    report "Thunar: open $P, then $COLL"
    # Thunar asked tumbler about thumbnails (its D-Bus activation is logged)
    grep -q "activated service 'org.freedesktop.thumbnails.Thumbnailer1'" "$WORK/dbus.log" ||
        { echo "tumbler was never asked for thumbnails"; cat "$WORK/dbus.log"; return 1; }
    only_the_walk
    # what Thunar showed was read from the mount (the kernel answers these stats)
    listed "$(stat -c %i "$MNT/$P")" || { echo "Thunar never listed $P"; return 1; }
    listed "$(stat -c %i "$MNT/$P/$COLL")" || { echo "Thunar never listed $COLL"; return 1; }
    only_the_walk
    a_walk_would_show
}

@test "desktop: GIO lists a provider and a collection with only the listing's requests; metadata.json is application/json" {
    start_session
    local g=(env CFS_DESKTOP_RUN="$WORK" timeout "$BOUND" gio) f name
    mark
    run "${g[@]}" list -a '*' "$MNT/$P"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    [ "${#lines[@]}" -eq "$(expected_count "$P")" ]
    run "${g[@]}" list -a '*' "$MNT/$P/$COLL"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == metadata.json$'\t'* ]]
    run "${g[@]}" info "$MNT/$P/$COLL"
    [ "$status" -eq 0 ]
    grep -x '  standard::content-type: inode/directory' <<<"$output"
    run "${g[@]}" info "$MNT/$P/$COLL/metadata.json"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    grep -x '  standard::content-type: application/json' <<<"$output" ||
        { echo "metadata.json is not application/json:"; grep content-type <<<"$output"; return 1; }
    grep -x '  standard::fast-content-type: application/json' <<<"$output"
    # the probes of desktops: per-directory files, autorun, thumbnails
    for f in "" "$P/" "$P/$COLL/"; do
        for name in .hidden .directory autorun.inf desktop.ini .sh_thumbnails; do
            run "${g[@]}" info "$MNT/$f$name"
            [ "$status" -ne 0 ] && [[ $output == *"No such file"* ]] ||
                { echo "gio info $f$name: $output"; return 1; }
        done
    done
    report "GIO: list $P and $COLL, info, 15 probes" gio
    only_the_walk
    a_walk_would_show
}
