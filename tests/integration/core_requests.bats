#!/usr/bin/env bats
# How many list requests reach the providers (DESIGN §2-3): none at mount
# time or for `ls MOUNTPOINT`, one per page of the largest size the API allows
# for a full listing, none while the listing is fresh, only as many pages as a
# lookup needs, none for probes of absent names, one shared fetch for
# parallel lookups. Page limits and counts come from the fake. The laziness
# and coalescing tests are about Honcho's page-number paging. Each test gets
# a fresh mount so the counters start at zero.

load '../lib/common'

teardown() {
    teardown_mount
}

# no_requests: the fake has seen no request for any provider under test.
no_requests() {
    [ "$(requests_besides)" -eq 0 ] || { echo "requests: $(request_counts)"; return 1; }
}

# pages_of PROVIDER: sets the provider's count to 2.5 pages of its largest page.
pages_of() {
    set_count "$1" $(($(provider_info "$1" max_page) * 5 / 2))
}

# name_at PROVIDER INDEX: display name of the INDEX-th collection (creation order).
name_at() { item_at "$1" "$2" name; }

# show_log: the fake's request log, for failure output.
show_log() {
    fake_get /_fake/stats | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["log"]))'
}

# need_honcho: the test is about Honcho's paging.
need_honcho() {
    [[ " ${PROVIDERS[*]} " == *" honcho "* ]] || skip "this binary has no honcho type"
}

@test "requests: nothing is fetched at mount time; ls MNT and stat of sections need no request" {
    setup_mount
    no_requests
    run timeout 20 ls "$MNT"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '%s\n' "${PROVIDERS[@]}" | LC_ALL=C sort)" ]
    local p
    for p in "${PROVIDERS[@]}"; do
        run timeout 20 stat -c '%n %F' "$MNT/$p"
        [ "$status" -eq 0 ]
        [ "$output" = "$MNT/$p directory" ]
    done
    run timeout 20 ls -la "$MNT"
    [ "$status" -eq 0 ]
    show_log
    no_requests
}

@test "requests: a full listing takes ceil(N / max page size) requests per provider, at that size" {
    local p size
    setup_fake
    for p in "${PROVIDERS[@]}"; do pages_of "$p"; done # 3 pages each
    mount_cfs
    run timeout 60 ls -lR "$MNT"
    [ "$status" -eq 0 ]
    run show_log
    echo "$output"
    for p in "${PROVIDERS[@]}"; do
        # an offset API without a total is fetched ahead, guessing the next
        # offsets: up to parallel (default 4) requests land past the end
        local most=3
        case $(provider_info "$p" paging) in offset | array) most=7 ;; esac
        [ "$(requests "$p")" -ge 3 ] && [ "$(requests "$p")" -le $most ] ||
            { echo "$p: $(requests "$p") requests for 2.5 pages"; false; }
        # with the largest page size the API allows
        size="$(provider_info "$p" page_param)=$(provider_info "$p" max_page)"
        printf '%s\n' "$output" | grep -Eq "^[A-Z]+ /$p/[^ ]*[?&]$size[& ]" ||
            { echo "$p: no request with $size"; false; }
    done
}

@test "requests: a second ls -lR within ttl and a find afterwards cause no request" {
    local p
    setup_fake
    for p in "${PROVIDERS[@]}"; do pages_of "$p"; done
    mount_cfs
    run timeout 60 ls -lR "$MNT"
    [ "$status" -eq 0 ]
    fake_reset
    run timeout 60 ls -lR "$MNT"
    [ "$status" -eq 0 ]
    no_requests
    run timeout 60 find "$MNT" -type f
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq "$(expected_total)" ]
    no_requests
}

@test "laziness: stat of the first Honcho collection fetches exactly one page" {
    setup_mount --count 10 --honcho 1000
    need_honcho
    local name
    name=$(name_at honcho 0)
    run timeout 20 stat -c %F "$MNT/honcho/$name"
    [ "$status" -eq 0 ]
    [ "$output" = directory ]
    show_log
    [ "$(requests honcho)" -eq 1 ]
    [ "$(requests_besides honcho)" -eq 0 ]
}

@test "laziness: stat of a name on Honcho's page 3 fetches 3 pages; ls then completes with 10 in all" {
    setup_mount --count 10 --honcho 1000
    need_honcho
    local name
    name=$(name_at honcho 250)
    run timeout 20 stat -c %F "$MNT/honcho/$name"
    [ "$status" -eq 0 ]
    [ "$output" = directory ]
    show_log
    [ "$(requests honcho)" -eq 3 ]
    [ "$(requests_besides honcho)" -eq 0 ]
    run timeout 20 ls "$MNT/honcho"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1000 ]
    [ "$(requests honcho)" -eq 10 ]
    [ "$(requests_besides honcho)" -eq 0 ]
}

@test "laziness: after a lookup on page 3, ls of the section never fetches more than 10 pages" {
    # the same as above without the exact page-3 count: the total is what matters here
    setup_mount --count 10 --honcho 1000
    need_honcho
    run timeout 20 stat "$MNT/honcho/$(name_at honcho 250)"
    [ "$status" -eq 0 ]
    run timeout 20 ls "$MNT/honcho"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1000 ]
    show_log
    [ "$(requests honcho)" -eq 10 ]
    [ "$(requests_besides honcho)" -eq 0 ]
}

@test "probes: absent names (.hidden, .directory, autorun.inf, .Trash-0, desktop.ini, ...) are ENOENT with no request" {
    setup_mount
    local coll p n dirs=("$MNT")
    for p in "${PROVIDERS[@]}"; do
        run timeout 60 ls "$MNT/$p"
        [ "$status" -eq 0 ]
        dirs+=("$MNT/$p")
    done
    p=${PROVIDERS[0]}
    dirs+=("$MNT/$p/$(name_at "$p" 5)")
    fake_reset
    for p in "${dirs[@]}"; do
        for n in .hidden .directory autorun.inf AutoRun.inf .Trash .Trash-0 .Trash-1000 \
                 desktop.ini Desktop.ini .xdg-volume-info .DS_Store folder.jpg .git; do
            run timeout 20 stat "$p/$n"
            [ "$status" -eq 1 ] || { echo "$p/$n: status $status: $output"; return 1; }
            [[ "$output" == *"No such file or directory"* ]] || { echo "$p/$n: $output"; return 1; }
        done
    done
    show_log
    no_requests
}

@test "coalescing: 20 parallel stats of different Honcho names share one listing (<= 10 requests)" {
    setup_mount --count 10 --honcho 1000
    need_honcho
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
