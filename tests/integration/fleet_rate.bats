#!/usr/bin/env bats
# The fleet's rate budget (DESIGN §3, "The fleet"): eight daemons list eight
# different listings of one Fount user (the same account under eight spellings
# of its URL, so nothing is shared but the budget, named by rate_group) against
# a fake that enforces 16 requests per 10 s window across all of them. Alone,
# their 24 requests in the first second would meet 429s; sharing the window in
# Redis, none does.

load '../lib/common'
load '../lib/fleet'

N=8

setup() {
    start_fake --count 3000
    PROVIDERS=(fount)
    start_redis
    CFS_TIMEOUT=40 write_config "shared_cache = unix:$REDIS_SOCK"
    local hosts=(localhost Localhost lOcalhost loCalhost locAlhost locaLhost localHost localhOst) i
    for ((i = 1; i <= N; i++)); do
        sed -e "s#^url = http://127.0.0.1:#url = http://${hosts[i - 1]}:#" \
            -e '/^\[fount\]/a rate_group = one-fount-user' "$CONFIG" >"$WORK/config.$i"
        chmod 600 "$WORK/config.$i"
        grep -q "^url = http://${hosts[i - 1]}:" "$WORK/config.$i"
    done
    fake_post /_fake/config '{"provider": "fount", "rate_limit": 16, "rate_window": 10}' >/dev/null
}

teardown() {
    fleet_unmount
    local rc=$?
    stop_redis
    stop_fake
    [ "$rc" -eq 0 ]
}

# refused: requests the fake answered with 429.
refused() {
    fake_get /_fake/stats | python3 -c '
import json, sys
print(sum(1 for l in json.load(sys.stdin)["log"] if l.endswith(" 429")))'
}

# list_all: every daemon lists its section at once; then no answer was a 429
# and no window of the fake saw more than its limit.
list_all() {
    local i pids=()
    for ((i = 1; i <= N; i++)); do
        timeout 90 ls "$WORK/m$i/fount" >"$WORK/ls.$i" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    for ((i = 1; i <= N; i++)); do [ "$(wc -l <"$WORK/ls.$i")" -eq 3000 ]; done
    fake_get /_fake/stats | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("requests:", s["requests"]["fount"], "per window:", s["windows"]["fount"])'
    [ "$(requests fount)" -ge $((N * 3)) ]
    [ "$(refused)" -eq 0 ]
    fake_get /_fake/stats | python3 -c '
import json, sys
assert all(n <= 16 for _, n in json.load(sys.stdin)["windows"]["fount"])'
}

@test "rate: eight daemons of one Fount user share its budget and meet no 429" {
    fleet_mount "$N"
    fake_reset
    fake_post /_fake/config '{"provider": "fount", "rate_limit": 16, "rate_window": 10}' >/dev/null
    list_all
}

@test "rate: answers slower than a second still keep the first burst counted to the window's end" {
    # The eight first requests go a second into a window of the fake (aligned
    # to the unix clock), before any answer. Their answers come 2 s later and
    # name the window's end; a window taken from the answer on would forget the
    # burst 2 s before the server does, and let 8 more into the server's window.
    fleet_mount "$N"
    fake_reset
    fake_post /_fake/config '{"provider": "fount", "rate_limit": 16, "rate_window": 10}' >/dev/null
    fault '{"provider": "fount", "mode": "latency", "seconds": 2}'
    sleep "$(python3 -c 'import time; print((11 - time.time() % 10) % 10)')"
    list_all
}
