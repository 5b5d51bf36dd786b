#!/usr/bin/env bash
# The control plane can be re-executed and the data plane can die, without taking
# the service down:
#  - an smbclient session kept open (commands through a fifo) survives SIGHUP to
#    smbx-control (which re-executes itself): after it, ls and get on the same TCP
#    connection still work, and the smbx-control pid is unchanged;
#  - a new connection works after the SIGHUP too, and a share added to the config
#    file before the signal is served;
#  - kill -9 of smbx-dataplane (the child of smbx-control): the supervisor starts a
#    new one and a new smbclient connection succeeds within a few seconds.
source "$(dirname "$0")/lib.sh"

smbx_init
smbx_config
smbx_add_user alice
smbx_add_user bob
smbx_start

echo "payload before hup $RANDOM" >"$T/share/before.txt"

# An interactive smbclient reading commands from a fifo.
mkfifo "$T/cmd.fifo"
timeout -k 5 300 stdbuf -oL -eL smbclient //127.0.0.1/share -p "$PORT" --configfile="$T/client.conf" \
    -m SMB3 -U "alice%$ALICE_PASS" <"$T/cmd.fifo" >"$T/session.out" 2>&1 &
SMBC_PID=$!
CLEANUP_PIDS+=("$SMBC_PID")
exec 7>"$T/cmd.fifo"   # keeps the fifo open: smbclient waits for more commands

send() { printf '%s\n' "$*" >&7; }
# wait_for REGEX SECONDS: until the session output matches.
wait_for() {
    local deadline=$((SECONDS + ${2:-20}))
    while [ $SECONDS -lt $deadline ]; do
        grep -Eq -- "$1" "$T/session.out" && return 0
        kill -0 "$SMBC_PID" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}
# The client's TCP connection to the server (its local port), to show it is the same.
client_conn() { ss -Htn state established "( dport = :$PORT )" 2>/dev/null | awk '{ print $3 }' | sort | head -n 1; }

send "ls"
if wait_for 'before\.txt' 20; then pass "open session: first ls works"; else
    fail "open session: first ls"; sed 's/^/    | /' "$T/session.out"; finish; fi
conn_before=$(client_conn)
log "client connection $conn_before"

# --- SIGHUP: smbx-control re-executes itself (and reads the config again: a share
# added to the file before the signal is served after it)
control_pid=$SERVER_PID
dp_before=""
if [ "$SMBX_TEST_SERVER" = smbx ]; then
    dp_before=$(dataplane_pid)
    assert_true "before SIGHUP: smbx-dataplane runs (pid ${dp_before:-none})" test -n "$dp_before"
fi
check_output "before SIGHUP: share 'added' does not exist yet" 'NT_STATUS_BAD_NETWORK_NAME' \
    smbc added -m SMB3 -c ls
smbx_add_share added
echo "in the added share" >"$T/added/added.txt"
kill -HUP "$SERVER_PID"
sleep 2
assert_true "SIGHUP: the server process is still there (same pid $control_pid)" kill -0 "$control_pid"
if [ "$SMBX_TEST_SERVER" = smbx ]; then
    exe=$(readlink "/proc/$control_pid/exe" 2>/dev/null)
    assert_match "SIGHUP: pid $control_pid is still smbx-control" 'smbx-control' "$exe"
    dp_after=$(dataplane_pid)
    assert_eq "SIGHUP: the data plane kept running (same pid)" "$dp_before" "$dp_after"
fi

echo "payload after hup $RANDOM" >"$T/share/after_hup.txt"
send "ls"
if wait_for 'after_hup\.txt' 20; then pass "open session: ls after SIGHUP works"; else
    fail "open session: ls after SIGHUP"; sed 's/^/    | /' "$T/session.out"; fi
send "get before.txt $T/before.back"
if wait_for 'getting file .*before\.txt' 20 && sleep 0.5 && cmp -s "$T/share/before.txt" "$T/before.back"; then
    pass "open session: get after SIGHUP returns the bytes"
else
    fail "open session: get after SIGHUP"; sed 's/^/    | /' "$T/session.out"
fi
assert_eq "open session: still the same TCP connection" "$conn_before" "$(client_conn)"
assert_true "open session: smbclient did not see a disconnect" \
    bash -c "! grep -q 'NT_STATUS_CONNECTION_DISCONNECTED\|NT_STATUS_CONNECTION_RESET\|NT_STATUS_PIPE_BROKEN' '$T/session.out'"
check_output "new connection after SIGHUP works" 'after_hup\.txt' smbc share -m SMB3 -c ls
check_output "after SIGHUP: the share added to the config is served" 'added\.txt' smbc added -m SMB3 -c ls

send "quit"
exec 7>&-
wait "$SMBC_PID" 2>/dev/null
assert_eq "open session: smbclient exited cleanly on quit" 0 "$?"

# --- kill -9 of the data plane: the supervisor restarts it
if [ "$SMBX_TEST_SERVER" = smbx ]; then
    dp=$(dataplane_pid)
    if [ -z "$dp" ]; then
        fail "no smbx-dataplane child of smbx-control $SERVER_PID"
    else
        log "killing smbx-dataplane pid $dp"
        kill -9 "$dp"
        ok=0 t_kill=$SECONDS
        while [ $((SECONDS - t_kill)) -lt 15 ]; do
            if OUT=$(SMBC_TIMEOUT=10 smbc share -m SMB3 -c ls 2>&1) && grep -q 'before\.txt' <<<"$OUT"; then
                ok=1; break
            fi
            sleep 0.5
        done
        if [ "$ok" = 1 ]; then
            pass "after kill -9 of the data plane a new connection works ($((SECONDS - t_kill)) s)"
        else
            fail "after kill -9 of the data plane no connection within 15 s"; show_out
        fi
        new_dp=$(dataplane_pid)
        assert_true "a new smbx-dataplane runs (was $dp, now ${new_dp:-none})" test -n "$new_dp" -a "$new_dp" != "$dp"
        assert_true "smbx-control survived its child's death" kill -0 "$SERVER_PID"
    fi
else
    log "data-plane restart checks skipped against Samba"
fi

finish
