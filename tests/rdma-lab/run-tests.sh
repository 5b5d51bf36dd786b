#!/usr/bin/env bash
# tests/rdma-lab/run-tests.sh: sets up the lab (setup.sh) and runs every VM test
# (tests/test_*.sh), each in its own VM boot through vmrun.sh; deploy/run-tests.sh's
# `rdma` stage calls it. One test script is one test: exit 0 passed, 77 skipped,
# anything else failed. Ends with `N passed, N failed, N skipped` (a failed setup is
# one failure) and exits non-zero if anything failed.
#
#   tests/rdma-lab/run-tests.sh [NAME_PATTERN]     e.g. ksmbd: only test_*ksmbd*.sh
#
# Environment: SMBX_BUILD_DIR (the smbx build the smbx test uses; default
# <source>/build), SMBX_RDMA_LAB (the lab's cache dir), SMBX_RDMA_TEST_TIMEOUT
# (seconds per VM run, boot included; default 600), SMBX_RDMA_CONFIG (smbx's SMB
# Direct settings for test_smbx_smbdirect.sh). The figures the tests measure
# are collected in $SMBX_RDMA_LAB/results/figures.txt and printed at the end.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
LAB=${SMBX_RDMA_LAB:-/var/tmp/smbx-rdma-lab}
BUILD_DIR=$(readlink -f "${SMBX_BUILD_DIR:-$SRC/build}")
TEST_TIMEOUT=${SMBX_RDMA_TEST_TIMEOUT:-600}
pattern=${1:-}

# The smoke test first: when the lab itself is broken it says so before the others.
tests=()
for t in test_lab_smoke.sh $(cd "$HERE/tests" && echo test_*.sh); do
    case $t in test_lab_smoke.sh) [ ${#tests[@]} -eq 0 ] || continue ;; esac
    [[ -z $pattern || $t == *$pattern* ]] && tests+=("$t")
done

# The only machines that cannot run the lab: it boots Debian's amd64 kernel, and its
# setup installs packages and the guest reads the host's whole root (root only).
# No /dev/kvm is fine: QEMU emulates the CPU (TCG).
why_not=
[ "$(uname -m)" = x86_64 ] || why_not="the host is $(uname -m), the lab boots Debian's amd64 kernel"
[ "$(id -u)" -eq 0 ] || why_not="not root (setup.sh installs packages; the guest reads the host's root)"
if [ -n "$why_not" ]; then
    echo "rdma-lab: SKIP all ${#tests[@]} tests: $why_not"
    echo "0 passed, 0 failed, ${#tests[@]} skipped"
    exit 0
fi

t0=$SECONDS
if ! "$HERE/setup.sh"; then
    echo "rdma-lab: FAIL setup.sh ($((SECONDS - t0)) s); no VM test ran"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
echo "rdma-lab: setup.sh took $((SECONDS - t0)) s"

results=$LAB/results
rm -rf "$results" && mkdir -p "$results"
passed=0 failed=0 skipped=0
for t in "${tests[@]}"; do
    name=${t%.sh}
    echo
    echo "---- rdma-lab: $name (VM, limit $TEST_TIMEOUT s)"
    t1=$SECONDS
    "$HERE/vmrun.sh" -t "$TEST_TIMEOUT" -w "$results" \
        -e "RDMA_LAB_RESULTS=$results" -e "SMBX_BUILD_DIR=$BUILD_DIR" -e "SMBX_RDMA_LAB=$LAB" \
        ${SMBX_RDMA_CONFIG:+-e "SMBX_RDMA_CONFIG=$SMBX_RDMA_CONFIG"} bash "$HERE/tests/$t"
    rc=$?
    case $rc in
    0) verdict=PASS; passed=$((passed + 1)) ;;
    77) verdict=SKIP; skipped=$((skipped + 1)) ;;
    *) verdict="FAIL (exit $rc)"; failed=$((failed + 1)) ;;
    esac
    echo "rdma-lab: $verdict $name ($((SECONDS - t1)) s)"
done

if [ -s "$results/figures.txt" ]; then
    echo
    echo "---- rdma-lab figures (emulated CPU: compare servers of one run, do not quote)"
    cat "$results/figures.txt"
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
