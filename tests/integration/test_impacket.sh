#!/usr/bin/env bash
# impacket at SMB 2.1 and 3.0 (encrypted) against smbx: see test_impacket.py.
source "$(dirname "$0")/lib.sh"

smbx_init
smbx_config
smbx_add_share enc "smb encrypt = required"
smbx_add_user alice
smbx_add_user bob
smbx_start

[ -x "$IMPACKET_PY" ] && "$IMPACKET_PY" -c 'import impacket' 2>/dev/null ||
    { fail "$IMPACKET_PY cannot import impacket (install python3-impacket)"; finish; }

rc=0
timeout -k 5 600 "$IMPACKET_PY" "$LIB_DIR/test_impacket.py" "$PORT" alice "$ALICE_PASS" share enc \
    >"$T/impacket.out" 2>&1 || rc=$?
cat "$T/impacket.out"
read -r p f < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$T/impacket.out" | tail -n 1)
T_PASS=$((T_PASS + ${p:-0}))
T_FAIL=$((T_FAIL + ${f:-0}))
if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
    fail "test_impacket.py exited $rc without reporting a failure (crash or timeout)"
fi
assert_true "no file left behind in the share" test -z "$(ls -A "$T/share")"

finish
