#!/usr/bin/env python3
"""FSCTL_DUPLICATE_EXTENTS_TO_FILE through impacket: clones SRC's first LENGTH bytes
into DST (created) on SHARE, and prints the NTSTATUS (0x...) the server answered.

usage: dup_extents.py PORT USER PASS SHARE SRC DST LENGTH
"""
import struct
import sys

from impacket import smb3
from impacket import smb3structs as s3
from impacket.smbconnection import SMBConnection, SessionError

FSCTL_DUPLICATE_EXTENTS_TO_FILE = 0x00098344


def main():
    port, user, password, share, src, dst, length = sys.argv[1:8]
    conn = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=int(port), timeout=60)
    conn.login(user, password)
    tid = conn.connectTree(share)
    access = s3.FILE_READ_DATA | s3.FILE_WRITE_DATA
    share_all = s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE | s3.FILE_SHARE_DELETE
    source = conn.openFile(tid, src, desiredAccess=s3.FILE_READ_DATA, shareMode=share_all)
    target = conn.openFile(tid, dst, desiredAccess=access, shareMode=share_all,
                           creationDisposition=s3.FILE_OVERWRITE_IF)
    source_id = source if isinstance(source, bytes) else bytes(source, "latin-1")
    # SMB2_DUPLICATE_EXTENTS_DATA (MS-FSCC 2.3.7.2): SourceFileID, offsets, ByteCount.
    blob = source_id + struct.pack("<qqq", 0, 0, int(length))
    status = 0
    try:
        conn._SMBConnection.ioctl(tid, target, FSCTL_DUPLICATE_EXTENTS_TO_FILE,
                                  flags=s3.SMB2_0_IOCTL_IS_FSCTL, inputBlob=blob,
                                  maxOutputResponse=0)
    except (SessionError, smb3.SessionError) as e:
        status = e.get_error_code() if hasattr(e, "get_error_code") else e.getErrorCode()
    conn.closeFile(tid, source)
    conn.closeFile(tid, target)
    conn.logoff()
    print("0x%08x" % (status & 0xFFFFFFFF))


if __name__ == "__main__":
    main()
