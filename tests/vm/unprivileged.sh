# The QEMU path needs no privileges: `matchlock run` as an unprivileged user
# (no TAP, no setuid) with its own XDG dirs boots and runs a command, and a
# Matchlockfile's sandbox reaches an allowed host through the userspace network
# and writes into its /workspace share (virtio-fs: memfd RAM + our vhost-user backend).
. "$(dirname "$0")/net_lib.sh"
net_enter_namespace "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to switch to an unprivileged user"; exit 77; }
user=nobody
home="$TEST_TMP/nobody"
mkdir -p "$home"
chown "$user" "$home"
chmod 755 "$TEST_TMP"
# The shared cache holds the kernel bundle and images; readable by everyone.
runuser -u "$user" -- test -x "$MATCHLOCK" || { echo "SKIP: $MATCHLOCK is not reachable by $user (build dir permissions)"; exit 77; }
set +e
out=$(cd "$home" && runuser -u "$user" -- env HOME="$home" XDG_CACHE_HOME="$home/cache" XDG_STATE_HOME="$home/state" \
  XDG_CONFIG_HOME="$home/config" "$MATCHLOCK" run --rm --image "$BUSYBOX" -- sh -c 'id -u; echo unprivileged-ok' 2>"$TEST_TMP/err")
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "run as $user exited $rc: $(cat "$TEST_TMP/err")"
expect_contains "$out" "unprivileged-ok"

# The network without privileges: an allowed name over HTTP from busybox wget.
trap 'net_stop_servers; rm -rf "$TEST_TMP"' EXIT
net_hosts
net_upstream http
mkdir -p "$home/proj"
cat >"$home/proj/Matchlockfile" <<TOML
version = 1
name = "unpriv"
[sandbox]
image = "$BUSYBOX"
memory = "256MiB"
disk = "64MiB"
workdir = "/"
[network]
allow = ["allowed.test"]
block_private = false
TOML
chown -R "$user" "$home/proj"
set +e
out=$(cd "$home/proj" && runuser -u "$user" -- env HOME="$home" XDG_CACHE_HOME="$home/cache" XDG_STATE_HOME="$home/state" \
  XDG_CONFIG_HOME="$home/config" "$MATCHLOCK" run --trust --rm -- sh -c \
  'wget -qO- "http://allowed.test:'"$UP_http"'/unpriv" && grep -o " /workspace [a-z]*" /proc/mounts && echo from-guest >/workspace/unpriv.txt' \
  2>"$TEST_TMP/err")
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "networked run as $user exited $rc: $(cat "$TEST_TMP/err")"
expect_contains "$out" "ok GET"
# The default /workspace mount (the Matchlockfile's directory) over virtio-fs, served
# by the unprivileged process: the file lands on the host owned by that user.
expect_contains "$out" " /workspace virtiofs"
[ "$(cat "$home/proj/unpriv.txt")" = from-guest ] || fail "the guest's write did not reach the host share"
[ "$(stat -c %U "$home/proj/unpriv.txt")" = "$user" ] || fail "the share file is not owned by $user"
grep -q '"/unpriv"' "$TEST_TMP/http.log" || fail "the upstream did not see the unprivileged sandbox's request"
ps -o user= -C qemu-system-x86_64 2>/dev/null | grep -qx root && pgrep -af qemu-system | grep -F "$home" && fail "qemu ran as root" || true
no_qemu_left
