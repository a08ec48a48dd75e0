#!/usr/bin/env python3
"""FUSE request streams as the guest kernel sends them (x86-64 <linux/fuse.h> 7.38): the
seeds of workspace_fuzz, used by make_corpus.py (which writes tests/fuzz/corpus/workspace)."""
import os
import struct
import sys

FUSE = dict(LOOKUP=1, FORGET=2, GETATTR=3, SETATTR=4, READLINK=5, SYMLINK=6, MKNOD=8, MKDIR=9, UNLINK=10,
            RMDIR=11, RENAME=12, LINK=13, OPEN=14, READ=15, WRITE=16, STATFS=17, RELEASE=18, FSYNC=20,
            FLUSH=25, OPENDIR=27, READDIR=28, RELEASEDIR=29, ACCESS=34, CREATE=35, BATCH_FORGET=42,
            READDIRPLUS=44, RENAME2=45, GETXATTR=22, SETXATTR=21, LISTXATTR=23, REMOVEXATTR=24,
            FALLOCATE=43, FSYNCDIR=30, INTERRUPT=36, DESTROY=38)
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
    open_in = struct.pack("<II", 0, 0)
    read_all = struct.pack("<QQIIQII", 1, 0, 65536, 0, 0, 0, 0)
    # Excluded content by every route: direct, through a renamed parent, via a hard link.
    yield "read_excluded", (msg("LOOKUP", 1, name(".env")) + msg("LOOKUP", 1, name("node_modules")) +
                            msg("RENAME2", 1, struct.pack("<QII", 1, 0, 0) + name("node_modules") + name("nm2")) +
                            msg("LOOKUP", 1, name("nm2")) + msg("LOOKUP", 2, name("pkg")) +
                            msg("LOOKUP", 3, name("index.js")) + msg("OPEN", 4, open_in) + msg("READ", 4, read_all) +
                            msg("LINK", 4, struct.pack("<Q", 1) + name("copy.js")))
    yield "read_only_file", (msg("LOOKUP", 1, name("Matchlockfile")) + msg("OPEN", 2, struct.pack("<II", 2, 0)) +
                             msg("SETATTR", 2, struct.pack("<IIQQQQQQIIIIIIII", 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)) +
                             msg("UNLINK", 1, name("Matchlockfile")))
    yield "symlink_out", (msg("LOOKUP", 1, name("out-link")) + msg("READLINK", 2) + msg("LOOKUP", 2, name("keep")) +
                          msg("CREATE", 2, struct.pack("<IIII", 0o101, 0o100644, 0, 0) + name("planted")) +
                          msg("SYMLINK", 1, name("up") + name("/")) + msg("RENAME", 1, struct.pack("<Q", 1) + name("up") + name("src")))
    yield "big_sizes", (msg("CREATE", 1, struct.pack("<IIII", 0o102, 0o100644, 0, 0) + name("big")) +
                        msg("FALLOCATE", 2, struct.pack("<QQQII", 1, 0, 1 << 40, 0, 0)) +
                        msg("SETATTR", 2, struct.pack("<IIQQQQQQIIIIIIII", 8 | 2, 0, 0, 1 << 50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)) +
                        msg("WRITE", 2, struct.pack("<QQIIQII", 1, (1 << 63) - 4, 4, 0, 0, 0, 0) + b"tail"))
    yield "xattrs", (msg("LOOKUP", 1, name("src")) + msg("SETXATTR", 2, struct.pack("<II", 3, 0) + name("user.k") + b"val") +
                     msg("GETXATTR", 2, struct.pack("<II", 64, 0) + name("user.k")) + msg("LISTXATTR", 2, struct.pack("<II", 0, 0)) +
                     msg("REMOVEXATTR", 2, name("user.k")) + msg("GETXATTR", 2, struct.pack("<II", 0, 0) + name("security.capability")))
    yield "mknod_fsync", (msg("MKNOD", 1, struct.pack("<IIII", 0o010644, 0, 0, 0) + name("fifo")) +
                          msg("MKNOD", 1, struct.pack("<IIII", 0o020644, 0x0103, 0, 0) + name("null")) +
                          msg("OPENDIR", 1, open_in) + msg("FSYNCDIR", 1, struct.pack("<QII", 1, 0, 0)) +
                          msg("READDIR", 1, read_all) + msg("INTERRUPT", 0, struct.pack("<Q", 5)) + msg("DESTROY", 0))
    yield "malformed", (struct.pack("<IIQQIIII", 20, 1, 1, 1, 0, 0, 0, 0) + struct.pack("<IIQQIIII", 41, 1, 2, 1, 0, 0, 0, 0) +
                        b"x" + struct.pack("<IIQQIIII", 40, 9999, 3, 1, 0, 0, 0, 0))
    yield "exclude_barrier", (mkdir(1, "p") + mkdir(2, "q") + mkdir(1, "node_modules") +
                              rename2(1, "p", 1, "node_modules", 0) + rename2(2, "q", 1, "node_modules", 2) +
                              rename2(1, "p", 1, "p2", 0) + msg("LINK", 1, struct.pack("<Q", 3) + name("node_modules")) +
                              msg("OPENDIR", 2, struct.pack("<II", 0, 0)) + msg("FORGET", 2, struct.pack("<Q", 100)) +
                              msg("READDIRPLUS", 2, struct.pack("<QQIIQII", 1, 0, 4096, 0, 0, 0, 0)))
