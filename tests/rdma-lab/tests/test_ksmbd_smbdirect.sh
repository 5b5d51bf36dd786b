#!/usr/bin/env bash
# ksmbd over SMB Direct with the Linux kernel client (runs inside the VM): the
# baseline that smbx is compared with. ksmbd (the lab's build with SMB Direct, see
# setup.sh) shares a tmpfs; the client mounts it with -o rdma,vers=3.1.1 and
#   - /proc/fs/cifs/DebugData shows the connected SMB Direct transport,
#   - a 64 MiB random file written and read back with O_DIRECT keeps its sha256 (on
#     the client and in the server's directory) and the RoCE counters show the data,
#   - fio 1 MiB sequential and 4 KiB random, read and write, for a few seconds each;
#     the figures are printed (and kept in $RDMA_LAB_RESULTS/figures.txt). They are
#     emulated-CPU figures: compare servers measured in the same run, never quote.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

KSMBD_TOOLS=$LAB_DIR/ksmbd-tools/usr/sbin # unpacked by setup.sh, not installed
SHARE_DIR=/srv/ksmbd
USER_NAME=labuser
USER_PASS=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')

[ -x "$KSMBD_TOOLS/ksmbd.mountd" ] || { not_ok "no ksmbd-tools in $KSMBD_TOOLS (run setup.sh)"; finish; }

# ksmbd.ko from updates/ (SMB Direct built in) and the matching cifs.ko.
require "modprobe ksmbd and cifs (the lab's SMB Direct builds)" modprobe -a ksmbd cifs
check "ksmbd.ko is the lab's SMB Direct build" \
    bash -c "modinfo -n ksmbd | grep -q /updates/ && grep -q smb_direct /proc/kallsyms"

mkdir -p "$SHARE_DIR" /etc/ksmbd
mount -t tmpfs -o size=1g tmpfs "$SHARE_DIR"
# Signing off: the baseline measures the transport, as smbx's run will.
cat >/etc/ksmbd/ksmbd.conf <<CONF
[global]
	server signing = disabled
[share]
	path = $SHARE_DIR
	read only = no
CONF
require "ksmbd.adduser $USER_NAME" "$KSMBD_TOOLS/ksmbd.adduser" -a "$USER_NAME" -p "$USER_PASS"
require "ksmbd.mountd starts" "$KSMBD_TOOLS/ksmbd.mountd"
# ksmbd listens for RDMA CM on port 445 (not 5445) once mountd has started it.
if wait_rdma_listener 445 20; then
    ok "ksmbd listens on RDMA CM port 445"
else
    not_ok "no RDMA CM listener on port 445 after 20 s"
    rdma res show cm_id | show
    finish
fi

require "mount //$SERVER_IP/share -o rdma,vers=3.1.1" mount_smbdirect share "$USER_NAME" "$USER_PASS"
check_smbdirect_transport
check_direct_io_roundtrip 64 "$SHARE_DIR"
run_fio_set
unmount_share
# The same server through smbx-bench's own SMB Direct client (ksmbd: RDMA CM port 445).
run_smbx_bench_set 445 "$USER_NAME" "$USER_PASS"
"$KSMBD_TOOLS/ksmbd.control" -s >/dev/null 2>&1
diag "kernel messages of the client and server:"
dmesg | grep -Ei 'cifs|ksmbd|smbd' | tail -n 8 | show 8
finish
