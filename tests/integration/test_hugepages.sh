#!/usr/bin/env bash
# The buffer pool on hugepages: with free 2 MiB hugepages reserved, the data plane maps
# its pool on them (its log and `smbxctl status` say so) and serves verified I/O from
# it; without, it falls back to ordinary pages and says that. Needs root to reserve
# hugepages (the previous reservation is restored on exit).
source "$(dirname "$0")/lib.sh"

[ -z "${SMBX_TEST_GLOBAL:-}" ] ||
    skip_test "a data-plane variant: the pool does not depend on it, and hugepages are global"
[ "$(id -u)" = 0 ] || skip_test "needs root to reserve hugepages"
[ -w /proc/sys/vm/nr_hugepages ] || skip_test "no /proc/sys/vm/nr_hugepages"
smbx_init
BENCH=$SMBX_BUILD_DIR/bench/smbx-bench
bench() {
    SMBX_BENCH_PASSWORD=$ALICE_PASS "$BENCH" "//127.0.0.1/share" -U alice --port "$PORT" \
        --duration 10 "$@" >"$T/bench.out" 2>&1
}
# The data plane logs its pool once it is up, a moment after the port listens.
pool_log() {
    local i
    for i in $(seq 1 50); do
        grep -q 'buffer pool:' "$SERVER_LOG" && break
        sleep 0.1
    done
    grep 'buffer pool:' "$SERVER_LOG"
}
counter() { smbxctl status 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'; }

before=$(cat /proc/sys/vm/nr_hugepages)
restore() { echo "$before" >/proc/sys/vm/nr_hugepages; }
trap 'restore; on_exit' EXIT
# 64 MiB pool = 32 pages, plus what other processes already hold.
free_now=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)
echo $((before + 32 - free_now + 8)) >/proc/sys/vm/nr_hugepages
free_now=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)
[ "$free_now" -ge 32 ] || skip_test "could not reserve 32 free hugepages (free: $free_now)"

smbx_config "buffer pool size = 64M"
smbx_add_user alice
smbx_start
assert_match "the pool is on hugepages (log)" 'buffer pool: 64 MiB on 2 MiB hugepages' \
    "$(pool_log)"
assert_eq "status: pool_hugepages 1" 1 "$(counter pool_hugepages)"
check "verified I/O from the hugepage pool" bench --rw randrw --bs 64k --iodepth 8 --size 16m --verify
assert_true "the pool served it" test "$(counter pool_gets)" -gt 100

smbx_stop
restore
# The fallback, where nothing else keeps hugepages reserved.
if [ "$before" = 0 ] && [ "$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)" -lt 32 ]; then
    : >"$SERVER_LOG"
    smbx_start
    assert_match "without free hugepages: ordinary pages, and the log says why" \
        'buffer pool: 64 MiB on ordinary pages' "$(pool_log)"
    assert_eq "status: pool_hugepages 0" 0 "$(counter pool_hugepages)"
fi
restore
finish
