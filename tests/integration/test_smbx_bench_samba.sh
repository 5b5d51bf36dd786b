#!/usr/bin/env bash
# smbx-bench is a client too: against Samba's smbd (from Debian's samba package, on a
# private config and port, see lib.sh), --verify over 1,024 mixed random 4 KiB ops at
# QD 32 finds no mismatch, and so do multi-credit 1 MiB blocks and several connections
# on two threads. Skipped, with a message, where samba is not installed: the project's
# deploy/install-deps.sh does not install it (its package starts a system smbd on port
# 445 where services run); bench/compare.sh installs it with that start refused.
export SMBX_TEST_SERVER=samba
source "$(dirname "$0")/lib.sh"

[ -z "${SMBX_TEST_GLOBAL:-}" ] ||
    skip_test "a data-plane variant of smbx's settings: nothing to vary for Samba's smbd"
command -v smbd >/dev/null || skip_test "samba (smbd) not installed: apt-get install samba"
# lib.sh's smb.conf loads streams_xattr, which Debian ships apart from smbd
# (samba-vfs-modules): without it every TREE_CONNECT fails.
samba_modules=$(smbd -b | awk '/MODULESDIR:/ { print $2 }')
[ -e "$samba_modules/vfs/streams_xattr.so" ] ||
    skip_test "samba's vfs modules are not installed: apt-get install samba-vfs-modules"
[ "$(id -u)" -eq 0 ] || skip_test "needs root (lib.sh creates the Unix user alice for smbd)"
BENCH=${SMBX_BENCH:-$SMBX_BUILD_DIR/bench/smbx-bench}

smbx_init
[ -x "$BENCH" ] || { fail "smbx-bench not built in $SMBX_BUILD_DIR"; finish; }
smbx_config
smbx_add_user alice
smbx_start

bench() {
    SMBX_BENCH_PASSWORD=$ALICE_PASS "$BENCH" "//127.0.0.1/share" -U alice --port "$PORT" \
        --duration 30 "$@"
}

check_output "1,024 mixed random ops at QD 32: no mismatch" '"mismatches":0' bench --json \
    --verify --rw randrw --bs 4k --iodepth 32 --size 4m
assert_match "all 1,024 ops done" '"ops":1024,' "$OUT"
assert_match "no failed I/O" '"errors":0,' "$OUT"
assert_match "reads were checked" '"verified_bytes":[1-9]' "$OUT"
check_output "1 MiB multi-credit writes read back" '"mismatches":0' bench --json --verify \
    --rw write --bs 1m --iodepth 4 --size 16m
assert_match "16 writes" '"ops":16,' "$OUT"
check_output "4 connections on 2 threads" '"mismatches":0' bench --json --verify --rw randrw \
    --bs 16k --iodepth 8 --connections 4 --threads 2 --size 2m
assert_match "4 connections x 128 ops" '"ops":512,' "$OUT"
check_output "encrypted (3.1.1 AES-128-GCM)" '"mismatches":0' bench --json --verify --encrypt \
    --rw randrw --bs 64k --iodepth 8 --size 4m
assert_match "encryption in use" '"encryption":true' "$OUT"

finish
