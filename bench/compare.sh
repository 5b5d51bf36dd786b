#!/usr/bin/env bash
# bench/compare.sh [BUILD_DIR]: smbx beside Samba on this machine, over loopback.
#
# Starts Samba's smbd (port $SAMBA_PORT, default 4455) and smbx (port $SMBX_PORT, default
# 4456) on private configs, each sharing a directory on tmpfs (/dev/shm; BENCH_FS_DIR=DIR
# for another file system, e.g. /var/tmp on ext4) as [bench], one
# user for both; then runs in one go, per figure Samba then smbx: a raw loopback TCP
# baseline (iperf3), 1 MiB sequential READ and WRITE, 4 KiB random READ and WRITE at QD 1
# and QD 32, 4 KiB random WRITE at QD 32 with a FLUSH after every 8, CREATE+CLOSE
# (--rw create) at QD 1 and 16, 1 MiB READ with
# AES-128-GCM, with smbx-bench; smbtorture's smb2.bench.echo;
# and a --verify run of ~1,000 mixed random 4 KiB ops at QD 32 against each. Prints every
# command it runs (lines starting "+ ", on stderr), the load average beside each run,
# and a table of each figure for both servers with the ratio smbx/Samba. Server CPU is
# user+sys of the server's processes (children included) from /proc/<pid>/stat.
#
# BUILD_DIR (or SMBX_BUILD_DIR): where smbx-control, smbxctl, smbx-dataplane and
# bench/smbx-bench are (default: build/ beside this script's parent).
# Knobs: DURATION (seconds per run, default 3), SAMBA_PORT, SMBX_PORT, IPERF_PORT
# (default 4457), SMBX_GLOBAL_LINES (extra [global] lines for smbx, e.g. "workers = 2"),
# SMBX_SHARE_LINES (extra lines for smbx's [bench] share, e.g. "direct io = yes"),
# SMBX_DATAPLANE=PATH (another smbx-dataplane binary, e.g. one built from an older commit,
# for a before/after with the same client), KEEP_WORKDIR=1, DPDK=0 (skip the DPDK transport's figures, bench/compare_dpdk.sh, which
# run at the end as root). Installs samba, samba-testsuite, iperf3, gnuplot-nox when missing.
# Exit code: 0, or 1 if a run failed or --verify found a mismatch.

set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-${SMBX_BUILD_DIR:-$HERE/../build}}" 2>/dev/null && pwd) ||
    { echo "compare.sh: no build dir ${1:-${SMBX_BUILD_DIR:-$HERE/../build}}" >&2; exit 1; }
SAMBA_PORT=${SAMBA_PORT:-4455}
SMBX_PORT=${SMBX_PORT:-4456}
IPERF_PORT=${IPERF_PORT:-4457}
DURATION=${DURATION:-3}
source "$HERE/servers.sh"

need_packages samba samba-vfs-modules samba-testsuite iperf3 gnuplot-nox python3
port_in_use "$IPERF_PORT" && die "port $IPERF_PORT is in use (set IPERF_PORT)"
servers_init
samba_setup
smbx_setup
start_samba
start_smbx ${SMBX_DATAPLANE:+"$SMBX_DATAPLANE"}
say "samba: smbd $(smbd -V | awk '{ print $2 }') pid $SAMBA_PID on 127.0.0.1:$SAMBA_PORT," \
    "share $W/share-samba"
say "smbx:  pid $SMBX_PID on 127.0.0.1:$SMBX_PORT, share $W/share-smbx, build $BUILD" \
    "${SMBX_DATAPLANE:+, data plane $SMBX_DATAPLANE}"
say "each run: ${DURATION} s; $(nproc) cores; $(uname -r)"

FAILED=0
declare -A R # R[figure,server] = value


# measure FIGURE SERVER ARGS...: one smbx-bench --json run, with the server's CPU.
# Sets R[FIGURE.mbs|iops|p99|cpu_per_gib,SERVER].
measure() {
    local fig=$1 server=$2 pid out t0 t1 rc=0; shift 2
    pid=$([ "$server" = samba ] && echo "$SAMBA_PID" || echo "$SMBX_PID")
    say "[$fig / $server] load $(load_now)"
    t0=$(tree_cpu_ticks "$pid")
    out=$(bench_cmd "$server" --json --duration "$DURATION" "$@" 2>"$W/bench.err") || rc=$?
    sleep 0.3 # a per-connection smbd ends and is reaped: its CPU lands in its parent's
    t1=$(tree_cpu_ticks "$pid")
    if [ $rc -ne 0 ] || ! grep -q '^{' <<<"$out"; then
        say "    FAILED (exit $rc): $(tail -n 3 "$W/bench.err")"
        FAILED=1
        return 1
    fi
    out=$(grep '^{' <<<"$out")
    local bytes secs cpu errors
    bytes=$(json_get "$out" bytes)
    secs=$(json_get "$out" seconds)
    errors=$(json_get "$out" errors)
    cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
    R[$fig.mbs,$server]=$(json_get "$out" mb_per_s)
    R[$fig.iops,$server]=$(json_get "$out" iops)
    R[$fig.p99,$server]=$(awk -v n="$(json_get "$out" latency_ns.p99)" 'BEGIN { printf "%.1f", n / 1000 }')
    R[$fig.cpu_per_gib,$server]=$(awk -v c="$cpu" -v b="$bytes" \
        'BEGIN { if (b > 0) printf "%.3f", c / (b / 1073741824); else print "n/a" }')
    say "    $(printf '%.0f' "${R[$fig.mbs,$server]}") MB/s, $(printf '%.0f' "${R[$fig.iops,$server]}") IOPS," \
        "p99 ${R[$fig.p99,$server]} us, $secs s, server CPU $cpu s" \
        "(${R[$fig.cpu_per_gib,$server]} s/GiB), $errors errors"
    [ "$errors" = 0 ] || FAILED=1
}

# both FIGURE ARGS...: the same run against Samba, then smbx.
both() {
    local fig=$1; shift
    measure "$fig" samba "$@"
    measure "$fig" smbx "$@"
}

# ------------------------------------------------------------------ the runs

say ""
say "== raw loopback TCP (iperf3, one stream)"
iperf_run() {
    local tag=$1 out
    say "[iperf3 $tag] load $(load_now)"
    run iperf3 -s -1 -B 127.0.0.1 -p "$IPERF_PORT" >"$W/iperf-server.log" 2>&1 &
    local spid=$!
    for _ in $(seq 1 50); do port_listening "$IPERF_PORT" && break; sleep 0.1; done
    out=$(run iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -t "$DURATION" -J)
    wait "$spid" 2>/dev/null
    R[iperf.$tag,tcp]=$(python3 -c 'import json,sys
print("%.0f" % (json.loads(sys.argv[1])["end"]["sum_received"]["bits_per_second"] / 8e6))' \
        "$out" 2>/dev/null) || { say "    iperf3 failed"; R[iperf.$tag,tcp]=""; return; }
    say "    ${R[iperf.$tag,tcp]} MB/s"
}
iperf_run before

# Files: 512 MiB per server, filled once by the first READ run (untimed); later read
# runs use it as it is (--no-fill). Every run is bounded by time only (--io-size 1t;
# sequential runs wrap around the file).
FILE_ARGS=(--size 512m --io-size 1t)
say ""
say "== 1 MiB sequential READ, QD 4"
both read1m --rw read --bs 1m --iodepth 4 "${FILE_ARGS[@]}"
say "== 1 MiB sequential READ, QD 4, encrypted (AES-128-GCM, SMB 3.1.1)"
both read1m_enc --rw read --bs 1m --iodepth 4 "${FILE_ARGS[@]}" --no-fill --encrypt
say "== 4 KiB random READ, QD 1"
both randread_qd1 --rw randread --bs 4k --iodepth 1 "${FILE_ARGS[@]}" --no-fill
say "== 4 KiB random READ, QD 32"
both randread_qd32 --rw randread --bs 4k --iodepth 32 "${FILE_ARGS[@]}" --no-fill
say "== 1 MiB sequential WRITE, QD 4"
both write1m --rw write --bs 1m --iodepth 4 "${FILE_ARGS[@]}"
say "== 4 KiB random WRITE, QD 1"
both randwrite_qd1 --rw randwrite --bs 4k --iodepth 1 "${FILE_ARGS[@]}"
say "== 4 KiB random WRITE, QD 32"
both randwrite_qd32 --rw randwrite --bs 4k --iodepth 32 "${FILE_ARGS[@]}"
say "== CREATE+CLOSE of one file, QD 1 (no oplock or lease)"
both create_qd1 --rw create --files 1 --iodepth 1
say "== CREATE+CLOSE of 100 files in turn, QD 16"
both create_qd16 --rw create --files 100 --iodepth 16
say "== 4 KiB random WRITE, QD 32, a FLUSH after every 8 (a database log's pattern)"
both randwrite_flush --rw randwrite --bs 4k --iodepth 32 "${FILE_ARGS[@]}" --flush-every 8
iperf_run after

# smbtorture smb2.bench.echo: 4 connections sending ECHO for the time limit.
say ""
say "== smbtorture smb2.bench.echo (${DURATION} s)"
torture_echo() {
    local server=$1 port out
    port=$([ "$server" = samba ] && echo "$SAMBA_PORT" || echo "$SMBX_PORT")
    say "[echo / $server] load $(load_now)"
    out=$(run timeout -k 5 $((DURATION + 60)) smbtorture "//127.0.0.1/bench" -p "$port" \
        -U "$BENCH_USER%$BENCH_PASS" --option=torture:timelimit="$DURATION" \
        smb2.bench.echo 2>&1)
    printf '%s\n' "$out" >"$W/echo.$server.log"
    # Progress lines end in \r; the last "num/s=N" is the whole run's echos / time limit.
    R[echo,$server]=$(tr '\r' '\n' <<<"$out" | grep -Eo 'num/s=[0-9]+' | tail -n 1 | cut -d= -f2)
    if [ -z "${R[echo,$server]}" ]; then
        say "    no rate found in smbtorture's output:"
        tail -n 8 <<<"$out" | sed 's/^/    | /'
        FAILED=1
        return
    fi
    say "    ${R[echo,$server]} requests/s"
}
torture_echo samba
torture_echo smbx

# --verify: ~1,000 mixed random 4 KiB ops at QD 32 (4 MiB moved), every byte checked,
# everything written read back.
say ""
say "== smbx-bench --verify, randrw 4 KiB, QD 32, 1,024 ops"
verify_run() {
    local server=$1 out rc=0
    say "[verify / $server] load $(load_now)"
    out=$(bench_cmd "$server" --verify --rw randrw --bs 4k --iodepth 32 --size 4m --io-size 4m \
        --duration 60 2>&1) || rc=$?
    local ops mism
    ops=$(grep -Eo '[0-9]+ ops' <<<"$out" | head -n 1 | awk '{ print $1 }')
    mism=$(grep -Eo '[0-9]+ mismatches' <<<"$out" | awk '{ print $1 }')
    R[verify,$server]="${ops:-0} ops, ${mism:-?} mismatches, exit $rc"
    say "    ${R[verify,$server]}"
    [ $rc -eq 0 ] && [ "${mism:-1}" = 0 ] || FAILED=1
}
verify_run samba
verify_run smbx

# ------------------------------------------------------------------ the table

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a + 0 == 0) print "n/a";
                                      else printf "%.2f", b / a }'
}
row() { # LABEL SAMBA SMBX [NOTE]
    printf '%-44s %12s %12s %8s  %s\n' "$1" "${2:-n/a}" "${3:-n/a}" "$(ratio "${2:-}" "${3:-}")" \
        "${4:-}"
}
g() { echo "${R[$1,$2]:-}"; }
say ""
say "== results (smbx-bench ${DURATION} s runs; load average now $(load_now))"
printf '%-44s %12s %12s %8s\n' "figure" "Samba" "smbx" "smbx/Samba"
row "raw loopback TCP, iperf3 MB/s (before, after)" "$(g iperf.before tcp)" "$(g iperf.after tcp)" \
    "(not a server: the two runs)"
row "1 MiB seq READ QD4 MB/s" "$(g read1m.mbs samba)" "$(g read1m.mbs smbx)"
row "1 MiB seq WRITE QD4 MB/s" "$(g write1m.mbs samba)" "$(g write1m.mbs smbx)"
row "1 MiB READ AES-128-GCM MB/s" "$(g read1m_enc.mbs samba)" "$(g read1m_enc.mbs smbx)"
row "CREATE+CLOSE QD1 ops/s" "$(g create_qd1.iops samba)" "$(g create_qd1.iops smbx)"
row "CREATE+CLOSE QD16, 100 files, ops/s" "$(g create_qd16.iops samba)" "$(g create_qd16.iops smbx)"
row "4 KiB rand WRITE QD32 + FLUSH/8 IOPS" "$(g randwrite_flush.iops samba)" "$(g randwrite_flush.iops smbx)"
row "4 KiB rand READ QD1 IOPS" "$(g randread_qd1.iops samba)" "$(g randread_qd1.iops smbx)"
row "4 KiB rand READ QD1 p99 us" "$(g randread_qd1.p99 samba)" "$(g randread_qd1.p99 smbx)"
row "4 KiB rand READ QD32 IOPS" "$(g randread_qd32.iops samba)" "$(g randread_qd32.iops smbx)"
row "4 KiB rand READ QD32 p99 us" "$(g randread_qd32.p99 samba)" "$(g randread_qd32.p99 smbx)"
row "4 KiB rand WRITE QD1 IOPS" "$(g randwrite_qd1.iops samba)" "$(g randwrite_qd1.iops smbx)"
row "4 KiB rand WRITE QD1 p99 us" "$(g randwrite_qd1.p99 samba)" "$(g randwrite_qd1.p99 smbx)"
row "4 KiB rand WRITE QD32 IOPS" "$(g randwrite_qd32.iops samba)" "$(g randwrite_qd32.iops smbx)"
row "4 KiB rand WRITE QD32 p99 us" "$(g randwrite_qd32.p99 samba)" "$(g randwrite_qd32.p99 smbx)"
row "server CPU s/GiB, 1 MiB READ" "$(g read1m.cpu_per_gib samba)" "$(g read1m.cpu_per_gib smbx)"
row "server CPU s/GiB, 1 MiB WRITE" "$(g write1m.cpu_per_gib samba)" "$(g write1m.cpu_per_gib smbx)"
row "server CPU s/GiB, 1 MiB READ encrypted" "$(g read1m_enc.cpu_per_gib samba)" \
    "$(g read1m_enc.cpu_per_gib smbx)"
row "smb2.bench.echo requests/s" "$(g echo samba)" "$(g echo smbx)"
# The issue's in-run ratios: READ against raw TCP, encrypted against plain READ.
tcp=$(awk -v a="$(g iperf.before tcp)" -v b="$(g iperf.after tcp)" \
    'BEGIN { if (a != "" && b != "") print (a + b) / 2 }')
printf '%-44s %12s %12s\n' "1 MiB READ / raw TCP (mean of the two)" \
    "$(ratio "$tcp" "$(g read1m.mbs samba)")" "$(ratio "$tcp" "$(g read1m.mbs smbx)")"
printf '%-44s %12s %12s\n' "encrypted READ / plain READ" \
    "$(ratio "$(g read1m.mbs samba)" "$(g read1m_enc.mbs samba)")" \
    "$(ratio "$(g read1m.mbs smbx)" "$(g read1m_enc.mbs smbx)")"
printf '%-44s %s | %s\n' "--verify randrw 4k QD32" "$(g verify samba)" "$(g verify smbx)"

# The DPDK transport beside kernel TCP and Samba through a veth pair between network
# namespaces (root only; DPDK=0 skips it), after these servers are stopped.
if [ "${DPDK:-1}" = 1 ] && [ "$(id -u)" -eq 0 ]; then
    stop_samba
    stop_smbx
    say ""
    say "== the DPDK transport: bench/compare_dpdk.sh"
    DURATION=$DURATION SMBX_PORT=$SMBX_PORT IPERF_PORT=$IPERF_PORT \
        bash "$HERE/compare_dpdk.sh" "$BUILD" || FAILED=1
fi
[ "$FAILED" = 0 ] || say "some runs failed (see above)"
exit "$FAILED"
