# [[ports]]: the supervisor listens on 127.0.0.1:HOST and relays to a server
# inside the guest; `ps` shows the mapping; a host port in use fails `up` clearly.
. "$(dirname "$0")/lib.sh"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
write_matchlockfile pt "
[[ports]]
host = $port
guest = 8080
"
run_ml up
expect_rc 0
expect_contains "$OUT" "127.0.0.1:$port -> guest 127.0.0.1:8080"
run_ml ps
expect_contains "$OUT" "$port->8080"
# A one-shot server in the guest (busybox nc), started in the background.
"$MATCHLOCK" exec -- sh -c 'ip link set lo up; echo "hello through the port" | nc -l -p 8080' >"$TEST_TMP/srv.out" 2>&1 &
srv=$!
got=""
for _ in $(seq 100); do
  got=$(python3 - "$port" <<'PY' 2>/dev/null || true
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    b = s.recv(4096)
    if not b: break
    data += b
print(data.decode().strip())
PY
)
  [ -n "$got" ] && break
  sleep 0.2
done
[ "$got" = "hello through the port" ] || fail "through the port: '$got' (server: $(cat "$TEST_TMP/srv.out"))"
wait $srv || true

# A second sandbox wanting the same host port: a clear error at up.
mkdir "$TEST_TMP/other" && cd "$TEST_TMP/other"
PROJ="$TEST_TMP/other" write_matchlockfile pt2 "
[[ports]]
host = $port
guest = 8080
"
run_ml up
[ "$RC" -ne 0 ] || fail "up with a busy port succeeded"
expect_contains "$ERR" "127.0.0.1:$port"
cd "$TEST_TMP/proj"
run_ml down pt
expect_rc 0
no_qemu_left
