#!/usr/bin/env bash
# smbx with two workers and the Linux kernel client (runs inside the VM):
#  1. SMB Direct on every worker: two SMB Direct mounts (nosharesock: two connections);
#     the first worker's listener deals the second connection to worker 1 (its log
#     says so); 64 MiB O_DIRECT through each mount comes back with the same sha256.
#  2. Multichannel (MS-SMB2 3.3.5.5) over SMB Direct: a mount with
#     `rdma,multichannel,max_channels=2` reads FSCTL_QUERY_NETWORK_INTERFACE_INFO
#     (10.99.0.1: RDMA_CAPABLE, and RSS_CAPABLE with two workers, which the client needs
#     to open a second channel to an interface it already uses), opens a second SMB
#     Direct connection and binds it to its session; smbx logs the binding; 64 MiB
#     O_DIRECT through the mount is intact.
#  3. The same over TCP, with `smb direct = no`.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

SOURCE_DIR=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD_DIR=${SMBX_BUILD_DIR:-$SOURCE_DIR/build}
W=/run/smbx-test
SHARE_DIR=/srv/smbx
USER_NAME=labuser
USER_PASS=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')Aa1
SERVER_PID=
LOG=$W/smbx.log
MNT_A=/mnt/smb-a
MNT_B=/mnt/smb-b

cleanup() {
    umount "$MNT_A" 2>/dev/null
    umount "$MNT_B" 2>/dev/null
    stop_server
}
trap cleanup EXIT

mkdir -p "$MNT_A" "$MNT_B"
smbx_lab_prepare "    rdma ports = 5445
    workers = 2"
smbx_lab_start
if ! wait_rdma_listener 5445 30; then
    not_ok "smbx has no RDMA CM listener on port 5445 after 30 s"
    show 30 <"$LOG"
    finish
fi
ok "smbx (2 workers) listens on RDMA CM port 5445"

# roundtrip DIR MIB: O_DIRECT write and read back through a mount, sha256 compared.
roundtrip() {
    local dir=$1 mib=$2 src=/run/mc.src back=/run/mc.back want
    head -c $((mib << 20)) /dev/urandom >"$src"
    want=$(sha256sum <"$src" | cut -d' ' -f1)
    if dd if="$src" of="$dir/mc.bin" bs=1M oflag=direct conv=fsync status=none &&
        dd if="$dir/mc.bin" of="$back" bs=1M iflag=direct status=none &&
        [ "$(sha256sum <"$back" | cut -d' ' -f1)" = "$want" ]; then
        ok "$mib MiB O_DIRECT through $dir: sha256 equal"
    else
        not_ok "$mib MiB O_DIRECT through $dir: failed or differs"
    fi
    rm -f "$src" "$back" "$dir/mc.bin"
}

opts="vers=3.1.1,username=$USER_NAME,password=$USER_PASS,cache=none,uid=0,gid=0"
# 1. Two SMB Direct connections: one per worker.
require "mount //$SERVER_IP/share on $MNT_A -o rdma" \
    timeout 120 mount -t cifs "//$SERVER_IP/share" "$MNT_A" -o "rdma,$opts"
require "a second SMB Direct mount (nosharesock: its own connection)" \
    timeout 120 mount -t cifs "//$SERVER_IP/share" "$MNT_B" -o "rdma,nosharesock,$opts"
check "the listener dealt an SMB Direct connection to worker 1" \
    grep -q "SMB Direct connection .* goes to worker 1" "$LOG"
roundtrip "$MNT_A" 64
roundtrip "$MNT_B" 64
check "umount both" bash -c "umount '$MNT_A' && umount '$MNT_B'"

# multichannel_mount TRANSPORT_OPTS WHAT: a mount with max_channels=2 binds a second
# connection of the same kind to its session (the Linux client never mixes RDMA and
# TCP channels: it skips interfaces whose RDMA_CAPABLE differs from its first
# connection's, where Windows moves to the RDMA one).
multichannel_mount() {
    local extra=$1 what=$2 bound0 direct0 pkts0
    bound0=$(grep -c 'bound to session' "$LOG")
    direct0=$(grep -c 'SMB Direct connection from' "$LOG")
    require "mount over $what with multichannel,max_channels=2" \
        timeout 120 mount -t cifs "//$SERVER_IP/share" "$MNT_A" -o "${extra}multichannel,max_channels=2,$opts"
    for _ in $(seq 50); do
        [ "$(grep -c 'bound to session' "$LOG")" -gt "$bound0" ] && break
        sleep 0.2
    done
    if [ "$(grep -c 'bound to session .*(2 channels)' "$LOG")" -gt 0 ] &&
        [ "$(grep -c 'bound to session' "$LOG")" -gt "$bound0" ]; then
        ok "$what: smbx bound a second channel to the session: $(grep 'bound to session' "$LOG" | tail -n 1 | sed 's/.*info: //')"
    else
        not_ok "$what: no channel was bound to the session"
        sed -n '/Server interfaces/,$p' /proc/fs/cifs/DebugData | show 30
        dmesg | grep -i cifs | tail -n 5 | show 5
    fi
    if [ -n "$extra" ]; then
        if [ "$(grep -c 'SMB Direct connection from' "$LOG")" -gt "$direct0" ]; then
            ok "$what: the bound channel came as its own SMB Direct connection"
        else
            not_ok "$what: no second SMB Direct connection"
        fi
    fi
    pkts0=$(rxe_counter sent_pkts)
    roundtrip "$MNT_A" 64
    diag "$what: RoCE packets during the round trip: $(($(rxe_counter sent_pkts) - pkts0))"
    check "umount ($what)" umount "$MNT_A"
}

# 2. Multichannel over SMB Direct: the second RDMA channel lands on the other worker.
multichannel_mount "rdma," "SMB Direct"
stop_server

# 3. Multichannel over TCP: with SMB Direct off the interface is not RDMA_CAPABLE, so
#    the Linux client adds a TCP channel.
sed -i 's/^    rdma ports = 5445$/    smb direct = no/' "$W/smbx.conf"
mv "$LOG" "$W/smbx-rdma.log"
smbx_lab_start
for _ in $(seq 150); do
    ss -Hltn "src $SERVER_IP:445" | grep -q . && break
    sleep 0.2
done
multichannel_mount "" "TCP"
stop_server
check "no RDMA transfer failed in the smbx log" \
    bash -c "! grep -Eq 'did not finish|RDMA buffer outside|larger than the client' '$W/smbx-rdma.log'"
finish
