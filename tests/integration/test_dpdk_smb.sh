#!/bin/bash
# smbx serving SMB2 over the DPDK transport (the user-space TCP stack), reached by
# smbclient and smbtorture through the kernel stack of another namespace.
#
# Topology (built here, unique names, removed on exit):
#   ns $NS_DP: veth $IF_DP (no IP: the DPDK port)  <-->  ns $NS_CL: veth $IF_CL 10.X.Y.1/24
# smbx-control runs in $NS_DP with `transport = dpdk` and 10.X.Y.2 on each PMD of
# SMBX_DPDK_SMB_PMDS (default af_packet: net_af_xdp stalls here under load, in
# test_dpdk_tcp's echo as well). From $NS_CL: ping, smbclient ls, put and get of a
# random file (SMBX_DPDK_SMB_MIB, default 256) compared by sha256, and smbtorture
# smb2.connect/read/rw. Then, for comparison, the same put/get with
# `transport = tcp` on the kernel through the same veth (the IP moved to $IF_DP).
# Needs root (namespaces); skips otherwise.
set -uo pipefail
LIB_DIR=$(cd "$(dirname "$0")" && pwd)
source "$LIB_DIR/lib.sh"
source "$LIB_DIR/dpdk_netns.sh"

[ -z "${SMBX_TEST_GLOBAL:-}" ] ||
    skip_test "a data-plane variant: this test fixes workers = 1, and a DPDK worker never sleeps"
dpdk_require_tools
[ -x "$SMBX_BUILD_DIR/smbx-dataplane" ] || skip_test "no $SMBX_BUILD_DIR/smbx-dataplane"
command -v smbclient >/dev/null || skip_test "no smbclient"

dpdk_netns_names sm
ID=$$
MIB=${SMBX_DPDK_SMB_MIB:-256}

# One worker: a port with one queue pair (several queues, with RSS and a stack per
# worker, are not covered here yet). The variant's idle policy still applies.
SMBX_TEST_GLOBAL=$(grep -v '^ *workers' <<<"${SMBX_TEST_GLOBAL:-}")
smbx_init
dpdk_cleanup() {
    on_exit
    dpdk_netns_cleanup
}
trap dpdk_cleanup EXIT

# start_dp NAME [GLOBAL_LINES]: smbx-control in $NS_DP; waits for the data plane to say
# it serves (DPDK) or for the kernel port to accept (tcp).
start_dp() {
    local name=$1 lines=${2:-}
    smbx_config "workers = 1
$lines"
    SERVER_LOG="$T/server.$name.log"
    : >"$SERVER_LOG"
    ip netns exec "$NS_DP" "$SMBX_BUILD_DIR/smbx-control" --config "$SMBX_CONF" \
        >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 150); do
        server_alive || break
        if [[ $lines == *dpdk* ]]; then
            grep -q 'dpdk: worker 0 serves' "$SERVER_LOG" && return 0
        elif ip netns exec "$NS_DP" bash -c "exec 3<>/dev/tcp/$SERVER_IP/$PORT" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    tail -n 8 "$SERVER_LOG" | sed 's/^/    | /'
    return 1
}

stop_dp() {
    smbx_stop
    SERVER_PID=
}

smbc_ns() {
    timeout -k 5 300 ip netns exec "$NS_CL" smbclient "//$SERVER_IP/share" -p "$PORT" \
        --configfile="$T/client.conf" -U "alice%$ALICE_PASS" "$@"
}

# CPU seconds (user + system) the data plane has used so far.
dp_cpu() {
    local pid
    pid=$(dataplane_pid) || { echo 0; return; }
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat"
}

# transfer NAME: put then get of $T/src, sha256 compared; logs MiB/s both ways and the
# data plane's CPU seconds per GiB moved (a DPDK worker polls: it spins while idle too).
transfer() {
    local name=$1 t0 t1 c0 c1 put_s get_s put_cpu get_cpu
    rm -f "$T/share/big" "$T/back"
    t0=$(date +%s.%N) c0=$(dp_cpu)
    check "$name: put ${MIB} MiB" smbc_ns -c "put $T/src big" || return 1
    t1=$(date +%s.%N) c1=$(dp_cpu)
    put_s=$(echo "$t1 - $t0" | bc) put_cpu=$(echo "$c1 - $c0" | bc)
    t0=$(date +%s.%N) c0=$(dp_cpu)
    check "$name: get ${MIB} MiB" smbc_ns -c "get big $T/back" || return 1
    t1=$(date +%s.%N) c1=$(dp_cpu)
    get_s=$(echo "$t1 - $t0" | bc) get_cpu=$(echo "$c1 - $c0" | bc)
    assert_eq "$name: file on the share intact (sha256)" "$SRC_SUM" \
        "$(sha256sum <"$T/share/big" | cut -d' ' -f1)"
    assert_eq "$name: file read back intact (sha256)" "$SRC_SUM" \
        "$(sha256sum <"$T/back" | cut -d' ' -f1)"
    log "$name: put $(echo "scale=1; $MIB / $put_s" | bc) MiB/s," \
        "data plane $(echo "scale=2; $put_cpu * 1024 / $MIB" | bc) CPU s/GiB;" \
        "get $(echo "scale=1; $MIB / $get_s" | bc) MiB/s," \
        "data plane $(echo "scale=2; $get_cpu * 1024 / $MIB" | bc) CPU s/GiB" \
        "(${MIB} MiB, smbclient start included)"
}

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

run_pmd() {
    local name=$1 vdev=$2
    log "--- $name"
    if ! start_dp "$name" "transport = dpdk
dpdk args = --no-pci --no-huge -m 512 --no-shconf --file-prefix smbxs$ID$name --vdev $vdev
dpdk address = ${SERVER_IP}/24"; then
        stop_dp
        return 2
    fi
    check "$name: ping answered" ip netns exec "$NS_CL" ping -c 3 -i 0.2 -W 2 "$SERVER_IP"
    check "$name: smbclient ls" smbc_ns -c ls
    transfer "$name"
    torture "$name"
    stop_dp
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

dpdk_netns_setup || { fail "namespace topology"; finish; }
smbx_config
smbx_add_user alice
head -c $((MIB << 20)) /dev/urandom >"$T/src"
SRC_SUM=$(sha256sum <"$T/src" | cut -d' ' -f1)

for pmd in ${SMBX_DPDK_SMB_PMDS:-af_packet}; do
    case $pmd in
    af_packet) run_pmd af_packet "net_af_packet0,iface=$IF_DP" ;;
    af_xdp)
        run_pmd af_xdp "net_af_xdp0,iface=$IF_DP,start_queue=0,queue_count=1"
        [ $? = 2 ] && log "net_af_xdp did not start here (see above)"
        ;;
    *) fail "unknown PMD $pmd in SMBX_DPDK_SMB_PMDS" ;;
    esac
done
if [ "${SMBX_DPDK_SMB_BASELINE:-1}" = 1 ]; then
    # The same transfer on kernel TCP through the same veth, for the figures.
    ip -n "$NS_DP" addr add "${SERVER_IP}/24" dev "$IF_DP"
    if start_dp kernel "interfaces = $SERVER_IP"; then
        transfer kernel
        stop_dp
    else
        fail "kernel baseline: smbx did not start"
    fi
fi
finish
