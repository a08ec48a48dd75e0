# -t: a real TTY driven through a pty: prompt, window size and resize, Ctrl-C
# delivered to the guest process (not to matchlock), then exit.
. "$(dirname "$0")/lib.sh"
python3 - "$MATCHLOCK" "$BUSYBOX" <<'PY' || fail "tty session failed"
import fcntl, os, pty, select, signal, struct, sys, termios, time
ml, image = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.environ["PS1"] = "PROMPT# "
    os.execv(ml, [ml, "run", "--rm", "-t", "--image", image, "--", "sh", "-i"])
def setsize(rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
setsize(33, 111)
buf = b""
def expect(needle, timeout=240):
    global buf
    end = time.time() + timeout
    while needle.encode() not in buf:
        left = end - time.time()
        if left <= 0:
            sys.exit("timeout waiting for %r; got %r" % (needle, buf[-500:]))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                sys.exit("EOF waiting for %r; got %r" % (needle, buf[-500:]))
            buf += data
    i = buf.index(needle.encode()) + len(needle)
    buf = buf[i:]
def send(s):
    os.write(fd, s.encode())
expect("# ")
send("stty size\r")
expect("33 111")
setsize(40, 120)
os.kill(pid, signal.SIGWINCH)
time.sleep(0.5)
send("stty size\r")
expect("40 120")
send("sleep 1000\r")
time.sleep(2)
send("\x03")   # SIGINT for the guest's foreground job, via the guest pty's line discipline
expect("# ")
send("echo status=$?\r")
expect("status=130")
send("exit 3\r")
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
if code != 3:
    sys.exit("exit code %d, tail %r" % (code, buf[-300:]))
print("tty session ok")
PY
no_qemu_left
