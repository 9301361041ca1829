#!/usr/bin/env bats
# HIVO refuses skip > 65,536, so offset paging alone reaches 65,792 items at
# most. A larger account must still be listed whole: past the cap the walk goes
# on from the creation second of the last item seen (filter[createdMin]).
# A new window starts with items already seen; thousands of them (a bulk
# import in the boundary second) must not pass for a server repeating itself.

load '../lib/common'

setup_file() {
    setup_mount --count 1 --hivo 70000
}

setup() {
    [[ " ${PROVIDERS[*]} " == *" hivo "* ]] || skip "this binary has no hivo type"
}

teardown_file() {
    teardown_mount
}

@test "hivo: 70,000 collections are all listed, past the skip cap" {
    fake_reset
    run timeout 120 python3 -c 'import os,sys; print(len(os.listdir(sys.argv[1])))' "$MNT/hivo"
    [ "$status" -eq 0 ]
    [ "$output" -eq 70000 ]
    # every id once: the names are unique, so 70,000 entries are 70,000 collections
    n=$(requests hivo)
    # ceil(70000/256) = 274 pages, plus at most a few repeated at the window seam
    [ "$n" -ge 274 ] && [ "$n" -le 280 ] || { echo "$n requests"; false; }
    fake_get /_fake/stats | grep -q 'filter%5BcreatedMin%5D\|filter\[createdMin\]'
    # the items a new window starts with again are expected: the listing is whole
    [ "$(getfattr --absolute-names --only-values -n user.collectionsfs.complete "$MNT/hivo")" = 1 ]
}

@test "hivo: past the cap the names are exactly the expected ones" {
    fake_get "/_fake/expect?provider=hivo" >"$BATS_FILE_TMPDIR/hivo.json"
    run timeout 300 python3 "$TESTS_DIR/lib/check_tree.py" --names-only \
        "$BATS_FILE_TMPDIR/hivo.json" "$MNT/hivo"
    echo "$output" | tail -n 5
    [ "$status" -eq 0 ]
}

# Last: it changes the data. 3,000 collections share one creation second, and
# skip 65,536 + 256 falls among them: the window after the cap starts with the
# ~2,300 of them already seen, more than 8 pages before the first new one.
@test "hivo: a bulk-imported second across the skip cap is listed whole" {
    fake_post /_fake/config '{"provider": "hivo", "count": 70000, "burst": [63500, 3000]}' >/dev/null
    remount
    local mark
    mark=$(log_size)
    run timeout 120 python3 -c 'import os,sys; print(len(os.listdir(sys.argv[1])))' "$MNT/hivo"
    [ "$status" -eq 0 ]
    [ "$output" -eq 70000 ] || { echo "$output listed"; log_lines_since "$mark" .; false; }
    run log_lines_since "$mark" 'repeat itself|may be incomplete|listing stopped'
    [ -z "$output" ] || { echo "$output"; false; }
    [ "$(getfattr --absolute-names --only-values -n user.collectionsfs.complete "$MNT/hivo")" = 1 ]
    # 257 pages up to the cap, 26 for the 6,500 from the bulk second on, and
    # guesses past the end (parallel = 4)
    n=$(requests hivo)
    [ "$n" -ge 283 ] && [ "$n" -le 288 ] || { echo "$n requests"; false; }
    fake_get "/_fake/expect?provider=hivo" >"$BATS_FILE_TMPDIR/burst.json"
    run timeout 300 python3 "$TESTS_DIR/lib/check_tree.py" --names-only \
        "$BATS_FILE_TMPDIR/burst.json" "$MNT/hivo"
    echo "$output" | tail -n 5
    [ "$status" -eq 0 ]
}
