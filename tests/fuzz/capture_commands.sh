#!/usr/bin/env bash
# Captures the seeds of smb2_command_fuzz and smb2_transform_fuzz from real clients:
# starts smbx (from $SMBX_BUILD_DIR, on a free loopback port, tests/integration/lib.sh)
# with SMBX_CAPTURE_DIR set, runs smbclient (listing, directories, files up and down,
# renames, attributes, EAs, encryption) and a few smbtorture tests (create contexts,
# locks, EAs, renames, directory patterns, IOCTLs), then turns what smbx received into
# seeds (capture_to_seeds.py): each request's body with the selector and options the
# command target takes, the create-context chains and EA lists on their own, and whole
# plaintext messages as the inner message of the transform target.
#
# Usage: SMBX_BUILD_DIR=build-fuzz tests/fuzz/capture_commands.sh [CORPUS_ROOT]
#   CORPUS_ROOT defaults to tests/fuzz/corpus.
source "$(dirname "$0")/capture_lib.sh"

CORPUS_ROOT=${1:-$SMBX_SOURCE_DIR/tests/fuzz/corpus}
capture_start

printf 'hello' >"$T/small.txt"
SMBC_TIMEOUT=60
smbc_run() { smbc share "$@" >>"$T/clients.log" 2>&1 || true; }
smbc_run -m SMB3_11 -c "lcd $T; ls; mkdir d1; cd d1; put small.txt f1.txt; ls f*; ls *.txt;
    allinfo f1.txt; rename f1.txt f2.txt; setmode f2.txt +r; setmode f2.txt -r;
    get f2.txt /dev/null; stat f2.txt; volume; getfacl f2.txt; del f2.txt; cd ..; rmdir d1"
smbc_run -m SMB3_11 -c "lcd $T; put small.txt a.txt; hardlink a.txt b.txt; notify . ; ls" &
notify_pid=$!
sleep 3
kill "$notify_pid" 2>/dev/null || true
wait "$notify_pid" 2>/dev/null || true
smbc_run -m SMB3_11 -c "lcd $T; put small.txt e.txt; allinfo e.txt; lock e.txt" \
    --option='client smb encrypt=required'
smbc_run -m SMB2_02 -c "lcd $T; put small.txt g.txt; get g.txt /dev/null; ls"
for t in smb2.create.blob smb2.lock.valid-request smb2.lock.rw-exclusive \
    smb2.ea.acl_xattr smb2.rename.simple smb2.dir.one smb2.dir.find smb2.getinfo.complex \
    smb2.setinfo.setinfo smb2.ioctl.shadow_copy smb2.ioctl.req_resume_key smb2.ioctl.sparse_file_flag \
    smb2.set-sparse-ioctl smb2.zero-data-ioctl smb2.notify.valid-req smb2.session.reconnect1; do
    timeout -k 5 60 smbtorture "//127.0.0.1/share" -p "$PORT" -U "alice%$ALICE_PASS" \
        --configfile="$T/client.conf" "$t" >>"$T/clients.log" 2>&1 || true
done
smbx_stop

python3 "$SMBX_SOURCE_DIR/tests/fuzz/capture_to_seeds.py" "$SMBX_CAPTURE_DIR" "$CORPUS_ROOT" \
    >"$T/seeds.log"
cat "$T/seeds.log"
pass "seeds: $(tail -1 "$T/seeds.log")"
finish
