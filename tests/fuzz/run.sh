#!/usr/bin/env bash
# Build and run the libFuzzer harnesses.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 10; TARGETs default to all of them
# (fuzz_json_render fuzz_names fuzz_isotime fuzz_record, and fuzz_page_<type> for each
# provider type the build knows: collectionsfs --list-types).
# Environment: FUZZ_BUILD_DIR (default <repo>/build-fuzz); CFS_FUZZ_KNOWN, a
# comma-separated list of known findings the harnesses should tolerate
# (fffd-keys, hidden-names; see tests/fuzz/crashes/README.md), to look past them.
#
# Steps: make sure clang and its libFuzzer runtime are there (apt-get installs
# clang and libclang-rt-14-dev when they are not; needs root or sudo), set up a
# separate clang build dir with -Dfuzzing=true, build the harnesses, regenerate
# the seed corpus from the fake providers, then run each harness for the given
# time with ASan+UBSan, a 2 GB RSS limit and a 25 s per-input limit (a hang is a
# finding too), as many at once as there are cores (FUZZ_JOBS=N to choose).
# New inputs go to BUILD/fuzz/corpus/<target> (the committed seeds in
# tests/fuzz/corpus are only read); crash, leak, timeout and OOM inputs go to
# BUILD/fuzz/artifacts/<target>/, logs to BUILD/fuzz/logs/.
# Prints executions and the verdict per target; exits 1 if any target found
# something, 2 if the set-up failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="${FUZZ_BUILD_DIR:-$REPO/build-fuzz}"
SECS="${1:-10}"
[ $# -gt 0 ] && shift
TARGETS=("$@")

case "$SECS" in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac

die() { echo "run.sh: $*" >&2; exit 2; }

# ---- toolchain: clang with the libFuzzer runtime (a one-line test link proves it)
can_fuzz() {
    local d
    d=$(mktemp -d) || return 1
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' >"$d/t.c"
    clang -fsanitize=fuzzer,address,undefined "$d/t.c" -o "$d/t" >/dev/null 2>&1
    local rc=$?
    rm -rf "$d"
    return $rc
}
if ! command -v clang >/dev/null 2>&1 || ! can_fuzz; then
    echo "run.sh: clang with libFuzzer not usable; installing clang and libclang-rt-14-dev"
    SUDO=
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y clang libclang-rt-14-dev ||
        { $SUDO apt-get update && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y clang libclang-rt-14-dev; } ||
        die "cannot install clang / libclang-rt-14-dev"
    can_fuzz || die "clang cannot link -fsanitize=fuzzer even after installing libclang-rt-14-dev"
fi

# ---- a separate clang build dir. werror is off there: a clang-only warning in
# src/ should not stop the fuzzers (the main gcc build keeps -Werror).
if [ ! -f "$BUILD/build.ninja" ]; then
    CC=clang meson setup "$BUILD" "$REPO" -Dfuzzing=true -Db_lundef=false -Dwerror=false ||
        die "meson setup $BUILD failed"
else
    meson configure "$BUILD" -Dfuzzing=true -Db_lundef=false -Dwerror=false >/dev/null ||
        die "meson configure $BUILD failed"
fi
grep -qw clang "$BUILD/build.ninja" ||
    die "$BUILD was not set up with clang; remove it and rerun"
# one page harness per provider type of the registry (src/providers/meson.build)
ninja -C "$BUILD" collectionsfs >/dev/null || die "build failed"
ALL=(fuzz_json_render fuzz_names fuzz_isotime fuzz_record
     $("$BUILD/collectionsfs" --list-types | sed 's/^/fuzz_page_/'))
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")
for t in "${TARGETS[@]}"; do
    case " ${ALL[*]} " in *" $t "*) ;; *) die "unknown target $t (one of: ${ALL[*]})" ;; esac
done
ninja -C "$BUILD" $(printf 'tests/%s ' "${TARGETS[@]}") || die "build failed"

# ---- seeds: regenerate from the fake providers (cheap, deterministic); the
# committed copy in tests/fuzz/corpus is used as well, and alone if this fails.
SEEDS="$BUILD/fuzz/seeds"
if ! "$HERE/make_corpus.sh" "$SEEDS" >"$BUILD/fuzz-seeds.log" 2>&1; then
    echo "run.sh: could not regenerate seeds (see $BUILD/fuzz-seeds.log); using tests/fuzz/corpus only"
    SEEDS=
fi

dict_for() {
    case $1 in
        fuzz_isotime) echo "$HERE/isotime.dict" ;;
        fuzz_json_render | fuzz_record | fuzz_page_*) echo "$HERE/json.dict" ;;
        *) echo "" ;;
    esac
}

# Our own sanitizer settings: reports go to the target's log (where the verdict
# is read from), not to a log_path a calling test runner may have exported.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# One target per core at once (FUZZ_JOBS overrides): each is single-threaded,
# and in CI this phase runs alone.
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
case "$jobs" in '' | *[!0-9]* | 0) jobs=1 ;; esac

# fuzz_one TARGET: run it; prints its report, exits 0 when it found nothing.
fuzz_one() {
    local t=$1 work="$BUILD/fuzz/corpus/$1" art="$BUILD/fuzz/artifacts/$1" log="$BUILD/fuzz/logs/$1.log"
    local dirs dict rc execs arts verdict why
    mkdir -p "$work" "$art" "$(dirname "$log")"
    rm -f "$art"/*
    dirs=("$work")
    [ -n "$SEEDS" ] && [ -d "$SEEDS/$t" ] && dirs+=("$SEEDS/$t")
    [ -d "$HERE/corpus/$t" ] && dirs+=("$HERE/corpus/$t")
    dict=$(dict_for "$t")
    echo "== $t: ${SECS}s"
    # the wall-clock guard: a stuck harness must not stall the whole run
    timeout --signal=KILL $((SECS + 120)) "$BUILD/tests/$t" \
        -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
        -artifact_prefix="$art/" ${dict:+-dict="$dict"} "${dirs[@]}" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    arts=$(ls "$art" 2>/dev/null | tr '\n' ' ')
    if [ $rc -eq 0 ] && [ -z "$arts" ]; then
        verdict="ok"
    else
        why=$(grep -a -m1 -E 'property failed|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' "$log")
        [ $rc -eq 137 ] && why="killed after $((SECS + 120))s wall clock (hang?)"
        verdict="FOUND (exit $rc): ${why:-see log} ${arts:+-> $art/$arts}"
        grep -a -B2 -A25 -m1 -E 'property failed|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" | cut -c1-300 | head -40
    fi
    echo "   ${execs:-?} execs: $verdict"
    printf '%-20s %12s execs  %s\n' "$t" "${execs:-?}" "$verdict" >"$BUILD/fuzz/out/$t.summary"
    [ "$verdict" = ok ]
}

rm -rf "$BUILD/fuzz/out"
mkdir -p "$BUILD/fuzz/out"
found=0
running=0
for t in "${TARGETS[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n || found=1
        running=$((running - 1))
    fi
    fuzz_one "$t" >"$BUILD/fuzz/out/$t.report" 2>&1 &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
    wait -n || found=1
    running=$((running - 1))
done
summary=()
for t in "${TARGETS[@]}"; do
    cat "$BUILD/fuzz/out/$t.report"
    if [ -s "$BUILD/fuzz/out/$t.summary" ]; then
        summary+=("$(cat "$BUILD/fuzz/out/$t.summary")")
    else
        found=1
        summary+=("$(printf '%-20s %12s execs  %s' "$t" "?" "FOUND: the run of this target did not finish")")
    fi
done

# Known findings kept as reproducers: say which still fail (informational; a
# finding that still reproduces is normally found by the run above as well).
known=()
for f in "$HERE"/crashes/fuzz_*; do
    [ -f "$f" ] || continue
    t=$(basename "$f" | sed -E 's/^(fuzz_[a-z_]+)-.*/\1/')
    [ -x "$BUILD/tests/$t" ] || continue
    # (a failing replay writes crash-<sha1>; keep it out of the caller's directory)
    mkdir -p "$BUILD/fuzz/replay"
    if env -u CFS_FUZZ_KNOWN timeout 60 "$BUILD/tests/$t" -runs=1 \
        -artifact_prefix="$BUILD/fuzz/replay/" "$f" >/dev/null 2>&1; then
        known+=("  fixed       crashes/$(basename "$f")")
    else
        known+=("  still fails crashes/$(basename "$f")")
    fi
done

echo
echo "---- summary (${SECS}s per target; logs in $BUILD/fuzz/logs) ----"
[ -n "${CFS_FUZZ_KNOWN:-}" ] && echo "(known findings tolerated: CFS_FUZZ_KNOWN=$CFS_FUZZ_KNOWN)"
printf '%s\n' "${summary[@]}"
if [ ${#known[@]} -gt 0 ]; then
    echo "known findings (tests/fuzz/crashes, see README.md there):"
    printf '%s\n' "${known[@]}"
fi
exit $found
