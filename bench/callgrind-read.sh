#!/usr/bin/env bash
# bench/callgrind-read.sh [BUILD_DIR]: server instructions per 4 KiB READ (or WRITE, with
# RW=write), smbx and Samba.
#
# For each server, two runs, each on a freshly started server under
# `valgrind --tool=callgrind`: one where smbx-bench connects, opens its file and closes
# it with no READ (--ops 0: the baseline), one where it also issues N 4 KiB random READs
# (RW=write: WRITEs) at queue depth QD. (run - baseline) / N is the server's user-space
# instructions (Ir) per READ or WRITE: connection setup, start-up and shut-down cancel out; kernel work (TCP, page
# cache) is not counted by callgrind, on either side.
#
# smbx: smbx-control starts the data plane through a wrapper given with --dataplane,
# which execs the real smbx-dataplane under callgrind (control itself is not counted:
# it authenticates, it does not serve READs). Valgrind 3.19 does not know openat2, which
# smbx opens files with: bench/callgrind/openat2_shim.c (LD_PRELOAD) turns it into
# openat for this run (CREATE only; both runs have it). Samba: smbd under callgrind with
# --trace-children=yes; each process it forks (one per connection) writes its own
# callgrind.out.<pid>, and every file is summed.
#
# Each pair is run REPEAT times (default 3) and the median printed: Samba's figure moves
# from run to run (its background processes and thread pool do time-driven work).
# Knobs: SERVERS ("smbx samba"), RW (read or write, default read), N (default 20000), QD (default 1), SAMBA_PORT (4465), SMBX_PORT (4466),
# START_TIMEOUT (seconds for a server to listen under valgrind, default 120),
# KEEP_WORKDIR=1 to keep the callgrind files (callgrind_annotate them).

set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-${SMBX_BUILD_DIR:-$HERE/../build}}" 2>/dev/null && pwd) ||
    { echo "callgrind-read.sh: no build dir" >&2; exit 1; }
SAMBA_PORT=${SAMBA_PORT:-4465}
SMBX_PORT=${SMBX_PORT:-4466}
N=${N:-20000}
QD=${QD:-1}
RW=${RW:-read}
case $RW in read | write) ;; *) echo "callgrind-read.sh: RW is read or write" >&2; exit 2 ;; esac
REPEAT=${REPEAT:-3}
START_TIMEOUT=${START_TIMEOUT:-120}
source "$HERE/servers.sh"

need_packages valgrind samba samba-vfs-modules gcc libc6-dev
servers_init
SHIM="$W/openat2_shim.so"
run cc -shared -fPIC -O2 -o "$SHIM" "$HERE/callgrind/openat2_shim.c" -ldl ||
    die "cannot build the openat2 shim"
samba_setup
smbx_setup

# The file both read: 64 MiB of random bytes written straight into each share (not
# through a server, so writing it costs no server instructions), readable and writable
# by the test user (smbx-bench opens it read/write).
for d in "$W/share-samba" "$W/share-smbx"; do
    run dd if=/dev/urandom of="$d/smbx-bench.0.dat" bs=1M count=64 status=none
    chmod 666 "$d/smbx-bench.0.dat"
done

# instructions DIR: the sum of every callgrind output's total Ir in DIR (one "totals:"
# line per part; no dumps are asked for, so one part per process).
instructions() {
    cat "$1"/callgrind.out.* 2>/dev/null | awk '/^totals:/ { s += $2 } END { printf "%.0f\n", s }'
}

# per_process DIR: "pid:Ir" for each process, for the record (a Samba process forked
# from another starts with its parent's count, in both runs alike).
per_process() {
    local f
    for f in "$1"/callgrind.out.*; do
        [ -e "$f" ] || continue
        printf '%s:%s ' "${f##*.}" "$(awk '/^totals:/ { print $2; exit }' "$f")"
    done
}

# one_run SERVER OPS TAG: a fresh server under callgrind, one smbx-bench run, the server
# stopped (callgrind writes its files at exit); sets RUN_IR to the instructions counted.
# Not run in a subshell: the server's pid must reach the exit trap.
one_run() {
    local server=$1 ops=$2 dir="$W/cg.$1.$2.$3"
    mkdir -p "$dir"
    local vg=(valgrind --tool=callgrind "--callgrind-out-file=$dir/callgrind.out.%p")
    RUN_IR=0
    say "[$server, $ops ${RW}s] load $(awk '{ print $1 }' /proc/loadavg)"
    if [ "$server" = samba ]; then
        start_samba "${vg[@]}" --trace-children=yes
    else
        local wrapper="$dir/dataplane-under-callgrind.sh"
        printf '#!/bin/sh\nLD_PRELOAD="%s" exec %s "%s" "$@"\n' "$SHIM" "${vg[*]}" \
            "$BUILD/smbx-dataplane" >"$wrapper"
        chmod 755 "$wrapper"
        start_smbx "$wrapper"
    fi
    local rc=0 out
    out=$(bench_cmd "$server" --rw "rand$RW" --bs 4k --iodepth "$QD" --size 64m --io-size 1t --no-fill \
        --ops "$ops" --duration 600 --json 2>&1) || rc=$?
    [ "$server" = samba ] && stop_samba || stop_smbx
    local done_ops
    done_ops=$(grep -Eo '"ops":[0-9]+' <<<"$out" | head -n 1 | cut -d: -f2)
    if [ $rc -ne 0 ] || [ "${done_ops:-x}" != "$ops" ]; then
        say "    smbx-bench failed (exit $rc, ${done_ops:-no} ops): $(tail -n 3 <<<"$out")"
        return 1
    fi
    local f
    for f in "$dir"/callgrind.out.*; do
        grep -q '^totals:' "$f" ||
            { say "    $f has no totals (the process did not end normally)"; return 1; }
    done
    RUN_IR=$(instructions "$dir")
    say "    $RUN_IR instructions; per process (pid:Ir) $(per_process "$dir")"
}

declare -A PER PER_ALL
FAILED=0
for server in ${SERVERS:-smbx samba}; do
    say "== $server: $N 4 KiB ${RW^^}s at QD $QD, and a baseline with none; $REPEAT times"
    figures=()
    for i in $(seq 1 "$REPEAT"); do
        one_run "$server" 0 "$i" || { FAILED=1; continue; }
        base=$RUN_IR
        one_run "$server" "$N" "$i" || { FAILED=1; continue; }
        full=$RUN_IR
        per=$(( (full - base) / N ))
        say "    ($full - $base) / $N = $per instructions per ${RW^^}"
        figures+=("$per")
    done
    if [ ${#figures[@]} -gt 0 ]; then
        PER[$server]=$(printf '%s\n' "${figures[@]}" | sort -n |
            awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
        PER_ALL[$server]="${figures[*]}"
    fi
done

say ""
say "== server instructions per 4 KiB ${RW^^} (callgrind Ir, QD $QD, N $N, median of" \
    "$REPEAT; load now $(awk '{ print $1 }' /proc/loadavg))"
printf '%-10s %14s   (runs: %s)\n' smbx "${PER[smbx]:-n/a}" "${PER_ALL[smbx]:-}" \
    samba "${PER[samba]:-n/a}" "${PER_ALL[samba]:-}"
if [ -n "${PER[smbx]:-}" ] && [ -n "${PER[samba]:-}" ] && [ "${PER[samba]}" -gt 0 ]; then
    printf '%-10s %14s\n' smbx/samba "$(awk -v a="${PER[smbx]}" -v b="${PER[samba]}" \
        'BEGIN { printf "%.3f", a / b }')"
fi
[ "${KEEP_WORKDIR:-0}" = 1 ] && say "callgrind files kept in $W/cg.*"
exit "$FAILED"
