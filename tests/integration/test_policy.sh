#!/usr/bin/env bash
# Access policy, enforced by the server:
#  - a share with `smb encrypt = required` refuses clients that cannot encrypt
#    (SMB 2.1: ACCESS_DENIED on tree connect) and refuses unencrypted requests on it
#    (impacket probe), and works encrypted;
#  - `server signing = mandatory` refuses an unsigned TREE_CONNECT (impacket probe;
#    smbclient itself always signs when the server requires it, even with
#    --client-protection=off, so it cannot show the refusal);
#  - `valid users = bob` refuses alice with ACCESS_DENIED and admits bob;
#  - `read only = yes` refuses writes;
#  - global `server smb encrypt = required` refuses SMB 2.1 and works at SMB 3.
source "$(dirname "$0")/lib.sh"

PY=$IMPACKET_PY
PROBE="$LIB_DIR/smb_probe.py"
probe() { timeout -k 5 90 "$PY" "$PROBE" "$1" "$PORT" "$2" "$3" "$4"; }
result_of() { sed -n "s/^RESULT $1 //p" <<<"$OUT" | head -n 1; }

smbx_init
smbx_config "server signing = mandatory"
smbx_add_share enc "smb encrypt = required"
smbx_add_share bobonly "valid users = bob"
smbx_add_share ro "read only = yes"
echo "read-only content" >"$T/ro/existing.txt"
smbx_add_user alice
smbx_add_user bob
smbx_start

smb21=(-m SMB2_10 --option='client max protocol=SMB2_10')
small="$T/small.txt"
echo "policy test $RANDOM" >"$small"

# --- smb encrypt = required on one share
check_output "enc share: SMB 2.1 (cannot encrypt) gets ACCESS_DENIED on tree connect" \
    'tree connect failed: NT_STATUS_ACCESS_DENIED' smbc enc "${smb21[@]}" -c ls
check_output "enc share: SMB3 with --client-protection=encrypt lists" '^  \. +D ' \
    smbc enc -m SMB3 --client-protection=encrypt -c ls
check "enc share: encrypted put" smbc enc -m SMB3 --client-protection=encrypt -c "put $small s.txt"
assert_true "enc share: the file reached the disk" cmp -s "$small" "$T/enc/s.txt"
check "enc share: encrypted get" smbc enc -m SMB3 --client-protection=encrypt -c "get s.txt $T/s.back"
assert_true "enc share: get returns the same bytes" cmp -s "$small" "$T/s.back"
check_output "plain share next to it: SMB 2.1 unencrypted works" '^  \. +D ' smbc share "${smb21[@]}" -c ls

OUT=$(probe unencrypted-on-encrypted-share alice "$ALICE_PASS" enc 2>&1)
echo "$OUT" | grep -E '^(RESULT|INFO)' | sed 's/^/    /'
tc=$(result_of tcon-clear) rc=$(result_of request-clear)
if [ "$tc" = STATUS_ACCESS_DENIED ] || [ "$rc" = STATUS_ACCESS_DENIED ]; then
    pass "enc share: unencrypted request on the tree refused (tcon: $tc, request: ${rc:-none})"
else
    fail "enc share: unencrypted access not refused (tcon: $tc, request: ${rc:-none})"
fi
assert_eq "enc share: the same request encrypted (impacket 3.0) works" OK "$(result_of request-encrypted)"

# --- server signing = mandatory
OUT=$(probe unsigned-tcon alice "$ALICE_PASS" share 2>&1)
echo "$OUT" | grep -E '^(RESULT|INFO)' | sed 's/^/    /'
assert_match "mandatory signing: negotiate says signing required" 'INFO server requires signing: True' "$OUT"
assert_eq "mandatory signing: signed TREE_CONNECT works" OK "$(result_of signed-tcon)"
assert_eq "mandatory signing: unsigned TREE_CONNECT refused" STATUS_ACCESS_DENIED "$(result_of unsigned-tcon)"
check_output "mandatory signing: smbclient --client-protection=off still signs and works" '^  \. +D ' \
    smbc share -m SMB3 --client-protection=off -c ls
check_output "mandatory signing: smbclient SMB 2.0.2 works (signed)" '^  \. +D ' \
    smbc share -m SMB2_02 --option='client max protocol=SMB2_02' -c ls

# --- valid users
check_output "valid users = bob: alice gets ACCESS_DENIED" 'tree connect failed: NT_STATUS_ACCESS_DENIED' \
    smbc bobonly -m SMB3 -c ls
check_output "valid users = bob: bob lists" '^  \. +D ' smbc_as bob "$BOB_PASS" bobonly -m SMB3 -c ls

# --- read only
check_output "read only share: get works" '^getting file' smbc ro -m SMB3 -c "get existing.txt $T/ro.back"
assert_true "read only share: get returns the bytes" cmp -s "$T/ro/existing.txt" "$T/ro.back"
check_output "read only share: put refused" 'NT_STATUS_(ACCESS_DENIED|MEDIA_WRITE_PROTECTED)' \
    smbc ro -m SMB3 -c "put $small new.txt"
assert_true "read only share: nothing written" test ! -e "$T/ro/new.txt"
check_output "read only share: mkdir refused" 'NT_STATUS_(ACCESS_DENIED|MEDIA_WRITE_PROTECTED)' \
    smbc ro -m SMB3 -c "mkdir newdir"
assert_true "read only share: no dir made" test ! -e "$T/ro/newdir"
check_output "read only share: del refused" 'NT_STATUS_(ACCESS_DENIED|MEDIA_WRITE_PROTECTED|CANNOT_DELETE)' \
    smbc ro -m SMB3 -c "del existing.txt"
assert_true "read only share: file still there" test -e "$T/ro/existing.txt"

# --- second server: global encryption required, signing default
smbx_stop
smbx_config "server smb encrypt = required"
smbx_start
check_output "global encrypt required: SMB 2.1 refused with ACCESS_DENIED" 'NT_STATUS_ACCESS_DENIED' \
    smbc share "${smb21[@]}" -c ls
check_output "global encrypt required: SMB3 (encrypting) works" '^  \. +D ' \
    smbc share -m SMB3 --client-protection=encrypt -c ls
OUT=$(probe unsigned-tcon alice "$ALICE_PASS" share 2>&1)
echo "$OUT" | grep -E '^(RESULT|INFO)' | sed 's/^/    /'
assert_match "default signing: negotiate says signing not required" 'INFO server requires signing: False' "$OUT"

smbx_stop
smbx_config
smbx_start
OUT=$(probe unsigned-tcon alice "$ALICE_PASS" share 2>&1)
echo "$OUT" | grep -E '^(RESULT|INFO)' | sed 's/^/    /'
assert_eq "default signing (control): unsigned TREE_CONNECT at 2.1 is accepted" OK "$(result_of unsigned-tcon)"

finish
