# shellcheck shell=bash
# tests/rdma-lab/tests/lib.sh: sourced by the lab's tests, which run INSIDE the VM
# (vmrun.sh), as root, with rxe0 on veth0 10.99.0.1 (server side) and rxe1 on veth1
# 10.99.0.2 (client side).
#
# Output is TAP: `ok N - what`, `not ok N - what`, `1..N` at the end; `finish` exits
# 1 if anything failed. A test that cannot run what it is about calls `skip_rest`,
# which prints a `# SKIP reason` line and exits 77 (run-tests.sh counts it as skipped).
#
# Environment (vmrun.sh -e): RDMA_LAB_RESULTS=DIR, a directory shared read-write with
# the host: tests append their figures to DIR/figures.txt. SMBX_BUILD_DIR: where the
# host built smbx (the guest sees the host's files at the same paths).
set -uo pipefail

SERVER_IP=10.99.0.1
# shellcheck disable=SC2034 # used by the tests that source this file
LAB_DIR=${SMBX_RDMA_LAB:-/var/tmp/smbx-rdma-lab}
TEST_NAME=$(basename "$0" .sh)
RESULTS=${RDMA_LAB_RESULTS:-}
MNT=/mnt/smb
N_TESTS=0
N_FAILED=0

# ------------------------------------------------------------------- TAP output

ok() { N_TESTS=$((N_TESTS + 1)); echo "ok $N_TESTS - $*"; }
not_ok() { N_TESTS=$((N_TESTS + 1)); N_FAILED=$((N_FAILED + 1)); echo "not ok $N_TESTS - $*"; }
diag() { echo "# $*"; }
# Indented output of a failed step, so that it cannot be read as a TAP line.
show() { sed 's/^/#   | /' | tail -n "${1:-20}"; }

# check DESC CMD...: ok if CMD exits 0, else not ok with its output.
check() {
    local desc=$1 out rc=0
    shift
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ]; then ok "$desc"; return 0; fi
    not_ok "$desc (exit $rc)"
    show <<<"$out"
    return 1
}

# require DESC CMD...: like check, but a failure ends the test (later steps depend on it).
require() { check "$@" || finish; }

# skip_rest REASON: what the test is about cannot run here (not a failure, not a
# pass). The checks already made stay in the output; a failure among them still fails.
skip_rest() {
    if [ "$N_TESTS" -eq 0 ]; then
        echo "1..0 # SKIP $*"
        exit 77
    fi
    N_TESTS=$((N_TESTS + 1))
    echo "ok $N_TESTS # SKIP $*"
    echo "1..$N_TESTS"
    [ "$N_FAILED" -eq 0 ] || exit 1
    exit 77
}

finish() {
    if [ "$N_FAILED" -gt 0 ]; then
        diag "kernel log tail:"
        dmesg | tail -n 25 | show 25
    fi
    echo "1..$N_TESTS"
    [ "$N_FAILED" -eq 0 ] && [ "$N_TESTS" -gt 0 ] && exit 0
    exit 1
}

# figure LINE: prints a measured figure and keeps it for the host.
figure() {
    echo "# figure: $*"
    [ -n "$RESULTS" ] && echo "$TEST_NAME: $*" >>"$RESULTS/figures.txt"
    return 0
}

# ------------------------------------------------------------------ RDMA helpers

# Sum of a Soft-RoCE port counter over both devices (sysfs hw_counters).
rxe_counter() {
    local c=$1 sum=0 f
    for f in /sys/class/infiniband/rxe*/ports/1/hw_counters/"$c"; do
        sum=$((sum + $(cat "$f")))
    done
    echo "$sum"
}

# wait_rdma_listener PORT SECONDS: until an RDMA CM id listens on PORT.
wait_rdma_listener() {
    local port=$1 deadline=$((SECONDS + $2))
    while [ $SECONDS -lt "$deadline" ]; do
        rdma res show cm_id 2>/dev/null | grep -Eq "state LISTEN.*src-addr [^ ]*:$port( |$)" && return 0
        sleep 0.2
    done
    return 1
}

# -------------------------------------------------------- client-side checks

# mount_smbdirect SHARE USER PASS: the kernel client, SMB 3.1.1 over RDMA (it tries
# RDMA CM port 5445, then 445). cache=none: reads and writes go to the server.
mount_smbdirect() {
    mkdir -p "$MNT"
    timeout 120 mount -t cifs "//$SERVER_IP/$1" "$MNT" \
        -o "rdma,vers=3.1.1,username=$2,password=$3,cache=none,uid=0,gid=0"
}

# The mount's connection is SMB Direct: /proc/fs/cifs/DebugData shows the SMBDirect
# block (protocol version 0x0100, MS-SMBD 2.2.1) with transport status 2
# (SMBD_CONNECTED in fs/smb/client/smbdirect.h), and dialect 3.1.1.
check_smbdirect_transport() {
    local d
    d=$(cat /proc/fs/cifs/DebugData)
    if grep -q 'SMBDirect (in hex) protocol version: 100 transport status: 2' <<<"$d" &&
        grep -q 'Dialect 0x311' <<<"$d"; then
        ok "DebugData: SMB Direct transport connected (protocol 0x100, status 2), dialect 3.1.1"
        grep -E '^SMBDirect|^Conn (receive|max_frag|keep)' <<<"$d" | sed 's/^/#   /'
    else
        not_ok "DebugData shows no connected SMB Direct transport"
        show 40 <<<"$d"
    fi
}

# check_direct_io_roundtrip MIB SERVER_DIR: a random file written through the mount
# with O_DIRECT, read back with O_DIRECT; the sha256 must match, on the client and
# in the server's own directory. The RoCE packet counters must grow by at least the
# file's size twice over in 4 KiB packets, which proves that the data went over RDMA.
check_direct_io_roundtrip() {
    local mib=$1 server_dir=$2 src=/run/roundtrip.src back=/run/roundtrip.back
    local want pkts0 pkts1 min_pkts t0 t1 t2
    head -c $((mib << 20)) /dev/urandom >"$src"
    want=$(sha256sum <"$src" | cut -d' ' -f1)
    pkts0=$(rxe_counter sent_pkts)
    t0=$(date +%s.%N)
    check "write $mib MiB with O_DIRECT (dd bs=1M oflag=direct)" \
        dd if="$src" of="$MNT/roundtrip.bin" bs=1M oflag=direct conv=fsync
    t1=$(date +%s.%N)
    check "read $mib MiB back with O_DIRECT (dd bs=1M iflag=direct)" \
        dd if="$MNT/roundtrip.bin" of="$back" bs=1M iflag=direct
    t2=$(date +%s.%N)
    pkts1=$(rxe_counter sent_pkts)
    if [ "$(sha256sum <"$back" | cut -d' ' -f1)" = "$want" ]; then
        ok "sha256 of the file read back equals the one written"
    else
        not_ok "sha256 of the file read back differs from the one written"
    fi
    if [ "$(sha256sum <"$server_dir/roundtrip.bin" 2>/dev/null | cut -d' ' -f1)" = "$want" ]; then
        ok "sha256 of the file in the server's directory equals the one written"
    else
        not_ok "the file in the server's directory is missing or differs"
    fi
    min_pkts=$((2 * (mib << 20) / 4096))
    if [ $((pkts1 - pkts0)) -ge "$min_pkts" ]; then
        ok "RoCE carried the data: $((pkts1 - pkts0)) packets sent (>= $min_pkts)"
    else
        not_ok "RoCE sent only $((pkts1 - pkts0)) packets for $((2 * mib)) MiB (< $min_pkts)"
    fi
    figure "dd O_DIRECT 1 MiB: write $(awk -v m="$mib" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", m / (b - a) }') MiB/s, read $(awk -v m="$mib" -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", m / (b - a) }') MiB/s ($mib MiB)"
    rm -f "$src" "$back" "$MNT/roundtrip.bin"
}

# run_fio LABEL RW BS QD: one time-bound fio job through the mount (O_DIRECT, libaio,
# a 64 MiB file, FIO_SECONDS each, default 5); prints and keeps MiB/s and IOPS.
run_fio() {
    local label=$1 rw=$2 bs=$3 qd=$4 json rc=0
    json=$(timeout 120 fio --name="$label" --filename="$MNT/fio.dat" --size=64M \
        --rw="$rw" --bs="$bs" --iodepth="$qd" --ioengine=libaio --direct=1 \
        --time_based --runtime="${FIO_SECONDS:-5}" --ramp_time=1 \
        --output-format=json 2>&1) || rc=$?
    local summary
    summary=$(python3 -c '
import json, sys
doc = sys.stdin.read()
job = json.loads(doc[doc.index("{"):])["jobs"][0]
parts = []
for d in ("read", "write"):
    if job[d]["io_bytes"]:
        parts.append("%s %.1f MiB/s %.0f IOPS" % (d, job[d]["bw_bytes"] / 2**20, job[d]["iops"]))
errors = job["error"]
print(", ".join(parts) if parts and not errors else "")
' <<<"$json" 2>/dev/null)
    if [ "$rc" -eq 0 ] && [ -n "$summary" ]; then
        ok "fio $label ($rw, bs=$bs, iodepth=$qd, ${FIO_SECONDS:-5} s)"
        figure "fio $label $rw bs=$bs qd=$qd: $summary"
    else
        not_ok "fio $label ($rw, bs=$bs, iodepth=$qd) (exit $rc)"
        show <<<"$json"
    fi
}

# The fio set the project compares servers with (issue 4): 1 MiB sequential and 4 KiB
# random, read and write.
run_fio_set() {
    run_fio seq-write write 1M 4
    run_fio seq-read read 1M 4
    run_fio rand-write randwrite 4k 16
    run_fio rand-read randread 4k 16
    rm -f "$MNT/fio.dat"
}

unmount_share() {
    # A known 6.1 client quirk logs "failed to drain recv queue: -12" here.
    check "umount" timeout 60 umount "$MNT"
}

# ------------------------------------------------------- smbx-bench over SMB Direct

# run_smbx_bench LABEL PORT USER PASS ARGS...: smbx-bench (from $SMBX_BUILD_DIR, the
# host's build) with --transport rdma against //$SERVER_IP/share on RDMA CM port PORT.
# ok when it exits 0 with no error, no --verify mismatch and READ/WRITE data moved by
# RDMA (above --rdma-threshold); prints and keeps MB/s. The summary's JSON is left in
# $BENCH_JSON.
BENCH_JSON=
run_smbx_bench() {
    local label=$1 port=$2 user=$3 pass=$4 out rc=0 summary
    shift 4
    local bench=${SMBX_BUILD_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/build}/bench/smbx-bench
    out=$(SMBX_BENCH_PASSWORD=$pass timeout 300 "$bench" "//$SERVER_IP/share" -U "$user" \
        --transport rdma --port "$port" --json "$@" 2>&1) || rc=$?
    BENCH_JSON=$(grep '^{' <<<"$out" | tail -n 1)
    summary=$(python3 -c '
import json, sys
j = json.loads(sys.argv[1])
bad = []
if j["errors"]: bad.append("%d errors" % j["errors"])
if j["mismatches"]: bad.append("%d verify mismatches" % j["mismatches"])
if j["transport"] != "rdma" or (j["bs"] > 4096 and not j["rdma_ios"]):
    bad.append("no I/O by RDMA")
print("%s bs=%d qd=%d: %.1f MB/s %.0f IOPS, %d I/Os by RDMA, %d bytes verified, %d mismatches%s"
      % (j["rw"], j["bs"], j["iodepth"], j["mb_per_s"], j["iops"], j["rdma_ios"],
         j["verified_bytes"], j["mismatches"], ("; " + ", ".join(bad)) if bad else ""))
sys.exit(1 if bad else 0)
' "$BENCH_JSON" 2>&1) || { [ "$rc" -ne 0 ] || rc=1; }
    if [ "$rc" -eq 0 ]; then
        ok "smbx-bench --transport rdma $label: $summary"
        figure "smbx-bench rdma $label $summary"
    else
        not_ok "smbx-bench --transport rdma $label (exit $rc) $summary"
        show <<<"$out"
    fi
    return "$rc"
}

# The smbx-bench set both servers run (issue 4, "smbx-bench over SMB Direct"): --verify
# runs of random READs and WRITEs (64 KiB: data by RDMA, with SMB2_CHANNEL_RDMA_V1 and
# with _V1_INVALIDATE; 4 KiB: inline, fragmented and reassembled by SMB Direct), then
# 1 MiB sequential write and read throughput for BENCH_SECONDS (default 5) each.
run_smbx_bench_set() {
    local port=$1 user=$2 pass=$3 s=${BENCH_SECONDS:-5}
    run_smbx_bench verify-64k "$port" "$user" "$pass" --rw randrw --bs 64k --iodepth 4 \
        --size 32m --io-size 1g --duration "$s" --verify
    run_smbx_bench verify-64k-invalidate "$port" "$user" "$pass" --rw randrw --bs 64k \
        --iodepth 4 --size 32m --io-size 1g --duration "$s" --verify --rdma-channel v1-invalidate
    run_smbx_bench verify-4k-inline "$port" "$user" "$pass" --rw randrw --bs 4k --iodepth 8 \
        --size 8m --duration 3 --verify
    run_smbx_bench seq-write-1m "$port" "$user" "$pass" --rw write --bs 1m --iodepth 4 \
        --size 64m --io-size 100g --duration "$s"
    run_smbx_bench seq-read-1m "$port" "$user" "$pass" --rw read --bs 1m --iodepth 4 \
        --size 64m --io-size 100g --duration "$s"
}

# ------------------------------------------------------- smbx in the lab (smbx tests)

# smbx_lab_prepare GLOBAL_LINES: the smbx server's world in the guest: the host's
# binaries ($BUILD_DIR) checked, a tmpfs share ($SHARE_DIR), $W/smbx.conf with
# `interfaces = $SERVER_IP`, port 445, GLOBAL_LINES, and the user $USER_NAME.
smbx_lab_prepare() {
    local b
    for b in smbx-control smbx-dataplane smbxctl; do
        [ -x "$BUILD_DIR/$b" ] || { not_ok "$BUILD_DIR/$b is not built (build smbx first, or set SMBX_BUILD_DIR)"; finish; }
    done
    mkdir -p "$W/private" "$SHARE_DIR"
    mount -t tmpfs -o size=1g tmpfs "$SHARE_DIR"
    {
        printf '[global]\n    interfaces = %s\n    smb ports = 445\n' "$SERVER_IP"
        printf '%s\n' "$1"
        printf '    private dir = %s/private\n    log level = 3\n' "$W"
        printf '[share]\n    path = %s\n    read only = no\n' "$SHARE_DIR"
    } >"$W/smbx.conf"
    require "smbxctl user add $USER_NAME" \
        bash -c "printf '%s\n' '$USER_PASS' | timeout 30 '$BUILD_DIR/smbxctl' --config '$W/smbx.conf' user add $USER_NAME"
}

# smbx_lab_start / stop_server: smbx-control in the background, logging to $LOG.
smbx_lab_start() {
    "$BUILD_DIR/smbx-control" --config "$W/smbx.conf" >"$LOG" 2>&1 &
    SERVER_PID=$!
}

stop_server() {
    [ -n "${SERVER_PID:-}" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 75); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}
