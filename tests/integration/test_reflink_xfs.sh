#!/usr/bin/env bash
# Block cloning (FSCTL_DUPLICATE_EXTENTS_TO_FILE) on a share on xfs with reflink: the
# test makes its own 512 MiB xfs image on a loop device (and removes both), clones a
# 16 MiB file through impacket, and checks on the server's disk that the copy is equal
# and that its extents are shared with the source's (filefrag's "shared" flag: no data
# was copied). The same request on the ext4/tmpfs share answers INVALID_DEVICE_REQUEST,
# as a volume without block cloning does (MS-FSCC 2.3.8). Skips (77) without root, loop
# devices, mkfs.xfs (xfsprogs) or impacket.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_test "needs root (losetup, mount)"
command -v mkfs.xfs >/dev/null || skip_test "no mkfs.xfs (xfsprogs)"
command -v filefrag >/dev/null || skip_test "no filefrag (e2fsprogs)"
grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null || skip_test "no xfs in this kernel"
[ -x "$IMPACKET_PY" ] && "$IMPACKET_PY" -c 'import impacket' 2>/dev/null ||
    skip_test "$IMPACKET_PY cannot import impacket"

smbx_init
LOOP=""
XFS="$T/xfs"
xfs_cleanup() {
    smbx_stop
    mountpoint -q "$XFS" && umount "$XFS"
    [ -n "$LOOP" ] && losetup -d "$LOOP"
}
trap 'rc=$?; xfs_cleanup; (exit $rc); on_exit' EXIT

truncate -s 512M "$T/xfs.img"
mkfs.xfs -q -m reflink=1 "$T/xfs.img" || skip_test "mkfs.xfs -m reflink=1 failed"
LOOP=$(losetup -f --show "$T/xfs.img") || skip_test "no free loop device"
mkdir -p "$XFS"
mount -t xfs "$LOOP" "$XFS" || skip_test "cannot mount xfs on $LOOP"

smbx_config
smbx_add_share xfs
smbx_add_user alice
smbx_start

head -c $((16 * 1024 * 1024)) /dev/urandom >"$XFS/src.bin"
cp "$XFS/src.bin" "$T/share/src.bin"
sync
dup() { timeout -k 5 120 "$IMPACKET_PY" "$LIB_DIR/dup_extents.py" "$PORT" alice "$ALICE_PASS" "$@"; }

assert_eq "DUPLICATE_EXTENTS_TO_FILE on the xfs share succeeds" 0x00000000 \
    "$(dup xfs src.bin dst.bin $((16 * 1024 * 1024)) 2>&1 | tail -n 1)"
assert_true "the clone equals the source" cmp -s "$XFS/src.bin" "$XFS/dst.bin"
frag=$(filefrag -v "$XFS/dst.bin" 2>&1)
assert_match "the clone's extents are shared with the source's" 'shared' "$frag"
assert_eq "on the share without block cloning: INVALID_DEVICE_REQUEST" 0xc0000010 \
    "$(dup share src.bin dst.bin $((16 * 1024 * 1024)) 2>&1 | tail -n 1)"

finish
