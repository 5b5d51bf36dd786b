#!/usr/bin/env bash
# Nothing outside the share can be read or created through it:
#  - symlinks inside the share to /etc, to /etc/passwd, to ../outside/secret.txt and to
#    an outside directory cannot be followed (get/ls through them fail);
#  - `..` in paths fails (smbclient and raw impacket, which sends the name as given);
#  - names that differ only in case reach the same file (put FOO.txt, get foo.txt);
#  - DOS device names (CON, NUL, COM1, nul.txt) are refused;
#  - afterwards, no file outside the share was created and no secret was fetched.
source "$(dirname "$0")/lib.sh"

smbx_init
smbx_config
smbx_add_user alice
smbx_add_user bob
smbx_start

SECRET="outside-secret-$RANDOM$RANDOM"
mkdir -p "$T/outside" "$T/dl"
echo "$SECRET" >"$T/outside/secret.txt"
echo "$SECRET" >"$T/outside.txt"
ln -s /etc "$T/share/etc_link"
ln -s /etc/passwd "$T/share/passwd_link"
ln -s ../outside/secret.txt "$T/share/up_link"
ln -s ../outside.txt "$T/share/up_file_link"
ln -s "$T/outside" "$T/share/dir_link"
mkdir -p "$T/share/sub"
ln -s ../../outside "$T/share/sub/deep_link"
small="$T/small.txt"
echo "case test $RANDOM" >"$small"
before=$(find "$T" -path "$T/share" -prune -o -path "$T/dl" -prune -o -print | grep -v -e '/server.log$' -e '/last.out$' -e '/samba' | sort)

no_secret_in() { ! grep -rqs -- "$SECRET" "$@"; }

# --- symlinks
for spec in "etc_link/passwd" "etc_link/hostname" "passwd_link" "up_link" "up_file_link" \
            "dir_link/secret.txt" "sub/deep_link/secret.txt"; do
    local_name="$T/dl/$(tr '/' '_' <<<"$spec")"
    check_output "symlink: get $spec fails" 'NT_STATUS_' smbc share -m SMB3 -c "get $spec $local_name"
    if [ -s "$local_name" ]; then
        fail "symlink: get $spec produced a non-empty local file"
    else
        pass "symlink: get $spec fetched no data"
    fi
done
check_no_output "symlink: ls etc_link/* shows nothing of /etc" '(passwd|hostname|fstab) ' \
    smbc share -m SMB3 -c 'ls etc_link/*'
check_no_output "symlink: ls dir_link/* shows nothing of the outside dir" 'secret\.txt' \
    smbc share -m SMB3 -c 'ls dir_link/*'
check_output "symlink: cd dir_link fails" 'NT_STATUS_' smbc share -m SMB3 -c 'cd dir_link'
check_output "symlink: put through dir_link fails" 'NT_STATUS_' \
    smbc share -m SMB3 -c "put $small dir_link/planted.txt"
assert_true "symlink: nothing planted outside" test ! -e "$T/outside/planted.txt"
check_output "symlink: put through etc_link fails" 'NT_STATUS_' \
    smbc share -m SMB3 -c "put $small etc_link/smbx_planted.txt"
assert_true "symlink: nothing planted in /etc" test ! -e /etc/smbx_planted.txt

# --- '..' through smbclient (it cleans names itself: "../x" goes out as "\x", so
# these show only that the result stays inside; the raw test below sends '..')
check_output "dotdot: get ../outside.txt fails" 'NT_STATUS_' smbc share -m SMB3 -c "get ../outside.txt $T/dl/dd1"
check_output "dotdot: get sub/../../outside.txt fails" 'NT_STATUS_' \
    smbc share -m SMB3 -c "get sub/../../outside.txt $T/dl/dd2"
smbc share -m SMB3 -c "put $small ../escape.txt" >/dev/null 2>&1
smbc share -m SMB3 -c "mkdir ../escape_dir" >/dev/null 2>&1
assert_true "dotdot: put ../escape.txt created nothing outside" test ! -e "$T/escape.txt"
assert_true "dotdot: mkdir ../escape_dir created nothing outside" test ! -e "$T/escape_dir"
rm -rf "$T/share/escape.txt" "$T/share/escape_dir"

# --- '..' sent raw (impacket does not clean names)
OUT=$(timeout -k 5 90 "$IMPACKET_PY" - "$PORT" alice "$ALICE_PASS" "$small" <<'EOF' 2>&1
import io, sys
from impacket import smb3structs
from impacket.smbconnection import SMBConnection, SessionError
from impacket.nt_errors import ERROR_MESSAGES
port, user, pw, small = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
c = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=port, preferredDialect=smb3structs.SMB2_DIALECT_21, timeout=30)
c.login(user, pw)
def st(e):
    return ERROR_MESSAGES.get(e.getErrorCode(), ("0x%08x" % e.getErrorCode(),))[0]
for name in ["..\\outside.txt", "sub\\..\\..\\outside.txt", "..\\outside\\secret.txt", "sub\\..\\..\\..\\etc\\passwd"]:
    buf = io.BytesIO()
    try:
        c.getFile("share", name, buf.write)
        print("GET %s OK %d bytes: %r" % (name, len(buf.getvalue()), buf.getvalue()[:40]))
    except SessionError as e:
        print("GET %s REFUSED %s" % (name, st(e)))
for name in ["..\\escape_raw.txt", "sub\\..\\..\\escape_raw2.txt", "..\\outside\\escape_raw3.txt"]:
    try:
        c.putFile("share", name, open(small, "rb").read)
        print("PUT %s OK" % name)
    except SessionError as e:
        print("PUT %s REFUSED %s" % (name, st(e)))
for name in ["..\\escape_rawdir"]:
    try:
        c.createDirectory("share", name)
        print("MKDIR %s OK" % name)
    except SessionError as e:
        print("MKDIR %s REFUSED %s" % (name, st(e)))
EOF
)
echo "$OUT" | grep -E '^(GET|PUT|MKDIR)' | sed 's/^/    /'
n_ref=$(grep -cE '^(GET|PUT|MKDIR) .* REFUSED ' <<<"$OUT")
assert_eq "dotdot (raw impacket): all 8 escaping names refused" 8 "$n_ref"
check_no_output "dotdot (raw impacket): no secret in any reply" "$SECRET" echo "$OUT"

# --- case-insensitive names
check "case: put FOO.txt" smbc share -m SMB3 -c "put $small FOO.txt"
check "case: get foo.txt" smbc share -m SMB3 -c "get foo.txt $T/dl/case.back"
assert_true "case: foo.txt has FOO.txt's bytes" cmp -s "$small" "$T/dl/case.back"
check_output "case: allinfo fOo.TxT finds it" 'stream: \[::\$DATA\]' smbc share -m SMB3 -c "allinfo fOo.TxT"
echo "second version" >"$T/dl/small2.txt"
check "case: put Foo.TXT overwrites" smbc share -m SMB3 -c "put $T/dl/small2.txt Foo.TXT"
n=$(find "$T/share" -maxdepth 1 -iname foo.txt | wc -l)
assert_eq "case: still one file on disk" 1 "$n"
assert_true "case: it holds the new bytes" cmp -s "$T/dl/small2.txt" "$(find "$T/share" -maxdepth 1 -iname foo.txt | head -n 1)"
check "case: mkdir MixedDir" smbc share -m SMB3 -c "mkdir MixedDir"
check "case: put into mixeddir/ (other case)" smbc share -m SMB3 -c "put $small mixeddir/inner.txt"
assert_true "case: landed in MixedDir on disk" test -f "$T/share/MixedDir/inner.txt"

# --- DOS device names (smbx refuses them; Samba on Linux does not)
if [ "$SMBX_TEST_SERVER" = smbx ]; then
    for dev in CON NUL COM1 nul.txt LPT1 aux; do
        check_output "device name: put $dev fails" 'NT_STATUS_' smbc share -m SMB3 -c "put $small $dev"
        assert_true "device name: no $dev on disk" test -z "$(find "$T/share" -maxdepth 1 -iname "$dev")"
    done
    check_output "device name: mkdir COM1 fails" 'NT_STATUS_' smbc share -m SMB3 -c "mkdir COM1"
else
    log "device-name checks skipped against Samba (it allows them on Linux)"
fi

# --- nothing outside the share changed or leaked
after=$(find "$T" -path "$T/share" -prune -o -path "$T/dl" -prune -o -print | grep -v -e '/server.log$' -e '/last.out$' -e '/samba' | sort)
assert_eq "no file created outside the share" "$before" "$after"
assert_true "no secret in any fetched file" no_secret_in "$T/dl"
assert_true "no secret copied into the share" no_secret_in "$T/share/sub" "$T/share/MixedDir"
assert_true "/etc untouched" test ! -e /etc/smbx_planted.txt -a ! -e /etc/escape.txt

finish
