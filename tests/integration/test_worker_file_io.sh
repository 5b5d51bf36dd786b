#!/usr/bin/env bash
# READ and WRITE run to completion on the network worker on a file system with a disk
# behind it (the test's temp dir: ext4 here, never tmpfs): a WRITE's data goes to the
# file through the worker's own io_uring (file_io_ring), the request answered in the
# completion; a READ the page cache does not hold is read the same way. smbx-bench's
# verified 4 KiB random writes, then reads of the same data dropped from the page cache,
# at QD 32; `smbxctl status` must show the worker doing the file I/O (worker_file_*)
# and next to nothing handed to the request threads. FLUSHes between the WRITEs are
# fsyncs on the same ring (worker_file_syncs), not request-thread work.
source "$(dirname "$0")/lib.sh"

smbx_init
[ "$(stat -f -c %T "$T")" != tmpfs ] || skip_test "$T is on tmpfs; this test needs a disk"
smbx_config
smbx_add_user alice
smbx_start
[ "$SMBX_TEST_SERVER" = smbx ] || skip_test "the counters are smbx's"

BENCH=$SMBX_BUILD_DIR/bench/smbx-bench
bench() {
    SMBX_BENCH_PASSWORD=$ALICE_PASS "$BENCH" "//127.0.0.1/share" -U alice --port "$PORT" \
        --duration 30 "$@" >"$T/bench.out" 2>&1
}
counter() { smbxctl status 2>/dev/null | awk -v n="$1" '$1 == n { print ($2 == "" ? 0 : $2) }'; }
delta() { echo $(($(counter "$1") - ${2:-0})); }

writes=$(counter worker_file_writes)
handed=$(counter smb2_messages_to_request_threads)
check "4 KiB random writes at QD 32 on $(stat -f -c %T "$T"), verified pattern" \
    bench --rw randwrite --bs 4k --iodepth 32 --size 8m --io-size 8m --seed 7 --verify
writes=$(delta worker_file_writes "$writes")
handed=$(delta smb2_messages_to_request_threads "$handed")
# 8 MiB in 4 KiB WRITEs: 2048 of them, each one file write on the worker's ring.
assert_true "the worker wrote the 2048 WRITEs through its ring ($writes)" test "$writes" -ge 2048
assert_true "little was handed to the request threads ($handed: setup only)" test "$handed" -lt 100

# Out of the page cache (written back first: dirty pages are not dropped), so that the
# READs must wait for the disk: the worker defers them to its ring instead.
python3 - "$T/share" <<'PY'
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        fd = os.open(os.path.join(root, name), os.O_RDONLY)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
PY
reads=$(counter worker_file_reads)
on_worker=$(counter smb2_messages_on_worker)
handed=$(counter smb2_messages_to_request_threads)
check "4 KiB random reads at QD 32 of the same data, verified" \
    bench --rw randread --bs 4k --iodepth 32 --size 8m --io-size 8m --seed 7 --no-fill --verify
reads=$(delta worker_file_reads "$reads")
on_worker=$(delta smb2_messages_on_worker "$on_worker")
handed=$(delta smb2_messages_to_request_threads "$handed")
assert_true "the worker read from the disk through its ring ($reads reads)" test "$reads" -gt 0
assert_true "the worker answered the 2048 READs itself ($on_worker)" test "$on_worker" -ge 2048
assert_true "little was handed to the request threads ($handed)" test "$handed" -lt 100
waited=$(counter smb2_completions_to_request_threads)
assert_true "few completions found the connection busy on a request thread ($waited)" \
    test "${waited:-0}" -lt 100

# A FLUSH after every 8 WRITEs (as a database log does): each one an fsync on the
# worker's ring, answered there.
syncs=$(counter worker_file_syncs)
handed=$(counter smb2_messages_to_request_threads)
check "4 KiB random writes at QD 32 with a FLUSH every 8" \
    bench --rw randwrite --bs 4k --iodepth 32 --size 8m --io-size 2m --seed 7 --flush-every 8
flushes=$(awk '/ FLUSHes /{ print $1 }' "$T/bench.out")
syncs=$(delta worker_file_syncs "$syncs")
handed=$(delta smb2_messages_to_request_threads "$handed")
assert_true "the client's FLUSHes succeeded (${flushes:-none} of 64)" test "${flushes:-0}" -ge 60
assert_true "each FLUSH was an fsync on the worker's ring ($syncs syncs)" \
    test "$syncs" -ge "${flushes:-1}"
assert_true "the FLUSHes were not handed to the request threads ($handed)" test "$handed" -lt 20

finish
