# An arm64 sandbox from a Matchlockfile ([sandbox].platform = "linux/arm64") booting the
# arm64 kernel bundle pushed as an OCI artifact (kernel = "REF@sha256:..."): the lock
# records the digest per platform and `up --frozen` boots the arm64 pin; exec exit codes;
# the network policy (an allowed name reached, a denied one not); workspace shares: rw
# read and written from both sides, ro, snapshot (+ diff); exec -t on a pty; down leaves
# nothing running.
. "$(dirname "$0")/net_lib.sh"
net_enter_namespace "$0" "$@"
. "$(dirname "$0")/../lifecycle/lib.sh"
. "$(dirname "$0")/net_lib.sh"
MULTI="${ML_IMG_BUSYBOX_MULTI:?fixture rig_arm64 (registry.py arm64) did not run}"
trap 'rc=$?; net_stop_servers; (exit $rc); lc_cleanup' EXIT
net_hosts
net_upstream http

# The arm64 bundle as an OCI artifact (its Image, not a vmlinuz), named by digest below.
run_ml kernel push --arch arm64 "$ML_REG_ANON/matchlock/kernel-arm64:test"
expect_rc 0
kernel_ref=$OUT
case "$kernel_ref" in "$ML_REG_ANON/matchlock/kernel-arm64@sha256:"*) ;; *) fail "kernel push printed '$kernel_ref'" ;; esac
run_ml kernel show --arch arm64
arm_release=$(printf '%s\n' "$OUT" | awk '/^release/ {print $2}')

cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "arm"
[sandbox]
image = "$MULTI"
platform = "linux/arm64"
kernel = "$kernel_ref"
cpus = 1
memory = "512MiB"
disk = "256MiB"
workdir = "/workspace"
[network]
allow = ["allowed.test"]
block_private = false
[[mounts]]
source = "."
target = "/workspace"
[[mounts]]
source = "ro"
target = "/ro"
mode = "ro"
[[mounts]]
source = "snap"
target = "/snap"
mode = "snapshot"
TOML
echo from-host >"$PROJ/host.txt"
mkdir -p "$PROJ/ro" "$PROJ/snap"
echo read-only >"$PROJ/ro/r.txt"
echo original >"$PROJ/snap/s.txt"

# One lock, both platforms: same index, a different manifest for each.
run_ml lock --platform linux/amd64 --platform linux/arm64
expect_rc 0
python3 - "$PROJ/Matchlockfile.lock" "$kernel_ref" <<'PY' || fail "lock: $(cat "$PROJ/Matchlockfile.lock")"
import sys, tomllib
images = tomllib.load(open(sys.argv[1], "rb"))["image"]
by = {i["platform"]: i for i in images}
assert set(by) == {"linux/amd64", "linux/arm64"}, by.keys()
assert by["linux/amd64"]["index"] == by["linux/arm64"]["index"] != ""
assert by["linux/amd64"]["manifest"] != by["linux/arm64"]["manifest"]
assert tomllib.load(open(sys.argv[1], "rb"))["kernel"]["reference"].startswith(sys.argv[2].split("@")[0])
PY
arm_manifest=$(python3 -c 'import sys, tomllib; print([i["manifest"] for i in tomllib.load(open(sys.argv[1], "rb"))["image"] if i["platform"] == "linux/arm64"][0])' "$PROJ/Matchlockfile.lock")

run_ml up --dry-run
expect_rc 0
expect_contains "$OUT" "--vm qemu linux/arm64 cpus=1"
run_ml up --frozen
expect_rc 0
expect_contains "$OUT" "sandbox  arm (started)"
expect_contains "$OUT" "backend  qemu linux/arm64, accel tcg"
[ "$(record_field arm platform)" = linux/arm64 ] || fail "sandbox.json platform: $(record_field arm platform)"
[ "$(record_field arm image_digest)" = "$arm_manifest" ] || fail "booted $(record_field arm image_digest), the arm64 pin is $arm_manifest"
echo "arm64 sandbox up: ready in $(record_field arm ready_ms) ms, accel $(record_field arm accel)" >&2

run_ml exec -- sh -c 'uname -m; uname -r; cat /etc/arch; pwd; cat host.txt'
expect_rc 0
[ "$OUT" = "aarch64
$arm_release
arm64
/workspace
from-host" ] || fail "exec: $OUT"
pulled="$XDG_CACHE_HOME/matchlock/kernels/oci-${kernel_ref#*@sha256:}"
[ -f "$pulled/Image" ] && [ ! -e "$pulled/vmlinuz" ] || fail "the pulled arm64 kernel artifact has no Image: $(ls "$pulled")"

# Exit codes: the code, 126 not executable, 127 not found, 128+N killed by signal N.
run_ml exec -- sh -c 'exit 7'
expect_rc 7
run_ml exec -- /etc/passwd
expect_rc 126
run_ml exec -- no-such-command
expect_rc 127
run_ml exec -- sh -c 'kill -KILL $$'
expect_rc 137

# The network policy: the allowed name answers, a name outside the list does not.
run_ml exec -- wget -qO- "http://allowed.test:$UP_http/from-arm64"
expect_rc 0
expect_contains "$OUT" "ok GET"
grep -q '"/from-arm64"' "$TEST_TMP/http.log" || fail "the upstream did not see the arm64 guest's request"
run_ml exec -- wget -qO- -T 10 "http://denied.test:$UP_http/denied"
[ "$RC" -ne 0 ] || fail "a name outside [network].allow was reached: $OUT"
if grep -q '"/denied"' "$TEST_TMP/http.log"; then fail "the denied request reached the upstream"; fi

# A read-only share: readable, not writable. A snapshot share: writable in the guest,
# the host directory untouched, `diff` lists the change.
run_ml exec -- sh -c 'cat /ro/r.txt; echo x >/ro/new.txt'
[ "$RC" -ne 0 ] || fail "a write into the ro share succeeded"
expect_contains "$OUT" "read-only"
[ ! -e "$PROJ/ro/new.txt" ] || fail "the ro share was written on the host"
run_ml exec -- sh -c 'echo changed >/snap/s.txt; echo added >/snap/added.txt; cat /snap/s.txt'
expect_rc 0
[ "$OUT" = changed ] || fail "snapshot write not visible in the guest: $OUT"
[ "$(cat "$PROJ/snap/s.txt")" = original ] && [ ! -e "$PROJ/snap/added.txt" ] || fail "the snapshot share reached the host"
run_ml diff arm
expect_rc 0
expect_contains "$OUT" "M s.txt"
expect_contains "$OUT" "A added.txt"

# exec -t: a real terminal (pty), its window size seen by the guest.
python3 - "$MATCHLOCK" <<'PY' || fail "exec -t failed"
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "exec", "-t", "arm", "--", "sh", "-c", "stty size; tty"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
out = b""
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
text = out.decode(errors="replace")
assert os.waitstatus_to_exitcode(status) == 0, text
assert "33 111" in text and "/dev/pts/" in text, text
PY

# The workspace share, written by the guest, seen on the host (and the other way round).
run_ml exec -- sh -c 'echo from-guest >/workspace/guest.txt; mkdir -p /workspace/d && echo nested >/workspace/d/n.txt'
expect_rc 0
[ "$(cat "$PROJ/guest.txt")" = from-guest ] || fail "the guest's write did not reach the host"
[ "$(cat "$PROJ/d/n.txt")" = nested ] || fail "the guest's nested write did not reach the host"
echo changed >"$PROJ/host.txt"
run_ml exec -- cat /workspace/host.txt
expect_rc 0
[ "$OUT" = changed ] || fail "the host's change is not visible in the guest: $OUT"

run_ml down
expect_rc 0
expect_contains "$OUT" "arm stopped"
echo "arm64 sandbox: lock, up --frozen, exec exit codes, network policy, workspace rw/ro/snapshot, exec -t, down: ok" >&2
no_qemu_left
