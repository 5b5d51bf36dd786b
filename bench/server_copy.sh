#!/usr/bin/env bash
# bench/server_copy.sh: a server-side copy (smbclient `scopy`: FSCTL_SRV_COPYCHUNK) of a
# file against the same copy done by the client (smbclient `get` then `put` in one
# session), on a private smbx on loopback (tests/integration/lib.sh; the share in its
# temp dir, /tmp). Alternated pairs; per run the wall time and the CPU time smbx-dataplane
# spent (utime + stime from /proc/<pid>/stat, all its threads); the median, min and max
# of each, and the ratios of the medians.
#
# Usage: bench/server_copy.sh [MIB (default 1024)] [PAIRS (default 5)]
# Needs a built tree (SMBX_BUILD_DIR, default build/).
set -uo pipefail
MIB=${1:-1024}
PAIRS=${2:-5}
source "$(dirname "$0")/../tests/integration/lib.sh"

smbx_init
smbx_config
smbx_add_user alice
smbx_start
DP=$(pgrep -P "$SERVER_PID" -x smbx-dataplane | head -n 1)
[ -n "$DP" ] || { echo "no smbx-dataplane under $SERVER_PID"; exit 1; }
TICK=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DP/stat"; }
now() { date +%s.%N; }

head -c $((MIB * 1024 * 1024)) /dev/urandom >"$T/share/src.bin"
sha=$(sha256sum "$T/share/src.bin" | cut -d' ' -f1)

# one KIND: runs one copy, prints "wall_seconds cpu_seconds", checks the copy.
one() {
    local kind=$1 t0 t1 c0 c1
    rm -f "$T/share/dst.bin" "$T/local.bin"
    c0=$(cpu_ticks)
    t0=$(now)
    if [ "$kind" = scopy ]; then
        smbc share -c 'scopy src.bin dst.bin' >"$T/run.out" 2>&1
    else
        smbc share -c "get src.bin $T/local.bin; put $T/local.bin dst.bin" >"$T/run.out" 2>&1
    fi
    t1=$(now)
    c1=$(cpu_ticks)
    if grep -q NT_STATUS_ "$T/run.out" ||
        [ "$(sha256sum "$T/share/dst.bin" | cut -d' ' -f1)" != "$sha" ]; then
        echo "$kind: copy failed or differs" >&2
        cat "$T/run.out" >&2
        exit 1
    fi
    awk -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" -v k="$TICK" \
        'BEGIN { printf "%.3f %.3f\n", b - a, c / k }'
}

stats() { sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
    printf "median %.3f  min %.3f  max %.3f  (n=%d)", m, v[1], v[NR], NR }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$T/scopy.txt"
: >"$T/getput.txt"
for i in $(seq 1 "$PAIRS"); do
    # Alternate which goes first, so neither always finds the other's cache state.
    if [ $((i % 2)) -eq 1 ]; then order="scopy getput"; else order="getput scopy"; fi
    for kind in $order; do
        r=$(one "$kind") || exit 1
        echo "$r" >>"$T/$kind.txt"
        echo "pair $i $kind: wall ${r% *} s, server cpu ${r#* } s"
    done
done
echo "file: $MIB MiB on $(stat -f -c %T "$T/share"), $PAIRS pairs, $(nproc) cpus, load $(cut -d' ' -f1 /proc/loadavg)"
for kind in scopy getput; do
    echo "$kind wall s:       $(cut -d' ' -f1 "$T/$kind.txt" | stats)"
    echo "$kind server cpu s: $(cut -d' ' -f2 "$T/$kind.txt" | stats)"
done
ws=$(cut -d' ' -f1 "$T/scopy.txt" | median); wg=$(cut -d' ' -f1 "$T/getput.txt" | median)
cs=$(cut -d' ' -f2 "$T/scopy.txt" | median); cg=$(cut -d' ' -f2 "$T/getput.txt" | median)
awk -v ws="$ws" -v wg="$wg" -v cs="$cs" -v cg="$cg" 'BEGIN {
    printf "get+put / scopy: wall %.1fx, server cpu %.1fx (medians)\n", wg / ws, (cs > 0 ? cg / cs : 0) }'
T_PASS=1
finish
