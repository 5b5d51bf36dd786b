#!/usr/bin/env bash
# `direct io = yes`: file data of that share bypasses the page cache (O_DIRECT). Aligned
# READs and WRITEs (smbx-bench, 4 KiB and 1 MiB) go to the file with O_DIRECT from the
# pool buffers (a received WRITE is placed so that its data is page aligned); what is
# not aligned (smbclient's odd-sized tail) goes through a buffered descriptor of the same
# file. Data is checked both ways, and the counters in `smbxctl status` show each path.
source "$(dirname "$0")/lib.sh"

smbx_init
# The share's file system must take O_DIRECT (tmpfs before Linux 6.6 does not).
probe="$T/share/.odirect-probe"
if ! python3 -c 'import os,sys; os.close(os.open(sys.argv[1], os.O_CREAT|os.O_WRONLY|os.O_DIRECT))' \
    "$probe" 2>/dev/null; then
    skip_test "the file system of $T does not support O_DIRECT"
fi
rm -f "$probe"
smbx_config "" "direct io = yes"
smbx_add_user alice
smbx_start

BENCH=$SMBX_BUILD_DIR/bench/smbx-bench
bench() {
    SMBX_BENCH_PASSWORD=$ALICE_PASS "$BENCH" "//127.0.0.1/share" -U alice --port "$PORT" \
        --duration 20 "$@" >"$T/bench.out" 2>&1
}
counter() { smbxctl status 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'; }

# Every READ and WRITE of a `direct io` share waits for the device: the worker runs it
# all the same, its file I/O on the worker's ring (counters worker_file_*).
reads=$(counter worker_file_reads)
writes=$(counter worker_file_writes)
handed=$(counter smb2_messages_to_request_threads)
check "1 MiB writes then reads, verified" bench --rw write --bs 1m --size 32m --seed 5 --verify
check "read back, verified" bench --rw read --bs 1m --size 32m --seed 5 --no-fill --verify
check "4 KiB random reads and writes, verified" bench --rw randrw --bs 4k --iodepth 16 \
    --size 8m --verify
reads=$(($(counter worker_file_reads) - reads))
writes=$(($(counter worker_file_writes) - writes))
handed=$(($(counter smb2_messages_to_request_threads) - handed))
assert_true "the worker read the 1 MiB READs through its ring ($reads reads)" test "$reads" -ge 32
assert_true "the worker wrote the 1 MiB WRITEs through its ring ($writes writes)" test "$writes" -ge 32
assert_true "little was handed to the request threads ($handed: setup only)" test "$handed" -lt 100
direct=$(counter direct_io_bytes)
assert_true "O_DIRECT moved the aligned data (direct_io_bytes $direct)" test "${direct:-0}" -ge $((64 * 1024 * 1024))
unaligned_before=$(counter direct_io_unaligned)

head -c 1000003 /dev/urandom >"$T/odd.bin"
check "put an odd-sized file" smbc share -c "put $T/odd.bin odd.bin"
check "get it back" smbc share -c "get odd.bin $T/odd.back"
assert_eq "odd-sized file intact" "$(sha256sum <"$T/odd.bin")" "$(sha256sum <"$T/odd.back" 2>/dev/null)"
assert_true "the unaligned tail went through the buffered descriptor" \
    test "$(counter direct_io_unaligned)" -gt "${unaligned_before:-0}"
assert_eq "the file on disk is the same" "$(sha256sum <"$T/odd.bin")" "$(sha256sum <"$T/share/odd.bin")"

finish
