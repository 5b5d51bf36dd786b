#!/usr/bin/python3
"""smb_probe.py: impacket-driven probes that send what a well-behaved client would not.

Run with /usr/bin/python3 (Debian's python3-impacket). Each probe prints one line
`RESULT <name> <STATUS_...|OK>` per step and exits 0 unless the probe itself broke;
the calling shell test asserts on the lines.

  smb_probe.py unsigned-tcon  PORT USER PASS SHARE
      SMB 2.1, server requires signing: TREE_CONNECT signed (must work), then the
      same session sends TREE_CONNECT unsigned (a server requiring signing must
      refuse it: STATUS_ACCESS_DENIED, MS-SMB2 3.3.5.2.4).
  smb_probe.py unencrypted-on-encrypted-share  PORT USER PASS SHARE
      SMB 3.0 without session encryption: TREE_CONNECT to a share with
      `smb encrypt = required`, then an unencrypted request on it (refused with
      STATUS_ACCESS_DENIED, MS-SMB2 3.3.5.2.11), then the same with encryption (works).
"""
import sys

from impacket import smb3structs
from impacket.smbconnection import SMBConnection, SessionError
from impacket.nt_errors import ERROR_MESSAGES

HOST = "127.0.0.1"


def status_name(code):
    return ERROR_MESSAGES.get(code, ("0x%08x" % code,))[0]


def step(name, fn):
    try:
        fn()
        print("RESULT %s OK" % name, flush=True)
    except SessionError as e:
        print("RESULT %s %s" % (name, status_name(e.getErrorCode())), flush=True)
    except Exception as e:  # connection dropped etc.
        print("RESULT %s EXCEPTION %s: %s" % (name, type(e).__name__, e), flush=True)


def unsigned_tcon(port, user, password, share):
    conn = SMBConnection(HOST, HOST, sess_port=port, preferredDialect=smb3structs.SMB2_DIALECT_21, timeout=30)
    print("INFO server requires signing: %s" % conn.isSigningRequired(), flush=True)
    conn.login(user, password)
    step("signed-tcon", lambda: conn.connectTree(share))

    conn2 = SMBConnection(HOST, HOST, sess_port=port, preferredDialect=smb3structs.SMB2_DIALECT_21, timeout=30)
    conn2.login(user, password)
    conn2.getSMBServer()._Session["SigningActivated"] = False
    step("unsigned-tcon", lambda: conn2.connectTree(share))


def unencrypted_on_encrypted_share(port, user, password, share):
    conn = SMBConnection(HOST, HOST, sess_port=port, preferredDialect=smb3structs.SMB2_DIALECT_30, timeout=30)
    raw = conn.getSMBServer()
    conn.login(user, password)  # derives the keys and would encrypt everything...
    # ...but do not: tree connect and requests go out in the clear.
    raw._Session["SessionFlags"] &= ~smb3structs.SMB2_SESSION_FLAG_ENCRYPT_DATA
    tid = {}

    def tcon():
        tid["t"] = conn.connectTree(share)
    step("tcon-clear", tcon)
    if "t" in tid:
        raw._Session["TreeConnectTable"][tid["t"]]["EncryptData"] = False
        raw._Session["TreeConnectTable"][share]["EncryptData"] = False
        step("request-clear", lambda: conn.listPath(share, "*"))

    conn2 = SMBConnection(HOST, HOST, sess_port=port, preferredDialect=smb3structs.SMB2_DIALECT_30, timeout=30)
    conn2.login(user, password)
    step("request-encrypted", lambda: conn2.listPath(share, "*"))


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    probe, port, user, password, share = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    probes = {
        "unsigned-tcon": unsigned_tcon,
        "unencrypted-on-encrypted-share": unencrypted_on_encrypted_share,
    }
    if probe not in probes:
        print(__doc__)
        return 2
    probes[probe](port, user, password, share)
    return 0


if __name__ == "__main__":
    sys.exit(main())
