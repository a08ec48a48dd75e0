"""The rig's well-formed fixture images: busybox, busybox-docker, layers, multiarch, busybox-multi, debian.

Each builder takes (layout_dir, cache_dir) and writes a complete OCI layout tagged
"latest" (debian: "bookworm" and "latest"). See README.md for what each contains.
"""
import hashlib
import json
import os
import struct
import subprocess
import tarfile

import expected
import ocilayout as L

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX_BIN = "/bin/busybox"


def busybox_entries(binary_path=BUSYBOX_BIN):
    """The busybox image tree. binary_path: the busybox to install (another
    architecture's too); the applet list comes from the host's busybox (same package)."""
    with open(binary_path, "rb") as f:
        binary = f.read()
    applets = subprocess.run([BUSYBOX_BIN, "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
    entries = [L.directory(d) for d in ("bin", "dev", "etc", "home", "proc", "sbin", "sys",
                                        "usr", "usr/bin", "usr/sbin", "var")]
    entries += [
        L.directory("home/user", uid=1000, gid=1000),
        L.directory("root", mode=0o700),
        L.directory("tmp", mode=0o1777),
        L.directory("var/tmp", mode=0o1777),
        L.file("bin/busybox", binary, mode=0o755),
        L.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                             "user:x:1000:1000:user:/home/user:/bin/sh\n"),
        L.file("etc/group", "root:x:0:\nuser:x:1000:\n"),
        L.file("etc/hostname", "matchlock\n"),
    ]
    for applet in sorted(set(applets)):
        if applet != "bin/busybox":
            entries.append(L.symlink(applet, "/bin/busybox"))
    return entries


BUSYBOX_CONFIG = {"Cmd": ["sh"], "Env": [PATH_ENV]}


def build_busybox(out, cache, media=L.OCI):
    lay = L.Layout(out, media)
    layer = lay.add_layer(busybox_entries(), "gzip")
    lay.tag(lay.add_image([layer], BUSYBOX_CONFIG), "latest")
    lay.finish()


def build_busybox_docker(out, cache):
    build_busybox(out, cache, media=L.DOCKER)


# security.capability v2 blob granting cap_net_bind_service (bit 10), effective.
CAP_NET_BIND = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)
LONG_DIR = "long/" + "d" * 60
LONG_NAME = LONG_DIR + "/" + "n" * 150
MAX_NAME = "x" * 255


def layers_entries():
    layer1 = [
        L.directory("a"), L.directory("a/b"), L.directory("big"), L.directory("bin"), L.directory("data"),
        L.directory("deldir"), L.directory("hl"), L.directory("long"), L.directory(LONG_DIR),
        L.directory("opq"), L.directory("special"), L.directory("work", uid=1000, gid=1000),
        L.directory("xattr"),
        L.file("a/keep", "v1\n"),
        L.file("a/remove-me", "bye\n"),
        L.file("a/b/file", "deep\n"),
        L.file("bin/ep", "#!/bin/sh\necho ep \"$@\"\n", mode=0o755),
        L.file("deldir/inner", "inner\n"),
        L.file("opq/x", "x\n"), L.file("opq/y", "y\n"),
        L.file("hl/target", "shared inode\n"),
        L.hardlink("hl/link", "hl/target"),
        L.symlink("sym-rel", "a/keep"),
        L.symlink("sym-abs", "/a/keep"),
        L.symlink("sym-dangling", "/nonexistent"),
        L.file("xattr/cap", "#!/bin/sh\n", mode=0o755,
               xattrs={"security.capability": CAP_NET_BIND, "user.rig": b"hello"}),
        L.file("special/suid", "suid\n", mode=0o4755),
        L.file("special/sgid", "sgid\n", mode=0o2755, gid=50),
        L.directory("special/sticky", mode=0o1777),
        L.fifo("special/fifo"),
        L.chardev("special/null", 1, 3),
        L.blockdev("special/loop0", 7, 0),
        L.file(LONG_NAME, "long\n"),
        L.file(MAX_NAME, "255 byte name\n"),
        L.zeros("big/zeros", 16 << 20),
        L.file("empty"),
        L.file("\u00fcn\u00efc\u00f6d\u00e9 name.txt", "utf-8\n"),
        L.file("owned", "1000\n", uid=1000, gid=1000, mode=0o600),
        L.file("swap", "file in layer 1\n"),
    ]
    layer2 = [  # zstd
        L.whiteout("a/remove-me"),
        L.file("opq/new", "same-layer entry listed before the opaque marker\n"),
        L.opaque("opq"),
        L.file("a/keep", "v2\n"),
        L.file("hl/t2", "layer 2 inode\n"),
        L.hardlink("hl/l2", "hl/t2"),
        L.whiteout("swap"),
        L.directory("swap"),
        L.file("swap/child", "dir replaced a file\n"),
    ]
    layer3 = [  # uncompressed, GNU tar format (././@LongLink names)
        L.whiteout("deldir"),
        L.directory("gnu"),
        L.file("gnu/" + "g" * 120, "gnu longname\n"),
        L.file("sym-dangling", "file replaced a symlink\n"),
    ]
    return layer1, layer2, layer3


LAYERS_CONFIG = {
    "Entrypoint": ["/bin/ep"],
    "Cmd": ["--flag", "value with spaces"],
    "Env": ["PATH=/bin:/usr/bin", "RIG=layers", "EMPTY="],
    "WorkingDir": "/work",
    "User": "1000:1000",
    "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
    "Volumes": {"/data": {}},
    "Labels": {"org.opencontainers.image.title": "matchlock rig layers",
               "rig.matchlock.dev/layers": "3"},
    "StopSignal": "SIGTERM",
}


def build_layers(out, cache):
    l1, l2, l3 = layers_entries()
    lay = L.Layout(out)
    layers = [lay.add_layer(l1, "gzip"), lay.add_layer(l2, "zstd"),
              lay.add_layer(l3, None, fmt=tarfile.GNU_FORMAT)]
    lay.tag(lay.add_image(layers, LAYERS_CONFIG), "latest")
    lay.finish()
    with open(out + ".expected.json", "wb") as f:
        f.write(L.canonical_json(expected.apply_layers([l1, l2, l3])))


def build_multiarch(out, cache):
    lay = L.Layout(out)
    base = lay.add_layer(busybox_entries(), "gzip")
    amd = lay.add_layer([L.directory("etc"), L.file("etc/arch", "amd64\n")], "gzip")
    arm = lay.add_layer([L.directory("etc"), L.file("etc/arch", "arm64\n")], "gzip")
    amd64 = lay.add_image([base, amd], BUSYBOX_CONFIG, arch="amd64", platform_in_desc=True)
    arm64 = lay.add_image([arm], BUSYBOX_CONFIG, arch="arm64", variant="v8",
                          platform_in_desc=True)
    statement = {"_type": "https://in-toto.io/Statement/v0.1",
                 "predicateType": "https://spdx.dev/Document",
                 "subject": [{"name": "matchlock/multiarch",
                              "digest": {"sha256": amd64["digest"].split(":")[1]}}],
                 "predicate": {"spdxVersion": "SPDX-2.3", "name": "matchlock rig"}}
    sdesc = lay.put_json(statement, "application/vnd.in-toto+json")
    sdesc["annotations"] = {"in-toto.io/predicate-type": "https://spdx.dev/Document"}
    att_layer = L.Layer(sdesc, sdesc["digest"])
    att = lay.add_image([att_layer], {}, arch="unknown", os_name="unknown",
                        platform_in_desc=True)
    att["annotations"] = {"vnd.docker.reference.digest": amd64["digest"],
                          "vnd.docker.reference.type": "attestation-manifest"}
    lay.tag(lay.add_index([amd64, arm64, att]), "latest")
    lay.finish()


def build_multiarch_docker(out, cache):
    """Docker manifest list (schema2): linux/amd64 (busybox) + linux/arm64/v8, no attestation."""
    lay = L.Layout(out, L.DOCKER)
    base = lay.add_layer(busybox_entries(), "gzip")
    arm = lay.add_layer([L.directory("etc"), L.file("etc/arch", "arm64\n")], "gzip")
    amd64 = lay.add_image([base], BUSYBOX_CONFIG, arch="amd64", platform_in_desc=True)
    arm64 = lay.add_image([arm], BUSYBOX_CONFIG, arch="arm64", variant="v8",
                          platform_in_desc=True)
    lay.tag(lay.add_index([amd64, arm64]), "latest")
    lay.finish()


# ---- busybox-multi (linux/amd64 + linux/arm64) --------------------------------

def arm64_busybox(cache):
    """/bin/busybox of Debian's busybox-static:arm64, fetched once into the cache
    (apt-get download; needs `dpkg --add-architecture arm64` and the mirror)."""
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "busybox-static"], check=True,
                             capture_output=True, text=True).stdout.strip()
    key = hashlib.sha256(version.encode()).hexdigest()[:8]
    out = os.path.join(cache, "busybox-arm64-%s" % key)
    if os.path.exists(out):
        return out
    work = out + ".tmp.%d" % os.getpid()
    os.makedirs(work)
    try:
        # the same version as the host's, so the applet lists agree
        subprocess.run(["apt-get", "download", "-q", "busybox-static:arm64=" + version], cwd=work,
                       check=True, stdout=subprocess.DEVNULL)
        deb = [n for n in os.listdir(work) if n.endswith(".deb")][0]
        subprocess.run(["dpkg-deb", "-x", os.path.join(work, deb), os.path.join(work, "x")], check=True)
        with open(os.path.join(work, "x", "bin", "busybox"), "rb") as f:
            data = f.read()
        if data[:4] != b"\x7fELF" or struct.unpack("<H", data[18:20])[0] != 183:  # EM_AARCH64
            raise RuntimeError("%s: bin/busybox is not an aarch64 ELF" % deb)
        with open(out + ".tmp", "wb") as f:
            f.write(data)
        os.rename(out + ".tmp", out)
    finally:
        subprocess.run(["rm", "-rf", work], check=False)
    return out


def build_busybox_multi(out, cache):
    """OCI index: linux/amd64 and linux/arm64/v8 busybox images, each with /etc/arch."""
    lay = L.Layout(out)
    amd = lay.add_layer(busybox_entries() + [L.file("etc/arch", "amd64\n")], "gzip")
    arm = lay.add_layer(busybox_entries(arm64_busybox(cache)) + [L.file("etc/arch", "arm64\n")], "gzip")
    amd64 = lay.add_image([amd], BUSYBOX_CONFIG, arch="amd64", platform_in_desc=True)
    arm64 = lay.add_image([arm], BUSYBOX_CONFIG, arch="arm64", variant="v8", platform_in_desc=True)
    lay.tag(lay.add_index([amd64, arm64]), "latest")
    lay.finish()


# ---- debian ---------------------------------------------------------------

DEBIAN_SUITE = "bookworm"
# curl and perl-base (minbase) drive the in-guest network tests; openssl speaks raw TLS
# (s_client) for pipelined and malformed requests toward intercepted hosts.
DEBIAN_INCLUDE = "curl,ca-certificates,git,openssl"
DEBIAN_EXCLUDE_DIRS = ("dev", "proc", "sys", "var/lib/apt/lists", "var/cache/apt/archives",
                       "var/cache/apt", "var/log", "run", "tmp")
# ldconfig's aux-cache records inode numbers and ctimes: the one file that differs
# between two debootstraps of the same packages.
DEBIAN_EXCLUDE_FILES = ("var/cache/ldconfig/aux-cache",)


def apt_mirror():
    """First http(s) Debian mirror configured in /etc/apt (deb822 or one-line)."""
    candidates = []
    for d in ("/etc/apt/sources.list.d", "/etc/apt"):
        if os.path.isdir(d):
            for n in sorted(os.listdir(d)):
                if n.endswith((".sources", ".list")):
                    candidates.append(os.path.join(d, n))
    for path in candidates:
        with open(path) as f:
            for line in f:
                words = line.split()
                for w in words:
                    if w.startswith("http") and w.rstrip("/").endswith("/debian"):
                        return w
    return "http://deb.debian.org/debian"


def debootstrap_tree(cache):
    """Returns the cached debootstrap tree, creating it (minutes) if missing."""
    # Keyed by the package list, so adding a package builds a new tree.
    key = hashlib.sha256(DEBIAN_INCLUDE.encode()).hexdigest()[:8]
    tree = os.path.join(cache, "%s-minbase-%s.tree" % (DEBIAN_SUITE, key))
    if os.path.isdir(tree):
        return tree
    tmp = tree + ".tmp.%d" % os.getpid()
    os.makedirs(cache, exist_ok=True)
    subprocess.run(["debootstrap", "--variant=minbase", "--include=" + DEBIAN_INCLUDE,
                    DEBIAN_SUITE, tmp, apt_mirror()], check=True)
    os.rename(tmp, tree)
    return tree


def _tree_tar(tree, out_tar):
    """Deterministic tar of `tree`: sorted walk, fixed mtime, numeric ids, xattrs kept."""
    with open(out_tar, "wb") as raw, \
            tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        def add(rel):
            path = os.path.join(tree, rel)
            ti = tf.gettarinfo(path, rel)
            if ti is None:  # sockets
                return
            ti.mtime = L.EPOCH
            ti.uname = ti.gname = ""
            try:
                names = sorted(os.listxattr(path, follow_symlinks=False))
            except OSError:
                names = []
            if names:
                ti.pax_headers = {"SCHILY.xattr." + n: os.getxattr(
                    path, n, follow_symlinks=False).decode("utf-8", "surrogateescape")
                    for n in names}
            if ti.isreg():
                with open(path, "rb") as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)

        for dirpath, dirs, files in os.walk(tree):
            rel_dir = os.path.relpath(dirpath, tree)
            dirs.sort()
            if rel_dir != "." and rel_dir in DEBIAN_EXCLUDE_DIRS:
                dirs[:] = []
                continue
            for name in sorted(dirs + files):
                rel = os.path.normpath(os.path.join(rel_dir, name))
                if rel not in DEBIAN_EXCLUDE_FILES:
                    add(rel)


def build_debian(out, cache):
    tree = debootstrap_tree(cache)
    lay = L.Layout(out)
    tmp_tar = os.path.join(out, "tree.tmp.tar")
    _tree_tar(tree, tmp_tar)
    with open(out + ".expected.json", "wb") as f:
        f.write(L.canonical_json(expected.tree_from_tar(tmp_tar)))
    layer = lay.add_layer(None, "gzip", tar_path=tmp_tar)
    os.unlink(tmp_tar)
    config = {"Cmd": ["bash"], "Env": [PATH_ENV, "LANG=C.UTF-8"],
              "Labels": {"org.opencontainers.image.title": "matchlock rig debian",
                         "rig.matchlock.dev/debootstrap": "minbase " + DEBIAN_INCLUDE}}
    img = lay.add_image([layer], config)
    lay.tag(img, DEBIAN_SUITE)
    lay.tag(img, "latest")
    lay.finish()
    with open(out + ".info.json", "w") as f:
        json.dump({"manifest": img["digest"], "layer": layer.descriptor,
                   "diff_id": layer.diff_id}, f)
