#!/usr/bin/env bats
# Isolation (DESIGN §5: "One broken provider never slows down or breaks the
# others"): with one provider stalled (accepts TCP, never answers), holding
# its answers, or resetting every connection, and 16 readers blocked on it,
# ls / stat / cat on the others work in full. "Not slowed down" is shown as an
# ordering, never as a duration: the others are served while every reader of
# the broken provider is still waiting for it (the fake keeps it waiting until
# the test releases it, and the request budget is far longer than the test).
# Once released, every reader gets its answer.

load '../lib/common'

# A budget longer than anything the test does while the fault is on: a reader
# of the broken provider can only be answered after the release.
export CFS_TIMEOUT="${CFS_TIMEOUT_ISOLATION:-120}"

setup() {
    setup_fake
}

teardown() {
    teardown_mount
}

# isolation FAULT_TAIL [ordered]: for each provider, break it with the fault,
# block 16 readers on it, and check the others work; with "ordered", also that
# they were served before any reader of the broken one was answered.
isolation() {
    local fault_tail=$1 ordered=${2:-} p q
    mount_cfs
    for p in "${PROVIDERS[@]}"; do
        remount # nothing cached: the others need the network too
        fault "{\"provider\":\"$p\",$fault_tail}"
        start_readers "$p" 16 $((CFS_TIMEOUT + 60))
        wait_seen "$p" # the broken provider has the request
        for q in "${PROVIDERS[@]}"; do
            [ "$q" = "$p" ] && continue
            provider_ok "$q" || { echo "while $p is broken"; return 1; }
        done
        if [ -n "$ordered" ]; then
            readers_running ||
                { echo "a reader of $p was answered before the others were checked: no ordering shown"; return 1; }
        fi
        fault "{\"provider\":\"$p\",\"mode\":\"none\"}" # release
        readers_end
        daemon_alive
    done
}

@test "isolation: one provider stalled, 16 readers blocked on it: the others are served first" {
    isolation '"mode":"stall"' ordered
}

@test "isolation: one provider holding its answers, 16 readers waiting: the others are served first" {
    isolation '"mode":"hold"' ordered
}

@test "isolation: one provider resetting every connection, the others stay fine" {
    isolation '"mode":"reset"'
}

@test "isolation: all readers of a stalled provider share one request, not one each" {
    local p=${PROVIDERS[-1]} n
    mount_cfs -o timeout=3 # the stall ends each walk after the budget
    fault "{\"provider\":\"$p\",\"mode\":\"stall\"}"
    start_readers "$p" 16
    readers_end
    n=$(requests "$p")
    # one walk at a time: the 16 readers ride on it (a retry or a second walk
    # after the first failed are fine; one request per reader is not)
    [ "$n" -ge 1 ] && [ "$n" -le 4 ] || { echo "$n requests for 16 readers of one stalled listing"; false; }
    daemon_alive
}
