#!/bin/bash
# smbx serving SMB2 over the DPDK transport (the user-space TCP stack), reached by
# smbclient and smbtorture through the kernel stack of another namespace.
#
# Topology (built here, unique names, removed on exit):
#   ns $NS_DP: veth $IF_DP (no IP: the DPDK port)  <-->  ns $NS_CL: veth $IF_CL 10.X.Y.1/24
# smbx-control runs in $NS_DP with `transport = dpdk` and 10.X.Y.2 on each PMD of
# SMBX_DPDK_SMB_PMDS (default "af_packet af_xdp"), one worker. From $NS_CL: ping,
# smbclient ls, put and get of a random file (SMBX_DPDK_SMB_MIB, default 256) compared
# by sha256, and smbtorture smb2.connect/read/rw; requests under the MSS must have
# reached the engine in their mbuf and every mbuf come back. Then two workers on two queue pairs
# of net_af_packet with concurrent clients (run_two_workers below;
# SMBX_DPDK_SMB_TWO_WORKERS=0 leaves it out). Then, for comparison, the same put/get
# with `transport = tcp` on the kernel through the same veth (the IP moved to $IF_DP).
# Needs root (namespaces); skips otherwise.
set -uo pipefail
LIB_DIR=$(cd "$(dirname "$0")" && pwd)
source "$LIB_DIR/lib.sh"
source "$LIB_DIR/dpdk_netns.sh"

dpdk_require_smbx
command -v smbclient >/dev/null || skip_test "no smbclient"

dpdk_netns_names sm
ID=$$
MIB=${SMBX_DPDK_SMB_MIB:-256}

# The worker count is this test's to set (dpdk_start: $DPDK_WORKERS, default 1; two in
# run_two_workers). The variant's idle policy still applies.
SMBX_TEST_GLOBAL=$(grep -v '^ *workers' <<<"${SMBX_TEST_GLOBAL:-}")
dpdk_smbx_init

torture() {
    local name=$1
    [ -x "$(command -v smbtorture)" ] || { log "no smbtorture: skipped"; return 0; }
    local out
    out=$(ip netns exec "$NS_CL" env TIMEOUT=240 LOGDIR="$T/torture-$name" \
        EXTRA_OPTS="-s $T/client.conf" bash "$LIB_DIR/run_torture.sh" "$SERVER_IP" "$PORT" \
        share alice "$ALICE_PASS" smb2.connect smb2.read smb2.rw 2>&1)
    log "$out"
    assert_match "$name: smbtorture smb2.connect/read/rw without failures" \
        '^[0-9]+ passed, 0 failed' "$(tail -n 1 <<<"$out")"
}

# received_in_place NAME IDLE_MBUFS: after the smbclient/smbtorture phase, requests
# whole in one TCP segment reached the engine inside their mbuf (zero-copy) and the
# large WRITEs were assembled; once the clients are gone no mbuf is held by a message
# and the mbufs in use are back to what they were before the SMB traffic.
received_in_place() {
    local name=$1 idle=$2 zc assembled lent mbufs i
    for i in $(seq 1 50); do
        sleep 0.1
        lent=$(dpdk_counter dpdk_rx_segments_lent)
        mbufs=$(dpdk_counter dpdk_mbufs_in_use)
        [ "$lent" = 0 ] && [ "$mbufs" = "$idle" ] && break
    done
    zc=$(dpdk_counter dpdk_rx_messages_zero_copy)
    assembled=$(dpdk_counter dpdk_rx_messages_assembled)
    log "$name: messages received zero-copy=$zc assembled=$assembled;" \
        "mbufs held by messages=$lent, mbufs in use=$mbufs (before the SMB traffic: $idle)"
    assert_true "$name: messages handed to the engine in their mbuf" [ "${zc:-0}" -gt 0 ]
    assert_true "$name: messages spanning segments assembled" [ "${assembled:-0}" -gt 0 ]
    assert_eq "$name: no mbuf held by a message once the clients are gone" 0 "$lent"
    assert_eq "$name: mbufs in use back to their idle count" "$idle" "$mbufs"
}

run_pmd() {
    local name=$1 vdev=$2
    log "--- $name"
    if ! dpdk_start "$name" "transport = dpdk
dpdk args = --no-pci --no-huge -m 512 --no-shconf --file-prefix smbxs$ID$name --vdev $vdev
dpdk address = ${SERVER_IP}/24"; then
        dpdk_stop
        return 2
    fi
    check "$name: ping answered" ip netns exec "$NS_CL" ping -c 3 -i 0.2 -W 2 "$SERVER_IP"
    sleep 0.3 # counters are published every 100 ms
    local idle_mbufs
    idle_mbufs=$(dpdk_counter dpdk_mbufs_in_use)
    check "$name: smbclient ls" dpdk_smbclient -c ls
    dpdk_no_kernel_listener "$name: no kernel socket listens on the SMB port"
    dpdk_transfer "$name"
    torture "$name"
    received_in_place "$name" "$idle_mbufs"
    dpdk_stop
    # The stack's counters, logged as the transport stops: every connection closed and
    # every mbuf and send block given back.
    local counters
    counters=$(grep -o 'dpdk: worker 0: .*' "$SERVER_LOG")
    log "$counters"
    assert_match "$name: connections closed, no buffer outstanding" \
        'open=0 buffers_outstanding=0$' "$counters"
    assert_match "$name: no data plane errors" '^$' \
        "$(grep -E 'ERROR|assert|Segmentation' "$SERVER_LOG" | head -5)"
    return 0
}

# Two workers on two queue pairs (net_af_packet qpairs=2: the kernel's PACKET_FANOUT
# spreads flows over the two sockets, and each worker's stack steers segments of flows
# the other owns to it, net/flow_steering.hh). $CLIENTS concurrent smbclients each put
# and get their own 8 MiB file; all must come back intact, both workers must have
# accepted connections, and the neighbour the client's ARP taught one worker must have
# been passed to the other.
run_two_workers() {
    local name=$1 vdev=$2 clients=${SMBX_DPDK_SMB_CLIENTS:-12} i
    log "--- $name: workers = 2, 2 queue pairs, $clients concurrent clients"
    if ! DPDK_WORKERS=2 dpdk_start "$name" "transport = dpdk
dpdk args = --no-pci --no-huge -m 512 --no-shconf --file-prefix smbxs$ID$name --vdev $vdev
dpdk address = ${SERVER_IP}/24"; then
        dpdk_stop
        fail "$name: did not start"
        return
    fi
    for i in $(seq 1 50); do
        grep -q 'dpdk: worker 1 serves' "$SERVER_LOG" && break
        sleep 0.1
    done
    check "$name: ping answered" ip netns exec "$NS_CL" ping -c 3 -i 0.2 -W 2 "$SERVER_IP"
    head -c $((8 << 20)) /dev/urandom >"$T/small"
    local sum pids=() bad=0 t0 t1
    sum=$(sha256sum <"$T/small" | cut -d' ' -f1)
    t0=$(date +%s.%N)
    for i in $(seq 1 "$clients"); do
        dpdk_smbclient -c "put $T/small s$i; get s$i $T/back$i" >"$T/client$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || { bad=$((bad + 1)); tail -n 3 "$T/client$((i + 1)).out"; }
    done
    t1=$(date +%s.%N)
    assert_eq "$name: $clients concurrent smbclients succeeded" 0 "$bad"
    log "$name: $((clients * 16)) MiB moved (put + get) in $(echo "scale=1; ($t1 - $t0) / 1" | bc) s," \
        "$(echo "scale=1; $clients * 16 / ($t1 - $t0)" | bc) MiB/s (smbclient starts included)"
    bad=0
    for i in $(seq 1 "$clients"); do
        [ "$(sha256sum <"$T/share/s$i" | cut -d' ' -f1)" = "$sum" ] || bad=$((bad + 1))
        [ "$(sha256sum <"$T/back$i" 2>/dev/null | cut -d' ' -f1)" = "$sum" ] || bad=$((bad + 1))
    done
    assert_eq "$name: every file on the share and read back intact (sha256)" 0 "$bad"
    dpdk_stop
    local w counters shared=0 n
    for w in 0 1; do
        counters=$(grep -o "dpdk: worker $w: rx_frames.*" "$SERVER_LOG")
        log "$counters"
        log "$(grep -o "dpdk: worker $w: frames steered.*" "$SERVER_LOG")"
        assert_match "$name: worker $w accepted connections" ' accepted=[1-9][0-9]* ' "$counters"
        assert_match "$name: worker $w: connections closed, no buffer outstanding" \
            'open=0 buffers_outstanding=0$' "$counters"
        n=$(grep -o "dpdk: worker $w: frames steered.*neighbours shared=[0-9]*" "$SERVER_LOG" |
            grep -o '[0-9]*$')
        shared=$((shared + ${n:-0}))
    done
    assert_true "$name: the client's MAC learned by one worker was passed on" [ "$shared" -ge 1 ]
    assert_match "$name: no data plane errors" '^$' \
        "$(grep -E 'ERROR|assert|Segmentation' "$SERVER_LOG" | head -5)"
}

dpdk_netns_setup || { fail "namespace topology"; finish; }
smbx_config
smbx_add_user alice
head -c $((MIB << 20)) /dev/urandom >"$T/src"
SRC_SUM=$(sha256sum <"$T/src" | cut -d' ' -f1)

for pmd in ${SMBX_DPDK_SMB_PMDS:-af_packet af_xdp}; do
    case $pmd in
    af_packet) run_pmd af_packet "net_af_packet0,iface=$IF_DP" || fail "af_packet: did not start" ;;
    af_xdp)
        run_pmd af_xdp "net_af_xdp0,iface=$IF_DP,start_queue=0,queue_count=1" ||
            fail "af_xdp: did not start (SMBX_DPDK_SMB_PMDS=af_packet leaves it out)"
        ;;
    *) fail "unknown PMD $pmd in SMBX_DPDK_SMB_PMDS" ;;
    esac
done
# Not net_af_xdp: with queue_count=2 on a veth its probe fails ("Specified queue count 2
# is larger than combined queue count 1": veth has separate rx/tx channels, no combined).
[ "${SMBX_DPDK_SMB_TWO_WORKERS:-1}" = 1 ] &&
    run_two_workers af_packet_2w "net_af_packet0,iface=$IF_DP,qpairs=2"
if [ "${SMBX_DPDK_SMB_BASELINE:-1}" = 1 ]; then
    # The same transfer on kernel TCP through the same veth, for the figures.
    ip -n "$NS_DP" addr add "${SERVER_IP}/24" dev "$IF_DP"
    if dpdk_start kernel "interfaces = $SERVER_IP"; then
        dpdk_transfer kernel
        dpdk_stop
    else
        fail "kernel baseline: smbx did not start"
    fi
fi
finish
