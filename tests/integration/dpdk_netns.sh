# tests/integration/dpdk_netns.sh: sourced by the DPDK tests (test_dpdk_*.sh).
#
# dpdk_netns_names TAG: unique names from the shell's pid and a 2-letter TAG:
#   NS_DP, NS_CL (namespaces), IF_DP, IF_CL (the veth ends), SERVER_IP, CLIENT_IP.
# dpdk_netns_setup: builds
#   ns $NS_DP: veth $IF_DP (no IP: the DPDK port)  <-->  ns $NS_CL: veth $IF_CL $CLIENT_IP/24
# dpdk_netns_cleanup: removes both namespaces (and with them the veth pair).
# Below: starting smbx in $NS_DP, smbclient from $NS_CL, the server's counters.

dpdk_netns_names() {
    local tag=$1 id=$$
    NS_DP=smbx${tag}d$id
    NS_CL=smbx${tag}c$id
    IF_DP=sx${tag}${id}a
    IF_CL=sx${tag}${id}b
    local subnet=10.$((id % 200 + 20)).$(((id / 200) % 250)).
    SERVER_IP=${subnet}2
    CLIENT_IP=${subnet}1
}

dpdk_netns_setup() {
    ip netns add "$NS_DP" && ip netns add "$NS_CL" || return 1
    ip -n "$NS_DP" link set lo up
    ip -n "$NS_CL" link set lo up
    ip link add "$IF_DP" netns "$NS_DP" type veth peer name "$IF_CL" netns "$NS_CL" || return 1
    ip -n "$NS_DP" link set "$IF_DP" up
    ip -n "$NS_CL" addr add "${CLIENT_IP}/24" dev "$IF_CL"
    ip -n "$NS_CL" link set "$IF_CL" up
    # Frames reaching DPDK must carry real checksums (no offload to a NIC that is not there).
    ip netns exec "$NS_CL" ethtool -K "$IF_CL" tx off >/dev/null || return 1
}

dpdk_netns_cleanup() {
    ip netns del "$NS_DP" 2>/dev/null
    ip netns del "$NS_CL" 2>/dev/null
}

# dpdk_require_tools: skips the test unless it can build the namespaces (root, ip,
# ethtool). The tests check their own binaries and clients after this.
dpdk_require_tools() {
    [ "$(id -u)" = 0 ] || skip_test "needs root for network namespaces"
    command -v ip >/dev/null || skip_test "no iproute2"
    command -v ethtool >/dev/null || skip_test "no ethtool (deploy/install-deps.sh)"
}

# dpdk_require_smbx: dpdk_require_tools, and the data plane, for the tests that run
# smbx on DPDK. They set the worker count themselves (a DPDK worker never sleeps), so
# the data-plane variants (SMBX_TEST_GLOBAL) skip.
dpdk_require_smbx() {
    [ -z "${SMBX_TEST_GLOBAL:-}" ] ||
        skip_test "a data-plane variant: this test fixes workers = 1, and a DPDK worker never sleeps"
    dpdk_require_tools
    [ -x "$SMBX_BUILD_DIR/smbx-dataplane" ] || skip_test "no $SMBX_BUILD_DIR/smbx-dataplane"
}

# dpdk_smbx_init: lib.sh's smbx_init; on exit the namespaces go too.
dpdk_cleanup() {
    on_exit
    dpdk_netns_cleanup
}
dpdk_smbx_init() {
    smbx_init
    trap dpdk_cleanup EXIT
}

# The smbx side (after dpdk_smbx_init and a namespace topology):
#
# dpdk_vdev_args TAG: `dpdk args` for net_af_packet on $IF_DP (EAL files named by TAG),
# one queue pair per worker ($DPDK_WORKERS).
dpdk_vdev_args() {
    echo "--no-pci --no-huge -m 512 --no-shconf --file-prefix smbx$1$$ --vdev net_af_packet0,iface=$IF_DP,qpairs=${DPDK_WORKERS:-1}"
}

# dpdk_start NAME [GLOBAL_LINES]: smbx-control in $NS_DP (log $T/server.NAME.log) with
# $DPDK_WORKERS workers (default 1); waits for the data plane to say it serves (DPDK) or
# for the kernel port to accept (tcp).
dpdk_start() {
    local name=$1 lines=${2:-}
    smbx_config "workers = ${DPDK_WORKERS:-1}
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

dpdk_stop() {
    smbx_stop
    SERVER_PID=
}

# dpdk_smbclient ARGS...: smbclient from $NS_CL to the share as alice (5 minutes at most).
dpdk_smbclient() {
    timeout -k 5 300 ip netns exec "$NS_CL" smbclient "//$SERVER_IP/share" -p "$PORT" \
        --configfile="$T/client.conf" -U "alice%$ALICE_PASS" "$@"
}

# dpdk_counter NAME: a counter of the running server from `smbxctl status` (dpdk_* are
# the user-space stack's, published every 100 ms); empty if absent.
dpdk_counter() {
    smbxctl status 2>/dev/null | awk -v n="$1" '$1 == n { print $2; exit }'
}

# dpdk_wait_counter NAME VALUE SECONDS: until the counter equals VALUE (0 on success).
dpdk_wait_counter() {
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(dpdk_counter "$1")" = "$2" ] && return 0
        sleep 0.2
    done
    return 1
}

# dpdk_no_kernel_listener DESC: nothing listens on the SMB port in $NS_DP's kernel
# (with `transport = dpdk` the user-space stack serves it).
dpdk_no_kernel_listener() {
    assert_eq "$1" "" "$(ip netns exec "$NS_DP" ss -Hltn "sport = :$PORT")"
}

# CPU seconds (user + system) the data plane has used so far.
dpdk_cpu() {
    local pid
    pid=$(dataplane_pid) || { echo 0; return; }
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat"
}

# dpdk_transfer NAME: put then get of $T/src ($MIB MiB, sha256 $SRC_SUM), both copies
# compared; logs MiB/s both ways and the data plane's CPU seconds per GiB moved (a DPDK
# worker polls: it spins while idle too). Sets PUT_S and GET_S (seconds).
dpdk_transfer() {
    local name=$1 t0 t1 c0 c1 put_s get_s put_cpu get_cpu
    rm -f "$T/share/big" "$T/back"
    t0=$(date +%s.%N) c0=$(dpdk_cpu)
    check "$name: put ${MIB} MiB" dpdk_smbclient -c "put $T/src big" || return 1
    t1=$(date +%s.%N) c1=$(dpdk_cpu)
    put_s=$(echo "$t1 - $t0" | bc) put_cpu=$(echo "$c1 - $c0" | bc)
    PUT_S=$put_s
    t0=$(date +%s.%N) c0=$(dpdk_cpu)
    check "$name: get ${MIB} MiB" dpdk_smbclient -c "get big $T/back" || return 1
    t1=$(date +%s.%N) c1=$(dpdk_cpu)
    get_s=$(echo "$t1 - $t0" | bc) get_cpu=$(echo "$c1 - $c0" | bc)
    GET_S=$get_s
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
