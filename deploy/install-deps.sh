#!/usr/bin/env bash
# Installs every build and test dependency of smbx from Debian 12's packages.
# Run as root (or with sudo). Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

packages=(
    # build
    build-essential cmake pkg-config clang-format
    libssl-dev            # OpenSSL 3: every cipher, MAC, hash and KDF
    liburing-dev          # io_uring: the kernel TCP transport and file I/O
    libdpdk-dev           # DPDK: the kernel-bypass Ethernet transport
    libibverbs-dev librdmacm-dev  # rdma-core: SMB Direct
    libcpp-httplib-dev    # smbx-control's Prometheus endpoint (`metrics address`)
    libgtest-dev libgmock-dev     # unit tests
    libbenchmark-dev      # micro benchmarks
    gnuplot-nox           # smbx-bench --sweep plots
    clang libclang-rt-14-dev      # libFuzzer targets
    # real clients for the integration tests
    smbclient samba-testsuite python3-impacket
    prometheus curl       # the metrics test scrapes smbx with a real Prometheus
    # test tools
    python3 procps psmisc iproute2 openssl coreutils
    ethtool iputils-ping  # DPDK namespace test: checksum offload off, ping
    xfsprogs e2fsprogs    # test_reflink_xfs: an xfs image with reflink, filefrag
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
