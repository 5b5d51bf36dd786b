#!/usr/bin/env python3
"""Writes numbered 64 KiB blocks to one file over SMB 3 (impacket) until the server
goes away, and records each block the server acknowledged, the moment its WRITE
response arrived. A second thread kills the data plane (SIGKILL, the pid given) once
KILL_AFTER blocks were acknowledged, so the kill lands while WRITEs are being sent and
answered. The caller then checks every acknowledged block is in the file.

usage: acked_writes.py PORT USER PASSWORD SHARE FILE ACK_LOG DATAPLANE_PID KILL_AFTER
Exit 0 when the connection broke after at least KILL_AFTER acknowledgements; 1 if the
server never broke it (the kill did not happen) or too little was written.
"""
import hashlib
import os
import signal
import sys
import threading
import time

from impacket.smbconnection import SMBConnection

BLOCK = 64 * 1024
MAX_BLOCKS = 4096  # 256 MiB: a bound, the kill comes long before


def block(i):
    seed = hashlib.sha256(b"block %d" % i).digest()
    return (seed * (BLOCK // len(seed)))[:BLOCK]


def main():
    port, user, password, share, name, ack_log, pid, kill_after = sys.argv[1:9]
    pid, kill_after = int(pid), int(kill_after)
    conn = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=int(port), timeout=10)
    conn.login(user, password)
    tid = conn.connectTree(share)
    fid = conn.createFile(tid, name)
    acked = threading.Event()
    killed = []

    def killer():
        acked.wait(30)
        time.sleep(0.002)  # a little later: WRITEs are on the wire
        os.kill(pid, signal.SIGKILL)
        killed.append(time.monotonic())

    threading.Thread(target=killer, daemon=True).start()
    count = 0
    with open(ack_log, "w") as log:
        try:
            for i in range(MAX_BLOCKS):
                conn.writeFile(tid, fid, block(i), i * BLOCK)
                log.write("%d\n" % i)
                log.flush()
                count += 1
                if count == kill_after:
                    acked.set()
        except Exception as e:  # the connection the kill broke
            print("acknowledged %d blocks; then: %s" % (count, type(e).__name__))
            return 0 if killed and count >= kill_after else 1
    print("the server never broke the connection (%d blocks)" % count)
    return 1


if __name__ == "__main__":
    sys.exit(main())
