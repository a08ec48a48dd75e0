"""Deterministic OCI image layout writer for the matchlock test rig.

Stdlib only (plus the `gzip` and `zstd` CLIs for compression). Every byte
written is a function of the inputs: fixed mtimes, empty user/group names,
gzip without name/timestamp, entries in the order the spec lists them.

Vocabulary:
  entries   list of Entry (file/dir/symlink/hardlink/device/fifo/whiteout)
  layer     Layout.add_layer(entries or a tar file, compression) -> Layer
  image     Layout.add_image(layers, config, ...) -> manifest descriptor
  index     Layout.add_index(descriptors, ...) -> index descriptor
  tag       Layout.tag(descriptor, "latest") then Layout.finish()
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

EPOCH = 1700000000  # 2023-11-14T22:13:20Z, every mtime in every fixture
CREATED = "2023-11-14T22:13:20Z"

OCI = "oci"
DOCKER = "docker"

MEDIA = {
    OCI: {
        "manifest": "application/vnd.oci.image.manifest.v1+json",
        "index": "application/vnd.oci.image.index.v1+json",
        "config": "application/vnd.oci.image.config.v1+json",
        "tar": "application/vnd.oci.image.layer.v1.tar",
        "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
        "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    },
    DOCKER: {
        "manifest": "application/vnd.docker.distribution.manifest.v2+json",
        "index": "application/vnd.docker.distribution.manifest.list.v2+json",
        "config": "application/vnd.docker.container.image.v1+json",
        "tar": "application/vnd.docker.image.rootfs.diff.tar",
        "gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    },
}


class Entry:
    """One tar member. `data` is bytes; `zeros` (int) streams that many NUL bytes."""

    def __init__(self, path, kind, mode, data=b"", target="", uid=0, gid=0,
                 xattrs=None, major=0, minor=0, zeros=0, raw=False):
        # raw=True keeps the name byte-for-byte (hostile fixtures: "/abs", "../x").
        self.path = path if raw else path.lstrip("/")
        self.kind = kind
        self.mode = mode
        self.data = data
        self.target = target
        self.uid = uid
        self.gid = gid
        self.xattrs = xattrs or {}
        self.major = major
        self.minor = minor
        self.zeros = zeros

    def size(self):
        return self.zeros if self.zeros else len(self.data)


def file(path, data=b"", mode=0o644, **kw):
    if isinstance(data, str):
        data = data.encode()
    return Entry(path, "file", mode, data=data, **kw)


def zeros(path, size, mode=0o644, **kw):
    return Entry(path, "file", mode, zeros=size, **kw)


def directory(path, mode=0o755, **kw):
    return Entry(path, "dir", mode, **kw)


def symlink(path, target, **kw):
    return Entry(path, "symlink", 0o777, target=target, **kw)


def hardlink(path, target, **kw):
    raw = kw.get("raw", False)
    return Entry(path, "hardlink", 0o644, target=target if raw else target.lstrip("/"), **kw)


def chardev(path, major, minor, mode=0o666, **kw):
    return Entry(path, "chardev", mode, major=major, minor=minor, **kw)


def blockdev(path, major, minor, mode=0o660, **kw):
    return Entry(path, "blockdev", mode, major=major, minor=minor, **kw)


def fifo(path, mode=0o644, **kw):
    return Entry(path, "fifo", mode, **kw)


def whiteout(path):
    head, tail = os.path.split(path.rstrip("/"))
    return file(os.path.join(head, ".wh." + tail), mode=0o644)


def opaque(dirpath):
    return file(os.path.join(dirpath.rstrip("/"), ".wh..wh..opq"), mode=0o644)


_KIND_TYPE = {
    "file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE, "chardev": tarfile.CHRTYPE,
    "blockdev": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE,
}


class _Zeros(io.RawIOBase):
    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, buf):
        n = min(len(buf), self.left)
        buf[:n] = bytes(n)
        self.left -= n
        return n


def tarinfo_for(e):
    ti = tarfile.TarInfo(e.path + ("/" if e.kind == "dir" and not e.path.endswith("/") else ""))
    ti.type = _KIND_TYPE[e.kind]
    ti.mode = e.mode
    ti.uid, ti.gid = e.uid, e.gid
    ti.uname = ti.gname = ""
    ti.mtime = EPOCH
    ti.linkname = e.target
    ti.devmajor, ti.devminor = e.major, e.minor
    ti.size = e.size() if e.kind == "file" else 0
    if e.xattrs:
        ti.pax_headers = {"SCHILY.xattr." + k: (v.decode("utf-8", "surrogateescape")
                                                if isinstance(v, bytes) else v)
                          for k, v in sorted(e.xattrs.items())}
    return ti


def write_tar(entries, out_path, fmt=tarfile.PAX_FORMAT):
    """Writes entries in the given order; returns nothing. Deterministic."""
    with open(out_path, "wb") as raw, \
            tarfile.open(fileobj=raw, mode="w", format=fmt, encoding="utf-8") as tf:
        for e in entries:
            ti = tarinfo_for(e)
            if e.kind == "file":
                src = _Zeros(e.zeros) if e.zeros else io.BytesIO(e.data)
                tf.addfile(ti, io.BufferedReader(src) if e.zeros else src)
            else:
                tf.addfile(ti)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def compress_file(src, dst, compression):
    cmd = {"gzip": ["gzip", "-n", "-6", "-c"], "zstd": ["zstd", "-q", "-3", "-c", "--no-progress"]}
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        subprocess.run(cmd[compression], stdin=fin, stdout=fout, check=True)


class Layer:
    def __init__(self, descriptor, diff_id):
        self.descriptor = descriptor
        self.diff_id = diff_id


class Layout:
    """An OCI image layout directory being written at `root` (must not exist)."""

    def __init__(self, root, media=OCI):
        self.root = root
        self.media = media
        self.refs = []
        os.makedirs(os.path.join(root, "blobs", "sha256"))
        with open(os.path.join(root, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')

    def _blob_path(self, digest):
        return os.path.join(self.root, "blobs", "sha256", digest.split(":", 1)[1])

    def put_file(self, path, media_type, move=True):
        digest = sha256_file(path)
        size = os.path.getsize(path)
        dst = self._blob_path(digest)
        if move:
            os.replace(path, dst)
        else:
            shutil.copyfile(path, dst)
        return {"mediaType": media_type, "digest": digest, "size": size}

    def put_bytes(self, data, media_type):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with open(self._blob_path(digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def put_json(self, obj, media_type):
        return self.put_bytes(canonical_json(obj), media_type)

    def add_layer(self, entries=None, compression="gzip", tar_path=None,
                  fmt=tarfile.PAX_FORMAT, media=None):
        """Adds a layer from entries (or an existing tar file); returns Layer."""
        media = media or self.media
        tmp = os.path.join(self.root, "layer.tmp.tar")
        if tar_path is None:
            write_tar(entries, tmp, fmt)
            tar_path = tmp
        diff_id = sha256_file(tar_path)
        mt = MEDIA[media][compression if compression else "tar"]
        if compression:
            ctmp = os.path.join(self.root, "layer.tmp.c")
            compress_file(tar_path, ctmp, compression)
            desc = self.put_file(ctmp, mt)
        else:
            desc = self.put_file(tar_path, mt, move=(tar_path == tmp))
        if os.path.exists(tmp):
            os.unlink(tmp)
        return Layer(desc, diff_id)

    def add_image(self, layers, config=None, arch="amd64", os_name="linux", variant=None,
                  annotations=None, history=None, media=None, platform_in_desc=False):
        media = media or self.media
        cfg = {
            "created": CREATED,
            "architecture": arch,
            "os": os_name,
            "config": config or {},
            "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
            "history": history or [{"created": CREATED, "created_by": "matchlock test rig"}
                                   for _ in layers],
        }
        if variant:
            cfg["variant"] = variant
        cdesc = self.put_json(cfg, MEDIA[media]["config"])
        manifest = {"schemaVersion": 2, "mediaType": MEDIA[media]["manifest"],
                    "config": cdesc, "layers": [l.descriptor for l in layers]}
        if annotations:
            manifest["annotations"] = annotations
        mdesc = self.put_json(manifest, MEDIA[media]["manifest"])
        if platform_in_desc:
            mdesc["platform"] = {"architecture": arch, "os": os_name}
            if variant:
                mdesc["platform"]["variant"] = variant
        return mdesc

    def add_index(self, descriptors, media=None, annotations=None):
        media = media or self.media
        index = {"schemaVersion": 2, "mediaType": MEDIA[media]["index"], "manifests": descriptors}
        if annotations:
            index["annotations"] = annotations
        return self.put_json(index, MEDIA[media]["index"])

    def tag(self, descriptor, name):
        d = dict(descriptor)
        d.pop("platform", None)
        d["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.refs.append(d)

    def finish(self):
        index = {"schemaVersion": 2, "manifests": self.refs}
        with open(os.path.join(self.root, "index.json"), "wb") as f:
            f.write(canonical_json(index))


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
