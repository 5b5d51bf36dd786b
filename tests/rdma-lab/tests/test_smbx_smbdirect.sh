#!/usr/bin/env bash
# smbx over SMB Direct with the Linux kernel client (runs inside the VM): the same
# checks and fio set as test_ksmbd_smbdirect.sh, against smbx-control from the host's
# build directory ($SMBX_BUILD_DIR, default <source>/build; the guest sees it at the
# same path), so the two servers' figures come from the same lab.
#
# smbx serves SMB Direct (issue 4) when an `interfaces` address has an RDMA device:
# an RDMA CM listener on `rdma ports` (5445 here, the port the kernel client tries
# first: MS-SMBD 2.1 / the client's SMBD_PORT), the mount, the DebugData transport,
# the server's own log line for the SMB Direct connection, the server interface the
# client lists as RDMA capable (FSCTL_QUERY_NETWORK_INTERFACE_INFO), a 256 MiB
# ($SMBX_ROUNDTRIP_MIB) O_DIRECT round trip whose 1 MiB READs and WRITEs go by RDMA
# WRITE / RDMA READ (SMB2_CHANNEL_RDMA_V1_INVALIDATE), and fio. SMBX_RDMA_CONFIG
# (one `key = value` per line) replaces the SMB Direct keys; the test skips (exit 77)
# while smbx-control calls any of them unknown, e.g. with an smbx build older than its
# SMB Direct transport.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

SOURCE_DIR=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD_DIR=${SMBX_BUILD_DIR:-$SOURCE_DIR/build}
RDMA_PORT=5445
SMBX_RDMA_CONFIG=${SMBX_RDMA_CONFIG:-"rdma ports = $RDMA_PORT"}
W=/run/smbx-test # guest tmpfs: private dir, config, log
SHARE_DIR=/srv/smbx
USER_NAME=labuser
USER_PASS=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')Aa1
SERVER_PID=
LOG=$W/smbx.log

trap stop_server EXIT

smbx_lab_prepare "$SMBX_RDMA_CONFIG
    server signing = disabled"
smbx_lab_start
# TCP first: it shows that the configuration was read and the server runs here.
for _ in $(seq 150); do
    ss -Hltn "src $SERVER_IP:445" | grep -q . && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
done
if ! ss -Hltn "src $SERVER_IP:445" | grep -q .; then
    not_ok "smbx-control did not start listening on $SERVER_IP:445 (TCP)"
    show 30 <"$LOG"
    finish
fi
ok "smbx-control runs in the lab and listens on $SERVER_IP:445 (TCP)"

while IFS='=' read -r key _; do
    key=$(xargs <<<"$key") # trimmed
    [ -n "$key" ] || continue
    if grep -q "unknown parameter '$key'" "$LOG"; then
        diag "$(grep "unknown parameter '$key'" "$LOG" | head -n 1)"
        skip_rest "smbx has no SMB Direct transport yet (smbx-control ignores '$key')"
    fi
done <<<"$SMBX_RDMA_CONFIG"

# Counters of the data path (smbxctl status, "data path:"), e.g. pool_in_use, in the
# order asked, on one line.
data_path_counter() {
    timeout 10 "$BUILD_DIR/smbxctl" --config "$W/smbx.conf" status 2>/dev/null |
        awk -v names="$*" 'BEGIN { n = split(names, want) }
            { v[$1] = $2 } END { for (i = 1; i <= n; i++) printf "%s%s", v[want[i]], (i < n ? " " : "\n") }'
}

# Fault: smbx-bench killed (SIGKILL, no SMB2 or SMB Direct goodbye) in the middle of
# 4 MiB WRITEs whose data smbx fetches by RDMA READ into its pool buffers. The kernel
# tears the client's queue pair down; smbx must give back every pool buffer the
# connection held (pool_in_use back to 0) and serve the next client. The kill comes as
# soon as a buffer is seen in use, or after 10 s of transfers (each one holds its
# buffer briefly, so a sample may miss it).
check_bench_killed_mid_transfer() {
    local pid in_use=0 gets0 gets=0 deadline started= closes0 attempt t0
    closes0=$(grep -c 'closing connection' "$LOG")
    # Once more if no WRITE was seen (one CI run under load saw none in 40 s; the
    # output of that attempt is shown).
    for attempt in 1 2; do
    gets0=$(data_path_counter pool_gets)
    SMBX_BENCH_PASSWORD=$USER_PASS "$BUILD_DIR/bench/smbx-bench" "//$SERVER_IP/share" -U "$USER_NAME" \
        --transport rdma --port "$RDMA_PORT" --rw write --bs 4m --iodepth 8 --size 64m \
        --io-size 100g --duration 120 >"$W/kill-bench.out" 2>&1 &
    pid=$!
    t0=$SECONDS
    deadline=$((SECONDS + 40))
    while [ $SECONDS -lt $deadline ]; do
        read -r gets in_use <<<"$(data_path_counter pool_gets pool_in_use)"
        if [ $((${gets:-0} - ${gets0:-0})) -gt 0 ]; then
            # A buffer of this client's in use (a buffer still held by the previous
            # client's connection does not count), or 10 s after its first transfer.
            [ "${in_use:-0}" -gt 0 ] && break
            [ -n "$started" ] || started=$SECONDS
            [ $((SECONDS - started)) -ge 10 ] && break
        fi
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ $((${gets:-0} - ${gets0:-0})) -gt 0 ] && break
    diag "attempt $attempt: no WRITE reached smbx in $((SECONDS - t0)) s (pool_in_use ${in_use:-?}); smbx-bench said:"
    show 10 <"$W/kill-bench.out"
    done
    if [ $((${gets:-0} - ${gets0:-0})) -gt 0 ]; then
        ok "smbx-bench (rdma) killed during its 4 MiB WRITEs ($((gets - gets0)) pool buffers taken so far, $in_use in use at the last sample)"
    else
        not_ok "smbx-bench (rdma) never got a WRITE to smbx before the kill"
        show 20 <"$W/kill-bench.out"
        timeout 10 "$BUILD_DIR/smbxctl" --config "$W/smbx.conf" status 2>&1 | show 30
    fi
    for _ in $(seq 150); do # at most 30 s
        in_use=$(data_path_counter pool_in_use)
        [ "${in_use:-1}" -eq 0 ] && break
        sleep 0.2
    done
    if [ "${in_use:-1}" -eq 0 ]; then
        ok "after the kill smbx's data path pool_in_use is 0"
    else
        not_ok "after the kill smbx still has pool_in_use ${in_use:-?} after 30 s"
        timeout 10 "$BUILD_DIR/smbxctl" --config "$W/smbx.conf" status 2>&1 | show 30
    fi
    if [ "$(grep -c 'closing connection' "$LOG")" -gt "$closes0" ]; then
        ok "smbx closed the killed client's SMB Direct connection"
        grep 'closing connection' "$LOG" | tail -n 1 | sed 's/^/#   /'
    else
        not_ok "smbx logged no closed SMB Direct connection after the kill"
    fi
    run_smbx_bench after-kill "$RDMA_PORT" "$USER_NAME" "$USER_PASS" --rw randrw --bs 256k \
        --iodepth 4 --size 16m --duration 3 --verify
}

if wait_rdma_listener "$RDMA_PORT" 30; then
    ok "smbx listens on RDMA CM port $RDMA_PORT"
else
    not_ok "smbx knows its RDMA settings but has no RDMA CM listener on port $RDMA_PORT after 30 s"
    rdma res show cm_id | show
    show 30 <"$LOG"
    finish
fi

if ! check "mount //$SERVER_IP/share -o rdma,vers=3.1.1" mount_smbdirect share "$USER_NAME" "$USER_PASS"; then
    show 30 <"$LOG"
    finish
fi
check_smbdirect_transport
check "smbx logged the SMB Direct connection (its transport, not TCP)" \
    grep -q "SMB Direct connection from $SERVER_IP" "$LOG"
# FSCTL_QUERY_NETWORK_INTERFACE_INFO: the client lists 10.99.0.1 as RDMA capable.
if sed -n '/Server interfaces/,/^$/p' /proc/fs/cifs/DebugData | tr -s ' \t\n' ' ' |
    grep -q "Capabilities: rdma.*IPv4: $SERVER_IP"; then
    ok "the client sees $SERVER_IP as RDMA capable (FSCTL_QUERY_NETWORK_INTERFACE_INFO)"
else
    not_ok "DebugData lists no RDMA-capable server interface $SERVER_IP"
    sed -n '/Server interfaces/,/^$/p' /proc/fs/cifs/DebugData | show 10
fi
check_direct_io_roundtrip "${SMBX_ROUNDTRIP_MIB:-256}" "$SHARE_DIR"
run_fio_set
unmount_share
# The same server through smbx-bench's own SMB Direct client (user space, librdmacm).
run_smbx_bench_set "$RDMA_PORT" "$USER_NAME" "$USER_PASS"
check_bench_killed_mid_transfer
stop_server

# check_server_log WHICH: what must not be in the log of the server that just stopped.
check_server_log() {
    check "no RDMA transfer timed out or failed in the smbx log ($1)" \
        bash -c "! grep -Eq 'did not finish|RDMA buffer not registered|outside any registration|larger than the client' '$LOG'"
    check "no sanitizer report in the smbx log ($1)" \
        bash -c "! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$LOG'"
}
check_server_log "default pool"

# A pool that runs dry: the smallest pool (16 MiB) has seven 1 MiB buffers and no
# 8 MiB one, so 2 MiB transfers (the most SMB Direct negotiates here) come from the
# heap. Each is registered with the device for its transfer alone; every I/O still
# succeeds, with verified data.
sed -i 's/^\[global\]$/[global]\n    buffer pool size = 16M/' "$W/smbx.conf"
smbx_lab_start
if wait_rdma_listener "$RDMA_PORT" 30; then
    run_smbx_bench pool-dry "$RDMA_PORT" "$USER_NAME" "$USER_PASS" --rw randrw --bs 2m \
        --iodepth 4 --size 64m --io-size 1g --duration 5 --verify
    regs=$(data_path_counter rdma_transfer_registrations pool_heap_fallbacks)
    if [ "${regs%% *}" -gt 0 ] 2>/dev/null; then
        ok "heap buffers registered per transfer when the pool ran dry (rdma_transfer_registrations pool_heap_fallbacks: $regs)"
    else
        not_ok "no per-transfer registration with a 16 MiB pool and 2 MiB transfers (rdma_transfer_registrations pool_heap_fallbacks: ${regs:-?})"
    fi
else
    not_ok "smbx with a 16 MiB pool has no RDMA CM listener on port $RDMA_PORT after 30 s"
    show 30 <"$LOG"
fi
stop_server
check_server_log "16 MiB pool"
finish
