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
# Bound by time rather than size: a few seconds of 4 KiB random writes, all read back.
verify_run "randwrite 4k for 3 s" --rw randwrite --bs 4k --iodepth 32 --size 1g --duration 3
verify_run "write 1m multi-credit" --rw write --bs 1m --iodepth 4 --size 32m
verify_run "read 1m" --rw read --bs 1m --iodepth 8 --size 32m
verify_run "randwrite signed" --rw randwrite --bs 64k --iodepth 8 --size 8m --sign
verify_run "randrw encrypted" --rw randrw --bs 64k --iodepth 8 --size 8m --encrypt
verify_run "randrw 3.0.2 encrypted" --rw randrw --bs 64k --iodepth 8 --size 8m --encrypt \
    --dialect 3.0.2
verify_run "randrw 2.1 signed" --rw randrw --bs 64k --iodepth 8 --size 8m --sign --dialect 2.1
verify_run "2 threads x 2 connections" --rw randrw --bs 16k --iodepth 4 --threads 2 \
    --connections 2 --size 4m

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
