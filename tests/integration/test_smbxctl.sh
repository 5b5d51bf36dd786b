#!/usr/bin/env bash
# smbxctl against a running server:
#  - user add / list / passwd / del round trip, with logins proving each step (the
#    new password works, the old one fails, a deleted user fails);
#  - refusals: duplicate add, del of an unknown user, a bad name, no password;
#  - the user database is mode 0600 (and stays so after changes);
#  - `smbxctl status` lists an open smbclient session (user, client, dialect) and an
#    open file, and not after the client quit; it fails when no server runs.
source "$(dirname "$0")/lib.sh"

[ "$SMBX_TEST_SERVER" = smbx ] || skip_test "smbxctl is smbx's own tool"

smbx_init
smbx_config
smbx_add_user alice
smbx_add_user bob

DB="$T/private/smbx-users"
mode_ok() {
    local f
    [ -f "$DB" ] || return 1
    [ "$(stat -c %a "$DB")" = 600 ] || return 1
    # No other file in the private dir is readable by others either.
    for f in "$T"/private/*; do
        [ -f "$f" ] || continue
        [ $(( 0$(stat -c %a "$f") & 077 )) -eq 0 ] || { echo "$f is $(stat -c %a "$f")"; return 1; }
    done
}

check_fails "status with no server running fails" smbxctl status
check_output "user list shows alice and bob" '^alice$' smbxctl user list
assert_match "user list shows bob" '^bob$' "$OUT"
assert_true "user db $DB is mode 0600" mode_ok

smbx_start

login() { SMBC_TIMEOUT=30 smbc_as "$1" "$2" share -m SMB3 -c ls; }
pw1="first-$(rand_pass)"
pw2="second-$(rand_pass)"

check "user add carol (server running)" bash -c "printf '%s\n' '$pw1' | timeout 30 '$SMBX_BUILD_DIR/smbxctl' --config '$SMBX_CONF' user add carol"
check_output "user list shows carol" '^carol$' smbxctl user list
check_output "carol logs in with the first password" '^  \. +D ' login carol "$pw1"
check "user passwd carol" bash -c "printf '%s\n' '$pw2' | timeout 30 '$SMBX_BUILD_DIR/smbxctl' --config '$SMBX_CONF' user passwd carol"
check_output "carol logs in with the new password" '^  \. +D ' login carol "$pw2"
check_output "carol's old password fails" 'NT_STATUS_LOGON_FAILURE' login carol "$pw1"
assert_true "user db still mode 0600 after changes" mode_ok
check "user del carol" smbxctl user del carol
check_no_output "user list no longer shows carol" '^carol$' smbxctl user list
check_output "deleted carol cannot log in" 'NT_STATUS_LOGON_FAILURE' login carol "$pw2"
check_output "alice still logs in" '^  \. +D ' login alice "$ALICE_PASS"

check_fails "user add of an existing user fails" bash -c "printf 'x\n' | timeout 30 '$SMBX_BUILD_DIR/smbxctl' --config '$SMBX_CONF' user add alice"
check_output "alice's password unchanged by the failed add" '^  \. +D ' login alice "$ALICE_PASS"
check_fails "user del of an unknown user fails" smbxctl user del nosuchuser
check_fails "user add with a bad name fails" bash -c "printf 'x\n' | timeout 30 '$SMBX_BUILD_DIR/smbxctl' --config '$SMBX_CONF' user add 'bad/name'"
check_fails "user add without a password on stdin fails" bash -c "timeout 30 '$SMBX_BUILD_DIR/smbxctl' --config '$SMBX_CONF' user add dave </dev/null"
check_no_output "dave was not created" '^dave$' smbxctl user list

# --- status with an open session and an open file
# The logins above have disconnected; give the server a moment to forget them.
deadline=$((SECONDS + 10))
until OUT=$(smbxctl status 2>&1) && grep -q '^sessions: 0' <<<"$OUT" || [ $SECONDS -ge $deadline ]; do sleep 0.3; done
assert_match "status with no client: 0 sessions" '^sessions: 0' "$OUT"
echo "held open" >"$T/share/held.txt"
mkfifo "$T/cmd.fifo"
timeout -k 5 120 stdbuf -oL -eL smbclient //127.0.0.1/share -p "$PORT" --configfile="$T/client.conf" \
    -m SMB3 -U "alice%$ALICE_PASS" <"$T/cmd.fifo" >"$T/session.out" 2>&1 &
SMBC_PID=$!
CLEANUP_PIDS+=("$SMBC_PID")
exec 7>"$T/cmd.fifo"
printf 'open held.txt\n' >&7
deadline=$((SECONDS + 20))
until grep -q 'fnum\|open file' "$T/session.out" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
sleep 0.5
check_output "status lists one session" '^sessions: 1' smbxctl status
assert_match "status shows alice's session from 127.0.0.1 at 3.1.1" 'alice +127\.0\.0\.1[^ ]* +3\.1\.1' "$OUT"
assert_match "status lists the open file" 'held\.txt' "$OUT"
printf 'quit\n' >&7
exec 7>&-
wait "$SMBC_PID" 2>/dev/null
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ]; do
    OUT=$(smbxctl status 2>&1)
    grep -q '^sessions: 0' <<<"$OUT" && break
    sleep 0.3
done
assert_match "after the client quit: 0 sessions" '^sessions: 0' "$OUT"
assert_match "after the client quit: 0 open files" '^open files: 0' "$OUT"

finish
