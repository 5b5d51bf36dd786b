#!/bin/bash
# Many connections on the DPDK transport: 200 concurrent clients for a bounded time.
#
# Topology as in test_dpdk_smb (dpdk_netns.sh): smbx on net_af_packet in $NS_DP. From
# $NS_CL, smbx-bench opens SMBX_DPDK_MANY_CONNECTIONS (default 200) connections on two
# threads, each logged in with its own file, and runs verified random 16 KiB reads and
# writes on all of them for SMBX_DPDK_MANY_SECONDS (default 15) seconds. Every
# connection must complete (no error, no mismatch, ops on all), the server must have
# had them all open and logged in at once (sampled from `smbxctl status`, which must
# answer every time with 200 sessions listed), and afterwards the stack's
# counters must come back to 0 connections (SMB and TCP, every state), no buffer held
# and the mbuf pool's use back to where it was before. Needs root; skips otherwise.
set -uo pipefail
LIB_DIR=$(cd "$(dirname "$0")" && pwd)
source "$LIB_DIR/lib.sh"
source "$LIB_DIR/dpdk_netns.sh"

dpdk_require_smbx
BENCH=$SMBX_BUILD_DIR/bench/smbx-bench
[ -x "$BENCH" ] || skip_test "no $BENCH (build the smbx-bench target)"

dpdk_netns_names mc
CONNECTIONS=${SMBX_DPDK_MANY_CONNECTIONS:-200}
SECONDS_RUN=${SMBX_DPDK_MANY_SECONDS:-15}

dpdk_smbx_init

dpdk_netns_setup || { fail "namespace topology"; finish; }
smbx_config
smbx_add_user alice
if ! dpdk_start many "transport = dpdk
dpdk args = $(dpdk_vdev_args mc)
dpdk address = ${SERVER_IP}/24"; then
    fail "smbx with transport = dpdk did not start"
    finish
fi
dpdk_no_kernel_listener "no kernel socket listens on the SMB port"
check "the published counters are there" dpdk_wait_counter dpdk_connections 0 5
MBUFS_BEFORE=$(dpdk_counter dpdk_mbufs_in_use)

# Samples the server's sessions and open connections every 0.5 s while the load runs
# ("-" when smbxctl status got no answer).
(
    while :; do
        st=$(smbxctl status 2>/dev/null)
        sessions=$(sed -n 's/^sessions: \([0-9]*\).*/\1/p' <<<"$st")
        conns=$(awk '$1 == "dpdk_connections" { print $2 }' <<<"$st")
        echo "${conns:--} ${sessions:--}"
        sleep 0.5
    done
) >"$T/samples" 2>/dev/null &
SAMPLER=$!
CLEANUP_PIDS+=("$SAMPLER")

t0=$SECONDS
OUT=$(ip netns exec "$NS_CL" timeout -k 5 $((SECONDS_RUN + 90)) env \
    SMBX_BENCH_PASSWORD="$ALICE_PASS" "$BENCH" "//$SERVER_IP/share" -U alice --port "$PORT" \
    --json --verify --rw randrw --bs 16k --iodepth 2 --size 1m --io-size 1g \
    --connections "$CONNECTIONS" --threads 2 --duration "$SECONDS_RUN" 2>&1)
rc=$?
elapsed=$((SECONDS - t0))
kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
log "smbx-bench (${elapsed} s, exit $rc): $(tail -n 1 <<<"$OUT")"
assert_eq "smbx-bench with $CONNECTIONS connections exits 0" 0 "$rc"
json=$(grep '^{' <<<"$OUT" | tail -n 1)
assert_match "all $CONNECTIONS connections ran" "\"connections\":$CONNECTIONS," "$json"
assert_match "no request failed, no byte mismatched" '"errors":0,"mismatches":0,' "$json"
ops=$(sed -n 's/.*"ops":\([0-9]*\),.*/\1/p' <<<"$json")
assert_true "at least one verified op per connection (ops=${ops:-none})" \
    test "${ops:-0}" -ge "$CONNECTIONS"
peak=$(awk '$1 != "-" && $1 > max { max = $1 } END { print max + 0 }' "$T/samples")
peak_sessions=$(awk '$2 != "-" && $2 > max { max = $2 } END { print max + 0 }' "$T/samples")
log "sampled on the server ($(wc -l <"$T/samples") samples): peak $peak connections," \
    "$peak_sessions sessions"
assert_eq "the server had all $CONNECTIONS connections open at once" "$CONNECTIONS" "$peak"
assert_eq "... and all $CONNECTIONS sessions" "$CONNECTIONS" "$peak_sessions"
assert_eq "smbxctl status answered every sample under load" "" "$(grep -- - "$T/samples")"

check "afterwards: 0 SMB connections on the transport" \
    dpdk_wait_counter dpdk_connections 0 30
check "afterwards: 0 TCP connections in the stack (every state)" \
    dpdk_wait_counter dpdk_tcp_connections 0 30
check "afterwards: no received frame or send block held" \
    dpdk_wait_counter dpdk_buffers_outstanding 0 10
assert_eq "afterwards: mbufs in use back to the level before the load" "$MBUFS_BEFORE" \
    "$(dpdk_counter dpdk_mbufs_in_use)"
status=$(smbxctl status)
log "server counters after the load:"
grep -E '^ +dpdk_|^sessions' <<<"$status" | sed 's/^ */    /'
assert_match "no SMB session left" '^sessions: 0$' "$(head -n 2 <<<"$status" | tail -n 1)"
assert_match "every accepted connection was closed" \
    "$(awk '$1 == "dpdk_tcp_connections_accepted" { print $2 }' <<<"$status")" \
    "$(awk '$1 == "dpdk_tcp_connections_closed" { print $2 }' <<<"$status")"

dpdk_stop
counters=$(grep -o 'dpdk: worker 0: rx_frames.*' "$SERVER_LOG")
log "$counters"
assert_match "at exit: connections closed, no buffer outstanding" \
    'open=0 buffers_outstanding=0$' "$counters"
assert_match "no data plane errors" '^$' \
    "$(grep -E 'ERROR|assert|Segmentation' "$SERVER_LOG" | head -5)"
finish
