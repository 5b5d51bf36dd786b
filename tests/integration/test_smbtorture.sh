#!/usr/bin/env bash
# Samba's smbtorture smb2.* suites against smbx, one by one (run_torture.sh), with
# user2 = bob and the share emptied between suites. Each suite must pass at least
# as many subtests as Samba 4.17 does here (torture_floors.txt); the server must
# still be running after every suite.
#
# Per-subtest results land in $SMBX_TORTURE_RESULTS (default
# $SMBX_BUILD_DIR/torture-results/<variant>, "default" or e.g. "workers-1-idle-policy-poll"):
# <suite>.results ("<result> <test>" lines),
# <suite>.subunit (raw), and summary.txt (the per-suite lines with floors).
#
# Knobs: SMBX_TORTURE_SUITES="smb2.read smb2.rw" (subset; default: every suite in
# torture_floors.txt), SMBX_TORTURE_TIMEOUT (per suite, default 100 s; 300 s at least
# for a suite marked `slow` in torture_floors.txt, which variants skip),
# SMBX_TORTURE_BUDGET (whole test, default 800 s: ctest gives it 900).
source "$(dirname "$0")/lib.sh"

FLOORS="$LIB_DIR/torture_floors.txt"
SUITE_TIMEOUT=${SMBX_TORTURE_TIMEOUT:-100}
BUDGET=${SMBX_TORTURE_BUDGET:-800}

command -v smbtorture >/dev/null || { fail "smbtorture not installed (samba-testsuite)"; finish; }

smbx_init
smbx_config
smbx_add_user alice
smbx_add_user bob
smbx_start

if [ "$SMBX_TEST_SERVER" = smbx ]; then
    # One directory per data-plane variant: ctest runs the variants side by side.
    variant=$(tr -c 'a-z0-9' '-' <<<"${SMBX_TEST_GLOBAL:-default}" | tr -s '-' | sed 's/-$//')
    RESULTS=${SMBX_TORTURE_RESULTS:-$SMBX_BUILD_DIR/torture-results/$variant}
else
    RESULTS=${SMBX_TORTURE_RESULTS:-$T/torture-results}
fi
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

declare -A floor slow
all_suites=()
while read -r suite fl opt _; do
    case $suite in ''|'#'*) continue ;; esac
    floor[$suite]=$fl
    [ "$opt" = slow ] && slow[$suite]=1
    all_suites+=("$suite")
done <"$FLOORS"
read -r -a suites <<<"${SMBX_TORTURE_SUITES:-${all_suites[*]}}"

empty_share() { find "$T/share" -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null; }

summary="$RESULTS/summary.txt"
: >"$summary"
t0=$SECONDS
for suite in "${suites[@]}"; do
    fl=${floor[$suite]:-}
    if [ -z "$fl" ]; then
        fail "$suite: no floor in torture_floors.txt"
        continue
    fi
    # A suite marked `slow` (its subtests wait out break timeouts) gets 300 s and runs
    # in two data-plane variants only: the default (a worker per core, two here) and one
    # worker, adaptive (what it tests is the arbitration across workers, not the idle
    # policy).
    timeout=$SUITE_TIMEOUT
    if [ -n "${slow[$suite]:-}" ]; then
        if [ -n "${SMBX_TEST_GLOBAL:-}" ] &&
            ! { grep -q 'workers = 1' <<<"$SMBX_TEST_GLOBAL" &&
                grep -q 'adaptive' <<<"$SMBX_TEST_GLOBAL"; }; then
            echo "$suite: slow, run in the default and w1-adaptive variants only"
            continue
        fi
        [ "$timeout" -lt 300 ] && timeout=300
    fi
    if [ $((SECONDS - t0 + timeout)) -gt "$BUDGET" ]; then
        fail "$suite: not run, the ${BUDGET} s budget is spent"
        echo "$suite not-run floor=$fl" >>"$summary"
        continue
    fi
    empty_share
    line=$(TIMEOUT=$timeout LOGDIR="$RESULTS" \
        EXTRA_OPTS="-s $T/client.conf --option=torture:user2name=bob --option=torture:user2password=$BOB_PASS" \
        bash "$LIB_DIR/run_torture.sh" 127.0.0.1 "$PORT" share alice "$ALICE_PASS" "$suite" 2>>"$RESULTS/stderr.log" |
        grep "^$suite passed=")
    p=$(sed -nE 's/.* passed=([0-9]+).*/\1/p' <<<"$line")
    f=$(sed -nE 's/.* failed=([0-9]+).*/\1/p' <<<"$line")
    e=$(sed -nE 's/.* errors=([0-9]+).*/\1/p' <<<"$line")
    p=${p:-0} f=${f:-0} e=${e:-0}
    echo "$line floor=$fl" >>"$summary"
    if [ "$fl" = all ]; then
        if [ "$p" -gt 0 ] && [ "$f" -eq 0 ] && [ "$e" -eq 0 ]; then
            pass "$line (floor: all pass)"
        else
            fail "$line (floor: all pass)"
        fi
    elif [ "$p" -ge "$fl" ]; then
        pass "$line (floor $fl)"
    else
        fail "$line (floor $fl)"
    fi
    grep -vE '^(success|skip) ' "$RESULTS/$suite.results" 2>/dev/null | sed 's/^/    /'
    if server_alive && port_open; then
        pass "$suite: server still up afterwards"
    else
        fail "$suite: server died during the suite; restarting it"
        smbx_stop
        smbx_start
    fi
done
empty_share

echo "per-subtest results: $RESULTS"
finish
