#!/usr/bin/env python3
"""Dumps a filesystem tree in the format of <layout>.expected.json, and compares.

usage: tree_dump.py dir DIR [--compare EXPECTED.json]
       tree_dump.py ext4 IMAGE [--compare EXPECTED.json]

`dir` walks an unpacked directory (lstat, xattrs, hardlinks by inode). `ext4` reads an
ext4 image with e2fsprogs' debugfs (independent of matchlock's own ext4 code): no
mount, no root needed. With --compare, prints every difference and exits 1 if any.
Entries only in the dump are reported unless --ignore-extra (/lost+found never is).
security.selinux xattrs are ignored. Hardlinks compare as "same inode as", not by
which path came first.
"""
import argparse
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import tempfile

IGNORED_XATTRS = ("security.selinux",)


def _type(mode):
    for test, name in ((stat.S_ISDIR, "dir"), (stat.S_ISREG, "file"), (stat.S_ISLNK, "symlink"),
                       (stat.S_ISCHR, "chardev"), (stat.S_ISBLK, "blockdev"),
                       (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "unknown"


def dump_dir(root):
    tree, first_path = {}, {}
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            full = os.path.join(dirpath, name)
            rel = "/" + os.path.relpath(full, root)
            st = os.lstat(full)
            n = {"type": _type(st.st_mode), "mode": "%04o" % stat.S_IMODE(st.st_mode),
                 "uid": st.st_uid, "gid": st.st_gid}
            if n["type"] == "file":
                with open(full, "rb") as f:
                    data = f.read()
                n["size"], n["sha256"] = len(data), hashlib.sha256(data).hexdigest()
                if st.st_nlink > 1:
                    key = (st.st_dev, st.st_ino)
                    if key in first_path:
                        n["link_of"] = first_path[key]
                    else:
                        first_path[key] = rel
            elif n["type"] == "symlink":
                n["target"] = os.readlink(full)
            elif n["type"] in ("chardev", "blockdev"):
                n["rdev"] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
            xattrs = {}
            for x in sorted(os.listxattr(full, follow_symlinks=False)):
                if x not in IGNORED_XATTRS:
                    xattrs[x] = os.getxattr(full, x, follow_symlinks=False).hex()
            if xattrs:
                n["xattrs"] = xattrs
            tree[rel] = n
    return tree


class Debugfs:
    """Batch runner: one debugfs process per batch of commands."""

    def __init__(self, image):
        self.image = image

    def run(self, commands):
        with tempfile.NamedTemporaryFile("w", suffix=".cmds") as f:
            for c in commands:
                f.write(c + "\n")
            f.flush()
            out = subprocess.run(["debugfs", "-f", f.name, self.image], capture_output=True,
                                 check=True).stdout
        # each command's output follows an echoed "debugfs: CMD" line
        parts = re.split(rb"^debugfs: .*\n", out, flags=re.M)
        return parts[1:]


def _q(path):
    return '"%s"' % path.replace('"', '\\"')


def dump_ext4(image):
    fs = Debugfs(image)
    tree, inode_first = {}, {}
    todo = ["/"]
    while todo:
        listings = fs.run(["ls -p %s" % _q(d) for d in todo])
        nodes = []
        for d, out in zip(todo, listings):
            for line in out.decode("utf-8", "surrogateescape").splitlines():
                m = re.match(r"^/(\d+)/(\d+)/(\d+)/(\d+)/(.*)/(\d*)/$", line)
                if not m or m.group(5) in (".", "..", "") or m.group(1) == "0":
                    continue
                ino, mode, uid, gid, name = (int(m.group(1)), int(m.group(2), 8), int(m.group(3)),
                                             int(m.group(4)), m.group(5))
                path = (d.rstrip("/") + "/" + name)
                nodes.append((path, ino, mode, uid, gid))
        todo = []
        details = fs.run(sum([["stat %s" % _q(p), "ea_list %s" % _q(p)] for p, *_ in nodes], []))
        files = [p for p, ino, mode, *_ in nodes if stat.S_ISREG(mode)]
        for i, (path, ino, mode, uid, gid) in enumerate(nodes):
            st_out = details[2 * i].decode("utf-8", "surrogateescape")
            n = {"type": _type(mode), "mode": "%04o" % stat.S_IMODE(mode), "uid": uid, "gid": gid}
            if n["type"] == "dir":
                todo.append(path)
            elif n["type"] == "symlink":
                m = re.search(r'Fast link dest: "(.*)"', st_out)
                n["target"] = m.group(1) if m else None
            elif n["type"] in ("chardev", "blockdev"):
                m = re.search(r"Device major/minor number: (\d+):(\d+)", st_out)
                n["rdev"] = [int(m.group(1)), int(m.group(2))] if m else None
            if n["type"] == "file":
                if ino in inode_first:
                    n["link_of"] = inode_first[ino]
                else:
                    inode_first[ino] = path
            xattrs = _parse_ea_list(details[2 * i + 1])
            if xattrs:
                n["xattrs"] = xattrs
            tree[path] = n
        slow = [p for p, *_ in nodes if tree[p]["type"] == "symlink" and tree[p]["target"] is None]
        with tempfile.TemporaryDirectory() as tmp:  # slow symlinks: target in a data block
            outs = [os.path.join(tmp, str(i)) for i in range(len(slow))]
            fs.run(["dump %s %s" % (_q(p), o) for p, o in zip(slow, outs)])
            for p, o in zip(slow, outs):
                with open(o, "rb") as f:
                    tree[p]["target"] = f.read().decode("utf-8", "surrogateescape")
        with tempfile.TemporaryDirectory() as tmp:
            outs = [os.path.join(tmp, str(i)) for i in range(len(files))]
            fs.run(["dump %s %s" % (_q(p), o) for p, o in zip(files, outs)])
            for p, o in zip(files, outs):
                with open(o, "rb") as f:
                    data = f.read()
                tree[p]["size"], tree[p]["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    return dict(sorted(tree.items()))


def _parse_ea_list(raw):
    """debugfs ea_list lines: `Extended attributes:` then `  name (len) = value` lines;
    values print as quoted strings or hex; use `ea_get -x` semantics via hex when shown."""
    xattrs = {}
    for line in raw.decode("utf-8", "surrogateescape").splitlines():
        m = re.match(r"^\s+(\S+)(?: \(\d+\))?(?: = (.*))?$", line)
        if not m or m.group(1) in IGNORED_XATTRS:
            continue
        val = m.group(2) or ""
        if val.startswith('"') and val.endswith('"'):
            data = val[1:-1].encode().decode("unicode_escape").encode("latin-1")
        else:
            data = bytes.fromhex(val.replace(" ", "")) if val else b""
        xattrs[m.group(1)] = data.hex()
    return xattrs


def compare(got, want, ignore_extra):
    diffs = []
    for path, w in want.items():
        g = got.get(path)
        if g is None:
            diffs.append("missing: %s" % path)
            continue
        for key in sorted(set(w) | set(g)):
            if key == "link_of":
                continue  # checked below: which path is "first" depends on walk order
            if w.get(key) != g.get(key):
                diffs.append("%s: %s is %r, want %r" % (path, key, g.get(key), w.get(key)))
    for path, w in want.items():
        if "link_of" in w and path in got and w["link_of"] in got:
            if _inode_group(got, path) != _inode_group(got, w["link_of"]):
                diffs.append("%s: not a hardlink of %s" % (path, w["link_of"]))
    if not ignore_extra:
        diffs += ["unexpected: %s" % p for p in got
                  if p not in want and p != "/lost+found" and not p.startswith("/lost+found/")]
    return diffs


def _inode_group(tree, path):
    return tree[path].get("link_of", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["dir", "ext4"])
    ap.add_argument("target")
    ap.add_argument("--compare")
    ap.add_argument("--ignore-extra", action="store_true")
    args = ap.parse_args()
    tree = dump_dir(args.target) if args.kind == "dir" else dump_ext4(args.target)
    if not args.compare:
        json.dump(tree, sys.stdout, indent=1, sort_keys=True)
        print()
        return
    with open(args.compare) as f:
        want = json.load(f)
    diffs = compare(tree, want, args.ignore_extra)
    for d in diffs:
        print(d)
    print("tree_dump: %d entries, %d differences" % (len(tree), len(diffs)))
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
