#!/usr/bin/env bash
# READ data is not copied in user space: the data plane's own counters (`smbxctl
# status`, "data path") show that what smbx-bench read was read by io_uring into pool
# buffers registered as fixed buffers, and went to the socket from those same buffers,
# with no byte copied into a response. Plain, signed and AES-128-GCM-encrypted READs;
# AES-128-CCM (3.0.2) is the one case that copies (OpenSSL's CCM takes the plaintext in
# one piece), and the counters say so. WRITE data goes to the file from the pool buffer
# it was received into (fixed-buffer writes). With `zero copy send = yes` (auto leaves
# loopback peers out), the kernel sends READ data from the pool buffers themselves
# (IORING_OP_SENDMSG_ZC) and the buffers come back only after its notifications.
# Receive: requests come in through each worker's provided-buffer ring: small WRITEs
# are handed to the engine in the ring buffer they arrived in (lent, inside the
# registered pool), 1 MiB WRITE bodies are received straight into their own pool
# buffer; no heap fallback either way.
source "$(dirname "$0")/lib.sh"

BENCH=$SMBX_BUILD_DIR/bench/smbx-bench
smbx_init
smbx_config
smbx_add_user alice
smbx_start

bench() {
    SMBX_BENCH_PASSWORD=$ALICE_PASS "$BENCH" "//127.0.0.1/share" -U alice --port "$PORT" \
        --duration 20 "$@" >"$T/bench.out" 2>&1
}
# counter NAME: its value in `smbxctl status`.
counter() {
    smbxctl status 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'
}
declare -A before
snap() {
    for n in file_read_fixed_bytes file_write_fixed_bytes payload_sent_from_pool_bytes \
             payload_copied_bytes pool_heap_fallbacks payload_sent_zero_copy_bytes \
             tcp_recv_provided_buffers tcp_recv_provided_bytes tcp_recv_lent_messages \
             tcp_recv_direct_bytes tcp_recv_assembled_bytes payload_sent_over_zc_limit_bytes; do
        before[$n]=$(counter "$n")
    done
}
delta() { echo $(($(counter "$1") - ${before[$1]:-0})); }

MiB=$((1024 * 1024))
check "write a 64 MiB file" bench --rw write --bs 1m --size 64m --seed 3 --verify
snap
assert_match "status reports the data-path counters" 'payload_sent_from_pool_bytes' \
    "$(smbxctl status 2>&1)"

read_case() {
    local label=$1; shift
    snap
    check "[$label] read 64 MiB, verified" bench --rw read --bs 1m --size 64m --seed 3 \
        --no-fill --verify "$@"
    local sent copied fixed
    sent=$(delta payload_sent_from_pool_bytes)
    copied=$(delta payload_copied_bytes)
    fixed=$(delta file_read_fixed_bytes)
    assert_true "[$label] 64 MiB went to the socket from pool buffers (sent $sent)" \
        test "$sent" -ge $((64 * MiB))
    assert_eq "[$label] no READ byte copied into a response" 0 "$copied"
    assert_true "[$label] the file was read by io_uring into the fixed pool buffer ($fixed)" \
        test "$fixed" -ge $((64 * MiB))
    assert_eq "[$label] no heap fallback" 0 "$(delta pool_heap_fallbacks)"
}
read_case plain
read_case signed --sign
read_case "AES-128-GCM" --encrypt

snap
check "[AES-128-CCM, 3.0.2] read 8 MiB, verified" bench --rw read --bs 1m --size 8m --seed 3 \
    --no-fill --verify --encrypt --dialect 3.0.2
assert_true "[AES-128-CCM] the copy is counted" test "$(delta payload_copied_bytes)" -ge $((8 * MiB))

snap
check "write 64 MiB more" bench --rw write --bs 1m --size 64m --seed 4 --verify
assert_true "WRITE data went to the file from the fixed pool buffers" \
    test "$(delta file_write_fixed_bytes)" -ge $((64 * MiB))
direct=$(delta tcp_recv_direct_bytes)
provided=$(delta tcp_recv_provided_bytes)
assert_true "[receive] 1 MiB WRITE bodies: mostly straight into their pool buffers ($direct direct, $provided through the ring)" \
    test "$direct" -ge $((48 * MiB))
assert_true "[receive] the WRITE headers came through the provided-buffer ring ($provided)" \
    test "$provided" -gt 0
assembled=$(delta tcp_recv_assembled_bytes)
# One ring buffer (16 KiB) per body at most, and some slack for the small requests
# around them (CREATE, CLOSE), which are copied only when they span two buffers.
assert_true "[receive] at most one 16 KiB ring buffer of each 1 MiB body copied ($assembled bytes for 64)" \
    test "$assembled" -le $((64 * 16 * 1024 + 64 * 1024))
assert_eq "[receive] no heap fallback (1 MiB WRITEs)" 0 "$(delta pool_heap_fallbacks)"

snap
check "4 KiB random writes at QD 32, verified" bench --rw randwrite --bs 4k --iodepth 32 \
    --size 16m --seed 4 --verify
provided=$(delta tcp_recv_provided_bytes)
lent=$(delta tcp_recv_lent_messages)
assert_true "[receive] 4 KiB WRITEs came in through the provided-buffer ring ($provided bytes)" \
    test "$provided" -ge $((16 * MiB))
assert_true "[receive] most were handed on in their ring buffer, not copied ($lent lent, $(delta tcp_recv_assembled_bytes) bytes assembled)" \
    test "$lent" -ge 2048
assert_eq "[receive] no heap fallback (4 KiB WRITEs)" 0 "$(delta pool_heap_fallbacks)"
assert_true "[receive] 4 KiB WRITE data went to the file from the registered pool" \
    test "$(delta file_write_fixed_bytes)" -ge $((16 * MiB))

# Zero-copy sends: restart with them forced on for loopback.
smbx_stop
smbx_config "zero copy send = yes"
smbx_start
snap
for i in 1 2; do
    check "[send_zc] read 64 MiB, verified (run $i)" bench --rw read --bs 1m --iodepth 8 \
        --size 64m --seed 4 --no-fill --verify
done
check "[send_zc] 4 KiB random reads at QD 32, verified (below the threshold)" bench \
    --rw randrw --bs 4k --iodepth 32 --size 4m --verify
# A response that finds its connection holding 16 MiB for notifications is copied
# instead (a slow reader, such as this client under ASan, makes Linux chain the
# notifications until the socket's queue drains); with that, the pool never runs dry.
zc_sent=$(delta payload_sent_zero_copy_bytes)
over_limit=$(delta payload_sent_over_zc_limit_bytes)
assert_true "[send_zc] the kernel sent most of the 128 MiB from pool buffers with SENDMSG_ZC ($zc_sent bytes; $over_limit copied past the held limit)" \
    test "$zc_sent" -ge $((96 * MiB))
assert_true "[send_zc] every 1 MiB payload went one way or the other" \
    test $((zc_sent + over_limit)) -ge $((128 * MiB))
assert_eq "[send_zc] no heap fallback" 0 "$(delta pool_heap_fallbacks)"
assert_eq "[send_zc] every held buffer came back" 0 "$(counter pool_in_use)"

finish
