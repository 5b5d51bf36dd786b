#!/usr/bin/env bash
# Lab smoke test (runs inside the VM): both Soft-RoCE devices are up on their veth
# ends, user-space verbs sees them (ibv_devices, ibv_devinfo), and an RDMA CM
# connection with verified data transfer works (rping). If this fails, no SMB Direct
# test can mean anything. (Both addresses are local to the guest's one namespace, so
# the client's connection to 10.99.0.1 also leaves from rxe0 and rxe loops it back;
# the SMB tests connect the same way.)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

for dev in rxe0:veth0 rxe1:veth1; do
    check "${dev%:*} is ACTIVE / LINK_UP on ${dev#*:}" \
        bash -c "rdma link show ${dev%:*}/1 | grep -q 'state ACTIVE physical_state LINK_UP netdev ${dev#*:}'"
done
devices=$(ibv_devices 2>&1)
if grep -qw rxe0 <<<"$devices" && grep -qw rxe1 <<<"$devices"; then
    ok "ibv_devices lists rxe0 and rxe1"
else
    not_ok "ibv_devices does not list rxe0 and rxe1"
    show <<<"$devices"
fi
check "ibv_devinfo: rxe0 port is PORT_ACTIVE over Ethernet (RoCE)" \
    bash -c "ibv_devinfo -d rxe0 | grep -q 'state:.*PORT_ACTIVE' && ibv_devinfo -d rxe0 | grep -q 'link_layer:.*Ethernet'"

# rping: RDMA CM connect, then RDMA READ/WRITE/SEND of a 64-byte buffer 20 times,
# each verified by the client (-V).
timeout 60 rping -s -a "$SERVER_IP" -p 7471 -C 20 >/run/rping-server.log 2>&1 &
server=$!
for _ in $(seq 50); do
    rdma res show cm_id 2>/dev/null | grep -q 'LISTEN.*:7471' && break
    sleep 0.1
done
check "rping: 20 verified transfers over Soft-RoCE to $SERVER_IP" \
    timeout 60 rping -c -a "$SERVER_IP" -p 7471 -C 20 -V -S 64
wait "$server"
check "rping server side ended cleanly" test $? -eq 0
finish
