"""A matchlock command on a real pty, for the TTY tests (tests/vm/tty.sh,
tests/lifecycle/signals.sh, tests/vm/snapshot_after_up.sh): the terminal's size,
what it prints, what we type, and the command's exit code."""
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


class Session:
    def __init__(self, argv, rows=33, cols=111):
        self.argv = argv
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["PS1"] = "PROMPT# "
            os.execv(argv[0], argv)
        self.buf = b""
        self.setsize(rows, cols)

    def setsize(self, rows, cols, notify=False):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if notify:
            os.kill(self.pid, signal.SIGWINCH)  # what a terminal emulator does

    def expect(self, needle, timeout=240):
        """Reads until NEEDLE (str) has been printed; exits the test on timeout or EOF."""
        want = needle.encode()
        end = time.monotonic() + timeout
        while want not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                sys.exit("%s: timeout waiting for %r; got %r" % (self.argv[1], needle, self.buf[-500:]))
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    sys.exit("%s: EOF waiting for %r; got %r" % (self.argv[1], needle, self.buf[-500:]))
                self.buf += data
        self.buf = self.buf[self.buf.index(want) + len(want):]

    def send(self, text):
        os.write(self.fd, text.encode())

    def wait(self):
        """The command's exit code."""
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)
