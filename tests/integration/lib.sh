# tests/integration/lib.sh: sourced by every tests/integration/test_*.sh.
#
# Gives a test a private world: a temp dir with a share dir, a private dir and a
# config; a free TCP port on 127.0.0.1; users made with smbxctl; smbx-control
# running in the background (logging to the temp dir), stopped by pid on exit.
# And small assertion helpers that count passes and failures; `finish` prints
# `N passed, N failed` and exits non-zero if anything failed.
#
# Environment:
#   SMBX_BUILD_DIR    where smbx-control, smbxctl, smbx-dataplane are (default:
#                     $SMBX_SOURCE_DIR/build)
#   SMBX_SOURCE_DIR   the source tree (default: two levels above this file)
#   SMBX_TEST_SERVER  smbx (default) or samba: run the same test against Samba's
#                     smbd (for validating a test; needs the samba package and
#                     root, creates unix users alice/bob). Tests that exercise
#                     smbx-only parts (smbxctl, the supervisor) skip under samba.
#   SMBX_KEEP_TMP=1   keep the temp dir (it is also kept when a check failed)
#   SMBX_LOG_LEVEL    `log level` written into the config (default 2)
#   SMBX_START_TIMEOUT seconds to wait for the port to accept (default 30)
#
# Usage:
#   source "$(dirname "$0")/lib.sh"
#   smbx_init                              # temp dir, port, traps
#   smbx_config "server signing = mandatory" "smb encrypt = required"
#   smbx_add_share other "read only = yes" # optional extra shares
#   smbx_add_user alice; smbx_add_user bob # passwords in $ALICE_PASS, $BOB_PASS
#   smbx_start
#   check "ls works" smbc share -c ls
#   finish

set -uo pipefail

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SMBX_SOURCE_DIR=${SMBX_SOURCE_DIR:-$(cd "$LIB_DIR/../.." && pwd)}
SMBX_BUILD_DIR=${SMBX_BUILD_DIR:-$SMBX_SOURCE_DIR/build}
SMBX_TEST_SERVER=${SMBX_TEST_SERVER:-smbx}
TEST_NAME=$(basename "$0" .sh)

T_PASS=0
T_FAIL=0
T=""            # the test's temp dir
PORT=""         # the server's TCP port
SMBX_CONF=""    # the config file
SERVER_PID=""   # smbx-control (or smbd) pid
SERVER_LOG=""
CLEANUP_PIDS=() # other background processes to end on exit
OUT=""          # output of the last smbc/check command

log() { printf '[%s] %s\n' "$TEST_NAME" "$*"; }

# ---------------------------------------------------------------- assertions

pass() { T_PASS=$((T_PASS + 1)); printf 'PASS: %s\n' "$*"; }
fail() { T_FAIL=$((T_FAIL + 1)); printf 'FAIL: %s\n' "$*"; }

# check DESC CMD...: passes if CMD exits 0. Output goes to $OUT (and $T/last.out).
check() {
    local desc=$1 rc=0; shift
    OUT=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ]; then pass "$desc"; return 0; fi
    fail "$desc (exit $rc)"; show_out; return 1
}

# check_fails DESC CMD...: passes if CMD exits non-zero.
check_fails() {
    local desc=$1; shift
    if OUT=$("$@" 2>&1); then fail "$desc (unexpectedly succeeded)"; show_out; return 1; fi
    pass "$desc"; return 0
}

# check_output DESC REGEX CMD...: passes if CMD's output (stdout+stderr) matches the
# extended regex, whatever its exit code.
check_output() {
    local desc=$1 re=$2; shift 2
    OUT=$("$@" 2>&1)
    if grep -Eq -- "$re" <<<"$OUT"; then pass "$desc"; return 0; fi
    fail "$desc (output does not match /$re/)"; show_out; return 1
}

# check_no_output DESC REGEX CMD...: passes if CMD's output does NOT match.
check_no_output() {
    local desc=$1 re=$2; shift 2
    OUT=$("$@" 2>&1)
    if grep -Eq -- "$re" <<<"$OUT"; then fail "$desc (output matches /$re/)"; show_out; return 1; fi
    pass "$desc"; return 0
}

# assert_eq DESC EXPECTED ACTUAL
assert_eq() {
    if [ "$2" == "$3" ]; then pass "$1"; return 0; fi
    fail "$1 (expected '$2', got '$3')"; return 1
}

# assert_match DESC REGEX STRING
assert_match() {
    if grep -Eq -- "$2" <<<"$3"; then pass "$1"; return 0; fi
    fail "$1 (/$2/ not found in: $(head -c 600 <<<"$3"))"; return 1
}

# assert_true DESC CMD...: like check, without capturing output (for test/[ ]).
assert_true() {
    local desc=$1; shift
    if "$@"; then pass "$desc"; return 0; fi
    fail "$desc"; return 1
}

show_out() {
    [ -n "$T" ] && [ -d "$T" ] && printf '%s\n' "$OUT" >"$T/last.out"
    printf '%s\n' "$OUT" | tail -n 15 | sed 's/^/    | /'
}

# finish: print the totals, exit non-zero if anything failed (or nothing was checked).
finish() {
    check_server_log
    echo "$T_PASS passed, $T_FAIL failed"
    if [ "$T_FAIL" -gt 0 ] || [ "$T_PASS" -eq 0 ]; then exit 1; fi
    exit 0
}

# skip_test REASON: for tests that cannot run here or in this mode (samba validation).
# Exit 77 is ctest's SKIP_RETURN_CODE (tests/CMakeLists.txt): counted as skipped, never
# as passed.
skip_test() {
    echo "SKIP: $*"
    echo "0 passed, 0 failed, 1 skipped"
    exit 77
}

# --------------------------------------------------------------- environment

# A free port: random in 20000-59999, not listening, not used by any socket.
pick_port() {
    local p i
    for i in $(seq 1 200); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if ! ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null | grep -q .; then
            echo "$p"; return 0
        fi
    done
    echo "no free port found" >&2; return 1
}

# 20 alphanumerics and "Aa1", on one line: base64's newline must not get in (with five
# or more of its 24 characters dropped as / + =, `head -c 20` took the newline, and the
# password became two lines of which smbxctl kept the first: a rare LOGON_FAILURE).
rand_pass() { head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 20; echo "Aa1"; }

smbx_init() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/smbx-it.$TEST_NAME.XXXXXX")
    chmod 755 "$T"
    mkdir -p "$T/share" "$T/private"
    chmod 777 "$T/share"
    PORT=$(pick_port) || exit 1
    SERVER_LOG="$T/server.log"
    cat >"$T/client.conf" <<EOF
[global]
    interfaces = 127.0.0.1/8
    client min protocol = SMB2_02
    client max protocol = SMB3_11
EOF
    trap on_exit EXIT
    trap 'exit 130' INT TERM
    log "temp dir $T, port $PORT, server $SMBX_TEST_SERVER"
    if [ "$SMBX_TEST_SERVER" = smbx ]; then
        local b
        for b in smbx-control smbxctl smbx-dataplane; do
            [ -x "$SMBX_BUILD_DIR/$b" ] || { fail "$SMBX_BUILD_DIR/$b not built"; finish; }
        done
    fi
}

on_exit() {
    local rc=$?
    local p
    for p in "${CLEANUP_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    smbx_stop
    for p in "${CLEANUP_PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null
    done
    if [ -n "$T" ] && [ -d "$T" ]; then
        if [ "$T_FAIL" -gt 0 ] || [ "$rc" -ne 0 ]; then
            if [ -f "$SERVER_LOG" ]; then
                echo "---- last 60 lines of $SERVER_LOG ----"
                tail -n 60 "$SERVER_LOG"
                echo "----"
            fi
        fi
        # Big files never stay behind; logs stay when something failed.
        find "$T" -type f -size +10M -delete 2>/dev/null
        if [ "${SMBX_KEEP_TMP:-0}" = 1 ] || [ "$T_FAIL" -gt 0 ] || [ "$rc" -ne 0 ]; then
            echo "kept $T"
        else
            rm -rf "$T"
        fi
    fi
}

# smbx_config [GLOBAL_LINES] [SHARE_LINES]: write $SMBX_CONF with [global] and
# [share] (path $T/share, writable). Each argument is newline-separated lines.
smbx_config() {
    local global=${1:-} share=${2:-}
    SMBX_CONF="$T/smbx.conf"
    {
        echo "[global]"
        echo "    interfaces = 127.0.0.1"
        echo "    smb ports = $PORT"
        echo "    private dir = $T/private"
        echo "    log level = ${SMBX_LOG_LEVEL:-2}"
        [ -n "$global" ] && sed 's/^[[:space:]]*/    /' <<<"$global"
        # The data-plane variant this run of the suite uses (tests/CMakeLists.txt:
        # workers = 1 or 2, idle policy = adaptive or poll).
        [ -n "${SMBX_TEST_GLOBAL:-}" ] && sed 's/^[[:space:]]*/    /' <<<"$SMBX_TEST_GLOBAL"
        echo
        echo "[share]"
        echo "    path = $T/share"
        echo "    read only = no"
        echo "    comment = smbx integration test share"
        [ -n "$share" ] && sed 's/^[[:space:]]*/    /' <<<"$share"
    } >"$SMBX_CONF"
}

# smbx_add_share NAME [LINES]: another share with its own dir $T/NAME.
smbx_add_share() {
    local name=$1 lines=${2:-}
    mkdir -p "$T/$name"
    chmod 777 "$T/$name"
    {
        echo
        echo "[$name]"
        echo "    path = $T/$name"
        echo "    read only = no"
        [ -n "$lines" ] && sed 's/^[[:space:]]*/    /' <<<"$lines"
    } >>"$SMBX_CONF"
    # A running smbd reads its own copy (on SIGHUP).
    if [ "$SMBX_TEST_SERVER" = samba ] && [ -n "$SERVER_PID" ]; then
        samba_conf_from_smbx >/dev/null
    fi
}

smbxctl() { timeout 30 "$SMBX_BUILD_DIR/smbxctl" --config "$SMBX_CONF" "$@"; }

# smbx_add_user NAME [PASSWORD]: creates the user; the password lands in
# ${NAME^^}_PASS (ALICE_PASS, BOB_PASS).
smbx_add_user() {
    local name=$1 pw=${2:-$(rand_pass)}
    local var="${name^^}_PASS"
    printf -v "$var" '%s' "$pw"
    if [ "$SMBX_TEST_SERVER" = samba ]; then
        samba_add_user "$name" "$pw"
        return
    fi
    if ! printf '%s\n' "$pw" | smbxctl user add "$name" >"$T/useradd.$name.log" 2>&1; then
        fail "smbxctl user add $name"
        cat "$T/useradd.$name.log"
        finish
    fi
}

# ------------------------------------------------------------------- server

server_alive() { [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# wait_port SECONDS: until the port accepts a connection (and the server lives).
wait_port() {
    local deadline=$((SECONDS + ${1:-30}))
    while [ $SECONDS -lt $deadline ]; do
        server_alive || return 1
        port_open && return 0
        sleep 0.2
    done
    return 1
}

smbx_start() {
    : >>"$SERVER_LOG"
    if [ "$SMBX_TEST_SERVER" = samba ]; then
        samba_start
    else
        "$SMBX_BUILD_DIR/smbx-control" --config "$SMBX_CONF" >>"$SERVER_LOG" 2>&1 &
        SERVER_PID=$!
    fi
    if wait_port "${SMBX_START_TIMEOUT:-30}"; then
        log "server pid $SERVER_PID listening on 127.0.0.1:$PORT"
        return 0
    fi
    fail "server did not start listening on 127.0.0.1:$PORT"
    finish
}

# All descendants of a pid (children first found, deepest last).
descendants() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}

# The smbx-dataplane child of smbx-control.
dataplane_pid() {
    local c
    for c in $(pgrep -P "$SERVER_PID" 2>/dev/null); do
        if [ "$(cat /proc/"$c"/comm 2>/dev/null)" = smbx-dataplane ] ||
           grep -q smbx-dataplane /proc/"$c"/cmdline 2>/dev/null; then
            echo "$c"; return 0
        fi
    done
    return 1
}

# smbx_stop: SIGTERM, wait up to 15 s, then SIGKILL; also ends leftover children.
smbx_stop() {
    [ -n "$SERVER_PID" ] || return 0
    local kids p i
    kids=$(descendants "$SERVER_PID")
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        for i in $(seq 1 75); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server pid $SERVER_PID ignored SIGTERM for 15 s; SIGKILL" >>"$SERVER_LOG"
            kill -KILL "$SERVER_PID" 2>/dev/null
        fi
    fi
    wait "$SERVER_PID" 2>/dev/null
    SERVER_EXIT=$?
    for p in $kids; do
        if kill -0 "$p" 2>/dev/null; then
            # Only our own children: a pid reused by someone else would not be ours.
            echo "leftover child $p after stop; SIGKILL" >>"$SERVER_LOG"
            kill -KILL "$p" 2>/dev/null
        fi
    done
    SERVER_PID=""
}

# Sanitizer reports in the server log fail the test (ASan/UBSan/LSan builds).
check_server_log() {
    [ -n "$SERVER_LOG" ] && [ -f "$SERVER_LOG" ] || return 0
    if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)' "$SERVER_LOG"; then
        fail "sanitizer report in the server log"
        grep -E -A 25 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$SERVER_LOG" | head -n 80
    fi
}

# ------------------------------------------------------------------- clients

# smbc SHARE [smbclient args...]: smbclient as alice against //127.0.0.1/SHARE,
# bounded by $SMBC_TIMEOUT (default 300 s). Set SMBC_USER/SMBC_PASS to change user.
smbc() {
    local share=$1; shift
    timeout -k 5 "${SMBC_TIMEOUT:-300}" smbclient "//127.0.0.1/$share" -p "$PORT" \
        --configfile="$T/client.conf" \
        -U "${SMBC_USER:-alice}%${SMBC_PASS:-$ALICE_PASS}" "$@"
}

# smbc_as USER PASS SHARE [args...]
smbc_as() {
    local u=$1 p=$2; shift 2
    SMBC_USER=$u SMBC_PASS=$p smbc "$@"
}

IMPACKET_PY=/usr/bin/python3

# ------------------------------------------------- samba (validation only)

samba_conf_from_smbx() {
    local conf="$T/samba.conf"
    mkdir -p "$T/samba/lock" "$T/samba/state" "$T/samba/cache" "$T/samba/pid" "$T/samba/ncalrpc"
    awk -v T="$T" '
        /^\[global\]/ {
            print
            print "    server role = standalone server"
            print "    bind interfaces only = yes"
            print "    disable netbios = yes"
            print "    passdb backend = tdbsam:" T "/private/passdb.tdb"
            print "    lock directory = " T "/samba/lock"
            print "    state directory = " T "/samba/state"
            print "    cache directory = " T "/samba/cache"
            print "    pid directory = " T "/samba/pid"
            print "    ncalrpc dir = " T "/samba/ncalrpc"
            print "    log file = " T "/samba/log.%m"
            print "    load printers = no"
            print "    printing = bsd"
            print "    printcap name = /dev/null"
            print "    kernel oplocks = no"
            print "    kernel share modes = no"
            print "    posix locking = no"
            print "    server min protocol = SMB2_02"
            print "    smbd:backgroundqueue = no"
            print "    rpc_server:spoolss = disabled"
            print "    ea support = yes"
            print "    store dos attributes = yes"
            print "    vfs objects = acl_xattr streams_xattr"
            print "    wide links = no"
            print "    unix extensions = no"
            next
        }
        /^[[:space:]]*workers[[:space:]]*=/ { next }
        { print }
    ' "$SMBX_CONF" >"$conf"
    echo "$conf"
}

samba_add_user() {
    local name=$1 pw=$2
    id "$name" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$name"
    local conf
    conf=$(samba_conf_from_smbx)
    printf '%s\n%s\n' "$pw" "$pw" | pdbedit -s "$conf" -a -t -u "$name" >/dev/null 2>"$T/pdbedit.log" ||
        { cat "$T/pdbedit.log"; fail "pdbedit -a $name"; finish; }
}

samba_start() {
    local conf
    conf=$(samba_conf_from_smbx)
    # Its own session: smbd signals its whole process group when it stops.
    setsid smbd --foreground --no-process-group --debug-stdout -d "${SMBX_LOG_LEVEL:-1}" \
        --configfile="$conf" >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
}
