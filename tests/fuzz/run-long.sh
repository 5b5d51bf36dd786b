#!/usr/bin/env bash
# The long fuzz run, for people and release checks (CI keeps ctest's short one): builds
# the fuzz tree (clang, -DSMBX_FUZZ=ON: ASan+UBSan), runs each target for SECONDS from a
# corpus kept between runs outside the source tree (the committed seeds and
# dictionary added each time), and prints per target: inputs, inputs per second,
# inputs per CPU second, coverage (cov/ft) and any finding with its reproducer.
#
# Usage: SMBX_FUZZ_CORPUS=/var/tmp/smbx-corpus tests/fuzz/run-long.sh SECONDS [TARGET...]
#   SECONDS               per target (600 for the release check)
#   TARGET                names (smb2_command_fuzz ...); default every tests/fuzz/*_fuzz.cc
#   SMBX_FUZZ_CORPUS      corpus root, one directory per target (required; not in the tree)
#   SMBX_FUZZ_BUILD_DIR   fuzz build tree (default <source>/build-fuzz)
#   SMBX_FUZZ_PARALLEL    targets run at once (default 1; each takes one core)
#   SMBX_FUZZ_NO_BUILD=1  use the build tree as it is
# Exit status: 0 when no target found anything, 1 otherwise, 2 on a usage or build error.
# Run it under `nice` on a shared machine: the fuzzers inherit it.
set -u

SOURCE_DIR=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${1:-}
if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || [ -z "${SMBX_FUZZ_CORPUS:-}" ]; then
    sed -n '8,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
shift
CORPUS_ROOT=$(mkdir -p "$SMBX_FUZZ_CORPUS" && cd "$SMBX_FUZZ_CORPUS" && pwd) || exit 2
case "$CORPUS_ROOT/" in
"$SOURCE_DIR"/*)
    echo "SMBX_FUZZ_CORPUS must be outside the source tree ($SOURCE_DIR)"
    exit 2
    ;;
esac
BUILD_DIR=${SMBX_FUZZ_BUILD_DIR:-$SOURCE_DIR/build-fuzz}
PARALLEL=${SMBX_FUZZ_PARALLEL:-1}

if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=()
    for src in "$SOURCE_DIR"/tests/fuzz/*_fuzz.cc; do
        TARGETS+=("$(basename "$src" .cc)")
    done
fi

if [ "${SMBX_FUZZ_NO_BUILD:-0}" != 1 ]; then
    # The logs go in the build tree: not next to it, which is the source tree by default.
    mkdir -p "$BUILD_DIR" || exit 2
    cmake -S "$SOURCE_DIR" -B "$BUILD_DIR" -DCMAKE_C_COMPILER=clang \
        -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMBX_FUZZ=ON \
        >"$BUILD_DIR/run-long-configure.log" 2>&1 || {
        echo "configure failed: $BUILD_DIR/run-long-configure.log"
        exit 2
    }
    cmake --build "$BUILD_DIR" -j"${SMBX_JOBS:-2}" --target "${TARGETS[@]}" \
        >"$BUILD_DIR/run-long-build.log" 2>&1 || {
        echo "build failed: $BUILD_DIR/run-long-build.log"
        exit 2
    }
fi

RUN_DIR="$CORPUS_ROOT/runs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"

# One target: corpus (seeds merged in), artifacts and log under the run directory.
run_one() {
    local name=$1
    local corpus="$CORPUS_ROOT/$name" artifacts="$RUN_DIR/$name-artifacts/"
    mkdir -p "$corpus" "$artifacts"
    cp -rn "$SOURCE_DIR/tests/fuzz/corpus/$name/." "$corpus/" 2>/dev/null
    local dict=()
    [ -f "$SOURCE_DIR/tests/fuzz/$name.dict" ] && dict=("-dict=$SOURCE_DIR/tests/fuzz/$name.dict")
    # CPU time too: on a shared machine inputs per CPU second say what the target costs,
    # inputs per (wall) second also what the machine gave it.
    /usr/bin/time -f '%U %S' -o "$RUN_DIR/$name.cpu" \
        "$BUILD_DIR/tests/$name" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=25 \
        -print_final_stats=1 -artifact_prefix="$artifacts" "${dict[@]}" "$corpus" \
        >"$RUN_DIR/$name.log" 2>&1
    echo $? >"$RUN_DIR/$name.rc"
}

missing=0
running=0
for name in "${TARGETS[@]}"; do
    if [ ! -x "$BUILD_DIR/tests/$name" ]; then
        echo "$name: not built in $BUILD_DIR"
        missing=1
        continue
    fi
    run_one "$name" &
    running=$((running + 1))
    if [ "$running" -ge "$PARALLEL" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

found=$missing
printf '%-26s %11s %9s %9s %6s %6s  %s\n' target inputs inputs/s in/cpu-s cov ft result
for name in "${TARGETS[@]}"; do
    log="$RUN_DIR/$name.log"
    [ -f "$log" ] || continue
    final_stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    artifacts=$(find "$RUN_DIR/$name-artifacts" -type f 2>/dev/null)
    rc=$(cat "$RUN_DIR/$name.rc" 2>/dev/null || echo '?')
    result=ok
    if [ "$rc" != 0 ] || [ -n "$artifacts" ]; then
        result="FINDING (exit $rc, log $log)"
        found=1
    fi
    inputs=$(final_stat number_of_executed_units)
    # time(1) writes "Command exited with non-zero status" first when it did.
    per_cpu=$(tail -1 "$RUN_DIR/$name.cpu" 2>/dev/null |
        awk -v n="${inputs:-0}" '{ c = $1 + $2; if (c > 0) printf "%d", n / c; else print "?" }')
    printf '%-26s %11s %9s %9s %6s %6s  %s\n' "$name" "${inputs:-?}" \
        "$(final_stat average_exec_per_sec)" "${per_cpu:-?}" "${cov:-?}" "${ft:-?}" "$result"
    for a in $artifacts; do
        echo "    reproducer: $a (replay: $BUILD_DIR/tests/$name $a)"
    done
done
echo "corpus $CORPUS_ROOT, logs $RUN_DIR"
exit "$found"
