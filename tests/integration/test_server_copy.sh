#!/usr/bin/env bash
# Server-side copy (FSCTL_SRV_REQUEST_RESUME_KEY + FSCTL_SRV_COPYCHUNK) with smbclient's
# `scopy`: a 64 MiB file is copied inside the server; the copy's sha256 equals the
# source's, on the server's disk and read back through SMB; the server_copy_bytes
# counter (smbxctl status, and the Prometheus exposition) rose by exactly the file's
# size, and the client sent next to none of the data (SMB2 bytes received by the
# server stay far below the file's size).
source "$(dirname "$0")/lib.sh"

MIB=${SMBX_COPY_MIB:-64}

smbx_init
smbx_config
smbx_add_user alice
smbx_start
[ "$SMBX_TEST_SERVER" = smbx ] || skip_test "the counters are smbx's"

counter() { smbxctl status 2>/dev/null | awk -v n="$1" '$1 == n { print ($2 == "" ? 0 : $2) }'; }
received() { smbxctl metrics 2>/dev/null | awk '/^smbx_smb2_request_bytes_total/ { s += $2 } END { printf "%d\n", s }'; }

head -c $((MIB * 1024 * 1024)) /dev/urandom >"$T/share/src.bin"
src_sha=$(sha256sum "$T/share/src.bin" | cut -d' ' -f1)
size=$(stat -c %s "$T/share/src.bin")

copied=$(counter server_copy_bytes)
rx=$(received)
check "scopy src.bin dst.bin" smbc share -c 'scopy src.bin dst.bin'
assert_true "no NT_STATUS error from scopy" bash -c "! grep -q NT_STATUS_ <<<\"\$1\"" _ "$OUT"
copied=$(($(counter server_copy_bytes) - copied))
rx=$(($(received) - rx))

assert_eq "the copy on the server's disk has the source's sha256" "$src_sha" \
    "$(sha256sum "$T/share/dst.bin" 2>/dev/null | cut -d' ' -f1)"
check "get dst.bin" smbc share -c "get dst.bin $T/got.bin"
assert_eq "the copy read back through SMB has the source's sha256" "$src_sha" \
    "$(sha256sum "$T/got.bin" 2>/dev/null | cut -d' ' -f1)"
assert_eq "server_copy_bytes rose by the file's size" "$size" "$copied"
assert_true "the client sent next to none of the data ($rx bytes of SMB2 requests)" \
    test "$rx" -lt $((size / 100))
assert_match "the exposition has smbx_server_copy_bytes_total" \
    '^smbx_server_copy_bytes_total\{worker="[^"]+"\} [0-9]+' "$(smbxctl metrics 2>/dev/null)"

finish
