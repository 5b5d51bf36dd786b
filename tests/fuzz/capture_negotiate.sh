#!/usr/bin/env bash
# Captures the seeds of smb2_negotiate_fuzz from real clients: starts smbx (from
# $SMBX_BUILD_DIR, on a free loopback port, tests/integration/lib.sh) with
# SMBX_CAPTURE_DIR set, connects with smbclient (SMB2, SMB3, SMB 3.1.1 with encryption
# and signing required, and the SMB1 multi-protocol NEGOTIATE that asks for an
# upgrade), smbtorture and impacket, and keeps each distinct first message: an SMB1
# NEGOTIATE or an SMB2 NEGOTIATE (command 0), nothing else.
#
# Usage: SMBX_BUILD_DIR=build-fuzz tests/fuzz/capture_negotiate.sh [OUT_DIR]
#   OUT_DIR defaults to tests/fuzz/corpus/smb2_negotiate_fuzz.
source "$(dirname "$0")/capture_lib.sh"

OUT_DIR=${1:-$SMBX_SOURCE_DIR/tests/fuzz/corpus/smb2_negotiate_fuzz}
capture_start

# Each client only needs to get through NEGOTIATE; what follows does not matter here.
smbc_ls() { smbc share -c ls "$@" >>"$T/clients.log" 2>&1 || true; }
smbc_ls -m SMB2_02 --option='client min protocol=SMB2_02'
smbc_ls -m SMB2_10 --option='client min protocol=SMB2_02'
smbc_ls -m SMB3_00 --option='client min protocol=SMB2_02'
smbc_ls -m SMB3_02 --option='client min protocol=SMB2_02'
smbc_ls -m SMB3_11
smbc_ls -m SMB3_11 --option='client smb encrypt=required'
smbc_ls -m SMB3_11 --option='client signing=required'
# SMB1 multi-protocol NEGOTIATE offering SMB 2.002 and SMB 2.??? (the upgrade), and
# one that offers SMB1 dialects only (smbx disconnects).
smbc_ls -m SMB3 --option='client min protocol=NT1'
smbc_ls -m NT1 --option='client min protocol=NT1'
for m in SMB2_02 SMB3_00 SMB3_11; do
    timeout -k 5 60 smbtorture "//127.0.0.1/share" -p "$PORT" -U "alice%$ALICE_PASS" \
        --configfile="$T/client.conf" -m "$m" smb2.connect >>"$T/clients.log" 2>&1 || true
done
timeout -k 5 60 "$IMPACKET_PY" - "$PORT" alice "$ALICE_PASS" >>"$T/clients.log" 2>&1 <<'PY' || true
import sys
from impacket import smb, smb3structs
from impacket.smbconnection import SMBConnection
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
# Default: SMB1 multi-protocol NEGOTIATE first; then each SMB2 dialect directly.
for dialect in (None, smb3structs.SMB2_DIALECT_002, smb3structs.SMB2_DIALECT_21,
                smb3structs.SMB2_DIALECT_30, smb3structs.SMB2_DIALECT_311):
    try:
        c = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=port, preferredDialect=dialect)
        c.login(user, password)
        c.logoff()
    except Exception as e:
        print("impacket", dialect, e)
PY
smbx_stop

# Keep the NEGOTIATE messages, one file per distinct content, named by client kind.
mkdir -p "$OUT_DIR"
kept=0
for f in "$SMBX_CAPTURE_DIR"/msg-*; do
    magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
    cmd=$(dd if="$f" bs=1 skip=12 count=2 2>/dev/null | od -An -tx1 | tr -d ' \n')
    case "$magic:$cmd" in
    ff534d42:*) kind=smb1_negotiate ;;
    fe534d42:0000) kind=smb2_negotiate ;;
    *) continue ;;
    esac
    name="$kind-$(sha1sum "$f" | cut -c1-12)"
    if [ ! -e "$OUT_DIR/$name" ]; then
        cp "$f" "$OUT_DIR/$name"
        kept=$((kept + 1))
    fi
done
pass "kept $kept new NEGOTIATE messages in $OUT_DIR"
check_server_log
finish
