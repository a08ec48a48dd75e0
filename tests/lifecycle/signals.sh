# Signals and resizes through the supervisor: `exec -t` and `shell` on a real
# pty (prompt, initial size, resize seen by `stty size`, Ctrl-C kills the guest
# foreground job with status 130, exit code passes through); SIGINT/SIGTERM to
# a non-tty `exec` reach the guest process (130/143) and kill it.
. "$(dirname "$0")/lib.sh"
write_matchlockfile sg ''
run_ml up
expect_rc 0
PYTHONPATH="$(dirname "$0")/../vm" python3 - "$MATCHLOCK" <<'PY' || fail "tty session through the supervisor failed"
import signal, subprocess, sys, time
from pty_session import Session
ml = sys.argv[1]

s = Session([ml, "exec", "-t", "sg", "--", "sh", "-i"])
s.expect("# ", timeout=120)
s.send("stty size\r")
s.expect("33 111", timeout=120)
s.setsize(40, 120, notify=True)
time.sleep(1)
s.send("stty size\r")
s.expect("40 120", timeout=120)
s.send("sleep 1000\r")
time.sleep(2)
s.send("\x03")                    # Ctrl-C: raw mode passes it to the guest pty
s.expect("# ", timeout=120)
s.send("echo status=$?\r")
s.expect("status=130", timeout=120)
s.send("exit 3\r")
code = s.wait()
if code != 3:
    sys.exit("exec -t exit code %d" % code)

s = Session([ml, "shell", "sg"])
s.expect("# ", timeout=120)
s.send("stty size; exit 4\r")
s.expect("33 111", timeout=120)
code = s.wait()
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
