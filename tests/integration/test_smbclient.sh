#!/usr/bin/env bash
# smbclient against smbx over loopback: every dialect from 2.0.2 to 3.1.1; ls, mkdir,
# put/get of a large random file (256 MiB, sha256 compared, also on the server's
# disk), rename, del, rmdir, allinfo; plain, signed and encrypted sessions; share
# listing through srvsvc; wrong password and unknown share refused with the right
# status.
source "$(dirname "$0")/lib.sh"

BIG_MIB=${SMBX_BIG_MIB:-256}

smbx_init
smbx_config
smbx_add_user alice
smbx_add_user bob
smbx_start

big="$T/big.bin"
head -c $((BIG_MIB * 1024 * 1024)) /dev/urandom >"$big"
big_sha=$(sha256sum "$big" | cut -d' ' -f1)
big_size=$(stat -c %s "$big")
small="$T/small.txt"
printf 'hello from smbx integration test %s\n' "$RANDOM" >"$small"
small_sha=$(sha256sum "$small" | cut -d' ' -f1)

# No NT_STATUS error anywhere in the output, and exit 0.
smbc_ok() {
    local rc=0
    OUT=$(smbc "$@" 2>&1) || rc=$?
    [ "$rc" -eq 0 ] && ! grep -q 'NT_STATUS_' <<<"$OUT"
}
check_ok() { local d=$1; shift; if smbc_ok "$@"; then pass "$d"; else fail "$d"; show_out; fi; }

# One round of file operations. $1 label, rest: smbclient options for the session.
file_round() {
    local label=$1; shift
    local opts=("$@") dir="d_$label" got="$T/got.$label.bin" t0 t1

    check_ok "[$label] ls of the empty share root" share "${opts[@]}" -c 'ls'
    check_ok "[$label] mkdir $dir" share "${opts[@]}" -c "mkdir $dir"
    assert_true "[$label] $dir exists on the server's disk" test -d "$T/share/$dir"
    check_output "[$label] ls shows $dir as a directory" "^  $dir +D " smbc share "${opts[@]}" -c 'ls'

    t0=$(date +%s.%N)
    check_ok "[$label] put ${BIG_MIB} MiB file" share "${opts[@]}" -c "put $big $dir/big.bin"
    t1=$(date +%s.%N)
    log "[$label] put ${BIG_MIB} MiB in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"
    if [ -f "$T/share/$dir/big.bin" ]; then
        assert_eq "[$label] file on the server's disk has the same sha256" \
            "$big_sha" "$(sha256sum "$T/share/$dir/big.bin" | cut -d' ' -f1)"
    else
        fail "[$label] put left no file at $T/share/$dir/big.bin"
    fi

    t0=$(date +%s.%N)
    check_ok "[$label] get ${BIG_MIB} MiB file" share "${opts[@]}" -c "get $dir/big.bin $got"
    t1=$(date +%s.%N)
    log "[$label] get ${BIG_MIB} MiB in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"
    if [ -f "$got" ]; then
        assert_eq "[$label] fetched file has the same sha256" "$big_sha" "$(sha256sum "$got" | cut -d' ' -f1)"
    else
        fail "[$label] get produced no local file"
    fi
    rm -f "$got"

    check_output "[$label] ls lists big.bin with its size" "^  big\.bin +A? *$big_size " \
        smbc share "${opts[@]}" -c "ls $dir/*"
    check_output "[$label] allinfo reports the stream size" "stream: \[::\\\$DATA\], $big_size bytes" \
        smbc share "${opts[@]}" -c "allinfo $dir/big.bin"
    assert_match "[$label] allinfo reports write_time" "write_time: +[A-Z][a-z]{2} " "$OUT"
    assert_match "[$label] allinfo reports attributes" "attributes: .*\(" "$OUT"

    check_ok "[$label] rename big.bin -> renamed.bin" share "${opts[@]}" -c "rename $dir/big.bin $dir/renamed.bin"
    assert_true "[$label] rename moved the file on disk" \
        test -f "$T/share/$dir/renamed.bin" -a ! -e "$T/share/$dir/big.bin"
    check_output "[$label] get of the old name fails with OBJECT_NAME_NOT_FOUND" \
        'NT_STATUS_OBJECT_NAME_NOT_FOUND' smbc share "${opts[@]}" -c "get $dir/big.bin $T/nothing"
    rm -f "$T/nothing"

    check_output "[$label] rmdir of a non-empty dir fails with DIRECTORY_NOT_EMPTY" \
        'NT_STATUS_DIRECTORY_NOT_EMPTY' smbc share "${opts[@]}" -c "rmdir $dir"
    check_ok "[$label] del renamed.bin" share "${opts[@]}" -c "del $dir/renamed.bin"
    assert_true "[$label] del removed the file on disk" test ! -e "$T/share/$dir/renamed.bin"
    check_ok "[$label] rmdir $dir" share "${opts[@]}" -c "rmdir $dir"
    assert_true "[$label] rmdir removed the dir on disk" test ! -e "$T/share/$dir"
    check_no_output "[$label] ls no longer shows $dir" "^  $dir " smbc share "${opts[@]}" -c 'ls'
}

file_round plain   -m SMB3
file_round encrypt -m SMB3 --client-protection=encrypt
file_round sign    -m SMB3 --client-protection=sign
rm -f "$big"

# Every dialect, forced by min = max, with a small put/get each; 3.1.1 also
# signed and encrypted.
dialect_round() {
    local dialect=$1; shift
    local opts=(-m "$dialect" --option="client min protocol=$dialect" --option="client max protocol=$dialect" "$@")
    local label="$dialect${1:+ $*}" name="f_$dialect.txt" got="$T/got_$dialect.txt"
    check_ok "[$label] put small file" share "${opts[@]}" -c "put $small $name"
    check_ok "[$label] get small file" share "${opts[@]}" -c "get $name $got"
    assert_eq "[$label] small file round trip" "$small_sha" "$(sha256sum "$got" 2>/dev/null | cut -d' ' -f1)"
    check_ok "[$label] del" share "${opts[@]}" -c "del $name"
    rm -f "$got"
}
for d in SMB2_02 SMB2_10 SMB3_00 SMB3_02 SMB3_11; do
    dialect_round "$d"
done
dialect_round SMB3_11 --client-protection=encrypt
dialect_round SMB3_11 --client-protection=sign
dialect_round SMB3_00 --client-protection=encrypt

# Share listing over IPC$/srvsvc.
check_output "smbclient -L lists the share" '^[[:space:]]+share[[:space:]]+Disk' \
    timeout 60 smbclient -L //127.0.0.1 -p "$PORT" --configfile="$T/client.conf" -m SMB3 -U "alice%$ALICE_PASS"
assert_match "smbclient -L lists IPC\$" '^[[:space:]]+IPC\$[[:space:]]+IPC' "$OUT"
assert_match "smbclient -L shows the comment" 'smbx integration test share' "$OUT"

# Refusals.
check_output "wrong password: NT_STATUS_LOGON_FAILURE" 'NT_STATUS_LOGON_FAILURE' \
    smbc_as alice "wrong-$ALICE_PASS" share -m SMB3 -c ls
check_output "unknown user: NT_STATUS_LOGON_FAILURE" 'NT_STATUS_LOGON_FAILURE' \
    smbc_as mallory "$ALICE_PASS" share -m SMB3 -c ls
check_output "unknown share: NT_STATUS_BAD_NETWORK_NAME" 'NT_STATUS_BAD_NETWORK_NAME' \
    smbc nosuchshare -m SMB3 -c ls
check_output "bob (second user) can log in" '^  \. +D ' smbc_as bob "$BOB_PASS" share -m SMB3 -c ls

finish
