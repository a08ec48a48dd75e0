# `matchlock port`: a server the guest starts after `up` is forwarded on demand to
# 127.0.0.1 on the host (an OAuth callback to localhost:PORT completes from the host),
# listed, and removed; the host side listens on loopback only; mistakes are clear errors.
. "$(dirname "$0")/lib.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# host_get PORT [HOST]: what a client on the host gets from HOST:PORT ("refused" when nothing listens).
host_get() {
  python3 - "$1" "${2:-127.0.0.1}" <<'PY'
import socket, sys
try:
    s = socket.create_connection((sys.argv[2], int(sys.argv[1])), timeout=5)
except OSError:
    print("refused"); sys.exit(0)
s.sendall(b"GET /callback?code=abc123&state=xyz HTTP/1.0\r\nHost: localhost\r\n\r\n")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    try:
        b = s.recv(4096)
    except OSError:
        break
    if not b: break
    data += b
print(data.decode(errors="replace").strip().splitlines()[-1] if data else "closed")
PY
}
write_matchlockfile pv ""
run_ml up
expect_rc 0
run_ml port
expect_rc 0
expect_contains "$OUT" "no forwarded ports"

# The guest's "OAuth client" listens on localhost:P only after up (busybox nc, one request).
P=$(free_port)
"$MATCHLOCK" exec -- sh -c "ip link set lo up; printf 'HTTP/1.0 200 OK\r\n\r\nlogged in\n' | nc -l -p $P >/tmp/callback.req" \
  >"$TEST_TMP/srv.out" 2>&1 &
srv=$!
# Default: the same port on the host, so the browser's redirect to localhost:P lands.
run_ml port "$P"
expect_rc 0
expect_contains "$OUT" "127.0.0.1:$P -> guest 127.0.0.1:$P"
got=""
for _ in $(seq 100); do
  got=$(host_get "$P")
  [ "$got" = "logged in" ] && break
  sleep 0.2
done
[ "$got" = "logged in" ] || fail "through matchlock port: '$got' (server: $(cat "$TEST_TMP/srv.out"))"
wait $srv || true
run_ml exec -- cat /tmp/callback.req
expect_contains "$OUT" "GET /callback?code=abc123&state=xyz HTTP/1.0"

# Listed (here and in ps), with who asked for it.
run_ml port pv --json
expect_rc 0
python3 -c 'import json,sys; p=json.loads(sys.argv[1]); assert p == [{"host": int(sys.argv[2]), "guest": int(sys.argv[2]), "origin": "cli"}], p' \
  "$OUT" "$P" || fail "port --json: $OUT"
run_ml ps
expect_contains "$OUT" "$P->$P"

# The host side listens on 127.0.0.1 only: the kernel's table, and a connection to every
# other address of the host.
python3 - "$P" <<'PY' || fail "the forward listens beyond 127.0.0.1: $(grep -i ":$(printf %04X "$P") " /proc/net/tcp /proc/net/tcp6)"
import sys
port = "%04X" % int(sys.argv[1])
listen = []
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(f).read().splitlines()[1:]
    except OSError:
        continue
    for l in lines:
        local, state = l.split()[1], l.split()[3]
        if local.endswith(":" + port) and state == "0A":
            listen.append(local)
assert listen == ["0100007F:" + port], listen
PY
for addr in $(ip -4 -o addr show 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | grep -v '^127\.'); do
  [ "$(host_get "$P" "$addr")" = "refused" ] || fail "the forward answered on $addr:$P"
done

# HOST given, and 0 = a free port picked by the kernel (printed).
Q=$(free_port)
run_ml port pv "8081:$Q"
expect_rc 0
expect_contains "$OUT" "127.0.0.1:$Q -> guest 127.0.0.1:8081"
run_ml port 8082:0
expect_rc 0
picked=$(printf '%s\n' "$OUT" | sed -n 's/^127\.0\.0\.1:\([0-9]*\) -> guest 127\.0\.0\.1:8082$/\1/p')
[ -n "$picked" ] && [ "$picked" != 0 ] || fail "port 8082:0 printed: $OUT"

# Mistakes: a busy host port, a port already forwarded, bad specs, removing what is not there.
python3 -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1); open(sys.argv[1],"w").write(str(s.getsockname()[1])); time.sleep(120)' "$TEST_TMP/busy" &
busy_pid=$!
for _ in $(seq 50); do [ -s "$TEST_TMP/busy" ] && break; sleep 0.1; done
busy=$(cat "$TEST_TMP/busy")
run_ml port "9000:$busy"
[ "$RC" -ne 0 ] || fail "forwarding a busy host port succeeded"
expect_contains "$ERR" "127.0.0.1:$busy"
kill $busy_pid 2>/dev/null || true; wait $busy_pid 2>/dev/null || true
run_ml port "9001:$Q"
[ "$RC" -ne 0 ] || fail "forwarding the same host port twice succeeded"
expect_contains "$ERR" "127.0.0.1:$Q already forwards to guest port 8081"
for bad in 0 70000 "80:x" "80:65536" ":80"; do
  run_ml port pv "$bad"
  expect_rc 2
done
run_ml port --rm 7777
[ "$RC" -ne 0 ] || fail "removing an unforwarded port succeeded"
expect_contains "$ERR" "guest port 7777 is not forwarded"

# Removed: the host port is closed at once, and can be forwarded again.
run_ml port --rm "$P"
expect_rc 0
expect_contains "$OUT" "removed 127.0.0.1:$P -> guest 127.0.0.1:$P"
[ "$(host_get "$P")" = "refused" ] || fail "127.0.0.1:$P still answers after --rm"
run_ml port "$P"
expect_rc 0
run_ml port
expect_contains "$OUT" "127.0.0.1:$Q -> guest 127.0.0.1:8081  (cli)"

# The forwards end with the sandbox.
run_ml down pv
expect_rc 0
[ "$(host_get "$Q")" = "refused" ] || fail "127.0.0.1:$Q still answers after down"
run_ml port pv
[ "$RC" -ne 0 ] || fail "port on a stopped sandbox succeeded"
expect_contains "$ERR" "not running"
no_qemu_left
