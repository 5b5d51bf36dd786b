#!/bin/sh
# /init of the lab's initramfs (busybox sh). The guest has no disk: its root is the
# host's root, read-only over virtio-9p (tag hostroot), under an overlay whose upper
# layer is a tmpfs. So the guest runs the host's binaries, libraries and build tree
# unchanged, and whatever it writes vanishes at power-off. Then hands over to the
# guest init named on the kernel command line (smbxlab.init=, guest/init.sh).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# virtio-pci, 9p and overlay are modules in Debian's kernel; setup.sh put them here
# in dependency order.
for m in $(cat /modules/order); do
    insmod "/modules/$m" || echo "initramfs: insmod $m failed"
done

guest_init=
for a in $(cat /proc/cmdline); do
    case $a in smbxlab.init=*) guest_init=${a#smbxlab.init=} ;; esac
done

# msize 512 KiB: fewer 9p round trips when the guest loads large binaries.
# cache=loose: the host's files do not change under a test run.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=524288 hostroot /lower &&
    mount -t tmpfs -o mode=755 tmpfs /rw &&
    mkdir -p /rw/upper /rw/work &&
    mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
    { echo "initramfs: cannot mount the host's root"; echo o >/proc/sysrq-trigger; sleep 10; }

for d in proc sys dev; do mount --move /$d /newroot/$d; done
exec switch_root /newroot "$guest_init"
