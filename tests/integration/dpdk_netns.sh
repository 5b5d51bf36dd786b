# tests/integration/dpdk_netns.sh: sourced by the DPDK tests (test_dpdk_*.sh).
#
# dpdk_netns_names TAG: unique names from the shell's pid and a 2-letter TAG:
#   NS_DP, NS_CL (namespaces), IF_DP, IF_CL (the veth ends), SERVER_IP, CLIENT_IP.
# dpdk_netns_setup: builds
#   ns $NS_DP: veth $IF_DP (no IP: the DPDK port)  <-->  ns $NS_CL: veth $IF_CL $CLIENT_IP/24
# dpdk_netns_cleanup: removes both namespaces (and with them the veth pair).

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
