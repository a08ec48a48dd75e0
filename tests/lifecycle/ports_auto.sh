# ports = "auto": a server the guest starts is forwarded on a free 127.0.0.1 port the
# host kernel picks (listed by `matchlock port`, logged), and the forward goes when the
# listener goes; ports below 1024 are not forwarded.
. "$(dirname "$0")/lib.sh"
# auto_host GUEST: the host port auto-forwarded to GUEST, or "" (from `matchlock port --json`).
auto_host() {
  "$MATCHLOCK" port pa --json 2>/dev/null | python3 -c '
import json, sys
g = int(sys.argv[1])
print(next((str(p["host"]) for p in json.load(sys.stdin) if p["guest"] == g and p["origin"] == "auto"), ""))' "$1"
}
host_read() {
  python3 - "$1" <<'PY'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
except OSError:
    print("refused"); sys.exit(0)
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    b = s.recv(4096)
    if not b: break
    data += b
print(data.decode().strip() or "closed")
PY
}
write_matchlockfile pa "" 'ports = "auto"'
run_ml up --dry-run
expect_contains "$OUT" "--port auto"
run_ml up
expect_rc 0
# A one-shot server on 5555 and a long-lived one on 80 (below 1024: never forwarded).
"$MATCHLOCK" exec -- sh -c 'ip link set lo up; echo "hello from auto" | nc -l -p 5555' >"$TEST_TMP/srv.out" 2>&1 &
srv=$!
"$MATCHLOCK" exec -- sh -c 'nc -l -p 80 >/dev/null' >/dev/null 2>&1 &
low=$!
host=""
for _ in $(seq 100); do
  host=$(auto_host 5555)
  [ -n "$host" ] && break
  sleep 0.2
done
[ -n "$host" ] || fail "guest port 5555 was not auto-forwarded: $("$MATCHLOCK" port pa 2>&1)"
[ "$host" != 5555 ] || fail "auto used the guest's port number on the host"
[ "$(host_read "$host")" = "hello from auto" ] || fail "through the auto forward: $(host_read "$host")"
wait $srv || true
# The listener is gone (nc served one connection): so is the forward.
for _ in $(seq 50); do
  [ -z "$(auto_host 5555)" ] && break
  sleep 0.2
done
[ -z "$(auto_host 5555)" ] || fail "the auto forward outlived the guest's listener"
[ "$(host_read "$host")" = "refused" ] || fail "127.0.0.1:$host still answers"
[ -z "$(auto_host 80)" ] || fail "guest port 80 was auto-forwarded"
run_ml logs pa
expect_contains "$OUT" "-> guest 5555 (ports = \"auto\")"
expect_contains "$OUT" "-> guest 5555 removed (the guest stopped listening)"
run_ml down pa
expect_rc 0
kill $low 2>/dev/null || true; wait $low 2>/dev/null || true
no_qemu_left
