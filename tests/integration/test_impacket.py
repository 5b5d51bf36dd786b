#!/usr/bin/python3
"""impacket (python3-impacket 0.10) against a running server; test_impacket.sh starts it.

  test_impacket.py PORT USER PASS SHARE ENC_SHARE

At SMB 2.1 and 3.0 (impacket encrypts 3.0 sessions itself when the server offers
encryption): negotiate lands on the dialect asked for, login, listShares (srvsvc over
IPC$), putFile/getFile with byte comparison, listPath sizes, createDirectory,
rename, deleteFile, deleteDirectory, logoff; a share with `smb encrypt = required`
works at 3.0 and refuses 2.1 with STATUS_ACCESS_DENIED; a wrong password fails with
STATUS_LOGON_FAILURE. 3.1.1 is not used: impacket's 3.1.1 signing is broken
(fortra/impacket issue 1370).

Prints PASS:/FAIL: lines and `N passed, N failed`; exits 1 if anything failed.
Must run under /usr/bin/python3 (Debian's impacket).
"""
import io
import os
import sys
import traceback

from impacket import smb3structs
from impacket.nt_errors import ERROR_MESSAGES
from impacket.smbconnection import SMBConnection, SessionError

HOST = "127.0.0.1"
passed = 0
failed = 0


def ok(desc):
    global passed
    passed += 1
    print("PASS: " + desc, flush=True)


def bad(desc):
    global failed
    failed += 1
    print("FAIL: " + desc, flush=True)


def check(desc, cond, detail=""):
    if cond:
        ok(desc)
    else:
        bad(desc + (" (" + detail + ")" if detail else ""))
    return cond


def status_name(e):
    return ERROR_MESSAGES.get(e.getErrorCode(), ("0x%08x" % e.getErrorCode(),))[0]


def expect_status(desc, status, fn):
    try:
        fn()
        bad(desc + " (succeeded, expected %s)" % status)
    except SessionError as e:
        check(desc, status_name(e) == status, "got " + status_name(e))
    except Exception as e:
        bad(desc + " (%s: %s)" % (type(e).__name__, e))


def step(desc, fn):
    try:
        r = fn()
        ok(desc)
        return r
    except SessionError as e:
        bad(desc + " (" + status_name(e) + ")")
    except Exception as e:
        bad(desc + " (%s: %s)" % (type(e).__name__, e))
        traceback.print_exc()
    return None


def connect(port, dialect):
    return SMBConnection(HOST, HOST, sess_port=port, preferredDialect=dialect, timeout=60)


def get_bytes(conn, share, name):
    buf = io.BytesIO()
    conn.getFile(share, name, buf.write)
    return buf.getvalue()


def file_round(conn, label, share, payload):
    name = "imp_%s.bin" % label
    step("[%s] putFile %s (%d bytes)" % (label, name, len(payload)), lambda: conn.putFile(share, name, io.BytesIO(payload).read))
    got = step("[%s] getFile %s" % (label, name), lambda: get_bytes(conn, share, name))
    if got is not None:
        check("[%s] getFile returns the bytes put" % label, got == payload, "%d bytes back, %d sent" % (len(got), len(payload)))
    listing = step("[%s] listPath *" % label, lambda: conn.listPath(share, "*")) or []
    sizes = {f.get_longname(): f.get_filesize() for f in listing}
    check("[%s] listPath shows %s with its size" % (label, name), sizes.get(name) == len(payload), "listing: %r" % sizes)
    check("[%s] listPath shows . and .." % label, "." in sizes and ".." in sizes, "listing: %r" % sorted(sizes))

    d = "imp_dir_%s" % label
    step("[%s] createDirectory %s" % (label, d), lambda: conn.createDirectory(share, d))
    step("[%s] rename into the dir" % label, lambda: conn.rename(share, name, d + "\\moved.bin"))
    inner = step("[%s] listPath in the dir" % label, lambda: conn.listPath(share, d + "\\*")) or []
    check("[%s] the renamed file is in the dir" % label, "moved.bin" in [f.get_longname() for f in inner])
    expect_status("[%s] old name gone: STATUS_OBJECT_NAME_NOT_FOUND" % label, "STATUS_OBJECT_NAME_NOT_FOUND",
                  lambda: get_bytes(conn, share, name))
    expect_status("[%s] deleteDirectory of a non-empty dir: STATUS_DIRECTORY_NOT_EMPTY" % label,
                  "STATUS_DIRECTORY_NOT_EMPTY", lambda: conn.deleteDirectory(share, d))
    step("[%s] deleteFile" % label, lambda: conn.deleteFile(share, d + "\\moved.bin"))
    expect_status("[%s] deleted file is gone" % label, "STATUS_OBJECT_NAME_NOT_FOUND",
                  lambda: get_bytes(conn, share, d + "\\moved.bin"))
    step("[%s] deleteDirectory" % label, lambda: conn.deleteDirectory(share, d))


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    port, user, password, share, enc_share = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    payload = os.urandom(5 * 1024 * 1024 + 12345)  # several max-size READ/WRITEs plus a tail

    for label, dialect in (("2.1", smb3structs.SMB2_DIALECT_21), ("3.0", smb3structs.SMB2_DIALECT_30)):
        try:
            conn = connect(port, dialect)
        except Exception as e:
            bad("[%s] negotiate (%s: %s)" % (label, type(e).__name__, e))
            continue
        check("[%s] negotiated dialect 0x%04x" % (label, dialect), conn.getDialect() == dialect,
              "got 0x%04x" % conn.getDialect())
        if step("[%s] login %s" % (label, user), lambda: conn.login(user, password)) is None and \
                not conn.getSMBServer()._Session.get("SessionID"):
            continue
        check("[%s] not a guest session" % label, not conn.isGuestSession())
        if dialect >= smb3structs.SMB2_DIALECT_30:
            flags = conn.getSMBServer()._Session["SessionFlags"]
            check("[%s] impacket encrypts this session" % label,
                  bool(flags & smb3structs.SMB2_SESSION_FLAG_ENCRYPT_DATA),
                  "server did not offer encryption")
        shares = step("[%s] listShares" % label, lambda: conn.listShares()) or []
        names = [s["shi1_netname"][:-1] for s in shares]
        check("[%s] listShares has %s" % (label, share), share in names, "got %r" % names)
        check("[%s] listShares has IPC$" % label, "IPC$" in names, "got %r" % names)
        check("[%s] listShares has %s" % (label, enc_share), enc_share in names, "got %r" % names)
        file_round(conn, label, share, payload)
        if dialect >= smb3structs.SMB2_DIALECT_30:
            file_round(conn, label + "-enc", enc_share, payload[: 1024 * 1024 + 7])
        else:
            expect_status("[%s] encrypt-required share refused: STATUS_ACCESS_DENIED" % label,
                          "STATUS_ACCESS_DENIED", lambda: conn.connectTree(enc_share))
        step("[%s] logoff" % label, lambda: conn.logoff())

        try:
            c2 = connect(port, dialect)
            expect_status("[%s] wrong password: STATUS_LOGON_FAILURE" % label, "STATUS_LOGON_FAILURE",
                          lambda: c2.login(user, password + "x"))
        except Exception as e:
            bad("[%s] wrong-password connection (%s: %s)" % (label, type(e).__name__, e))

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
