#!/usr/bin/env python3
"""No Linux-only API above the platform layer (docs/ARCHITECTURE.md, "Platform layer").

engine/, cmd/, net/, workspace/, oci/ and util/'s common sources must build on macOS: they reach epoll, signalfd,
openat2, O_PATH, /proc, ... only through util's interfaces (util/event_loop.hpp,
util/beneath.hpp, util/node_ref.hpp, util/file_calls.hpp, util/signal_fd.hpp), whose
*_linux / *_epoll / *_openat2 sources are the only callers. backends/ (QEMU, vhost-user) and
guest/ (the agent runs in the Linux guest) may be Linux-only.

check_linux_calls.py ROOT          exits 1 and lists every offender (file:line: symbol).
check_linux_calls.py --self-test   proves the check fails on planted calls.

Comments are ignored. A line may carry `// linux-only-ok: REASON` when the call is not the
host's (a path inside the guest, a wire ABI): the reason is printed with the summary.
KNOWN lists anything still to be moved behind util: the check fails if one of them is gone (so
the list only shrinks) and on anything new.
"""
import os
import re
import sys
import tempfile

CHECKED = ["engine", "cmd", "net", "workspace", "oci", "util"]
# util's Linux implementations (util/CMakeLists.txt, UTIL_PLATFORM_linux): the only callers.
PLATFORM_LINUX = re.compile(r"^util/\w+_(linux|epoll|openat2)\.cpp$")

# symbol -> what to use instead
SYMBOLS = {
    r"\bepoll_\w+|\bEPOLL\w+|<sys/epoll\.h>": "util::EventLoop (util/event_loop.hpp)",
    r"\beventfd\b|<sys/eventfd\.h>": "util::EventLoop::wake",
    r"\bsignalfd\w*|<sys/signalfd\.h>": "util::SignalFd (util/signal_fd.hpp)",
    r"\bopenat2\b|\bRESOLVE_\w+|<linux/openat2\.h>|\bSYS_\w+": "util::open_beneath (util/beneath.hpp)",
    r"\bO_PATH\b|\bAT_EMPTY_PATH\b|\bO_TMPFILE\b": "util::dir_ref_flags, util::NodeRef",
    r"\brenameat2\b|\bRENAME_NOREPLACE\b|\bRENAME_EXCHANGE\b": "util::rename_at (util/file_calls.hpp)",
    r"(?<![\w.>])fallocate\s*\(|\bFALLOC_FL_\w+": "util::allocate_space (util/file_calls.hpp)",
    r"\bmemfd_create\b|\bMFD_\w+": "shm_open + unlink behind a util interface",
    r"\bpidfd_\w+": "waitpid / util::Child",
    r"\binotify_\w+|\bfanotify_\w+|\btimerfd_\w+": "a util interface",
    r"\bprctl\b|<sys/prctl\.h>": "a util interface (util/child_setup.hpp)",
    r"\bexecvpe\b": "util::detail::exec_with_env (util/child_setup.hpp)",
    r"\bFIFREEZE\b|\bFITHAW\b|\bFICLONE\w*\b|\bcopy_file_range\b": "a util interface",
    r"\bpipe2\b|\baccept4\b|\bdup3\b|\bSOCK_CLOEXEC\b|\bSOCK_NONBLOCK\b|\bMSG_NOSIGNAL\b": "a util interface (macOS has none of them)",
    r"\bsplice\s*\(|\bsendfile\s*\(|\bunshare\s*\(|\bsetns\s*\(": "a util interface",
    r"\"/proc/": "a util interface (/proc is Linux's)",
    r"\bmalloc_trim\b|\bmallopt\b|<malloc\.h>": "a util interface (glibc's allocator)",
    r"<linux/[\w/]+\.h>|<sys/sysmacros\.h>|<sys/vfs\.h>": "a portable header or a util interface",
}
COMPILED = [(re.compile(p), use) for p, use in SYMBOLS.items()]
WAIVER = re.compile(r"//\s*linux-only-ok:\s*(.+)$")

# Still to be moved behind util: (file, symbol as matched). Shrinks; never grows. Empty since
# issue 13 section 2 moved the last ones; kept so a later exception is named here, not hidden.
KNOWN = set()


def strip_comments(text):
    """Blanks /* */ and // comments (keeping newlines and string literals)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def scan(root):
    """(offenders, waived, known_seen): offenders are (rel, line, symbol, use)."""
    offenders, waived, seen = [], [], set()
    for top in CHECKED:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if not f.endswith((".cpp", ".hpp", ".h", ".mm")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                if PLATFORM_LINUX.match(rel):
                    continue
                raw = open(path, encoding="utf-8", errors="replace").read()
                raw_lines = raw.split("\n")
                for no, line in enumerate(strip_comments(raw).split("\n"), 1):
                    for rx, use in COMPILED:
                        for m in rx.finditer(line):
                            sym = m.group(0).strip()
                            w = WAIVER.search(raw_lines[no - 1])
                            if w:
                                waived.append("%s:%d: %s (%s)" % (rel, no, sym, w.group(1).strip()))
                            elif (rel, sym) in KNOWN:
                                seen.add((rel, sym))
                            else:
                                offenders.append((rel, no, sym, use))
    return offenders, waived, seen


def self_test():
    with tempfile.TemporaryDirectory() as d:
        files = {
            "net/a.cpp": "#include <sys/epoll.h>\nint x = epoll_create1(0);\n",
            "workspace/b.cpp": 'int f() { return ::openat2(0, "x", nullptr, 0) + O_PATH; }\n',
            "engine/c.cpp": 'auto p = "/proc/self/exe";\n',
            "cmd/d.cpp": "#include <sys/signalfd.h>\n",
            "oci/e.cpp": "int g(int fd) { return fallocate(fd, 0, 0, 1); }\n",
            "util/f.cpp": "#include <sys/prctl.h>\n",
            "util/f_linux.cpp": "#include <sys/prctl.h>\n",
            "engine/ok.cpp": "// epoll_wait in a comment\n/* signalfd */ int op_fallocate();\n"
                             'auto s = "/proc/net/tcp";  // linux-only-ok: the guest\'s file\n',
        }
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            open(os.path.join(d, rel), "w").write(text)
        offenders, waived, _ = scan(d)
        found = {o[0] for o in offenders}
        assert found == {"net/a.cpp", "workspace/b.cpp", "engine/c.cpp", "cmd/d.cpp", "oci/e.cpp", "util/f.cpp"}, offenders
        assert not any(o[0] == "engine/ok.cpp" for o in offenders), offenders
        assert len(waived) == 1, waived
    print("self-test: every planted Linux-only call was reported, comments and waivers were not")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    offenders, waived, seen = scan(root)
    status = 0
    for rel, no, sym, use in offenders:
        print("%s:%d: %s is Linux-only: use %s" % (rel, no, sym, use))
    if offenders:
        print("%d Linux-only call(s) above the platform layer (docs/ARCHITECTURE.md, \"Platform layer\")"
              % len(offenders))
        status = 1
    for rel, sym in sorted(KNOWN - seen):
        print("%s: %s is gone: remove it from KNOWN in tests/arch/check_linux_calls.py" % (rel, sym))
        status = 1
    for w in waived:
        print("waived: " + w)
    if status == 0:
        print("linux-only calls: ok (%d known, still to move behind util; %d waived)" % (len(KNOWN), len(waived)))
    return status


if __name__ == "__main__":
    sys.exit(main())
