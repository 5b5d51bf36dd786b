#!/bin/bash
# TCP correctness under loss, duplication and reordering over the DPDK transport.
#
# The kernel here has no netem qdisc, so the faults come from the stack's test mode:
# `dpdk impair` puts dataplane/net/impaired_nic between the DPDK port and the stack,
# dropping, duplicating and reordering a fraction of the frames in each direction
# (SMBX_DPDK_IMPAIR, default 1% each dropped and duplicated, 2% reordered). Both TCP
# ends recover: the kernel's (smbclient's) and ours.
#
# Topology as in test_dpdk_smb (dpdk_netns.sh): smbx on net_af_packet in $NS_DP,
# smbclient in $NS_CL. A random file of SMBX_DPDK_LOSS_MIB (default 256) MiB is put and
# got back, both copies compared by sha256; the server's counters (`smbxctl status`,
# dpdk_*) must show the impairment happened and the stack retransmitted, and, once
# smbclient is gone, no connection open and no buffer held. Needs root; skips otherwise.
set -uo pipefail
LIB_DIR=$(cd "$(dirname "$0")" && pwd)
source "$LIB_DIR/lib.sh"
source "$LIB_DIR/dpdk_netns.sh"

dpdk_require_smbx
command -v smbclient >/dev/null || skip_test "no smbclient"

dpdk_netns_names lo
MIB=${SMBX_DPDK_LOSS_MIB:-256}
IMPAIR=${SMBX_DPDK_IMPAIR:-drop 0.01 dup 0.01 reorder 0.02}

dpdk_smbx_init

dpdk_netns_setup || { fail "namespace topology"; finish; }
smbx_config
smbx_add_user alice
head -c $((MIB << 20)) /dev/urandom >"$T/src"
SRC_SUM=$(sha256sum <"$T/src" | cut -d' ' -f1)

if ! dpdk_start loss "transport = dpdk
dpdk args = $(dpdk_vdev_args lo)
dpdk address = ${SERVER_IP}/24
dpdk impair = $IMPAIR seed $$"; then
    fail "smbx with transport = dpdk did not start"
    finish
fi
assert_match "the test mode is logged loudly" "TEST MODE.*dpdk impair" "$(cat "$SERVER_LOG")"
dpdk_no_kernel_listener "no kernel socket listens on the SMB port"
# ARP and the handshake cross the impaired link too: a few tries.
for i in 1 2 3; do
    dpdk_smbclient -c ls >/dev/null 2>&1 && break
done
dpdk_transfer impaired

status=$(smbxctl status)
counter() { awk -v n="$1" '$1 == n { print $2; exit }' <<<"$status"; }
log "server counters after the transfer:"
grep -E '^ +dpdk_' <<<"$status" | sed 's/^ */    /'
for c in dpdk_impair_tx_dropped dpdk_impair_tx_duplicated dpdk_impair_tx_reordered \
    dpdk_impair_rx_dropped dpdk_impair_rx_duplicated dpdk_impair_rx_reordered; do
    assert_match "$c > 0 (the link was impaired)" '^[1-9][0-9]*$' "$(counter $c)"
done
assert_match "dpdk_tcp_retransmits > 0 (the stack recovered lost segments)" '^[1-9][0-9]*$' \
    "$(counter dpdk_tcp_retransmits)"
rexmit_kinds=$(($(counter dpdk_tcp_fast_retransmits) + $(counter dpdk_tcp_timeouts)))
assert_match "fast retransmits + timeouts > 0" '^[1-9][0-9]*$' "$rexmit_kinds"
assert_match "out-of-order segments were queued" '^[1-9][0-9]*$' \
    "$(counter dpdk_tcp_out_of_order)"
assert_match "duplicate segments were recognised" '^[1-9][0-9]*$' \
    "$(counter dpdk_tcp_duplicate_segments)"

# smbclient has exited: its FIN (or, lost, its retransmission) closes the connection.
check "no connection open afterwards (dpdk_connections 0)" dpdk_wait_counter dpdk_connections 0 20
check "no TCP connection left in the stack (dpdk_tcp_connections 0)" \
    dpdk_wait_counter dpdk_tcp_connections 0 20
check "no buffer held (dpdk_buffers_outstanding 0)" \
    dpdk_wait_counter dpdk_buffers_outstanding 0 20

dpdk_stop
counters=$(grep -o 'dpdk: worker 0: rx_frames.*' "$SERVER_LOG")
log "$counters"
log "$(grep -o 'dpdk: worker 0: impaired: .*' "$SERVER_LOG")"
assert_match "at exit: connections closed, no buffer outstanding" \
    'open=0 buffers_outstanding=0$' "$counters"
assert_match "no data plane errors" '^$' \
    "$(grep -E 'ERROR|assert|Segmentation' "$SERVER_LOG" | head -5)"
finish
