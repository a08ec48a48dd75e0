# Signals and resizes through the supervisor: `exec -t` and `shell` on a real
# pty (prompt, initial size, resize seen by `stty size`, Ctrl-C kills the guest
# foreground job with status 130, exit code passes through); SIGINT/SIGTERM to
# a non-tty `exec` reach the guest process (130/143) and kill it.
. "$(dirname "$0")/lib.sh"
write_matchlockfile sg ''
run_ml up
expect_rc 0
python3 - "$MATCHLOCK" <<'PY' || fail "tty session through the supervisor failed"
import fcntl, os, pty, select, signal, struct, subprocess, sys, termios, time
ml = sys.argv[1]

def session(argv, script):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["PS1"] = "PROMPT# "
        os.execv(ml, [ml] + argv)
    buf = [b""]
    def setsize(rows, cols):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    def expect(needle, timeout=120):
        end = time.time() + timeout
        while needle.encode() not in buf[0]:
            left = end - time.time()
            if left <= 0:
                sys.exit("%s: timeout waiting for %r; got %r" % (argv[0], needle, buf[0][-500:]))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    sys.exit("%s: EOF waiting for %r; got %r" % (argv[0], needle, buf[0][-500:]))
                buf[0] += data
        buf[0] = buf[0][buf[0].index(needle.encode()) + len(needle):]
    def send(s):
        os.write(fd, s.encode())
    setsize(33, 111)
    script(pid, setsize, expect, send)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)

def exec_script(pid, setsize, expect, send):
    expect("# ")
    send("stty size\r")
    expect("33 111")
    setsize(40, 120)
    os.kill(pid, signal.SIGWINCH)   # what the terminal emulator does
    time.sleep(1)
    send("stty size\r")
    expect("40 120")
    send("sleep 1000\r")
    time.sleep(2)
    send("\x03")                    # Ctrl-C: raw mode passes it to the guest pty
    expect("# ")
    send("echo status=$?\r")
    expect("status=130")
    send("exit 3\r")

code = session(["exec", "-t", "sg", "--", "sh", "-i"], exec_script)
if code != 3:
    sys.exit("exec -t exit code %d" % code)

def shell_script(pid, setsize, expect, send):
    expect("# ")
    send("stty size; exit 4\r")
    expect("33 111")
code = session(["shell", "sg"], shell_script)
if code != 4:
    sys.exit("shell exit code %d" % code)

# Non-tty exec: our SIGINT / SIGTERM go to the guest process.
for sig, want in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
    p = subprocess.Popen([ml, "exec", "sg", "--", "sh", "-c", "echo started; exec sleep 1000"], stdout=subprocess.PIPE)
    line = p.stdout.readline()
    if line.strip() != b"started":
        sys.exit("non-tty exec did not start: %r" % line)
    p.send_signal(sig)
    try:
        code = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        sys.exit("exec did not end after signal %d" % sig)
    if code != want:
        sys.exit("exec after signal %d: exit code %d, want %d" % (sig, code, want))
left = subprocess.run([ml, "exec", "sg", "--", "sh", "-c", "ps | grep -c '[s]leep 1000' || true"], capture_output=True, text=True).stdout.strip()
if left != "0":
    sys.exit("guest processes left after the signals: %s" % left)
print("signals ok")
PY
run_ml down sg
expect_rc 0
no_qemu_left
