# gateway.attacks: `matchlock gateway` against a hostile client in the pod (tests/net/gateway_lib.sh):
# slowloris (many idle connections with a partial head) from one address is held to
# --max-per-client while another address is still served and /healthz answers; the held
# connections are closed after --head-timeout; a CONNECT with no ClientHello is closed after the
# idle timeout or at SIGTERM; the gateway's threads stay bounded; SIGTERM with clients in flight
# exits 0 within the drain bound.
. "$(dirname "$0")/gateway_prelude.sh"
mkdir -p "$TEST_TMP/proj"
cat >"$TEST_TMP/proj/Matchlockfile" <<TOML
version = 1
name = "gw"
[sandbox]
image = "alpine"
[network]
allow = ["allowed.test"]
ca = "$TEST_TMP/ca.pem"
TOML
gw_start -f "$TEST_TMP/proj/Matchlockfile" --max-per-client 16 --max-clients 48 --head-timeout 3

# Slowloris from 10.77.0.2: 40 connections, 16 held, the rest refused at once.
pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 slowloris 40 6 10.77.0.2 >"$TEST_TMP/loris" &
LORIS=$!
for i in $(seq 50); do [ -s "$TEST_TMP/loris" ] && break; sleep 0.1; done
[ "$(cat "$TEST_TMP/loris")" = "accepted=16 refused=24" ] || fail "slowloris: $(cat "$TEST_TMP/loris")"
# Meanwhile another address is served, and the gateway is alive and bounded.
code=$(pod curl -sS --max-time 10 -o /dev/null -w '%{http_code}' --interface 10.77.0.3 --proxy "http://$GW_ADDR:3128" \
  http://allowed.test/during 2>/dev/null || true)
[ "$code" = 200 ] || fail "a second client during the slowloris: $code"
[ "$(pod_code "http://$GW_ADDR:8080/healthz")" = 200 ] || fail "/healthz during the slowloris"
threads=$(awk '/^Threads:/ {print $2}' "/proc/$GW_PID/status")
echo "gateway threads during the slowloris: $threads"
[ "$threads" -le 24 ] || fail "gateway threads: $threads (16 held clients)"
# After --head-timeout the held connections are closed: 10.77.0.2 is served again.
sleep 3.5
[ "$(pcurl http://allowed.test/after)" = 200 ] || fail "10.77.0.2 after the head timeout"
wait "$LORIS" || true

# Hostile heads, one after another: the gateway stays up.
for a in oversize malformed origin; do pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 "$a" >/dev/null; done
pod python3 - "$GW_ADDR" <<'PY'
import socket, sys
# 200 connections that send a garbage byte and vanish with a reset.
for i in range(200):
    s = socket.create_connection((sys.argv[1], 3128))
    s.sendall(b"\x00")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
PY
[ "$(pcurl http://allowed.test/still)" = 200 ] || fail "served after the hostile heads"

# CONNECT with no ClientHello, then SIGTERM with it (and a slowloris) in flight: exit 0, bounded.
pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 silent_connect allowed.test:443 30 >"$TEST_TMP/silent" &
SILENT=$!
pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 slowloris 8 30 10.77.0.3 >/dev/null &
sleep 1
gw_stop_expect_clean
wait "$SILENT" || true
expect_contains "$(cat "$TEST_TMP/silent")" "closed after"
grep -q '"decision":"deny"' "$TEST_TMP/gw.out" || fail "no refusal audited"
grep -q 'gateway client limit: 16 concurrent connections from 10.77.0.2' "$TEST_TMP/gw.out" || fail "the per-client limit was not audited"
echo "PASS"
