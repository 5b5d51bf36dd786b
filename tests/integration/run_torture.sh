#!/usr/bin/env bash
# run_torture.sh HOST PORT SHARE USER PASS SUITE...
#
# Runs Samba's smbtorture (package samba-testsuite) suites one by one against
# //HOST/SHARE on TCP PORT, each under its own timeout, and prints per suite
#   <suite> passed=N failed=N skipped=N errors=N seconds=S
# then a final line
#   N passed, N failed, N skipped            (failed = failures + errors)
#
# Counting, from `smbtorture --format=subunit`:
#   passed  = success/successful/xfail results
#   failed  = failure/fail/uxsuccess results
#   skipped = skip results
#   errors  = error results, plus every test that printed "test:" and never a result
#             (crash, or killed by the timeout), plus 1 if smbtorture exited non-zero
#             without reporting any test (e.g. it could not connect)
#
# Per suite, LOGDIR gets <suite>.subunit (raw) and <suite>.results: one line per
# subtest, "<result> <suite>.<test>" (result: success, failure, skip, error, or
# `unfinished` for a test that never reported).
#
# Environment:
#   TIMEOUT=300          per-suite wall-clock limit, seconds
#   LOGDIR=./torture-logs
#   SMBTORTURE=smbtorture
#   EXTRA_OPTS="..."     extra smbtorture arguments for every suite (word-split), e.g.
#                        "-s client.conf --option=torture:user2name=bob ..."
#   PRE_SUITE_CMD=...    shell command eval'd before each suite ($SUITE is set),
#                        e.g. to empty the share
#   STRICT=1             exit 1 if anything failed or errored (default: exit 0)
set -u
if [ $# -lt 6 ]; then
    sed -n '2,32p' "$0" >&2
    exit 2
fi
HOST=$1 PORT=$2 SHARE=$3 USER_=$4 PASS=$5
shift 5

TIMEOUT=${TIMEOUT:-300}
SMBTORTURE=${SMBTORTURE:-smbtorture}
EXTRA_OPTS=${EXTRA_OPTS:-}
LOGDIR=${LOGDIR:-./torture-logs}
mkdir -p "$LOGDIR/basedir"
LOGDIR=$(cd "$LOGDIR" && pwd)

tot_p=0 tot_f=0 tot_s=0 tot_e=0

for SUITE in "$@"; do
    export SUITE
    if [ -n "${PRE_SUITE_CMD:-}" ]; then
        eval "$PRE_SUITE_CMD" >>"$LOGDIR/pre-suite.log" 2>&1
    fi
    base="$LOGDIR/$(tr '/ ' '__' <<<"$SUITE")"
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    timeout -k 15 "$TIMEOUT" "$SMBTORTURE" --format=subunit --maximum-runtime="$TIMEOUT" \
        --basedir="$LOGDIR/basedir" -p "$PORT" $EXTRA_OPTS \
        "//$HOST/$SHARE" -U"$USER_%$PASS" "$SUITE" </dev/null >"$base.subunit" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

    # "[ ... ]" detail blocks after a result line are skipped.
    read -r p f s e <<<"$(awk -v rc="$rc" -v out="$base.results" -v suite="$SUITE" '
        inblk { if ($0 == "]") inblk = 0; next }
        /^test: / { name = substr($0, 7); started[name] = 1; next }
        /^(success|successful|failure|fail|skip|error|xfail|uxsuccess): / {
            kw = $0; sub(/:.*/, "", kw)
            rest = substr($0, length(kw) + 3)
            if (rest ~ / \[$/) { inblk = 1; sub(/ \[$/, "", rest) }
            sub(/ \[ *multipart$/, "", rest)
            delete started[rest]
            if (kw == "success" || kw == "successful" || kw == "xfail") { p++; r = "success" }
            else if (kw == "failure" || kw == "fail" || kw == "uxsuccess") { f++; r = "failure" }
            else if (kw == "skip") { s++; r = "skip" }
            else { e++; r = "error" }
            print r, (index(rest, suite ".") == 1 ? rest : suite "." rest) > out
            next
        }
        END {
            for (n in started) { e++; print "unfinished", (index(n, suite ".") == 1 ? n : suite "." n) > out }
            if (p + f + s + e == 0 && rc != 0) { e = 1; print "error", "(no test ran; rc=" rc ")" > out }
            close(out)
            printf "%d %d %d %d\n", p, f, s, e
        }' "$base.subunit")"
    touch "$base.results"

    echo "$SUITE passed=$p failed=$f skipped=$s errors=$e seconds=$secs"
    note="rc=$rc log=$base.subunit"
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then note="$note TIMEOUT(${TIMEOUT}s)"; fi
    echo "  # $SUITE: $note" >&2
    tot_p=$((tot_p + p)) tot_f=$((tot_f + f)) tot_s=$((tot_s + s)) tot_e=$((tot_e + e))
done

echo "$tot_p passed, $((tot_f + tot_e)) failed, $tot_s skipped"
if [ "${STRICT:-0}" = 1 ] && [ $((tot_f + tot_e)) -gt 0 ]; then exit 1; fi
exit 0
