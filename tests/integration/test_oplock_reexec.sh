#!/usr/bin/env bash
# Oplocks survive a SIGHUP re-exec of smbx-control: the arbiter's state goes to the new
# image (control/leases/lease_handover), so a batch oplock granted before the signal is
# still broken for another client's open after it (oplock_reexec.py: the break reaches
# the holder, the second open waits for it and finishes once the holder closes).
source "$(dirname "$0")/lib.sh"

[ "$SMBX_TEST_SERVER" = smbx ] || skip_test "smbx-control re-exec is smbx's"
"$IMPACKET_PY" -c "import impacket" 2>/dev/null || skip_test "python3-impacket not installed"

smbx_init
smbx_config
smbx_add_user alice
smbx_start

check_output "a batch oplock is broken after the re-exec, the second open waits for it" \
    "B's open finished" \
    timeout 90 "$IMPACKET_PY" "$LIB_DIR/oplock_reexec.py" "$PORT" alice "$ALICE_PASS" share held.bin \
    "$SERVER_PID" "$SERVER_LOG"
assert_true "smbx-control is the same process after the re-exec" kill -0 "$SERVER_PID"
check "the new image says it took the lease state over" \
    grep -q "oplock and lease state taken over: 1 owners" "$SERVER_LOG"
finish
