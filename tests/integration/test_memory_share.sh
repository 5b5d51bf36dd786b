#!/usr/bin/env bash
# A share on tmpfs (/dev/shm): a WRITE to a file in memory never waits for a device, so
# the network worker does it itself instead of handing it to the request threads (as
# it does READs from the page cache). smbx-bench's verified 4 KiB random writes at QD 32
# must come back right and show in `smbxctl status` as processed on the worker;
# smbtorture's byte-range lock subtests that WRITE against locks must pass there, and
# smb2.rw and smb2.read must pass as many subtests as Samba does (torture_floors.txt).
# Skips when /dev/shm is not a tmpfs.
[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] || {
    echo "SKIP: /dev/shm is not a tmpfs"
    echo "0 passed, 0 failed, 1 skipped"
    exit 77 # ctest's SKIP_RETURN_CODE (lib.sh skip_test)
}
export TMPDIR=/dev/shm # smbx_init puts $T, and so the share, there
source "$(dirname "$0")/lib.sh"

BENCH=$SMBX_BUILD_DIR/bench/smbx-bench
smbx_init
smbx_config
smbx_add_user alice
smbx_add_user bob
smbx_start

counter() { smbxctl status 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'; }
bench() {
    SMBX_BENCH_PASSWORD=$ALICE_PASS "$BENCH" "//127.0.0.1/share" -U alice --port "$PORT" \
        --duration 30 "$@" >"$T/bench.out" 2>&1
}

if [ "$SMBX_TEST_SERVER" = smbx ]; then
    on_worker=$(counter smb2_messages_on_worker)
    handed=$(counter smb2_messages_to_request_threads)
    check "4 KiB random writes at QD 32 on tmpfs, verified" bench --rw randwrite --bs 4k \
        --iodepth 32 --size 16m --seed 5 --verify
    on_worker=$(($(counter smb2_messages_on_worker) - on_worker))
    handed=$(($(counter smb2_messages_to_request_threads) - handed))
    # 4096 WRITEs, then the verifying READs; setup (CREATE, CLOSE, ...) is handed off.
    assert_true "the worker processed the 4096 WRITEs itself ($on_worker messages on the worker, $handed handed off)" \
        test "$on_worker" -ge 4096
    assert_true "little was handed to the request threads ($handed)" test "$handed" -lt 100
    check "1 MiB writes, then reads, verified" bench --rw randrw --bs 1m --iodepth 4 \
        --size 32m --seed 6 --verify
fi

# Byte-range locks (MS-SMB2 3.3.5.13: a WRITE into a range another open has locked
# fails with STATUS_FILE_LOCK_CONFLICT), through smbtorture's lock subtests that write.
if command -v smbtorture >/dev/null; then
    for t in rw-exclusive rw-shared; do
        out=$(timeout 60 smbtorture "//127.0.0.1/share" -p "$PORT" -U "alice%$ALICE_PASS" \
            -s "$T/client.conf" --option=torture:user2name=bob \
            --option=torture:user2password="$BOB_PASS" "smb2.lock.$t" 2>&1)
        assert_match "smb2.lock.$t passes on tmpfs" "^success: $t" "$out"
        find "$T/share" -mindepth 1 -delete 2>/dev/null
    done
    # test_smbtorture.sh with its own server, its share on tmpfs too (TMPDIR).
    check "smbtorture smb2.read and smb2.rw on tmpfs, at Samba's floors" env \
        SMBX_TORTURE_SUITES="smb2.read smb2.rw" SMBX_TORTURE_RESULTS="$T/torture" \
        bash "$LIB_DIR/test_smbtorture.sh"
else
    log "no smbtorture: the lock, read and rw subtests did not run"
fi

finish
