#!/usr/bin/env bash
# bench/compare_dpdk.sh [BUILD_DIR]: the DPDK transport beside kernel TCP and Samba,
# through one veth pair between two network namespaces (run by bench/compare.sh at its
# end, or alone). Needs root.
#
#   ns $NS_DP: veth $IF_DP  <-->  ns $NS_CL: veth $IF_CL, smbx-bench and the iperf3 client
#
# In one go, each figure from smbx-bench in $NS_CL: first with $SERVER_IP on $IF_DP in
# the kernel, iperf3 (the raw baseline through the same veth), Samba's smbd and smbx
# with `transport = tcp`; then the address taken off the kernel and smbx with
# `transport = dpdk` on net_af_packet bound to $IF_DP. Figures: 1 MiB sequential READ
# and WRITE at QD 4 (MB/s) and 4 KiB random READ at QD 32 (IOPS), each beside the
# server's CPU seconds per GiB moved (user+sys of its processes; iperf3: the receiver's
# CPU). A DPDK worker polls without sleeping, so its CPU includes the spinning: on veth
# these are emulation figures, not what a NIC would give. Prints every command run
# ("+ " lines on stderr) and a table.
#
# Knobs: DURATION (seconds per run, default 3), FILE_MIB (per-server file, default 256),
# SMBX_PORT (default 4456), IPERF_PORT (default 4457), KEEP_WORKDIR=1.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-${SMBX_BUILD_DIR:-$HERE/../build}}" 2>/dev/null && pwd) ||
    { echo "compare_dpdk.sh: no build dir ${1:-${SMBX_BUILD_DIR:-$HERE/../build}}" >&2; exit 1; }
# Samba and smbx take turns on the same address and port, each in the namespace.
SMBX_PORT=${SMBX_PORT:-4456}
SAMBA_PORT=$SMBX_PORT
IPERF_PORT=${IPERF_PORT:-4457}
DURATION=${DURATION:-3}
FILE_MIB=${FILE_MIB:-256}
source "$HERE/servers.sh"
source "$HERE/../tests/integration/dpdk_netns.sh"

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
need_packages samba samba-vfs-modules iperf3 python3 ethtool iproute2
[ -x "$BUILD/smbx-dataplane" ] || die "$BUILD/smbx-dataplane not built"

servers_init
dpdk_netns_names bx
SERVER_PID=""
IPERF_PID=""
dpdk_cleanup() {
    stop_pid "$SERVER_PID"
    stop_pid "$IPERF_PID"
    servers_cleanup
    dpdk_netns_cleanup
}
trap dpdk_cleanup EXIT
dpdk_netns_setup || die "could not build the namespaces"
samba_setup
smbx_setup
# Both serve the namespace's address instead of loopback.
sed -i "s/interfaces = 127.0.0.1/interfaces = $SERVER_IP/" "$SAMBA_CONF" "$SMBX_CONF"
SMBX_CONF_TCP=$SMBX_CONF
# dpdk_conf PMD VDEV: smbx's config for `transport = dpdk` on that PMD.
dpdk_conf() {
    sed "s|interfaces = $SERVER_IP|interfaces = $SERVER_IP\n    transport = dpdk\n    workers = 1\n    dpdk args = --no-pci --no-huge -m 512 --no-shconf --file-prefix smbxbx$1$$ --vdev $2\n    dpdk address = $SERVER_IP/24|" \
        "$SMBX_CONF_TCP" >"$W/smbx-$1.conf"
}
dpdk_conf af_packet "net_af_packet0,iface=$IF_DP"
dpdk_conf af_xdp "net_af_xdp0,iface=$IF_DP,start_queue=0,queue_count=1"
# The kernel runs use one worker too: the same number of cores for the data plane.
sed -i "s|interfaces = $SERVER_IP|interfaces = $SERVER_IP\n    workers = 1|" "$SMBX_CONF_TCP"

say "namespaces $NS_DP ($IF_DP, $SERVER_IP) and $NS_CL ($IF_CL, $CLIENT_IP)," \
    "each run ${DURATION} s; $(nproc) cores; $(uname -r)"
FAILED=0
declare -A R # R[figure,server]

in_dp() { ip netns exec "$NS_DP" "$@"; }
in_cl() { ip netns exec "$NS_CL" "$@"; }
# Accepting on $SERVER_IP:$1, probed from the client side.
ns_port_open() { in_cl bash -c "exec 3<>/dev/tcp/$SERVER_IP/$1" 2>/dev/null; }
wait_ns_port() {
    local i
    for i in $(seq 1 150); do
        kill -0 "$2" 2>/dev/null || return 1
        ns_port_open "$1" && return 0
        sleep 0.2
    done
    return 1
}

# start_server NAME: smbd, smbx (tcp) or smbx (dpdk) in $NS_DP; sets SERVER_PID.
start_server() {
    local cmd
    case $1 in
    samba) cmd=(setsid smbd --foreground --no-process-group --debug-stdout -d 0
        --configfile="$SAMBA_CONF") ;;
    smbx-tcp) cmd=("$BUILD/smbx-control" --config "$SMBX_CONF_TCP") ;;
    smbx-dpdk) cmd=("$BUILD/smbx-control" --config "$W/smbx-af_packet.conf") ;;
    smbx-xdp) cmd=("$BUILD/smbx-control" --config "$W/smbx-af_xdp.conf") ;;
    esac
    show_cmd ip netns exec "$NS_DP" "${cmd[@]}"
    in_dp "${cmd[@]}" >>"$W/$1.log" 2>&1 3>&- &
    SERVER_PID=$!
    if ! wait_ns_port "$SMBX_PORT" "$SERVER_PID" 60; then
        tail -n 20 "$W/$1.log"
        say "    $1 did not accept on $SERVER_IP:$SMBX_PORT"
        FAILED=1
        stop_pid "$SERVER_PID"
        SERVER_PID=""
        return 1
    fi
}

json_get() {
    python3 -c 'import json,sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."): v = v[k]
print(v)' "$1" "$2"
}

# measure FIGURE SERVER ARGS...: one smbx-bench --json run from $NS_CL.
measure() {
    local fig=$1 server=$2 out t0 t1 rc=0 bytes cpu; shift 2
    say "[$fig / $server] load $(awk '{ print $1 }' /proc/loadavg)"
    t0=$(tree_cpu_ticks "$SERVER_PID")
    show_cmd ip netns exec "$NS_CL" "$BENCH" "//$SERVER_IP/bench" -U "$BENCH_USER" \
        --port "$SMBX_PORT" --json --duration "$DURATION" "$@"
    out=$(in_cl env SMBX_BENCH_PASSWORD="$BENCH_PASS" "$BENCH" "//$SERVER_IP/bench" \
        -U "$BENCH_USER" --port "$SMBX_PORT" --json --duration "$DURATION" "$@" \
        2>"$W/bench.err") || rc=$?
    sleep 0.3
    t1=$(tree_cpu_ticks "$SERVER_PID")
    out=$(grep '^{' <<<"$out")
    if [ $rc -ne 0 ] || [ -z "$out" ]; then
        say "    FAILED (exit $rc): $(tail -n 3 "$W/bench.err")"
        FAILED=1
        return 1
    fi
    bytes=$(json_get "$out" bytes)
    cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
    R[$fig.mbs,$server]=$(printf '%.0f' "$(json_get "$out" mb_per_s)")
    R[$fig.iops,$server]=$(printf '%.0f' "$(json_get "$out" iops)")
    R[$fig.cpu,$server]=$(awk -v c="$cpu" -v b="$bytes" \
        'BEGIN { if (b > 0) printf "%.2f", c / (b / 1073741824); else print "n/a" }')
    say "    ${R[$fig.mbs,$server]} MB/s, ${R[$fig.iops,$server]} IOPS, server CPU $cpu s" \
        "(${R[$fig.cpu,$server]} s/GiB), $(json_get "$out" errors) errors"
    [ "$(json_get "$out" errors)" = 0 ] || FAILED=1
}

# run_server NAME: the three figures against one server, then stop it.
run_server() {
    local files=(--size "${FILE_MIB}m" --io-size 1t)
    start_server "$1" || return 1
    measure read1m "$1" --rw read --bs 1m --iodepth 4 "${files[@]}"
    measure write1m "$1" --rw write --bs 1m --iodepth 4 "${files[@]}"
    measure randread_qd32 "$1" --rw randread --bs 4k --iodepth 32 "${files[@]}" --no-fill
    stop_pid "$SERVER_PID"
    SERVER_PID=""
}

# The kernel's turn: the address on $IF_DP.
ip -n "$NS_DP" addr add "$SERVER_IP/24" dev "$IF_DP"
say ""
say "== iperf3 through the veth ($NS_CL -> $NS_DP, one stream)"
show_cmd ip netns exec "$NS_DP" iperf3 -s -1 -B "$SERVER_IP" -p "$IPERF_PORT"
in_dp iperf3 -s -1 -B "$SERVER_IP" -p "$IPERF_PORT" >"$W/iperf-server.log" 2>&1 &
IPERF_PID=$!
# Found listening without connecting: iperf3 -1 would take a probe for its one client.
for _ in $(seq 1 50); do
    in_dp ss -Hltn "sport = :$IPERF_PORT" | grep -q . && break
    sleep 0.1
done
show_cmd ip netns exec "$NS_CL" iperf3 -c "$SERVER_IP" -p "$IPERF_PORT" -t "$DURATION" -J
out=$(in_cl iperf3 -c "$SERVER_IP" -p "$IPERF_PORT" -t "$DURATION" -J 2>&1)
wait "$IPERF_PID" 2>/dev/null
IPERF_PID=""
read -r R[iperf.mbs,tcp] R[iperf.cpu,tcp] < <(python3 -c 'import json,sys
j = json.loads(sys.argv[1])["end"]
b = j["sum_received"]["bytes"]; s = j["sum_received"]["seconds"]
cpu = j["cpu_utilization_percent"]["remote_total"] / 100 * s
print("%.0f %.2f" % (b / s / 1e6, cpu / (b / 2**30)))' "$out" 2>/dev/null) ||
    { say "    iperf3 failed: $(tail -n 3 <<<"$out")"; FAILED=1; }
say "    ${R[iperf.mbs,tcp]:-?} MB/s, receiver CPU ${R[iperf.cpu,tcp]:-?} s/GiB"

for server in samba smbx-tcp; do
    say ""
    say "== $server on kernel TCP in $NS_DP"
    run_server "$server"
done

# DPDK's turn: the kernel lets go of the address; the PMD takes the veth end.
ip -n "$NS_DP" addr flush dev "$IF_DP"
say ""
say "== smbx-dpdk (net_af_packet on $IF_DP, the user-space stack)"
run_server smbx-dpdk
say ""
say "== smbx-xdp (net_af_xdp on $IF_DP, the user-space stack)"
run_server smbx-xdp

g() { echo "${R[$1,$2]:-n/a}"; }
say ""
say "== results through one veth pair (smbx-bench ${DURATION} s runs, 1 worker for smbx)"
line() { printf '%-30s %9s %9s %9s %12s %12s\n' "$@"; }
line "figure" "iperf3" "Samba" "smbx tcp" "dpdk packet" "dpdk xdp"
line "raw TCP MB/s" "$(g iperf.mbs tcp)" "" "" "" ""
line "raw TCP receiver CPU s/GiB" "$(g iperf.cpu tcp)" "" "" "" ""
for f in read1m write1m; do
    line "1 MiB seq ${f%1m} QD4 MB/s" "" "$(g $f.mbs samba)" "$(g $f.mbs smbx-tcp)" \
        "$(g $f.mbs smbx-dpdk)" "$(g $f.mbs smbx-xdp)"
    line "  server CPU s/GiB" "" "$(g $f.cpu samba)" "$(g $f.cpu smbx-tcp)" \
        "$(g $f.cpu smbx-dpdk)" "$(g $f.cpu smbx-xdp)"
done
line "4 KiB rand read QD32 IOPS" "" "$(g randread_qd32.iops samba)" \
    "$(g randread_qd32.iops smbx-tcp)" "$(g randread_qd32.iops smbx-dpdk)" \
    "$(g randread_qd32.iops smbx-xdp)"
[ "$FAILED" = 0 ] || say "some runs failed (see above)"
exit "$FAILED"
