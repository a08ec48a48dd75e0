# -t: a real TTY driven through a pty: prompt, window size and resize, Ctrl-C
# delivered to the guest process (not to matchlock), then exit.
. "$(dirname "$0")/lib.sh"
PYTHONPATH="$(dirname "$0")" python3 - "$MATCHLOCK" "$BUSYBOX" <<'PY' || fail "tty session failed"
import sys, time
from pty_session import Session
ml, image = sys.argv[1], sys.argv[2]
s = Session([ml, "run", "--rm", "-t", "--image", image, "--", "sh", "-i"])
s.expect("# ")
s.send("stty size\r")
s.expect("33 111")
s.setsize(40, 120, notify=True)
time.sleep(0.5)
s.send("stty size\r")
s.expect("40 120")
s.send("sleep 1000\r")
time.sleep(2)
s.send("\x03")   # SIGINT for the guest's foreground job, via the guest pty's line discipline
s.expect("# ")
s.send("echo status=$?\r")
s.expect("status=130")
s.send("exit 3\r")
code = s.wait()
if code != 3:
    sys.exit("exit code %d, tail %r" % (code, s.buf[-300:]))
print("tty session ok")
PY
no_qemu_left
