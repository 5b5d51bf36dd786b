#!/bin/bash
# PID 1 of the lab guest, after the initramfs switched to the overlay of the host's
# root. Sets up a minimal system and two Soft-RoCE devices, runs the command vmrun.sh
# left in the run share, writes its output and exit code back there, powers off.
#
# The run share (9p tag smbxrun, mounted at /run/smbxlab) holds from the host:
#   env  shell assignments: LAB_KROOT, LAB_KVER, RUN_CWD, RUN_TIMEOUT, RUN_RW (dirs to
#        mount read-write, tags rw0, rw1, ... in that order), RUN_ENV (NAME=VALUE
#        words to export), and
#   cmd  the command line (run by bash).
# and gets back: out (stdout+stderr of the command), rc (its exit code), boot (the
# guest's uptime when the command started).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8

power_off() {
    sync
    echo o >/proc/sysrq-trigger # QEMU runs with -no-reboot: the VM ends here
    sleep 30
}

mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /dev/pts /dev/shm /run/smbxlab
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# The host's /mnt may hold anything; tests mount their shares under a fresh one.
mount -t tmpfs tmpfs /mnt

# 9p for the run share; the initramfs loaded the transport already.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 smbxrun /run/smbxlab ||
    power_off
# shellcheck source=/dev/null
source /run/smbxlab/env

# Debian's module tree for the booted kernel (with the SMB Direct cifs.ko and
# ksmbd.ko in updates/), not the host's.
mount --bind "$LAB_KROOT/lib/modules" /lib/modules

# Read-write host directories, at the same path as on the host; cache=none so the
# host sees every write once the guest is gone.
i=0
for d in "${RUN_RW[@]}"; do
    mount -t 9p -o "trans=virtio,version=9p2000.L,msize=524288,cache=none" "rw$i" "$d"
    i=$((i + 1))
done

hostname smbx-rdma-lab
ip link set lo up

# Soft-RoCE: a veth pair, an rxe device on each end. In 6.1 rxe only works in the
# initial network namespace, so server (10.99.0.1, rxe0) and client (10.99.0.2,
# rxe1) share it; the VM has no NIC, so nothing sent here leaves it. MTU 9000 lets
# RoCE use its 4096-byte path MTU.
modprobe -a veth rdma_rxe ib_uverbs rdma_ucm
ip link add veth0 type veth peer name veth1
ip addr add 10.99.0.1/24 dev veth0
ip addr add 10.99.0.2/24 dev veth1
ip link set veth0 mtu 9000 up
ip link set veth1 mtu 9000 up
rdma link add rxe0 type rxe netdev veth0
rdma link add rxe1 type rxe netdev veth1

for kv in "${RUN_ENV[@]}"; do export "${kv?}"; done
cd "$RUN_CWD" 2>/dev/null || cd /

# The command gets what is left of the host's time limit after the boot, less a
# margin to write the results and power off, so a hung test still reports 124 and
# its output instead of being cut by the host.
up=$(cut -d. -f1 /proc/uptime)
limit=$((RUN_TIMEOUT - up - 15))
[ "$limit" -ge 10 ] || limit=10
echo "$up" >/run/smbxlab/boot
timeout -k 5 "$limit" bash /run/smbxlab/cmd >/run/smbxlab/out 2>&1 </dev/null
echo $? >/run/smbxlab/rc
power_off
