#!/usr/bin/env bash
# bench/leases.sh [BUILD_DIR]: what oplock arbitration costs a CREATE. Every CREATE of a
# file asks smbx-control's arbiter over the control ring and every CLOSE tells it
# (README "Oplocks and leases"); the share key `oplocks = no` skips both. This runs
# smbx-bench --rw create (a CREATE asking for a batch oplock, then a CLOSE) at QD 1 and
# QD 16 against Samba, smbx with `oplocks = yes` and smbx with `oplocks = no`, in
# alternated rounds (PAIRS, default 5; DURATION seconds a run, default 3), and prints per
# figure the median and the range of each and the ratios of the medians.
# Share on tmpfs (/dev/shm) unless BENCH_FS_DIR says otherwise (servers.sh).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-${SMBX_BUILD_DIR:-$HERE/../build}}" 2>/dev/null && pwd) ||
    { echo "leases.sh: no build dir" >&2; exit 1; }
SAMBA_PORT=${SAMBA_PORT:-4455}
SMBX_PORT=${SMBX_PORT:-4456}
DURATION=${DURATION:-3}
PAIRS=${PAIRS:-5}
source "$HERE/servers.sh"

need_packages samba samba-testsuite python3
servers_init
samba_setup
start_samba
declare -A RUNS # RUNS[figure,server] = "ops ops ..."

# one FIGURE SERVER ARGS...: one run, its ops/s appended to RUNS.
one() {
    local fig=$1 server=$2 out; shift 2
    out=$(bench_cmd "$([ "$server" = samba ] && echo samba || echo smbx)" --json \
        --duration "$DURATION" --rw create --oplock batch "$@" 2>"$W/bench.err" | grep '^{') ||
        { say "[$fig / $server] FAILED: $(tail -n 2 "$W/bench.err")"; return 1; }
    local ops
    ops=$(printf '%.0f' "$(json_get "$out" iops)")
    say "[$fig / $server] $ops ops/s, $(json_get "$out" errors) errors, load $(load_now)"
    RUNS[$fig,$server]="${RUNS[$fig,$server]:-} $ops"
}

SMBX_SHARE_LINES="    oplocks = yes" smbx_setup
for round in $(seq 1 "$PAIRS"); do
    say "== round $round"
    for mode in yes no; do
        sed -i "s/^    oplocks = .*/    oplocks = $mode/" "$SMBX_CONF"
        start_smbx
        one qd1 "smbx-oplocks-$mode" --files 1 --iodepth 1
        one qd16 "smbx-oplocks-$mode" --files 100 --iodepth 16
        stop_smbx
    done
    one qd1 samba --files 1 --iodepth 1
    one qd16 samba --files 100 --iodepth 16
done

# median / min / max of a list of numbers
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.0f %.0f %.0f", m, v[1], v[NR] }'; }

say ""
say "| CREATE+CLOSE (batch asked) | Samba | smbx oplocks = no | smbx oplocks = yes | yes/no | yes/Samba |"
say "| --- | ---: | ---: | ---: | ---: | ---: |"
for fig in qd1 qd16; do
    read -r s smin smax <<<"$(stats "${RUNS[$fig,samba]:-}")"
    read -r n nmin nmax <<<"$(stats "${RUNS[$fig,smbx-oplocks-no]:-}")"
    read -r y ymin ymax <<<"$(stats "${RUNS[$fig,smbx-oplocks-yes]:-}")"
    say "| $fig ops/s, median (range) | $s ($smin-$smax) | $n ($nmin-$nmax) | $y ($ymin-$ymax) |" \
        "$(awk -v a="$y" -v b="$n" 'BEGIN { printf "%.2f", b ? a / b : 0 }') |" \
        "$(awk -v a="$y" -v b="$s" 'BEGIN { printf "%.2f", b ? a / b : 0 }') |"
done
