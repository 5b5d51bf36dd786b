#!/usr/bin/python3
"""Holds many SMB sessions, each with a file open, until told to let go.

  status_many_sessions.py PORT USER PASS SHARE COUNT NAME_PREFIX

Opens COUNT connections (impacket, SMB 3.0: impacket's 3.1.1 signing is broken,
fortra/impacket issue 1370), logs each in and opens (creates) the file
NAME_PREFIX-<i> on SHARE. Prints `ready N` once all are open, then waits for a line
on standard input (or EOF) and closes everything. Must run under /usr/bin/python3
(Debian's impacket).
"""
import sys

from impacket import smb3structs
from impacket.smbconnection import SMBConnection

port, user, password, share, count, prefix = sys.argv[1:7]
conns = []
try:
    for i in range(int(count)):
        c = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=int(port),
                          preferredDialect=smb3structs.SMB2_DIALECT_30, timeout=30)
        c.login(user, password)
        tid = c.connectTree(share)
        fid = c.createFile(tid, "%s-%d" % (prefix, i),
                           creationDisposition=smb3structs.FILE_OVERWRITE_IF)
        conns.append((c, tid, fid))
    print("ready %d" % len(conns), flush=True)
    sys.stdin.readline()
finally:
    for c, tid, fid in conns:
        try:
            c.closeFile(tid, fid)
            c.logoff()
        except Exception:  # the server may be gone already; closing is best effort
            pass
