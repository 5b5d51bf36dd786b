#!/usr/bin/env python3
"""Turns messages smbx received (SMBX_CAPTURE_DIR files, capture_commands.sh) into seeds.

smb2_command_fuzz: selector byte, options byte, then one request's body (after its
64-byte header), as tests/fuzz/smb2_command_fuzz.cc reads them; also the create-context
chain of each CREATE and the EA lists (ExtA, SET_INFO FileFullEaInformation, QUERY_INFO
EA lists) on their own.
smb2_transform_fuzz: mode 0 (sealed) with AES-128-GCM, then each whole plaintext
message (as on the harness's ready session); mode 2 (raw) with what follows the ProtocolId of each received transform.

Usage: capture_to_seeds.py CAPTURE_DIR CORPUS_ROOT
"""
import hashlib
import os
import struct
import sys

# Selectors of smb2_command_fuzz.cc `targets`, by SMB2 command.
SELECTOR = {0x01: 0, 0x03: 1, 0x05: 2, 0x06: 3, 0x07: 4, 0x08: 5, 0x09: 6, 0x0A: 7,
            0x0B: 8, 0x0E: 9, 0x0F: 10, 0x10: 11, 0x11: 12}
SEL_CONTEXTS, SEL_FULL_EAS, SEL_GET_EAS = 13, 14, 15
# Where each body carries its FileId, and which open the harness should put there.
FILE_ID_AT = {0x06: 8, 0x07: 8, 0x08: 16, 0x09: 16, 0x0A: 8, 0x0B: 8, 0x0E: 8, 0x0F: 8,
              0x10: 24, 0x11: 16}
DIR_COMMANDS = {0x0E, 0x0F}
OPEN_FILE, OPEN_DIR, SIGNED, RELATED = 0x01, 0x02, 0x10, 0x40
MAX_PER_SELECTOR = 40
MAX_SEED = 4096  # libFuzzer's default -max_len


def options_for(cmd, body, flags):
    opts = 0
    if flags & 0x08:
        opts |= SIGNED
    if flags & 0x04:
        opts |= RELATED
    at = FILE_ID_AT.get(cmd)
    if at is not None and len(body) >= at + 16:
        fid = body[at:at + 16]
        if fid == b"\xff" * 16 and not flags & 0x04:
            return opts  # FSCTLs on no file (VALIDATE_NEGOTIATE_INFO, interfaces)
        opts |= OPEN_DIR if cmd in DIR_COMMANDS else OPEN_FILE
    return opts


def split_chain(msg):
    off = 0
    while len(msg) - off >= 64:
        nxt = struct.unpack_from("<I", msg, off + 20)[0]
        end = off + nxt if nxt else len(msg)
        yield msg[off:end]
        if not nxt:
            return
        off = end


def create_contexts(part):
    if len(part) < 64 + 56:
        return None
    off, length = struct.unpack_from("<II", part, 64 + 48)
    if not length or off + length > len(part):
        return None
    return part[off:off + length]


def ext_a(contexts):
    pos = 0
    while pos + 16 <= len(contexts):
        nxt, noff, nlen, _, doff, dlen = struct.unpack_from("<IHHHHI", contexts, pos)
        if contexts[pos + noff:pos + noff + nlen] == b"ExtA" and dlen:
            yield contexts[pos + doff:pos + doff + dlen]
        if not nxt:
            return
        pos += nxt


def as_ready_session(msg):
    """The message as sent on smb2_transform_fuzz's connection: each request of the chain
    names session 1 and, when it names a tree, tree 1 (the scratch share), with message
    ids from 1 (the connection has granted 64 credits)."""
    out = bytearray(msg)
    off, next_id = 0, 1
    while len(out) - off >= 64:
        struct.pack_into("<Q", out, off + 24, next_id)  # MessageId
        next_id += max(struct.unpack_from("<H", out, off + 6)[0], 1)  # CreditCharge
        if struct.unpack_from("<I", out, off + 36)[0]:
            struct.pack_into("<I", out, off + 36, 1)  # TreeId
        struct.pack_into("<Q", out, off + 40, 1)  # SessionId
        struct.pack_into("<16s", out, off + 48, bytes(16))  # unsigned: it comes sealed
        struct.pack_into("<I", out, off + 16, struct.unpack_from("<I", out, off + 16)[0] & ~0x08)
        nxt = struct.unpack_from("<I", out, off + 20)[0]
        if not nxt:
            break
        off += nxt
    return bytes(out)


def main():
    capture, root = sys.argv[1], sys.argv[2]
    seeds = {}  # (target, selector or transform mode) -> {name: bytes}

    def add(target, selector, data):
        if len(data) > MAX_SEED:
            return
        bucket = seeds.setdefault((target, selector), {})
        if len(bucket) < MAX_PER_SELECTOR:
            bucket["cap-" + hashlib.sha1(data).hexdigest()[:12]] = data

    for name in sorted(os.listdir(capture)):
        msg = open(os.path.join(capture, name), "rb").read()
        magic = msg[:4]
        if magic == b"\xfdSMB":
            add("smb2_transform_fuzz", "raw", bytes([2, 1]) + msg[4:])
            continue
        if magic != b"\xfeSMB":
            continue
        add("smb2_transform_fuzz", "sealed", bytes([0, 1]) + as_ready_session(msg))
        for part in split_chain(msg):
            cmd, = struct.unpack_from("<H", part, 12)
            flags, = struct.unpack_from("<I", part, 16)
            if cmd not in SELECTOR:
                continue
            body = part[64:]
            add("smb2_command_fuzz", SELECTOR[cmd], bytes([SELECTOR[cmd], options_for(cmd, body, flags)]) + body)
            if cmd == 0x05:
                ctx = create_contexts(part)
                if ctx:
                    add("smb2_command_fuzz", SEL_CONTEXTS, bytes([SEL_CONTEXTS, 0]) + ctx)
                    for eas in ext_a(ctx):
                        add("smb2_command_fuzz", SEL_FULL_EAS, bytes([SEL_FULL_EAS, 0]) + eas)
            if cmd == 0x11 and len(body) >= 32 and body[2] == 1 and body[3] == 15:
                length, offset = struct.unpack_from("<IH", body, 4)
                eas = part[offset:offset + length]
                if eas:
                    add("smb2_command_fuzz", SEL_FULL_EAS, bytes([SEL_FULL_EAS, 0]) + eas)
            if cmd == 0x10 and len(body) >= 40 and body[2] == 1 and body[3] == 15:
                offset, _, length = struct.unpack_from("<HHI", body, 8)
                eas = part[offset:offset + length]
                if eas:
                    add("smb2_command_fuzz", SEL_GET_EAS, bytes([SEL_GET_EAS, 0]) + eas)

    kept = 0
    for (target, selector), bucket in sorted(seeds.items(), key=lambda kv: str(kv[0])):
        out = os.path.join(root, target)
        os.makedirs(out, exist_ok=True)
        for name, data in bucket.items():
            path = os.path.join(out, name)
            if not os.path.exists(path):
                open(path, "wb").write(data)
                kept += 1
        print(f"{target} selector {selector}: {len(bucket)}")
    print(f"kept {kept} new seeds")


if __name__ == "__main__":
    main()
