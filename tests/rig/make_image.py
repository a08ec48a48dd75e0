#!/usr/bin/env python3
"""Builds the rig's fixture OCI image layouts, deterministically.

usage: make_image.py --out DIR [--cache DIR] [--force] NAME...
  NAME: busybox busybox-docker layers multiarch multiarch-docker busybox-multi debian
        hostile-<kind> | fast | hostile | all
  fast = every fixture except debian and busybox-multi (both need Debian's mirror once);
  hostile = every hostile-* layout.

Layouts land in DIR/NAME (published by rename, so a reader never sees half a layout).
A layout is rebuilt only when the rig's python sources changed (DIR/.stamp-NAME).
busybox-multi needs busybox-static:arm64 (apt-get download), fetched once into --cache.
debian needs a debootstrap tree, built once per machine into --cache
(default $MATCHLOCK_RIG_CACHE or /var/tmp/matchlock-rig); the finished debian layout
also lives in the cache and DIR/debian is a symlink to it.
"""
import argparse
import fcntl
import hashlib
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import hostile  # noqa: E402

BUILDERS = {
    "busybox": fixtures.build_busybox,
    "busybox-docker": fixtures.build_busybox_docker,
    "layers": fixtures.build_layers,
    "multiarch": fixtures.build_multiarch,
    "multiarch-docker": fixtures.build_multiarch_docker,
}
for _kind, _fn in hostile.BUILDERS.items():
    BUILDERS["hostile-" + _kind] = (lambda fn: lambda out, cache: fn(out))(_fn)
HOSTILE = sorted(n for n in BUILDERS if n.startswith("hostile-"))
FAST = sorted(BUILDERS)
BUILDERS["busybox-multi"] = fixtures.build_busybox_multi


def rig_version(names=("ocilayout.py", "fixtures.py", "hostile.py", "expected.py")):
    """Hash of the sources that decide the bytes of a layout."""
    h = hashlib.sha256()
    here = os.path.dirname(os.path.abspath(__file__))
    for name in names:
        with open(os.path.join(here, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def _remove(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def publish(build, final, cache):
    """Builds into a temp dir next to `final`, then renames it into place."""
    tmp = "%s.tmp.%d" % (final, os.getpid())
    _remove(tmp)
    for side in (".expected.json", ".info.json"):
        _remove(tmp + side)
    build(tmp, cache)
    _remove(final)
    os.rename(tmp, final)
    for side in (".expected.json", ".info.json"):
        if os.path.exists(tmp + side):
            os.replace(tmp + side, final + side)


def build_one(name, out, cache, force, version):
    stamp = os.path.join(out, ".stamp-" + name)
    final = os.path.join(out, name)
    if not force and os.path.exists(final) and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read().strip() == version:
                return False
    if name == "debian":
        # the cache is per machine: several build dirs may build debian at once
        with open(os.path.join(cache, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            _build_debian_cached(final, cache, force, version)
    else:
        publish(BUILDERS[name], final, cache)
    with open(stamp, "w") as f:
        f.write(version + "\n")
    return True


def _build_debian_cached(final, cache, force, version):
    """Builds (if stale) the debian layout in the cache; links `final` to it."""
    cached = os.path.join(cache, "layout-debian")
    cstamp = os.path.join(cache, ".stamp-layout-debian")
    fresh = os.path.exists(cstamp) and open(cstamp).read().strip() == version
    if force or not os.path.isdir(cached) or not fresh:
        publish(fixtures.build_debian, cached, cache)
        with open(cstamp, "w") as f:
            f.write(version + "\n")
    _remove(final)
    os.symlink(cached, final)
    for side in (".info.json", ".expected.json"):
        _remove(final + side)
        os.symlink(cached + side, final + side)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--out", required=True)
    ap.add_argument("--cache", default=os.environ.get("MATCHLOCK_RIG_CACHE",
                                                      "/var/tmp/matchlock-rig"))
    ap.add_argument("--force", action="store_true")
    ap.add_argument("names", nargs="+")
    args = ap.parse_args()
    names = []
    for n in args.names:
        names += {"fast": FAST, "hostile": HOSTILE,
                  "all": FAST + ["busybox-multi", "debian"]}.get(n, [n])
    unknown = [n for n in names if n not in BUILDERS and n != "debian"]
    if unknown:
        ap.error("unknown image(s): %s (known: %s debian)" % (" ".join(unknown),
                                                              " ".join(FAST)))
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.cache, exist_ok=True)
    for n in names:
        t0 = time.monotonic()
        # debian's bytes do not depend on hostile.py: don't rebuild it (a minute) for that
        version = rig_version(("ocilayout.py", "fixtures.py", "expected.py")) \
            if n == "debian" else rig_version()
        built = build_one(n, os.path.abspath(args.out), os.path.abspath(args.cache),
                          args.force, version)
        print("make_image: %-22s %s (%.1fs)" % (n, "built" if built else "up to date",
                                                time.monotonic() - t0), flush=True)


if __name__ == "__main__":
    main()
