#!/usr/bin/env bash
# smbx-bench against smbx over loopback: --verify runs (sequential and random, plain,
# signed and encrypted, 3.1.1 and 3.0.2, multi-credit 1 MiB blocks) finish with zero
# mismatches and a non-zero op count; --json is parseable; a byte corrupted on the
# server's disk is reported with its offset; a wrong password fails with a clear error.
source "$(dirname "$0")/lib.sh"

BENCH=${SMBX_BENCH:-$SMBX_BUILD_DIR/bench/smbx-bench}
[ -x "$BENCH" ] || BENCH="$SMBX_BUILD_DIR/smbx-bench"

smbx_init
[ -x "$BENCH" ] || { fail "smbx-bench not built in $SMBX_BUILD_DIR"; finish; }
smbx_config
smbx_add_user alice
smbx_start

bench() {
    SMBX_BENCH_PASSWORD=${PW:-$ALICE_PASS} "$BENCH" "//127.0.0.1/share" -U alice \
        --port "$PORT" --duration 2 "$@"
}

# One --verify run: exit 0, "0 mismatches", some ops.
verify_run() {
    local label=$1; shift
    local rc=0
    OUT=$(bench --verify "$@" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ] && grep -q ' 0 mismatches' <<<"$OUT" &&
       grep -Eq ': [1-9][0-9]* ops' <<<"$OUT"; then
        pass "[$label] verify run: no mismatches, ops done"
    else
        fail "[$label] verify run (exit $rc)"
        show_out
    fi
}

verify_run "randrw 4k" --rw randrw --bs 4k --iodepth 16 --size 8m
# The issue's check: 1,024 mixed random 4 KiB ops at QD 32, every byte checked.
check_output "1,024 mixed random ops at QD 32: no mismatch" '"mismatches":0' bench --json \
    --verify --rw randrw --bs 4k --iodepth 32 --size 4m --duration 30
assert_match "all 1,024 ops done, none failed" '"ops":1024,.*"errors":0,' "$OUT"
# Bound by time rather than size: a few seconds of 4 KiB random writes, all read back.
verify_run "randwrite 4k for 3 s" --rw randwrite --bs 4k --iodepth 32 --size 1g --duration 3
verify_run "write 1m multi-credit" --rw write --bs 1m --iodepth 4 --size 32m
verify_run "read 1m" --rw read --bs 1m --iodepth 8 --size 32m
verify_run "randwrite signed" --rw randwrite --bs 64k --iodepth 8 --size 8m --sign
verify_run "randrw encrypted" --rw randrw --bs 64k --iodepth 8 --size 8m --encrypt
verify_run "randrw 3.0.2 encrypted" --rw randrw --bs 64k --iodepth 8 --size 8m --encrypt \
    --dialect 3.0.2
verify_run "randrw 2.1 signed" --rw randrw --bs 64k --iodepth 8 --size 8m --sign --dialect 2.1
verify_run "6 connections on 2 threads" --rw randrw --bs 16k --iodepth 4 --threads 2 \
    --connections 6 --size 4m
verify_run "8 connections on 1 thread" --rw randrw --bs 4k --iodepth 8 --connections 8 --size 1m
check_output "--connections counts connections, not per thread" '"connections":5,' bench --json \
    --rw randread --bs 4k --iodepth 2 --connections 5 --threads 2 --size 1m
assert_match "5 connections: every op done (5 x 1 MiB / 4 KiB)" '"ops":1280,' "$OUT"
check_fails "more threads than connections refused" bench --threads 3 --connections 2

# --ops bounds each connection's requests; --ops 0 only sets up.
check_output "--ops bounds the run" '"ops":100,' bench --json --rw randread --bs 4k --ops 50 \
    --connections 2 --size 1m
check_output "--ops 0 does no I/O" '"ops":0,' bench --json --rw randread --bs 4k --ops 0 \
    --size 1m

# --rw create: each op a CREATE and a CLOSE, of --files files in turn; every handle
# closed at the end (the server lists no open), the files made in the share.
check_output "--rw create: 400 CREATE+CLOSE ops at QD 8 over 10 files, no error" \
    '"ops":400,"read_ops":0,"write_ops":0,"bytes":0,.*"errors":0,' \
    bench --json --rw create --files 10 --iodepth 8 --ops 400
assert_eq "--rw create: the 10 files were created" 10 \
    "$(ls "$T/share" | grep -c '^smbx-bench\.0\.create\.')"
if [ "$SMBX_TEST_SERVER" = smbx ]; then
    assert_true "--rw create: no open left on the server" \
        bash -c "! smbxctl status 2>/dev/null | grep -q 'smbx-bench.0.create'"
fi

# A bounded --sweep: a CSV row per (bs, qd) in grid order, each with I/O done and checked.
SW="$T/sweep"
check "a bounded --sweep runs" bench --rw randrw --verify --size 1m --duration 0.3 \
    --sweep bs=4k,64k qd=1,4 --sweep-out "$SW" --connections 2
assert_eq "the CSV's header" "rw,bs,iodepth,connections" "$(head -n 1 "$SW.csv" | cut -d, -f1-4)"
assert_eq "a row per point, in grid order" "4096,1 4096,4 65536,1 65536,4" \
    "$(tail -n +2 "$SW.csv" | cut -d, -f2,3 | tr '\n' ' ' | sed 's/ $//')"
assert_true "every row: ops done, no errors, no mismatches, 2 connections" awk -F, \
    'NR > 1 && ($4 != 2 || $10 < 1 || $11 != 0 || $12 != 0) { bad = 1 } END { exit bad }' "$SW.csv"
assert_match "the gnuplot script has the data inline" 'linespoints' "$(cat "$SW.gp" 2>/dev/null)"
if command -v gnuplot >/dev/null; then
    assert_true "the plot is an SVG" grep -q '<svg' "$SW.svg"
else
    log "gnuplot not installed (deploy/install-deps.sh installs gnuplot-nox): plot not checked"
fi
check_fails "a malformed --sweep list is refused" bench --sweep bs=4k,3k

check_output "--json summary" '"mismatches":0' bench --json --verify --rw randread --bs 4k \
    --iodepth 8 --size 4m
assert_match "--json: ops counted" '"ops":[1-9]' "$OUT"
assert_true "--json output is valid JSON" python3 -c 'import json,sys; json.loads(sys.argv[1])' \
    "$(grep '^{' <<<"$OUT")"

# --size bounds the run: 4 MiB of 1 MiB writes is 4 ops, long before --duration.
check_output "--size bounds the run" '"ops":4,' bench --json --rw write --bs 1m --size 4m \
    --duration 60

# A corrupted byte is found and named: write a file, flip one byte on the server's disk,
# read it back with the same seed.
check "write the pattern over 1 MiB" bench --rw write --bs 64k --size 1m --seed 7 --verify
file="$T/share/smbx-bench.0.dat"
assert_true "the file is on the server's disk" test "$(stat -c %s "$file" 2>/dev/null || echo 0)" -ge 1048576
printf '\x5a' | dd of="$file" bs=1 seek=300000 conv=notrunc status=none
OUT=$(bench --rw read --bs 64k --size 1m --seed 7 --no-fill --verify 2>&1)
assert_eq "a mismatch exits 3" 3 "$?"
assert_match "the mismatch is reported with its offset" 'mismatch at offset 300000 ' "$OUT"
assert_match "the summary counts it" ' 1 mismatches' "$OUT"

PW=wrong-password check_fails "wrong password fails" bench --rw read --bs 4k --size 1m
assert_match "wrong password: a clear error" 'STATUS_LOGON_FAILURE.*wrong user name or password' \
    "$OUT"
check_fails "unknown share fails" env SMBX_BENCH_PASSWORD="$ALICE_PASS" "$BENCH" \
    //127.0.0.1/nosuch -U alice --port "$PORT" --size 1m --bs 4k
check_fails "bad --bs refused" bench --bs 3k

finish
