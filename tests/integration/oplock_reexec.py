#!/usr/bin/env python3
"""A batch oplock held across a SIGHUP re-exec of smbx-control is still broken when
another client opens the file (the arbiter's state was handed to the new image).

Client A opens FILE asking for a batch oplock. The script sends SIGHUP to smbx-control
(CONTROL_PID) and waits until LOG says the new image runs. Client
B then opens the same file without an oplock, in a thread: its CREATE must wait while
A is sent an OPLOCK_BREAK notification (to level II), and finish once A closes.

usage: oplock_reexec.py PORT USER PASSWORD SHARE FILE CONTROL_PID LOG
Prints one line per step; exit 0 when every step held, 1 otherwise.
"""
import os
import signal
import struct
import sys
import threading
import time

from impacket import smb3structs as s3
from impacket.smb3structs import SMB2Packet
from impacket.smbconnection import SMBConnection

BATCH = 0x09
OPLOCK_BREAK = 0x12
ACCESS = s3.FILE_READ_DATA | s3.FILE_WRITE_DATA | s3.FILE_READ_ATTRIBUTES
SHARE = s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE | s3.FILE_SHARE_DELETE


def connect(port, user, password, share):
    c = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=int(port), timeout=30)
    c.login(user, password)
    return c, c.connectTree(share)


def wait_for_log(path, text, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with open(path, errors="replace") as f:
            if text in f.read():
                return True
        time.sleep(0.1)
    return False


def main():
    port, user, password, share, name, control_pid, log = sys.argv[1:8]
    a, a_tid = connect(port, user, password, share)
    a3 = a.getSMBServer()
    fid = a3.create(a_tid, name, ACCESS, SHARE, s3.FILE_NON_DIRECTORY_FILE, s3.FILE_OPEN_IF, 0,
                    oplockLevel=BATCH)
    print("A holds %s with a batch oplock asked" % name, flush=True)

    os.kill(int(control_pid), signal.SIGHUP)
    if not wait_for_log(log, "re-executed with the new configuration", 30):
        print("FAIL: smbx-control did not re-execute")
        return 1
    print("smbx-control re-executed", flush=True)

    b, b_tid = connect(port, user, password, share)
    done = {}

    def second_open():
        try:
            done["fid"] = b.getSMBServer().create(b_tid, name, s3.FILE_READ_DATA, SHARE,
                                                  s3.FILE_NON_DIRECTORY_FILE, s3.FILE_OPEN, 0)
        except Exception as e:  # reported below
            done["error"] = e
        done["at"] = time.time()

    t = threading.Thread(target=second_open, daemon=True)
    t.start()
    try:
        raw = a3._NetBIOSSession.recv_packet(10).get_trailer()
    except Exception as e:
        print("FAIL: no break notification reached A within 10 s (%s)" % e)
        return 1
    p = SMB2Packet(raw)
    level = p["Data"][2] if len(p["Data"]) > 2 else -1
    if p["Command"] != OPLOCK_BREAK or p["MessageID"] != 0xFFFFFFFFFFFFFFFF:
        print("FAIL: A got command %#x message id %#x, not a break notification" %
              (p["Command"], p["MessageID"]))
        return 1
    print("A got an OPLOCK_BREAK notification to level %d" % level, flush=True)
    if "at" in done:
        print("FAIL: B's open finished before A let go")
        return 1
    print("B's open waits", flush=True)
    closed_at = time.time()
    a3.close(a_tid, fid)
    t.join(20)
    if "fid" not in done:
        print("FAIL: B's open did not finish after A closed: %s" % done.get("error"))
        return 1
    print("B's open finished %.2f s after A closed" % (done["at"] - closed_at), flush=True)
    return 0 if level == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
