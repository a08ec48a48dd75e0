# The adversarial suite's world (label `security`): a private network namespace whose
# only hosts sit on TEST-NET addresses (RFC 5737), named in a private /etc/hosts, so no
# test traffic can leave the machine and block_private stays ON, as users run it.
#   allowed.test  192.0.2.10     allowed by the test's Matchlockfile (also *.allowed.test)
#   secret.test   192.0.2.11     a secret is bound to it (intercepted)
#   other.test    198.51.100.10  allowed, no secret
#   evil.test     203.0.113.66   the attacker's host: never allowed. Its servers log every
#                                request and datagram; any line there is an escape.
# Servers: HTTP on :80 and HTTPS on :443 of each (tests/net/upstream_server.py, logs in
# $TEST_TMP/NAME.http.log / NAME.https.log), UDP catchers on evil.test:53 and :9999
# ($TEST_TMP/evil.udp.log), a TCP catcher on evil.test:22 ($TEST_TMP/evil.tcp.log).
# Entered with sec_enter_namespaces "$0" "$@" before sourcing any other lib.

SEC_NAMES="allowed.test secret.test other.test evil.test"
declare -A SEC_ADDR=([allowed.test]=192.0.2.10 [secret.test]=192.0.2.11 [other.test]=198.51.100.10
                     [evil.test]=203.0.113.66)

# sec_enter_namespaces "$0" "$@": re-executes the test in new network and mount namespaces.
sec_enter_namespaces() {
  [ -n "${ML_SEC_NS:-}" ] && return 0
  command -v unshare >/dev/null || { echo "SKIP: unshare (util-linux) not installed"; exit 77; }
  unshare -n -m true 2>/dev/null || { echo "SKIP: cannot create network+mount namespaces (needs root)"; exit 77; }
  ML_SEC_NS=1 exec unshare -n -m --propagation private -- bash "$@"
}

SEC_PIDS=()
sec_stop_servers() {
  local p
  for p in "${SEC_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  SEC_PIDS=()
}

# sec_world: addresses on lo, /etc/hosts, a test CA, and every server. Needs $TEST_TMP.
sec_world() {
  local n a
  ip link set lo up || fail "ip link set lo up"
  for n in $SEC_NAMES; do ip addr add "${SEC_ADDR[$n]}/32" dev lo || fail "ip addr add ${SEC_ADDR[$n]}"; done
  cp /etc/hosts "$TEST_TMP/hosts"
  for n in $SEC_NAMES; do echo "${SEC_ADDR[$n]} $n" >>"$TEST_TMP/hosts"; done
  mount --bind "$TEST_TMP/hosts" /etc/hosts || fail "bind-mount /etc/hosts"
  make_test_ca "$TEST_TMP" $SEC_NAMES
  for n in $SEC_NAMES; do
    a=${SEC_ADDR[$n]}
    python3 "$MATCHLOCK_SOURCE_DIR/tests/net/upstream_server.py" --host "$a" --port 80 \
      --port-file "$TEST_TMP/$n.http.port" --log "$TEST_TMP/$n.http.log" &
    SEC_PIDS+=($!)
    python3 "$MATCHLOCK_SOURCE_DIR/tests/net/upstream_server.py" --host "$a" --port 443 \
      --cert "$TEST_TMP/server.pem" --key "$TEST_TMP/server.key" \
      --port-file "$TEST_TMP/$n.https.port" --log "$TEST_TMP/$n.https.log" &
    SEC_PIDS+=($!)
    touch "$TEST_TMP/$n.http.log" "$TEST_TMP/$n.https.log"
  done
  python3 - "$TEST_TMP" "${SEC_ADDR[evil.test]}" <<'PY' &
import os, socket, sys, threading
tmp, addr = sys.argv[1], sys.argv[2]
def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(65536)
        with open(os.path.join(tmp, "evil.udp.log"), "a") as f: f.write("%d %r\n" % (port, data[:64]))
def tcp(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((addr, port)); s.listen(16)
    while True:
        c, peer = s.accept()
        with open(os.path.join(tmp, "evil.tcp.log"), "a") as f: f.write("%d %s\n" % (port, peer))
        c.close()
for p in (53, 9999): threading.Thread(target=udp, args=(p,), daemon=True).start()
threading.Thread(target=tcp, args=(22,), daemon=True).start()
open(os.path.join(tmp, "catchers.ready"), "w").write("1")
threading.Event().wait()
PY
  SEC_PIDS+=($!)
  for n in $SEC_NAMES; do wait_file "$TEST_TMP/$n.http.port"; wait_file "$TEST_TMP/$n.https.port"; done
  wait_file "$TEST_TMP/catchers.ready"
  touch "$TEST_TMP/evil.udp.log" "$TEST_TMP/evil.tcp.log"
}

# sec_expect_no_escape: nothing reached the attacker's host.
sec_expect_no_escape() {
  local f
  for f in evil.test.http.log evil.test.https.log evil.udp.log evil.tcp.log; do
    [ ! -s "$TEST_TMP/$f" ] || fail "ESCAPE: the attacker's host was reached ($f): $(head -5 "$TEST_TMP/$f")"
  done
}

# sec_result NAME EXPECTED: the guest printed "NAME=EXPECTED" (what it tried, and what held).
sec_result() {
  local got
  got=$(printf '%s\n' "$OUT" | sed -n "s/^$1=//p" | head -1)
  if [ "$got" != "$2" ]; then
    # SEC_REPORT=1 lists every attack that got through instead of stopping at the first
    # (to show what a build without the fixes lets out).
    [ -n "${SEC_REPORT:-}" ] && { echo "BROKEN: $1: expected '$2', got '${got:-(nothing)}'"; return 0; }
    fail "attack $1: expected '$2', got '${got:-(nothing)}'; guest stdout: $OUT; stderr: $ERR"
  fi
  echo "held: $1 -> $2"
}

# sec_result_any NAME V1 V2...: as sec_result, any of the values.
sec_result_any() {
  local name=$1 got v
  shift
  got=$(printf '%s\n' "$OUT" | sed -n "s/^$name=//p" | head -1)
  for v in "$@"; do [ "$got" = "$v" ] && { echo "held: $name -> $got"; return 0; }; done
  [ -n "${SEC_REPORT:-}" ] && { echo "BROKEN: $name: expected one of '$*', got '${got:-(nothing)}'"; return 0; }
  fail "attack $name: expected one of '$*', got '${got:-(nothing)}'; guest stdout: $OUT; stderr: $ERR"
}
