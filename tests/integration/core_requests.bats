#!/usr/bin/env bats
# How many list requests reach the providers (DESIGN §2-3): none at mount
# time or for `ls MOUNTPOINT`, one per page for a full listing, none while the
# listing is fresh, only as many pages as a lookup needs, none for probes of
# absent names, one shared fetch for parallel lookups. Each test gets a fresh
# mount so the counters start at zero.

load '../lib/common'

teardown() {
    teardown_mount
}

# counts: "honcho hivo fount scenario" request counts since the last reset.
counts() {
    fake_get /_fake/stats | python3 -c '
import json, sys
r = json.load(sys.stdin)["requests"]
print(r["honcho"], r["hivo"], r["fount"], r["scenario"])'
}

# name_at PROVIDER INDEX: display name of the INDEX-th collection (creation order).
name_at() {
    fake_get "/_fake/expect?provider=$1" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)[int(sys.argv[1])]["name"])' "$2"
}

# show_log: the fake's request log, for failure output.
show_log() {
    fake_get /_fake/stats | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["log"]))'
}

@test "requests: nothing is fetched at mount time; ls MNT and stat of sections need no request" {
    setup_mount --honcho 150 --hivo 300 --fount 1200 --scenario 150
    [ "$(counts)" = "0 0 0 0" ]
    run timeout 20 ls "$MNT"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '%s\n' fount hivo honcho scenario)" ]
    run timeout 20 stat -c '%n %F' "$MNT"/honcho "$MNT"/hivo "$MNT"/fount "$MNT"/scenario
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 4 ]
    [[ "$output" == *"honcho directory"* ]]
    run timeout 20 ls -la "$MNT"
    [ "$status" -eq 0 ]
    show_log
    [ "$(counts)" = "0 0 0 0" ]
}

@test "requests: a full listing takes ceil(N / max page size) requests per provider" {
    # honcho 250/100 -> 3, hivo 600/256 -> 3, fount 2500/1000 -> 3, scenario 250/100 -> 3
    setup_mount --honcho 250 --hivo 600 --fount 2500 --scenario 250
    fake_reset
    run timeout 60 ls -lR "$MNT"
    [ "$status" -eq 0 ]
    show_log
    [ "$(counts)" = "3 3 3 3" ]
    # and with the largest page size each API allows
    run show_log
    [[ "$output" == *"size=100"* ]]
    [[ "$output" == *"limit=256"* ]]
    [[ "$output" == *"per_page=1000"* ]]
    [[ "$output" == *"pageSize=100"* ]]
}

@test "requests: a second ls -lR within ttl and a find afterwards cause no request" {
    setup_mount --honcho 250 --hivo 600 --fount 2500 --scenario 250
    run timeout 60 ls -lR "$MNT"
    [ "$status" -eq 0 ]
    fake_reset
    run timeout 60 ls -lR "$MNT"
    [ "$status" -eq 0 ]
    [ "$(counts)" = "0 0 0 0" ]
    run timeout 60 find "$MNT" -type f
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq $((250 + 600 + 2500 + 250)) ]
    [ "$(counts)" = "0 0 0 0" ]
}

@test "laziness: stat of the first Honcho collection fetches exactly one page" {
    setup_mount --honcho 1000 --hivo 10 --fount 10 --scenario 10
    local name
    name=$(name_at honcho 0)
    run timeout 20 stat -c %F "$MNT/honcho/$name"
    [ "$status" -eq 0 ]
    [ "$output" = directory ]
    show_log
    [ "$(counts)" = "1 0 0 0" ]
}

@test "laziness: stat of a name on Honcho's page 3 fetches 3 pages; ls then completes with 10 in all" {
    setup_mount --honcho 1000 --hivo 10 --fount 10 --scenario 10
    local name
    name=$(name_at honcho 250)
    run timeout 20 stat -c %F "$MNT/honcho/$name"
    [ "$status" -eq 0 ]
    [ "$output" = directory ]
    show_log
    [ "$(counts)" = "3 0 0 0" ]
    run timeout 20 ls "$MNT/honcho"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1000 ]
    [ "$(counts)" = "10 0 0 0" ]
}

@test "laziness: after a lookup on page 3, ls of the section never fetches more than 10 pages" {
    # the same as above without the exact page-3 count: the total is what matters here
    setup_mount --honcho 1000 --hivo 10 --fount 10 --scenario 10
    run timeout 20 stat "$MNT/honcho/$(name_at honcho 250)"
    [ "$status" -eq 0 ]
    run timeout 20 ls "$MNT/honcho"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1000 ]
    show_log
    [ "$(counts)" = "10 0 0 0" ]
}

@test "probes: absent names (.hidden, .directory, autorun.inf, .Trash-0, desktop.ini, ...) are ENOENT with no request" {
    setup_mount --honcho 150 --hivo 300 --fount 1200 --scenario 150
    run timeout 60 ls "$MNT/honcho" "$MNT/hivo" "$MNT/fount" "$MNT/scenario"
    [ "$status" -eq 0 ]
    local coll p n
    coll="$MNT/honcho/$(name_at honcho 5)"
    fake_reset
    for p in "$MNT" "$MNT/honcho" "$MNT/hivo" "$MNT/fount" "$MNT/scenario" "$coll"; do
        for n in .hidden .directory autorun.inf AutoRun.inf .Trash .Trash-0 .Trash-1000 \
                 desktop.ini Desktop.ini .xdg-volume-info .DS_Store folder.jpg .git; do
            run timeout 20 stat "$p/$n"
            [ "$status" -eq 1 ] || { echo "$p/$n: status $status: $output"; return 1; }
            [[ "$output" == *"No such file or directory"* ]] || { echo "$p/$n: $output"; return 1; }
        done
    done
    show_log
    [ "$(counts)" = "0 0 0 0" ]
}

@test "coalescing: 20 parallel stats of different Honcho names share one listing (<= 10 requests)" {
    setup_mount --honcho 1000 --hivo 10 --fount 10 --scenario 10
    local i names=() pids=() bad=0
    mapfile -t names < <(fake_get "/_fake/expect?provider=honcho" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print("\n".join(d[i]["name"] for i in range(25, 1000, 50)))')
    [ "${#names[@]}" -eq 20 ]
    for i in "${!names[@]}"; do
        timeout 30 stat "$MNT/honcho/${names[$i]}" >"$WORK/stat.$i" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || { echo "stat of ${names[$i]} failed: $(cat "$WORK/stat.$i")"; bad=1; }
    done
    [ "$bad" -eq 0 ]
    local h
    h=$(requests honcho)
    show_log
    echo "honcho requests: $h"
    [ "$h" -ge 10 ]                    # the last name is on page 10
    [ "$h" -le 10 ]
}
