"""Computes the filesystem an OCI runtime must see after applying layers in order.

Used to write <layout>.expected.json next to the `layers` fixture, so rootfs tests
compare their ext4 image against an independent model instead of against itself.

Rules applied (OCI image-spec, layer.md "Whiteouts"):
  - `.wh..wh..opq` in dir D hides every lower-layer child of D (entries of the
    same layer are kept, whatever their order in the tar).
  - `.wh.NAME` removes NAME (and everything below it) from lower layers.
  - a hardlink shares the inode of its target (reported as "link_of").
  - parent directories missing from a layer are created as 0755 root:root.
"""
import hashlib
import os


def _parent_dirs(path):
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i + 1]) for i in range(len(parts))]


def _node(e):
    n = {"type": e.kind, "mode": "%04o" % e.mode, "uid": e.uid, "gid": e.gid}
    if e.kind == "file":
        data = bytes(e.zeros) if e.zeros else e.data
        n["size"] = len(data)
        n["sha256"] = hashlib.sha256(data).hexdigest()
    if e.kind == "symlink":
        n["target"] = e.target
    if e.kind in ("chardev", "blockdev"):
        n["rdev"] = [e.major, e.minor]
    if e.xattrs:
        n["xattrs"] = {k: (v.hex() if isinstance(v, bytes) else v.encode().hex())
                       for k, v in sorted(e.xattrs.items())}
    return n


def apply_layers(layers):
    """layers: list of entry lists. Returns {"/path": node}; "/" is implicit."""
    tree = {}

    def remove_under(path, keep_self):
        prefix = path + "/"
        for p in [p for p in tree if p.startswith(prefix) or (p == path and not keep_self)]:
            del tree[p]

    for entries in layers:
        # 1. deletions against lower layers only
        for e in entries:
            head, base = os.path.split(e.path.rstrip("/"))
            if base == ".wh..wh..opq":
                remove_under(head, keep_self=True)
            elif base.startswith(".wh."):
                remove_under(os.path.join(head, base[4:]), keep_self=False)
        # 2. additions in tar order
        for e in entries:
            path = e.path.rstrip("/")
            base = os.path.basename(path)
            if base.startswith(".wh."):
                continue
            for d in _parent_dirs(path):
                tree.setdefault(d, {"type": "dir", "mode": "0755", "uid": 0, "gid": 0})
            if e.kind == "hardlink":
                target = e.target.rstrip("/")
                node = dict(tree[target])
                node["link_of"] = tree[target].get("link_of", "/" + target)
                tree[path] = node
                continue
            if e.kind == "dir" and path in tree and tree[path]["type"] == "dir":
                tree[path] = _node(e)  # dir over dir: metadata replaced, children kept
                continue
            if path in tree:
                remove_under(path, keep_self=False)
            tree[path] = _node(e)
    return {"/" + p: n for p, n in sorted(tree.items())}


def tree_from_tar(tar_path):
    """The tree of a single whiteout-free layer tar (used for the debian image)."""
    import tarfile
    kinds = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir",
             tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "chardev",
             tarfile.BLKTYPE: "blockdev", tarfile.FIFOTYPE: "fifo"}
    tree = {}
    with tarfile.open(tar_path) as tf:
        for ti in tf:
            path = "/" + ti.name.rstrip("/")
            kind = kinds[ti.type]
            if kind == "hardlink":
                target = "/" + ti.linkname
                tree[path] = dict(tree[target], link_of=tree[target].get("link_of", target))
                continue
            n = {"type": kind, "mode": "%04o" % ti.mode, "uid": ti.uid, "gid": ti.gid}
            if kind == "file":
                h = hashlib.sha256()
                f = tf.extractfile(ti)
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
                n["size"], n["sha256"] = ti.size, h.hexdigest()
            elif kind == "symlink":
                n["target"] = ti.linkname
            elif kind in ("chardev", "blockdev"):
                n["rdev"] = [ti.devmajor, ti.devminor]
            xattrs = {k[len("SCHILY.xattr."):]: v.encode("utf-8", "surrogateescape").hex()
                      for k, v in ti.pax_headers.items() if k.startswith("SCHILY.xattr.")}
            if xattrs:
                n["xattrs"] = dict(sorted(xattrs.items()))
            tree[path] = n
    return dict(sorted(tree.items()))

