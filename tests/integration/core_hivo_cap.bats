#!/usr/bin/env bats
# HIVO refuses skip > 65,536, so offset paging alone reaches 65,792 items at
# most. A larger account must still be listed whole: past the cap the walk goes
# on from the creation second of the last item seen (filter[createdMin]).

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
}

@test "hivo: past the cap the names are exactly the expected ones" {
    fake_get "/_fake/expect?provider=hivo" >"$BATS_FILE_TMPDIR/hivo.json"
    run timeout 300 python3 "$TESTS_DIR/lib/check_tree.py" --names-only \
        "$BATS_FILE_TMPDIR/hivo.json" "$MNT/hivo"
    echo "$output" | tail -n 5
    [ "$status" -eq 0 ]
}
