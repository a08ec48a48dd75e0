#!/usr/bin/env python3
"""Writes seed inputs for workspace_fuzz (tests/fuzz/corpus/workspace): FUSE
request streams as the guest kernel sends them (x86-64 <linux/fuse.h> 7.38)."""
import os
import struct
import sys

FUSE = dict(LOOKUP=1, FORGET=2, GETATTR=3, SETATTR=4, READLINK=5, SYMLINK=6, MKNOD=8, MKDIR=9, UNLINK=10,
            RMDIR=11, RENAME=12, LINK=13, OPEN=14, READ=15, WRITE=16, STATFS=17, RELEASE=18, FSYNC=20,
            FLUSH=25, OPENDIR=27, READDIR=28, RELEASEDIR=29, ACCESS=34, CREATE=35, BATCH_FORGET=42,
            READDIRPLUS=44, RENAME2=45)
unique = [100]


def msg(op, node, body=b""):
    unique[0] += 1
    return struct.pack("<IIQQIIII", 40 + len(body), FUSE[op], unique[0], node, 0, 0, 0, 0) + body


def name(s):
    return s.encode() + b"\0"


def seeds():
    yield "lookup", msg("LOOKUP", 1, name("a")) + msg("LOOKUP", 1, name("..")) + msg("GETATTR", 1, bytes(16))
    create = struct.pack("<IIII", 0o101, 0o100644, 0o22, 0)  # O_WRONLY|O_CREAT
    write = struct.pack("<QQIIQII", 1, 0, 5, 0, 0, 0, 0) + b"hello"
    read = struct.pack("<QQIIQII", 1, 0, 4096, 0, 0, 0, 0)
    yield "create_write_read", (msg("CREATE", 1, create + name("f")) + msg("WRITE", 2, write) +
                                msg("READ", 2, read) + msg("RELEASE", 2, struct.pack("<QIIQ", 1, 0, 0, 0)))
    yield "mkdir_rename", (msg("MKDIR", 1, struct.pack("<II", 0o755, 0) + name("d")) +
                           msg("RENAME2", 1, struct.pack("<QII", 1, 1, 0) + name("d") + name("e")) +
                           msg("RMDIR", 1, name("e")))
    yield "symlink_link", (msg("SYMLINK", 1, name("l") + name("/etc/passwd")) + msg("READLINK", 2) +
                           msg("LINK", 1, struct.pack("<Q", 2) + name("l2")) + msg("UNLINK", 1, name("l")))
    yield "readdirplus", (msg("OPENDIR", 1, struct.pack("<II", 0, 0)) +
                          msg("READDIRPLUS", 1, struct.pack("<QQIIQII", 1, 0, 4096, 0, 0, 0, 0)) +
                          msg("BATCH_FORGET", 0, struct.pack("<II", 1, 0) + struct.pack("<QQ", 2, 1)))
    yield "setattr_statfs", (msg("SETATTR", 1, struct.pack("<IIQQQQQQIIIIIIII", 1 | 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                            0o700, 0, 0, 0, 0)) + msg("STATFS", 1))

    # The exclude barrier ("**/node_modules" in workspace_fuzz.cpp): renames into and out
    # of it, an exchange, a link, and a directory handle whose node is forgotten.
    def mkdir(parent, n):
        return msg("MKDIR", parent, struct.pack("<II", 0o755, 0) + name(n))

    def rename2(parent, a, newdir, b, flags):
        return msg("RENAME2", parent, struct.pack("<QII", newdir, flags, 0) + name(a) + name(b))
    yield "exclude_barrier", (mkdir(1, "p") + mkdir(2, "q") + mkdir(1, "node_modules") +
                              rename2(1, "p", 1, "node_modules", 0) + rename2(2, "q", 1, "node_modules", 2) +
                              rename2(1, "p", 1, "p2", 0) + msg("LINK", 1, struct.pack("<Q", 3) + name("node_modules")) +
                              msg("OPENDIR", 2, struct.pack("<II", 0, 0)) + msg("FORGET", 2, struct.pack("<Q", 100)) +
                              msg("READDIRPLUS", 2, struct.pack("<QQIIQII", 1, 0, 4096, 0, 0, 0, 0)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "workspace")
    os.makedirs(out, exist_ok=True)
    for n, data in seeds():
        with open(os.path.join(out, n + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
