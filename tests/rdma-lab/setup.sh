#!/usr/bin/env bash
# tests/rdma-lab/setup.sh: builds the SMB Direct test lab (README.md beside this file).
#
# The lab is a QEMU VM running Debian 12's own kernel with Soft-RoCE (rdma_rxe): the
# only way to exercise SMB Direct on machines whose kernel has no RDMA and no SMB
# client. Everything it builds goes to $SMBX_RDMA_LAB (default /var/tmp/smbx-rdma-lab),
# never into the source tree, and a second run does nothing that is already done:
#   1. apt packages (Debian's mirrors only): QEMU, busybox, rdma-core tools, fio,
#      cifs-utils, the kernel headers and source matching Debian's current kernel.
#   2. That kernel's image package, unpacked (not installed: the host keeps its kernel).
#   3. cifs.ko and ksmbd.ko rebuilt from linux-source with SMB Direct on: Debian builds
#      both with CONFIG_CIFS_SMB_DIRECT and CONFIG_SMB_SERVER_SMBDIRECT off. They go to
#      lib/modules/KVER/updates, which depmod ranks above the stock modules.
#   4. ksmbd-tools, unpacked (the package conflicts with the samba package that the
#      integration tests install, and only the guest runs it).
#   5. A busybox initramfs that mounts the host's root over virtio-9p (see guest/).
# Needs root (apt-get, and 9p must read every file of the host's root for the guest).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=${SMBX_RDMA_LAB:-/var/tmp/smbx-rdma-lab}
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -q -y -o DPkg::Lock::Timeout=600)

t_start=$SECONDS
step() { printf '[rdma-lab setup %4ds] %s\n' "$((SECONDS - t_start))" "$*"; }
die() { echo "rdma-lab setup: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (apt-get; the guest reads the host's root through 9p)"
[ "$(uname -m)" = x86_64 ] || die "needs an x86_64 host (the guest is Debian's amd64 kernel)"
mkdir -p "$LAB"
# One setup at a time per lab dir (two CI stages or a person and CI on one machine).
exec 9>"$LAB/.setup.lock"
flock 9

# ---------------------------------------------------------------- 1. packages
# Host tools: qemu-system-x86 (the VM), busybox-static + cpio (the initramfs), kmod
# (depmod/modprobe -d), iproute2 (`rdma` in the guest), ibverbs-utils + rdmacm-utils
# (ibv_devices, rping), ibverbs-providers (the rxe user-space provider), cifs-utils
# (mount.cifs), fio, build-essential (the modules), the ksmbd-tools libraries, and
# python3 (tests parse fio's JSON). The guest runs these from the host's root.
base_packages=(
    qemu-system-x86 busybox-static cpio kmod iproute2 rdma-core ibverbs-utils
    ibverbs-providers rdmacm-utils cifs-utils fio build-essential
    libglib2.0-0 libnl-3-200 libnl-genl-3-200 python3 xz-utils util-linux
)

# The kernel ABI linux-image-amd64 points to, e.g. 6.1.0-56-amd64.
kernel_abi() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { sub("linux-image-", "", $2); print $2; exit }'
}
missing_packages() {
    local installed
    installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null | awk '/ok installed$/ { print $1 }')
    printf '%s\n' "$@" | grep -vxF -f <(echo "$installed") || true
}
pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
# Module build and image must come from one kernel build: same Debian version for the
# source, the headers and the image (a mirror caught mid-update could differ).
versions_agree() {
    local src hdr
    src=$(pkg_version linux-source-6.1)
    hdr=$(pkg_version "linux-headers-$KVER")
    [ -n "$src" ] && [ "$src" = "$hdr" ]
}

step "packages"
KVER=$(kernel_abi)
need=()
[ -n "$KVER" ] || need=(update)
if [ -n "$KVER" ]; then
    mapfile -t need < <(missing_packages "${base_packages[@]}" "linux-headers-$KVER" linux-source-6.1)
    versions_agree || need+=(linux-source-6.1)
fi
if [ ${#need[@]} -gt 0 ]; then
    step "installing: ${need[*]}"
    # apt's output goes to a log: shown only when it fails.
    "${APT[@]}" update >"$LAB/apt.log" 2>&1 || { tail -n 30 "$LAB/apt.log"; die "apt-get update failed"; }
    KVER=$(kernel_abi)
    [ -n "$KVER" ] || die "apt-cache finds no linux-image-amd64 dependency"
    "${APT[@]}" install --no-install-recommends "${base_packages[@]}" \
        "linux-headers-$KVER" linux-source-6.1 >>"$LAB/apt.log" 2>&1 ||
        { tail -n 30 "$LAB/apt.log"; die "apt-get install failed (log: $LAB/apt.log)"; }
fi
versions_agree || die "linux-source-6.1 ($(pkg_version linux-source-6.1)) and linux-headers-$KVER ($(pkg_version "linux-headers-$KVER")) differ; run apt-get update && apt-get upgrade"
KDEB_VER=$(pkg_version "linux-headers-$KVER")
step "kernel $KVER, Debian version $KDEB_VER"

# Downloads one .deb (exact version) and unpacks it into DIR (replaced atomically).
unpack_deb() {
    local pkg=$1 dir=$2 tmp
    tmp=$(mktemp -d "$LAB/.deb.XXXXXX")
    chmod 755 "$tmp" # apt downloads as user _apt
    (cd "$tmp" && apt-get -q download "$pkg") >/dev/null || { rm -rf "$tmp"; die "apt-get download $pkg failed"; }
    mkdir "$tmp/root"
    dpkg-deb -x "$tmp"/*.deb "$tmp/root"
    rm -rf "$dir"
    mv "$tmp/root" "$dir"
    rm -rf "$tmp"
}

# ------------------------------------------------------------ 2. kernel image
KROOT=$LAB/kernel-$KDEB_VER        # boot/vmlinuz-KVER, lib/modules/KVER
if [ ! -f "$KROOT/boot/vmlinuz-$KVER" ]; then
    step "unpacking linux-image-$KVER $KDEB_VER"
    unpack_deb "linux-image-$KVER=$KDEB_VER" "$KROOT"
fi
# Stock options the lab relies on; a later Debian kernel without them would fail here
# rather than in a confusing way inside the VM.
for opt in CONFIG_RDMA_RXE CONFIG_INFINIBAND_USER_ACCESS CONFIG_NET_9P_VIRTIO CONFIG_9P_FS \
    CONFIG_OVERLAY_FS CONFIG_VETH CONFIG_CIFS CONFIG_SMB_SERVER; do
    grep -Eq "^$opt=(y|m)" "$KROOT/boot/config-$KVER" || die "$opt is not set in Debian's $KVER"
done

# --------------------------------------- 3. cifs.ko and ksmbd.ko with SMB Direct
# Fixes of 6.1's own bugs that the tests would otherwise trip over: ksmbd's (README.md)
# and the client's SMB Direct teardown race (a guest panic at unmount, now and then).
PATCHES=("$HERE/ksmbd-debian12.patch" "$HERE/cifs-debian12.patch")
# Rebuilt when the kernel, a patch or the recipe (bump MODULE_RECIPE when changing how
# they are built below) changes.
MODULE_RECIPE=1
mod_key="$KDEB_VER r$MODULE_RECIPE $(cat "${PATCHES[@]}" | sha256sum | cut -c1-16)"
UPD=$KROOT/lib/modules/$KVER/updates
if [ "$(cat "$UPD/.built-from" 2>/dev/null)" != "$mod_key" ]; then
    step "building cifs.ko and ksmbd.ko with SMB Direct (log: $LAB/build/*.log)"
    B=$LAB/build
    rm -rf "$B" && mkdir -p "$B"
    S=$B/linux-source-6.1
    # Only fs/smb and what its build needs; the headers package provides the rest.
    tar -C "$B" -xJf /usr/src/linux-source-6.1.tar.xz \
        linux-source-6.1/fs/smb linux-source-6.1/fs/internal.h \
        linux-source-6.1/scripts/asn1_compiler.c linux-source-6.1/include/linux/asn1.h \
        linux-source-6.1/include/linux/asn1_ber_bytecode.h
    for p in "${PATCHES[@]}"; do
        patch -d "$S" -p1 --forward --no-backup-if-mismatch <"$p" >"$B/patch.log" 2>&1 ||
            { cat "$B/patch.log"; die "${p##*/} does not apply to linux-source $KDEB_VER"; }
    done
    # The headers package has no scripts/asn1_compiler, which Kbuild runs on the
    # SPNEGO grammars: build it and generate those files before make needs them.
    gcc -O2 -I "$S/include" -o "$B/asn1_compiler" "$S/scripts/asn1_compiler.c"
    for g in client/cifs_spnego_negtokeninit server/ksmbd_spnego_negtokeninit \
        server/ksmbd_spnego_negtokentarg; do
        "$B/asn1_compiler" "$S/fs/smb/$g.asn1" "$S/fs/smb/$g.asn1.c" "$S/fs/smb/$g.asn1.h"
    done
    # The Makefiles pick smbdirect.o / transport_rdma.o from the CONFIG_ variables;
    # the C code tests the macros, which the headers' autoconf.h leaves undefined.
    # build_module DIR MAKE_VARS C_DEFINES
    build_module() {
        local dir=$1 vars=$2 defines=$3
        # shellcheck disable=SC2086 # the variables are words on purpose
        make -C "/usr/src/linux-headers-$KVER" M="$S/fs/smb/$dir" -j"$(nproc)" modules \
            $vars KCFLAGS="$defines" >"$B/build-$dir.log" 2>&1 ||
            { tail -n 30 "$B/build-$dir.log"; die "building fs/smb/$dir failed"; }
    }
    build_module client "CONFIG_CIFS=m CONFIG_CIFS_SMB_DIRECT=y" -DCONFIG_CIFS_SMB_DIRECT=1
    build_module server "CONFIG_SMB_SERVER=m CONFIG_SMB_SERVER_SMBDIRECT=y" -DCONFIG_SMB_SERVER_SMBDIRECT=1
    rm -rf "$UPD" && mkdir -p "$UPD"
    cp "$S/fs/smb/client/cifs.ko" "$S/fs/smb/server/ksmbd.ko" "$UPD/"
    strip --strip-debug "$UPD"/*.ko # 40 MB less for the guest to read over 9p
    depmod -b "$KROOT" "$KVER"
    echo "$mod_key" >"$UPD/.built-from"
    rm -rf "$B"
fi

# ----------------------------------------------------------- 4. ksmbd-tools
KSMBD_VER=$(apt-cache policy ksmbd-tools | awk '/Candidate:/ { print $2 }')
if [ "$(cat "$LAB/ksmbd-tools/.version" 2>/dev/null)" != "$KSMBD_VER" ]; then
    step "unpacking ksmbd-tools $KSMBD_VER"
    unpack_deb "ksmbd-tools=$KSMBD_VER" "$LAB/ksmbd-tools"
    echo "$KSMBD_VER" >"$LAB/ksmbd-tools/.version"
fi

# -------------------------------------------------------------- 5. initramfs
INIT=$HERE/guest/initramfs-init.sh
initrd_key="$KDEB_VER $(sha256sum "$INIT" /bin/busybox | sha256sum | cut -c1-16)"
if [ "$(cat "$LAB/initramfs.key" 2>/dev/null)" != "$initrd_key" ]; then
    step "building the initramfs"
    W=$(mktemp -d "$LAB/.initramfs.XXXXXX")
    mkdir -p "$W"/{bin,modules,proc,sys,dev,newroot,lower,rw}
    cp /bin/busybox "$W/bin/"
    for a in sh mount mkdir cat insmod switch_root sleep echo; do ln -s busybox "$W/bin/$a"; done
    # Just what mounting the root needs (virtio-pci, 9p, overlay), in load order.
    modprobe -d "$KROOT" -S "$KVER" --show-depends -a virtio_pci 9pnet_virtio 9p overlay |
        awk '$1 == "insmod" && !seen[$2]++ { print $2 }' >"$W/order.txt"
    while read -r m; do
        cp "$m" "$W/modules/"
        basename "$m" >>"$W/modules/order"
    done <"$W/order.txt"
    rm "$W/order.txt"
    install -m 755 "$INIT" "$W/init"
    (cd "$W" && find . | cpio -o -H newc --quiet | gzip -1) >"$LAB/initramfs.img.tmp"
    mv "$LAB/initramfs.img.tmp" "$LAB/initramfs.img"
    rm -rf "$W"
    echo "$initrd_key" >"$LAB/initramfs.key"
fi

# What vmrun.sh boots.
cat >"$LAB/lab.env.tmp" <<EOF
KVER=$KVER
KROOT=$KROOT
KSMBD_TOOLS=$LAB/ksmbd-tools
EOF
mv "$LAB/lab.env.tmp" "$LAB/lab.env"
# Older kernel trees of this lab (a Debian kernel update) are no longer booted.
for d in "$LAB"/kernel-*; do [ "$d" = "$KROOT" ] || rm -rf "$d"; done
step "ready in $LAB"
