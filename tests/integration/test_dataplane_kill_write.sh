#!/usr/bin/env bash
# An acknowledged WRITE survives a SIGKILL of smbx-dataplane taken while WRITEs are in
# flight. The data plane answers a WRITE only once the kernel took its data (pwrite or
# the worker ring's WRITE completion), so what the client was told is written is in the
# file (the page cache outlives the process) and the restarted data plane serves it.
# The share is on the test's temp dir, a disk file system here: the WRITEs go through
# the worker's io_uring. The open handle itself is not durable yet (issue 12): the
# client reconnects and opens the file again.
source "$(dirname "$0")/lib.sh"

smbx_init
smbx_config
smbx_add_user alice
smbx_start
[ "$SMBX_TEST_SERVER" = smbx ] || skip_test "kills smbx's data plane"
"$IMPACKET_PY" -c 'import impacket' 2>/dev/null || skip_test "no impacket"

dp=$(dataplane_pid) || { fail "no smbx-dataplane child of smbx-control"; finish; }
log "share on $(stat -f -c %T "$T/share"); killing data plane pid $dp after 200 acknowledged WRITEs"
check "64 KiB WRITEs until the data plane is killed with SIGKILL" \
    timeout -k 5 120 "$IMPACKET_PY" "$LIB_DIR/acked_writes.py" "$PORT" alice "$ALICE_PASS" share \
    acked.bin "$T/acked.log" "$dp" 200
log "$OUT"
acked=$(wc -l <"$T/acked.log")
assert_true "at least 200 WRITEs were acknowledged before the kill ($acked)" test "$acked" -ge 200
assert_true "the data plane pid $dp is gone" bash -c "! kill -0 $dp 2>/dev/null"

# Every acknowledged block is in the file, byte for byte.
check "every acknowledged block is in the file" "$IMPACKET_PY" - "$T/share/acked.bin" "$T/acked.log" "$LIB_DIR" <<'PY'
import sys
sys.path.insert(0, sys.argv[3])
from acked_writes import BLOCK, block  # the writer's own pattern
data = open(sys.argv[1], "rb").read()
acked = [int(line) for line in open(sys.argv[2])]
bad = [i for i in acked if data[i * BLOCK:(i + 1) * BLOCK] != block(i)]
print("%d acknowledged blocks checked, %d missing or wrong %s" % (len(acked), len(bad), bad[:10]))
sys.exit(1 if bad else 0)
PY
log "$OUT"

# The restarted data plane serves the same bytes.
ok=0
for _ in $(seq 1 30); do
    new_dp=$(dataplane_pid) && [ "$new_dp" != "$dp" ] &&
        SMBC_TIMEOUT=20 smbc share -m SMB3 -c "get acked.bin $T/acked.back" >/dev/null 2>&1 && { ok=1; break; }
    sleep 0.5
done
assert_true "a new data plane (${new_dp:-none}) served the file after the kill" test "$ok" = 1
assert_true "what it serves is the file on disk" cmp -s "$T/share/acked.bin" "$T/acked.back"

finish
