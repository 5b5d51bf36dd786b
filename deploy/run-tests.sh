#!/usr/bin/env bash
# deploy/run-tests.sh: the project's test command (README "Testing"; .ci/run calls it).
#
# Stages, each a fresh CMake build dir beside the sources:
#   release  build/       RelWithDebInfo, -DSMBX_WERROR=ON; ctest: unit + integration,
#                         and integration again with workers = 1/2 x idle poll/adaptive
#   asan     build-asan/  -DSMBX_SANITIZE=address,undefined (gcc); unit + integration
#                         (default data plane only)
#                         with LeakSanitizer on
#   fuzz     build-fuzz/  clang, -DSMBX_FUZZ=ON; the fuzz.* tests (SMBX_FUZZ_SECONDS each)
#   rdma     SMB Direct in a QEMU VM with Soft-RoCE (tests/rdma-lab/run-tests.sh, its
#            README): sets the lab up, then each VM test is one test; uses build/
# A stage whose configure or build fails counts as one failure and the next stage
# still runs. The last line printed is `N passed, N failed, N skipped` over all stages
# (skipped: a test that cannot run here exits 77, ctest's SKIP_RETURN_CODE), and the
# exit status is non-zero if anything failed.
#
# Knobs: SMBX_BUILD_ROOT=build (dirs are ROOT, ROOT-asan, ROOT-fuzz), SMBX_STAGES="release asan fuzz" (subset/order), SMBX_JOBS=2 (build and
# ctest parallelism), SMBX_FUZZ_SECONDS=30, SMBX_CTEST_ARGS (extra ctest args, e.g.
# "-R integration.test_smbclient"), SMBX_STAGE_TIMEOUT_<stage> (seconds a stage's
# ctest may run; defaults below keep the whole run inside CI's 90 minutes on 2 cores).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$SRC"
STAGES=${SMBX_STAGES:-release asan fuzz rdma}
JOBS=${SMBX_JOBS:-2}
ROOT=${SMBX_BUILD_ROOT:-build}
FUZZ_SECONDS=${SMBX_FUZZ_SECONDS:-30}
read -r -a CTEST_EXTRA <<<"${SMBX_CTEST_ARGS:-}"

total_pass=0
total_fail=0
total_skip=0
summary=()
t_start=$SECONDS

note() { printf '\n==== %s ====\n' "$*"; }

# count_ctest LOG: prints "passed failed skipped" from ctest's output. Uses the summary
# line ("N% tests passed, X tests failed out of Y"), where Y includes the skipped tests
# (exit 77, SKIP_RETURN_CODE; GTEST_SKIP): those are listed as "(Skipped)" under "The
# following tests did not run" and counted apart, never as passed. If ctest was cut
# short and printed no summary, counts the per-test result lines and adds one failure
# for the cut.
count_ctest() {
    local log=$1 line s
    s=$(grep -cE '^[[:space:]]+[0-9]+ - .* \(Skipped\)$' "$log" || true)
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
    if [ -n "$line" ]; then
        awk -v s="$s" '{ for (i = 1; i <= NF; i++) { if ($i == "failed") f = $(i - 2); if ($i == "of") y = $(i + 1) } }
             END { printf "%d %d %d\n", y - f - s, f, s }' <<<"$line"
    elif grep -q 'No tests were found' "$log"; then
        echo "0 0 0"
    else
        local p f
        p=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed ' "$log" || true)
        s=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*Skipped ' "$log" || true)
        f=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*|^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* (Failed|Not Run) ' "$log" |
            grep -cv '\*\*\*Skipped ' || true)
        echo "$p $((f + 1)) $s"
    fi
}

# run_stage NAME BUILD_DIR CTEST_TIMEOUT CMAKE_ARGS... -- CTEST_ARGS...
run_stage() {
    local name=$1 dir=$2 budget=$3; shift 3
    local cmake_args=() ctest_args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do cmake_args+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    ctest_args=("$@")
    local t0=$SECONDS
    note "stage $name: configure + build in $dir"
    mkdir -p "$dir"
    if ! cmake -S "$SRC" -B "$dir" "${cmake_args[@]}" >"$dir/configure.log" 2>&1; then
        tail -n 40 "$dir/configure.log"
        echo "stage $name: configure FAILED (log: $dir/configure.log)"
        total_fail=$((total_fail + 1)); summary+=("$name: configure failed")
        return 0
    fi
    if ! cmake --build "$dir" -j "$JOBS" >"$dir/build.log" 2>&1; then
        grep -E -B2 -A8 'error:|Error [0-9]' "$dir/build.log" | head -n 80 || tail -n 60 "$dir/build.log"
        echo "stage $name: build FAILED (log: $dir/build.log)"
        total_fail=$((total_fail + 1)); summary+=("$name: build failed")
        return 0
    fi
    echo "built in $((SECONDS - t0)) s"
    note "stage $name: ctest ${ctest_args[*]} ${CTEST_EXTRA[*]}"
    local rc=0
    timeout -k 30 "$budget" ctest --test-dir "$dir" --output-on-failure -j "$JOBS" \
        "${ctest_args[@]}" "${CTEST_EXTRA[@]}" 2>&1 | tee "$dir/ctest.log" || rc=$?
    [ "$rc" = 124 ] && echo "stage $name: ctest cut at its ${budget} s budget"
    local p f k
    read -r p f k <<<"$(count_ctest "$dir/ctest.log")"
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + k))
    summary+=("$name: $p passed, $f failed, $k skipped ($((SECONDS - t0)) s)")
    echo "stage $name: $p passed, $f failed, $k skipped in $((SECONDS - t0)) s"
}

for stage in $STAGES; do
    case $stage in
    release)
        # -Werror (CMakeLists.txt keeps three g++ 12 false-positive warnings non-fatal).
        run_stage release "$ROOT" "${SMBX_STAGE_TIMEOUT_release:-1800}" \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMBX_WERROR=ON -DSMBX_SANITIZE= -DSMBX_FUZZ=OFF
        ;;
    asan)
        # halt_on_error: any UBSan report kills the process, so the test fails. The
        # integration tests also fail on a sanitizer report in the server log.
        # LeakSanitizer runs when a process exits normally (SIGTERM -> exit).
        export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1:strict_init_order=1:check_initialization_order=1"
        export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
        export LSAN_OPTIONS="suppressions=$SRC/deploy/lsan-suppressions.txt"
        # smbtorture against an ASan server is slower: a longer per-suite limit. The
        # suite list can be cut down here (SMBX_TORTURE_SUITES_ASAN) if it ever
        # threatens CI's 90 minutes; today the whole list takes about a minute.
        export SMBX_TORTURE_TIMEOUT=${SMBX_TORTURE_TIMEOUT_ASAN:-150}
        [ -n "${SMBX_TORTURE_SUITES_ASAN:-}" ] && export SMBX_TORTURE_SUITES="$SMBX_TORTURE_SUITES_ASAN"
        run_stage asan "$ROOT-asan" "${SMBX_STAGE_TIMEOUT_asan:-2100}" \
            -DCMAKE_BUILD_TYPE=Debug -DSMBX_WERROR=ON -DSMBX_SANITIZE=address,undefined -DSMBX_FUZZ=OFF \
            -- -LE integration-variants
        unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS SMBX_TORTURE_SUITES SMBX_TORTURE_TIMEOUT
        ;;
    fuzz)
        run_stage fuzz "$ROOT-fuzz" "${SMBX_STAGE_TIMEOUT_fuzz:-1200}" \
            -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMBX_FUZZ=ON -DSMBX_SANITIZE= \
            -DSMBX_FUZZ_SECONDS="$FUZZ_SECONDS" -- -L fuzz
        ;;
    rdma)
        # Its own runner (a VM boot per test), counted from its closing line
        # `N passed, N failed, N skipped`; a run cut by the budget adds one failure.
        note "stage rdma: tests/rdma-lab/run-tests.sh (SMB Direct, QEMU + Soft-RoCE)"
        t0=$SECONDS rc=0
        mkdir -p "$ROOT-rdma"
        SMBX_BUILD_DIR=$(cd "$ROOT" 2>/dev/null && pwd || echo "$SRC/$ROOT") \
            timeout -k 30 "${SMBX_STAGE_TIMEOUT_rdma:-1800}" bash tests/rdma-lab/run-tests.sh 2>&1 |
            tee "$ROOT-rdma/run.log" || rc=$?
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$ROOT-rdma/run.log" | tail -n 1 || true)
        if [ -z "$line" ]; then
            echo "stage rdma: cut short (exit $rc) before its totals"
            line="$(grep -c '^rdma-lab: PASS' "$ROOT-rdma/run.log" || true) passed, $(($(grep -c '^rdma-lab: FAIL' "$ROOT-rdma/run.log" || true) + 1)) failed, 0 skipped"
        fi
        read -r p _ f _ k _ <<<"${line//,/}"
        total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + k))
        summary+=("rdma: $p passed, $f failed, $k skipped ($((SECONDS - t0)) s)")
        echo "stage rdma: $p passed, $f failed, $k skipped in $((SECONDS - t0)) s"
        ;;
    *)
        echo "unknown stage '$stage' (release, asan, fuzz, rdma)"
        total_fail=$((total_fail + 1))
        ;;
    esac
done

note "summary ($((SECONDS - t_start)) s)"
for s in "${summary[@]}"; do echo "  $s"; done
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
