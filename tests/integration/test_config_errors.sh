#!/usr/bin/env bash
# Configuration diagnostics of smbx-control:
#  - each bad value stops start-up: non-zero exit (quickly, not by our timeout),
#    stderr names the file, the line and the offending key, and nothing listens;
#  - a missing config file is an error naming it;
#  - unknown keys (in [global] and in a share) are warnings with their line
#    numbers, and the server starts and serves anyway.
source "$(dirname "$0")/lib.sh"

[ "$SMBX_TEST_SERVER" = smbx ] || skip_test "smbx-control's own diagnostics"

smbx_init

# bad_value DESC GLOBAL_LINE SHARE_LINE KEY_REGEX: the marked line is the bad one.
bad_value() {
    local desc=$1 gline=$2 sline=$3 key=$4 line rc=0
    smbx_config "$gline" "$sline"
    line=$(grep -n 'BADLINE' "$SMBX_CONF" | head -n 1 | cut -d: -f1)
    sed -i 's/ *# BADLINE$//' "$SMBX_CONF"
    OUT=$(timeout -k 5 20 "$SMBX_BUILD_DIR/smbx-control" --config "$SMBX_CONF" 2>&1 >/dev/null) || rc=$?
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        fail "$desc: smbx-control exit $rc (want a quick non-zero exit)"
        printf '%s\n' "$OUT" | tail -n 5 | sed 's/^/    | /'
        port_open && { fail "$desc: something listens on $PORT"; }
        return
    fi
    pass "$desc: start-up refused (exit $rc)"
    assert_match "$desc: stderr has $SMBX_CONF:$line" "$(sed 's/[.[\*^$]/\\&/g' <<<"$SMBX_CONF"):$line([^0-9]|$)" "$OUT"
    assert_match "$desc: stderr names the key" "$key" "$OUT"
    assert_true "$desc: nothing listens on the port" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null"
}

bad_value "server signing = sometimes" "server signing = sometimes # BADLINE" "" "server signing"
bad_value "smb ports = 99999" "smb ports = 99999 # BADLINE" "" "smb ports"
bad_value "server max protocol = SMB4" "server max protocol = SMB4 # BADLINE" "" "server max protocol"
bad_value "server smb encrypt = maybe" "server smb encrypt = maybe # BADLINE" "" "smb encrypt"
bad_value "workers = 0" "workers = 0 # BADLINE" "" "workers"
bad_value "log level = loud" "log level = loud # BADLINE" "" "log level"
bad_value "interfaces = not-an-ip" "interfaces = 300.1.2.3 # BADLINE" "" "interfaces"
bad_value "read only = perhaps (share)" "" "read only = perhaps # BADLINE" "read only"
bad_value "path = relative/dir (share)" "" "path = relative/dir # BADLINE" "path"
bad_value "smb encrypt = sideways (share)" "" "smb encrypt = sideways # BADLINE" "smb encrypt"
bad_value "line that is not key = value" "this is not a parameter # BADLINE" "" "name = value|expected"

rc=0
OUT=$(timeout -k 5 20 "$SMBX_BUILD_DIR/smbx-control" --config "$T/does-not-exist.conf" 2>&1 >/dev/null) || rc=$?
assert_true "missing config file: non-zero exit (was $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
assert_match "missing config file: stderr names it" 'does-not-exist\.conf' "$OUT"

# --- unknown keys warn with their line, and the server still starts
smbx_config "frobnicate level = 7" "shiny option = yes"
gline=$(grep -n 'frobnicate' "$SMBX_CONF" | cut -d: -f1)
sline=$(grep -n 'shiny option' "$SMBX_CONF" | cut -d: -f1)
smbx_add_user alice
smbx_start
check_output "unknown key: works anyway (smbclient ls)" '^  \. +D ' smbc share -m SMB3 -c ls
sleep 0.3
log_text=$(cat "$SERVER_LOG")
assert_match "unknown global key: warning names line $gline" ":$gline[^0-9].*frobnicate" "$log_text"
assert_match "unknown share key: warning names line $sline" ":$sline[^0-9].*shiny" "$log_text"

finish
