#!/usr/bin/env bash
# tests/rdma-lab/vmrun.sh: runs one command as root inside the lab VM (setup.sh first).
#
#   vmrun.sh [-t SECONDS] [-w DIR]... [-e NAME=VALUE]... [-m MIB] [-c CPUS] [-k] [--] COMMAND [ARG]...
#
# Boots Debian's kernel in QEMU, with the host's root as the guest's (read-only, under a
# tmpfs overlay: guest/), two Soft-RoCE devices (rxe0 on 10.99.0.1, rxe1 on 10.99.0.2),
# runs COMMAND ARG... like ssh does (joined by spaces, run by bash) in the current
# directory, streams its output, powers off. Exits with the command's exit code;
# 124 if the time limit ran out, 125 if the VM failed (boot failure, guest kernel
# panic or oops: the guest panics on an oops and QEMU exits instead of hanging).
#
#   -t SECONDS  limit for the whole run, boot included (default 600)
#   -w DIR      share DIR read-write at the same path: how results reach the host
#               (every other write in the guest is lost at power-off); repeatable
#   -e NAME=VALUE  export to the command; repeatable
#   -m MIB      guest memory (default 2048)   -c CPUS  guest CPUs (default 2)
#   -k          keep the run dir (console log, output) even when the command passed
# Environment: SMBX_RDMA_LAB (lab dir, default /var/tmp/smbx-rdma-lab),
# SMBX_RDMA_ACCEL=tcg|kvm (default tcg: it runs everywhere; KVM needs a /dev/kvm
# that can run a stock kernel, which nested PVM hosts cannot).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=${SMBX_RDMA_LAB:-/var/tmp/smbx-rdma-lab}
usage() { sed -n '4p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }

timeout_s=600 mem=2048 cpus=2 keep=0
rw_dirs=() env_words=()
while getopts 't:w:e:m:c:kh' o; do
    case $o in
    t) timeout_s=$OPTARG ;;
    w) rw_dirs+=("$(readlink -f "$OPTARG")") ;;
    e) env_words+=("$OPTARG") ;;
    m) mem=$OPTARG ;;
    c) cpus=$OPTARG ;;
    k) keep=1 ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
for d in "${rw_dirs[@]}"; do [ -d "$d" ] || { echo "vmrun: -w $d: not a directory" >&2; exit 2; }; done

[ -f "$LAB/lab.env" ] || { echo "vmrun: no lab in $LAB: run $HERE/setup.sh first" >&2; exit 2; }
# shellcheck source=/dev/null
source "$LAB/lab.env" # KVER, KROOT
guest_init=$HERE/guest/init.sh
# The kernel command line splits on spaces.
case $guest_init in *[[:space:]]*) echo "vmrun: $guest_init: the lab's path must not contain spaces" >&2; exit 2 ;; esac

mkdir -p "$LAB/runs"
run=$(mktemp -d "$LAB/runs/run.XXXXXX")
chmod 755 "$run"
printf '%s\n' "$*" >"$run/cmd"
{
    printf 'LAB_KROOT=%q\nLAB_KVER=%q\nRUN_CWD=%q\nRUN_TIMEOUT=%q\n' "$KROOT" "$KVER" "$PWD" "$timeout_s"
    echo "RUN_RW=(${rw_dirs[*]@Q})"
    echo "RUN_ENV=(${env_words[*]@Q})"
} >"$run/env"

# multidevs=remap: the host's root spans several file systems; without it inode
# numbers could collide in the guest.
shares=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
    -virtfs "local,path=$run,mount_tag=smbxrun,security_model=none,multidevs=remap")
i=0
for d in "${rw_dirs[@]}"; do
    shares+=(-virtfs "local,path=$d,mount_tag=rw$i,security_model=none,multidevs=remap")
    i=$((i + 1))
done
case ${SMBX_RDMA_ACCEL:-tcg} in
kvm) accel=(-accel kvm -cpu host) ;;
# -cpu max under TCG: AVX2 and the other extensions the host's binaries may use.
*) accel=(-accel "tcg,thread=multi" -cpu max) ;;
esac

t0=$SECONDS
# --foreground: timeout would otherwise put QEMU in a process group of its own, where
# a caller's timeout (deploy/run-tests.sh's stage budget) could not reach it.
# oops=panic panic=-1: a guest kernel bug ends the VM at once (no hang until the limit).
timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 "${accel[@]}" -smp "$cpus" -m "$mem" \
    -nodefaults -display none -no-reboot -nic none \
    -serial "file:$run/console.log" \
    -kernel "$KROOT/boot/vmlinuz-$KVER" -initrd "$LAB/initramfs.img" \
    -append "console=ttyS0 quiet oops=panic panic=-1 smbxlab.init=$guest_init" \
    "${shares[@]}" </dev/null &
qemu=$!
# Interrupted (Ctrl-C, a caller's time limit): the VM goes with us.
trap 'kill -TERM "$qemu" 2>/dev/null; echo "vmrun: interrupted; run dir $run" >&2; exit 130' INT
trap 'kill -TERM "$qemu" 2>/dev/null; echo "vmrun: terminated; run dir $run" >&2; exit 143' TERM HUP
# The guest writes the output through 9p as it goes: show it live.
tail -n +1 -F --pid="$qemu" "$run/out" 2>/dev/null &
tailer=$!
wait "$qemu"
qrc=$?
wait "$tailer" 2>/dev/null

if [ -f "$run/rc" ]; then
    rc=$(cat "$run/rc")
elif [ "$qrc" = 124 ]; then
    rc=124
    echo "vmrun: the VM hit the ${timeout_s} s limit; console tail:" >&2
    tail -n 20 "$run/console.log" >&2
else
    rc=125
    echo "vmrun: the VM ended without the command's exit code (qemu exit $qrc); console tail:" >&2
    tail -n 40 "$run/console.log" >&2
fi
echo "vmrun: exit $rc after $((SECONDS - t0)) s, command started $(cat "$run/boot" 2>/dev/null || echo '?') s after boot" >&2
# 77 is a skip (the tests' convention): nothing to look into.
if [ "$keep" = 1 ] || { [ "$rc" != 0 ] && [ "$rc" != 77 ]; }; then
    echo "vmrun: run dir kept: $run" >&2
else
    rm -rf "$run"
fi
exit "$rc"
