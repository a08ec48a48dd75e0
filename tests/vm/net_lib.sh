# Helpers for the in-guest network tests (tests/vm/net_*.sh, label vm). Sourced
# after tests/vm/lib.sh, inside a private mount namespace (net_enter_namespace)
# where /etc/hosts maps the test names to 127.0.0.1: the sandbox resolves allowed
# names on the host (getaddrinfo), so upstream test servers on 127.0.0.1 are reached
# by name while the guest only ever sees synthetic addresses.
NET_NAMES="allowed.test secret.test other.test denied.test"

# net_enter_namespace "$0" "$@": re-executes the test in a private mount namespace
# (once; before sourcing any lib). Skips (77) when unshare is impossible.
net_enter_namespace() {
  [ -n "${ML_NET_TEST_NS:-}" ] && return 0
  command -v unshare >/dev/null || { echo "SKIP: unshare (util-linux) not installed"; exit 77; }
  unshare -m true 2>/dev/null || { echo "SKIP: cannot create a mount namespace (needs root or user namespaces)"; exit 77; }
  ML_NET_TEST_NS=1 exec unshare -m --propagation private -- bash "$@"
}

# net_hosts: bind-mounts a copy of /etc/hosts with the test names added.
net_hosts() {
  cp /etc/hosts "$TEST_TMP/hosts"
  echo "127.0.0.1 $NET_NAMES" >>"$TEST_TMP/hosts"
  mount --bind "$TEST_TMP/hosts" /etc/hosts || fail "bind-mount /etc/hosts"
  getent hosts allowed.test | grep -q 127.0.0.1 || fail "allowed.test does not resolve to 127.0.0.1 on the host"
}

. "$(dirname "${BASH_SOURCE[0]}")/../net/upstream_lib.sh"

# net_ca: $TEST_TMP/ca.pem and server.{pem,key} for every test name.
net_ca() { make_test_ca "$TEST_TMP" $NET_NAMES; }

NET_PIDS=()
# net_upstream NAME [tls]: tests/net/upstream_server.py; port in UP_<NAME>, log $TEST_TMP/NAME.log.
net_upstream() {
  start_upstream_server NET_PIDS "$@"
  printf -v "UP_${1}" '%s' "$UPSTREAM_PORT"
}

# net_echo_server: a raw TCP line echo ("echo:" + line) on 127.0.0.1; port in UP_tcp.
net_echo_server() {
  python3 -c '
import socket, sys, threading, os
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
tmp = sys.argv[1] + ".tmp"; open(tmp, "w").write(str(s.getsockname()[1])); os.rename(tmp, sys.argv[1])
def serve(c):
    f = c.makefile("rwb")
    for line in f:
        f.write(b"echo:" + line); f.flush()
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$TEST_TMP/tcp.port" &
  NET_PIDS+=($!)
  wait_file "$TEST_TMP/tcp.port"
  UP_tcp=$(cat "$TEST_TMP/tcp.port")
}

net_stop_servers() {
  local p
  for p in "${NET_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  NET_PIDS=()
}

# expect_line KEY VALUE: the guest printed KEY=VALUE on a line of $OUT.
expect_line() {
  grep -qxF -- "$1=$2" <<<"$OUT" || fail "expected guest line '$1=$2'; guest said: $(printf '%s\n' "$OUT" | grep -- "^$1=" || echo '(nothing)'); stdout: $OUT; stderr: $ERR"
}
