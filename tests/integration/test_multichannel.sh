#!/usr/bin/env bash
# Multichannel (MS-SMB2 3.3.5.5): Samba's smbtorture binds further connections to a
# session, on whichever worker each connection landed.
#   smb2.session.bind2: two sessions each bound to a third connection; opens made on
#     one channel are used from another; requests on a connection that is no channel
#     of the session get USER_SESSION_DELETED; the session outlives a channel that
#     disconnects.
#   smb2.session.two_logoff: a LOGOFF, and the second one refused.
#   smb2.multichannel.generic.interface_info: FSCTL_QUERY_NETWORK_INTERFACE_INFO.
#   smb2.multichannel.generic.num_channels: 32 channels bound, the 33rd refused with
#     INSUFFICIENT_RESOURCES.
# Then with `server multi channel support = no`: no CAP_MULTI_CHANNEL (bind2 skips,
# num_channels fails saying so), and nothing was bound.
source "$(dirname "$0")/lib.sh"

command -v smbtorture >/dev/null || skip_test "smbtorture not installed (samba-testsuite)"
[ "$SMBX_TEST_SERVER" = smbx ] || skip_test "smbx only (the log lines checked are smbx's)"

SMBX_LOG_LEVEL=3
smbx_init
smbx_config
smbx_add_user alice
smbx_add_user bob
cat >"$T/client.conf" <<CONF
[global]
    interfaces = 127.0.0.1/8
CONF

# torture TEST: runs one smbtorture test; prints its subunit result word.
torture() {
    timeout 120 smbtorture "//127.0.0.1/share" -p "$PORT" -U "alice%$ALICE_PASS" \
        -s "$T/client.conf" --format=subunit \
        --option=torture:user2name=bob --option=torture:user2password="$BOB_PASS" \
        "$1" >"$T/$1.subunit" 2>&1
    sed -nE 's/^(success|failure|error|skip|xfail): .*/\1/p' "$T/$1.subunit" | tail -n 1
}

expect_result() { # TEST WANT
    local got
    got=$(torture "$1")
    if [ "$got" = "$2" ]; then
        pass "$1: $got"
    else
        fail "$1: ${got:-no result} (want $2)"
        grep -A4 -E '^(failure|error): ' "$T/$1.subunit" | head -n 12
    fi
}

smbx_start
for t in smb2.session.bind2 smb2.session.two_logoff smb2.multichannel.generic.interface_info \
    smb2.multichannel.generic.num_channels; do
    expect_result "$t" success
done
bound=$(grep -c 'bound to session' "$SERVER_LOG")
if [ "$bound" -ge 33 ]; then # bind2: 2, num_channels: 31 (to 32 channels; the 33rd refused)
    pass "the server log shows $bound channel bindings"
else
    fail "the server log shows $bound channel bindings (want >= 33)"
fi
assert_true "the server log shows the 33rd channel of a session (32 channels)" \
    grep -q '(32 channels)' "$SERVER_LOG"
workers=$(grep -oE 'on worker [0-9]+' "$SERVER_LOG" | sort -u | wc -l)
if [ "$workers" -ge 2 ] || ! grep -qE '[2-9][0-9]* worker\(s\)' "$SERVER_LOG"; then
    pass "connections landed on $workers worker(s)"
else
    fail "with several workers, connections landed on $workers"
fi
smbx_stop

smbx_config "server multi channel support = no"
mv "$SERVER_LOG" "$T/server-multichannel.log"
smbx_start
expect_result smb2.session.bind2 skip
# num_channels does not skip: it fails on the missing capability.
expect_result smb2.multichannel.generic.num_channels failure
assert_true "num_channels saw no multichannel capability" \
    grep -q 'Server does not support multichannel' "$T/smb2.multichannel.generic.num_channels.subunit"
if grep -q 'bound to session' "$SERVER_LOG"; then
    fail "a channel was bound with multichannel off"
else
    pass "no channel bound with multichannel off"
fi
finish
