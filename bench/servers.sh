# bench/servers.sh: sourced by bench/compare.sh and bench/callgrind-read.sh.
#
# A private world for benchmarking smbx beside Samba on loopback: a work dir, by default
# on tmpfs (/dev/shm; BENCH_FS_DIR=/var/tmp puts it, and so both shares, on the file
# system there, e.g. ext4 with a disk behind it), with a share dir per server, Samba's smbd on its own config, ports and state
# dirs (never the system smbd or port 445), smbx-control on its own config, one test
# user known to both, every process started here stopped by pid on exit.
#
# Needs: BUILD (smbx build dir), SAMBA_PORT, SMBX_PORT. Sets W, BENCH, BENCH_USER,
# BENCH_PASS, SAMBA_PID, SMBX_PID.

set -uo pipefail

BENCH_USER=${BENCH_USER:-alice}
SAMBA_PID=""
SMBX_PID=""
W=""

say() { printf '%s\n' "$*"; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }
# run CMD...: prints the command (the record of what produced a figure; the test
# password masked) on the script's stderr even when the command's own is redirected,
# then runs it.
exec 3>&2
show_cmd() {
    local line="$*"
    [ -n "${BENCH_PASS:-}" ] && line=${line//"$BENCH_PASS"/***}
    printf '+ %s\n' "$line" >&3
}
run() { show_cmd "$@"; "$@"; }

# need_packages PKG...: apt-get installs what is missing. A package's maintainer scripts
# must not start system services (samba would start smbd on port 445): policy-rc.d
# refuses them for the duration, if no policy is in place already.
need_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing packages ${missing[*]} (run as root to install them)"
    local policy=/usr/sbin/policy-rc.d ours=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
    fi
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive run apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >"${TMPDIR:-/tmp}/bench-apt.$$.log" 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
              "${missing[@]}" >>"${TMPDIR:-/tmp}/bench-apt.$$.log" 2>&1; }
    local rc=$?
    [ "$ours" = 1 ] && rm -f "$policy"
    [ $rc -eq 0 ] || die "apt-get install ${missing[*]} failed (${TMPDIR:-/tmp}/bench-apt.$$.log)"
}

port_in_use() { ss -Htln "( sport = :$1 )" 2>/dev/null | grep -q .; }  # something listens
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Listening, found without connecting (a connection would be a client to some servers).
port_listening() { ss -Htln "( sport = :$1 )" 2>/dev/null | grep -q .; }

# wait_port PORT PID SECONDS: until PORT accepts while PID lives.
wait_port() {
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$2" 2>/dev/null || return 1
        port_open "$1" && return 0
        sleep 0.2
    done
    return 1
}

# tree_pids PID: PID and all its descendants, from one `ps` listing.
tree_pids() {
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { kids[$2] = kids[$2] " " $1 }
        END {
            queue[1] = root; n = 1
            for (i = 1; i <= n; i++) {
                print queue[i]
                m = split(kids[queue[i]], k, " ")
                for (j = 1; j <= m; j++) queue[++n] = k[j]
            }
        }'
}

# tree_cpu_ticks PID: user+sys clock ticks of PID and every descendant, each with its
# reaped children (cutime+cstime: smbd forks a process per connection, and one that has
# ended is counted in its parent's).
tree_cpu_ticks() {
    local total=0 p f
    for p in $(tree_pids "$1"); do
        f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        # Fields after "(comm) ": state is 3, utime 14 .. cstime 17.
        total=$((total + $(awk '{ print $12 + $13 + $14 + $15 }' <<<"${f##*) }")))
    done
    echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)

# Called on exit: stops what was started here, by pid, and removes the work dir.
servers_cleanup() {
    stop_samba
    stop_smbx
    [ -n "$W" ] && [ -d "$W" ] && [ "${KEEP_WORKDIR:-0}" != 1 ] && rm -rf "$W"
}

# servers_init: the work dir, the user's password, the ports checked free.
servers_init() {
    [ -x "$BUILD/smbx-control" ] || die "$BUILD/smbx-control not built (give the build dir)"
    BENCH=${SMBX_BENCH:-$BUILD/bench/smbx-bench}
    [ -x "$BENCH" ] || die "$BENCH not built"
    local p
    for p in "$SAMBA_PORT" "$SMBX_PORT"; do
        port_in_use "$p" && die "port $p is in use (set SAMBA_PORT / SMBX_PORT)"
    done
    W=$(mktemp -d "${BENCH_FS_DIR:-/dev/shm}/smbx-compare.XXXXXX") || die "cannot make a work dir"
    say "work dir $W on $(stat -f -c %T "$W")"
    chmod 755 "$W"
    mkdir -p "$W/share-samba" "$W/share-smbx" "$W/private-samba" "$W/private-smbx" \
        "$W/samba/lock" "$W/samba/state" "$W/samba/cache" "$W/samba/pid" "$W/samba/ncalrpc"
    chmod 777 "$W/share-samba" "$W/share-smbx"
    BENCH_PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 20)Aa1
    trap servers_cleanup EXIT
    trap 'exit 130' INT TERM
}

# samba_setup: its config and the user (a Unix account, as Samba needs, and smbpasswd).
samba_setup() {
    SAMBA_CONF="$W/smb.conf"
    cat >"$SAMBA_CONF" <<EOF
[global]
    server role = standalone server
    interfaces = 127.0.0.1
    bind interfaces only = yes
    smb ports = $SAMBA_PORT
    disable netbios = yes
    passdb backend = tdbsam:$W/private-samba/passdb.tdb
    private dir = $W/private-samba
    lock directory = $W/samba/lock
    state directory = $W/samba/state
    cache directory = $W/samba/cache
    pid directory = $W/samba/pid
    ncalrpc dir = $W/samba/ncalrpc
    log file = $W/samba/log.%m
    log level = 0
    load printers = no
    printing = bsd
    printcap name = /dev/null
    rpc_server:spoolss = disabled
    server min protocol = SMB2_02
    kernel oplocks = no
    kernel share modes = no
    posix locking = no

[bench]
    path = $W/share-samba
    read only = no
EOF
    id "$BENCH_USER" >/dev/null 2>&1 || run useradd -M -s /usr/sbin/nologin "$BENCH_USER"
    printf '%s\n%s\n' "$BENCH_PASS" "$BENCH_PASS" |
        smbpasswd -c "$SAMBA_CONF" -a -s "$BENCH_USER" >"$W/smbpasswd.log" 2>&1 ||
        { cat "$W/smbpasswd.log"; die "smbpasswd -a $BENCH_USER failed"; }
}

# start_samba [WRAPPER...]: smbd in the foreground in its own session (it signals its
# process group when it stops), optionally under a wrapper such as valgrind.
start_samba() {
    local cmd=(setsid "$@" smbd --foreground --no-process-group --debug-stdout -d 0
        --configfile="$SAMBA_CONF")
    show_cmd "${cmd[@]}"
    "${cmd[@]}" >>"$W/smbd.log" 2>&1 3>&- &
    SAMBA_PID=$!
    wait_port "$SAMBA_PORT" "$SAMBA_PID" "${START_TIMEOUT:-60}" ||
        { tail -n 20 "$W/smbd.log"; die "smbd did not listen on 127.0.0.1:$SAMBA_PORT"; }
}

smbx_setup() {
    SMBX_CONF="$W/smbx.conf"
    cat >"$SMBX_CONF" <<EOF
[global]
    interfaces = 127.0.0.1
    smb ports = $SMBX_PORT
    private dir = $W/private-smbx
    log level = 1
${SMBX_GLOBAL_LINES:-}

[bench]
    path = $W/share-smbx
    read only = no
${SMBX_SHARE_LINES:-}
EOF
    printf '%s\n' "$BENCH_PASS" |
        timeout 30 "$BUILD/smbxctl" --config "$SMBX_CONF" user add "$BENCH_USER" \
            >"$W/smbxctl.log" 2>&1 || { cat "$W/smbxctl.log"; die "smbxctl user add failed"; }
}

# start_smbx [DATAPLANE]: smbx-control (and its data plane, optionally another program
# such as a wrapper script that execs the real one).
start_smbx() {
    local dp=()
    [ $# -gt 0 ] && dp=(--dataplane "$1")
    local cmd=("$BUILD/smbx-control" --config "$SMBX_CONF" "${dp[@]}")
    show_cmd "${cmd[@]}"
    "${cmd[@]}" >>"$W/smbx.log" 2>&1 3>&- &
    SMBX_PID=$!
    wait_port "$SMBX_PORT" "$SMBX_PID" "${START_TIMEOUT:-60}" ||
        { tail -n 20 "$W/smbx.log"; die "smbx did not listen on 127.0.0.1:$SMBX_PORT"; }
}

# stop_pid PID: SIGTERM, up to 30 s, then SIGKILL; its descendants get up to 10 s more
# to end by themselves (under valgrind they write their output at exit), then SIGKILL.
stop_pid() {
    local pid=$1 kids i k alive
    [ -n "$pid" ] || return 0
    kids=$(tree_pids "$pid" | tail -n +2)
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    for i in $(seq 1 50); do
        alive=""
        for k in $kids; do
            kill -0 "$k" 2>/dev/null && alive="$alive $k"
        done
        kids=$alive
        [ -z "$kids" ] && break
        sleep 0.2
    done
    for k in $kids; do
        kill -KILL "$k" 2>/dev/null
    done
    return 0
}
stop_samba() { stop_pid "$SAMBA_PID"; SAMBA_PID=""; }
stop_smbx() { stop_pid "$SMBX_PID"; SMBX_PID=""; }

# bench_cmd SERVER ARGS...: smbx-bench against samba or smbx, printed and run.
bench_cmd() {
    local server=$1 port; shift
    port=$([ "$server" = samba ] && echo "$SAMBA_PORT" || echo "$SMBX_PORT")
    SMBX_BENCH_PASSWORD=$BENCH_PASS run "$BENCH" //127.0.0.1/bench -U "$BENCH_USER" \
        --port "$port" "$@"
}

load_now() { awk '{ print $1 }' /proc/loadavg; }

# json_get JSON KEY.PATH: a number from smbx-bench's --json summary.
json_get() {
    python3 -c 'import json,sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."): v = v[k]
print(v)' "$1" "$2"
}
