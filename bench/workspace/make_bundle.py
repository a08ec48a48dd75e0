#!/usr/bin/env python3
"""Build a matchlock kernel bundle (the format of backends/kernel_bundle.hpp,
usable as `[sandbox] kernel = "DIR"`) from a Debian kernel .deb with extra
modules. The bench needs the 9p modules, which Debian's cloud kernel (our
default) does not ship; the generic kernel (linux-image-amd64) does.

usage: make_bundle.py KERNEL.deb OUT_DIR MODULE...
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    deb, out, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True)
        mods = os.path.join(tmp, "lib", "modules")
        release = os.listdir(mods)[0]
        base = os.path.join(mods, release)
        # The .deb has no modules.dep (depmod runs at install): read each
        # module's "depends=" from its .modinfo strings instead.
        deps, paths = {}, {}
        for root, _, names in os.walk(os.path.join(base, "kernel")):
            for n in names:
                if ".ko" not in n:
                    continue
                name = n.split(".ko")[0].replace("-", "_")
                path = os.path.join(root, n)
                paths[name] = os.path.relpath(path, base)
                with open(path, "rb") as f:
                    data = f.read()
                i = data.find(b"\0depends=")
                dep = data[i + 9:data.index(b"\0", i + 1)].decode() if i >= 0 else ""
                deps[name] = [d.replace("-", "_") for d in dep.split(",") if d]
        builtin = set()
        bpath = os.path.join(base, "modules.builtin")
        if os.path.exists(bpath):
            with open(bpath) as f:
                builtin = {os.path.basename(l.strip()).split(".ko")[0].replace("-", "_") for l in f}
        order = []

        def visit(name):
            if name in order or name in builtin:
                return
            if name not in deps:
                sys.exit(f"make_bundle: module {name} is not in {release}")
            for d in deps[name]:
                visit(d)
            order.append(name)

        for m in wanted:
            visit(m)
        tmp_out = out + ".partial"
        shutil.rmtree(tmp_out, ignore_errors=True)
        os.makedirs(os.path.join(tmp_out, "modules"))
        shutil.copy(os.path.join(tmp, "boot", "vmlinuz-" + release), os.path.join(tmp_out, "vmlinuz"))
        files, modules = {}, []
        for i, name in enumerate(order, 1):
            src = os.path.join(base, paths[name])
            ext = ".ko" + src.split(".ko", 1)[1]
            fname = f"{i:02d}-{name}{ext}"
            shutil.copy(src, os.path.join(tmp_out, "modules", fname))
            modules.append({"name": name, "file": fname})
        for rel in ["vmlinuz"] + ["modules/" + m["file"] for m in modules]:
            with open(os.path.join(tmp_out, rel), "rb") as f:
                files[rel] = hashlib.sha256(f.read()).hexdigest()
        pkg = subprocess.run(["dpkg-deb", "-f", deb, "Package", "Version"], check=True, capture_output=True, text=True).stdout.split("\n")
        bundle = {"format": 1, "package": pkg[0].split(": ", 1)[1], "version": pkg[1].split(": ", 1)[1],
                  "release": release, "modules": modules, "files": files}
        with open(os.path.join(tmp_out, "bundle.json"), "w") as f:
            json.dump(bundle, f, indent=2, sort_keys=True)
        shutil.rmtree(out, ignore_errors=True)
        os.rename(tmp_out, out)
        print(f"make_bundle: {out}: {release}, modules: {' '.join(order)}")


if __name__ == "__main__":
    main()
