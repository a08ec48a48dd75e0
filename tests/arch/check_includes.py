#!/usr/bin/env python3
"""The dependency rule of docs/ARCHITECTURE.md, checked on every project #include.

    util  <-  oci, net, workspace, backends  <-  engine  <-  cmd
    util  <-  guest/protocol  <-  engine (host end of the channel)
    util (fd, fs, result, dir, signal_fd only)  <-  guest/protocol  <-  guest/agent

check_includes.py ROOT      exits 1 and lists every include that crosses the rule.
check_includes.py --self-test   proves the check fails on a planted violation.
Folders not listed (tests/, bench/) may include anything.
"""
import os
import re
import sys
import tempfile

# folder -> folders (or single headers) it may include. A folder may always include itself.
ALLOWED = {
    "util": [],
    "oci": ["util"],
    "net": ["util"],
    "workspace": ["util"],
    "backends": ["util"],
    "guest/protocol": ["util/dir.hpp", "util/fd.hpp", "util/fs.hpp", "util/result.hpp", "util/signal_fd.hpp"],
    "guest/agent": ["guest/protocol", "util/dir.hpp", "util/fd.hpp", "util/fs.hpp", "util/result.hpp",
                    "util/signal_fd.hpp"],
    "engine": ["util", "oci", "net", "workspace", "backends", "guest/protocol"],
    "cmd": ["util", "oci", "net", "workspace", "backends", "guest/protocol", "engine"],
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def owner(rel):
    """The ALLOWED key a project path belongs to (longest match), or None."""
    best = None
    for key in ALLOWED:
        if rel == key or rel.startswith(key + "/"):
            if best is None or len(key) > len(best):
                best = key
    return best


def allowed(src_owner, header):
    if owner(header) == src_owner:
        return True
    for a in ALLOWED[src_owner]:
        if header == a or (not a.endswith(".hpp") and header.startswith(a + "/")):
            return True
    return False


def violations(root):
    out = []
    for key in ALLOWED:
        base = os.path.join(root, key)
        for dirpath, _, files in os.walk(base):
            for f in sorted(files):
                if not f.endswith((".cpp", ".hpp", ".h", ".mm")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                src = owner(rel)
                if src != key:
                    continue  # a nested folder with its own rule (guest/agent under guest)
                text = open(path, encoding="utf-8", errors="replace").read()
                for m in INCLUDE.finditer(text):
                    header = m.group(1)
                    if owner(header) is None and "/" not in header:
                        continue  # a local header next to the file
                    if owner(header) is None:
                        continue  # not a project header (e.g. catch2/)
                    if not allowed(src, header):
                        line = text.count("\n", 0, m.start()) + 1
                        out.append("%s:%d: %s may not include \"%s\" (allowed: %s)" %
                                   (rel, line, src, header, ", ".join([src] + ALLOWED[src])))
    return out


def self_test():
    with tempfile.TemporaryDirectory() as d:
        for rel, text in {"util/a.hpp": '#include "util/b.hpp"\n',
                          "net/x.cpp": '#include "net/y.hpp"\n#include "util/a.hpp"\n',
                          "engine/e.cpp": '#include "net/x.hpp"\n'}.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            open(os.path.join(d, rel), "w").write(text)
        assert violations(d) == [], violations(d)
        planted = {"net/bad.cpp": '#include "engine/config.hpp"\n',
                   "util/bad.hpp": '#include "net/rule.hpp"\n',
                   "guest/agent/bad.cpp": '#include "util/process.hpp"\n',
                   "oci/bad.cpp": '  #  include "workspace/node_table.hpp"\n'}
        for rel, text in planted.items():
            open(os.path.join(d, rel), "w").write(text) if os.path.isdir(os.path.dirname(os.path.join(d, rel))) \
                else (os.makedirs(os.path.dirname(os.path.join(d, rel))), open(os.path.join(d, rel), "w").write(text))
        found = violations(d)
        assert len(found) == len(planted), found
        for rel in planted:
            assert any(v.startswith(rel + ":") for v in found), (rel, found)
    print("self-test: every planted violation was reported")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    found = violations(root)
    for v in found:
        print(v)
    if found:
        print("%d include(s) cross the dependency rule (docs/ARCHITECTURE.md)" % len(found))
        return 1
    print("include direction: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
