"""Hostile one-layer images for negative tests; each is its own OCI layout.

Names (layout dir hostile-NAME, pushed as matchlock/hostile-NAME:latest when the
blobs are self-consistent):
  dotdot        members "../escape", "etc/../../escape2"
  abs           members "/abs-file", "/abs-dir/x"
  symlink       symlink evil -> /etc then file evil/passwd; up -> ../../../../tmp then up/escaped
  hardlink      hardlinks to a missing target, to ../../../etc/passwd, to /etc/passwd
  dup           same path twice (file, file); file then dir; dir then file
  size          header declares 1 TiB, stream ends after the header (truncated tar)
  bomb          4 GiB of zeros in ~4 MiB of gzip (concatenated gzip members)
  wrong-digest  layer blob stored under its digest with one byte flipped
  truncated     layer blob cut to half, descriptor keeps the full size
  descsize      manifest declares the (small, correct) layer blob to be 1 TiB
The last three cannot be pushed with skopeo (it checks digests and sizes); registry.py
writes their layers straight into the registry's storage instead.
"""
import gzip
import hashlib
import io
import tarfile

import ocilayout as L

# Layouts whose blobs do not match their digests cannot be pushed with skopeo.
LAYOUT_ONLY = ("wrong-digest", "truncated", "descsize")
BOMB_SIZE = 4 << 30
BOMB_CHUNK = 64 << 20


def _one_layer(out, entries=None, tar_path=None, compression="gzip"):
    lay = L.Layout(out)
    layer = lay.add_layer(entries, compression, tar_path=tar_path)
    lay.tag(lay.add_image([layer], {"Cmd": ["/bin/true"]}), "latest")
    lay.finish()
    return lay, layer


def _raw_layer(out, compressed, diff_id):
    """Adds an already-compressed gzip layer whose diff_id is known."""
    lay = L.Layout(out)
    desc = lay.put_bytes(compressed, L.MEDIA[L.OCI]["gzip"])
    layer = L.Layer(desc, diff_id)
    lay.tag(lay.add_image([layer], {"Cmd": ["/bin/true"]}), "latest")
    lay.finish()


def build_dotdot(out):
    _one_layer(out, [L.directory("etc"), L.file("../escape", "escaped\n", raw=True),
                     L.file("etc/../../escape2", "escaped\n", raw=True)])


def build_abs(out):
    _one_layer(out, [L.file("/abs-file", "abs\n", raw=True),
                     L.directory("/abs-dir", raw=True),
                     L.file("/abs-dir/x", "abs\n", raw=True)])


def build_symlink(out):
    _one_layer(out, [L.symlink("evil", "/etc"), L.file("evil/passwd", "pwned\n"),
                     L.symlink("up", "../../../../tmp"), L.file("up/escaped", "pwned\n")])


def build_hardlink(out):
    _one_layer(out, [L.hardlink("link-missing", "does/not/exist"),
                     L.hardlink("link-outside", "../../../etc/passwd", raw=True),
                     L.hardlink("link-abs", "/etc/passwd", raw=True)])


def build_dup(out):
    _one_layer(out, [L.file("dup", "first\n"), L.file("dup", "second\n"),
                     L.file("f2d", "file\n"), L.directory("f2d"), L.file("f2d/child", "c\n"),
                     L.directory("d2f"), L.file("d2f/child", "c\n"), L.file("d2f", "file\n")])


def build_size(out):
    ti = tarfile.TarInfo("huge")
    ti.size = 1 << 40
    ti.mtime = L.EPOCH
    raw = ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape") + b"hello"
    _raw_layer(out, gzip.compress(raw, 6, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest())


def build_bomb(out):
    ti = tarfile.TarInfo("bomb")
    ti.size = BOMB_SIZE
    ti.mtime = L.EPOCH
    header = ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    trailer = bytes(1024)
    zero_chunk = bytes(BOMB_CHUNK)
    zero_member = gzip.compress(zero_chunk, 9, mtime=0)
    count = BOMB_SIZE // BOMB_CHUNK
    h = hashlib.sha256(header)
    for _ in range(count):
        h.update(zero_chunk)
    h.update(trailer)
    compressed = io.BytesIO()
    compressed.write(gzip.compress(header, 9, mtime=0))
    for _ in range(count):
        compressed.write(zero_member)
    compressed.write(gzip.compress(trailer, 9, mtime=0))
    _raw_layer(out, compressed.getvalue(), "sha256:" + h.hexdigest())


def _corrupt_layer(out, mutate, kind):
    # content differs per kind: a registry stores blobs by digest, globally
    lay, layer = _one_layer(out, [L.directory("etc"), L.file("etc/" + kind, kind * 4096 + "\n")])
    path = lay._blob_path(layer.descriptor["digest"])
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(mutate(data))


def build_wrong_digest(out):
    _corrupt_layer(out, lambda d: d[:-9] + bytes([d[-9] ^ 0xFF]) + d[-8:], "w")


def build_truncated(out):
    _corrupt_layer(out, lambda d: d[:len(d) // 2], "t")


def build_descsize(out):
    """The manifest claims the layer is 1 TiB; the blob is a few hundred bytes."""
    lay = L.Layout(out)
    layer = lay.add_layer([L.directory("etc"), L.file("etc/descsize", "small\n")], "gzip")
    big = L.Layer(dict(layer.descriptor, size=1 << 40), layer.diff_id)
    lay.tag(lay.add_image([big], {"Cmd": ["/bin/true"]}), "latest")
    lay.finish()


BUILDERS = {
    "dotdot": build_dotdot, "abs": build_abs, "symlink": build_symlink,
    "hardlink": build_hardlink, "dup": build_dup, "size": build_size, "bomb": build_bomb,
    "wrong-digest": build_wrong_digest, "truncated": build_truncated,
    "descsize": build_descsize,
}
