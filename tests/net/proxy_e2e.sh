# End to end through net::Proxy with real clients and real upstreams on 127.0.0.1:
# MITM with the sandbox CA and secret injection, refusals (403 / TLS alert), SNI and
# Host fronting, direct-IP flows, HTTP/1.1 keep-alive, chunked and pipelining, audit.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"

SECRET_VALUE="sk-live-$(openssl rand -hex 12)"
OTHER_VALUE="other-$(openssl rand -hex 12)"
export SECRET_VALUE OTHER_VALUE
make_test_ca "$TEST_TMP" api.test pass.test other.test
start_upstream TLS tls
start_upstream HTTP
AUDIT="$TEST_TMP/state/sandboxes/demo/audit.jsonl"

start_harness --audit "$AUDIT" --ca-out "$TEST_TMP/sandbox-ca.pem" --extra-ca "$TEST_TMP/ca.pem" \
  --allow plain.test --allow pass.test:443 --allow 127.0.0.1/32 \
  --secret API_KEY=SECRET_VALUE@api.test --secret OTHER=OTHER_VALUE@other.test,bad.test \
  --upstream "api.test:443=127.0.0.1:$UP_TLS_PORT" --upstream "pass.test:443=127.0.0.1:$UP_TLS_PORT" \
  --upstream "other.test:443=127.0.0.1:$UP_TLS_PORT" --upstream "bad.test:443=127.0.0.1:$UP_TLS_PORT" \
  --upstream "plain.test:80=127.0.0.1:$UP_HTTP_PORT" --upstream "api.test:80=127.0.0.1:$UP_HTTP_PORT" \
  --flow api.test,198.18.0.1,443 \
  --flow plain.test,198.18.0.2,80 \
  --flow pass.test,198.18.0.3,443 \
  --flow -,93.184.216.34,80 \
  --flow -,93.184.216.34,443 \
  --flow "-,127.0.0.1,$UP_HTTP_PORT" \
  --flow other.test,198.18.0.5,443 \
  --flow api.test,198.18.0.1,80 \
  --flow bad.test,198.18.0.6,443
P_API=${FLOW_PORTS[0]} P_PLAIN=${FLOW_PORTS[1]} P_PASS=${FLOW_PORTS[2]} P_DENY80=${FLOW_PORTS[3]}
P_DENY443=${FLOW_PORTS[4]} P_DIRECT=${FLOW_PORTS[5]} P_OTHER=${FLOW_PORTS[6]} P_API80=${FLOW_PORTS[7]} P_BAD=${FLOW_PORTS[8]}
[ -n "$PH_API_KEY" ] || fail "no placeholder printed"
case "$PH_API_KEY" in MATCHLOCK_SECRET_????????????????????????????????) ;; *) fail "placeholder form: $PH_API_KEY" ;; esac

c() { curl -sS --max-time 10 "$@"; }

echo "== MITM: the sandbox CA is trusted, the upstream gets the real secret in header, query and Basic auth"
OUT=$(c -v --cacert "$TEST_TMP/sandbox-ca.pem" --connect-to "api.test:443:127.0.0.1:$P_API" \
  -H "X-Api-Key: $PH_API_KEY" -u "bot:$PH_API_KEY" "https://api.test/v1/echo?key=$PH_API_KEY&x=1" 2>&1) || fail "MITM request: $OUT"
expect_contains "$OUT" "ok GET"
expect_contains "$OUT" "ALPN: server accepted http/1.1"
expect_contains "$OUT" "issuer: O=matchlock; CN=matchlock sandbox CA"
python3 - "$TEST_TMP/TLS.log" <<'PY' || fail "upstream did not receive the real value: $(cat "$TEST_TMP/TLS.log")"
import json, os, sys
e = [json.loads(l) for l in open(sys.argv[1])][-1]
v = os.environ["SECRET_VALUE"]
assert e["headers"]["X-Api-Key"] == v, e
assert e["query"]["key"] == [v], e
assert e["basic"] == "bot:" + v, e
assert "MATCHLOCK_SECRET_" not in json.dumps(e), e
PY
case "$OUT" in *"$SECRET_VALUE"*) fail "secret value reached the client" ;; esac

echo "== keep-alive: two requests, one connection"
OUT=$(c -v --cacert "$TEST_TMP/sandbox-ca.pem" --connect-to "api.test:443:127.0.0.1:$P_API" \
  "https://api.test/a" "https://api.test/chunked" 2>&1) || fail "keep-alive: $OUT"
expect_contains "$OUT" "Re-using existing connection"
expect_contains "$OUT" "alpha-beta-gamma"

echo "== pipelined requests (chunked request body, chunked response, Content-Length) over one TLS connection"
REQS="GET /one HTTP/1.1\r\nHost: api.test\r\nX-Api-Key: $PH_API_KEY\r\n\r\n"
REQS+="POST /two HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
REQS+="GET /chunked HTTP/1.1\r\nHost: api.test\r\n\r\n"
REQS+="PUT /four HTTP/1.1\r\nHost: api.test\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
BEFORE=$(wc -l <"$TEST_TMP/TLS.log")
OUT=$( (printf "$REQS"; sleep 3) | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$P_API" -servername api.test \
  -CAfile "$TEST_TMP/sandbox-ca.pem" -verify_return_error 2>/dev/null) || true
[ "$(printf '%s' "$OUT" | grep -c '^HTTP/1.1 200')" -eq 4 ] || fail "expected 4 responses, got: $OUT"
expect_contains "$OUT" "ok POST 4 body=11"
expect_contains "$OUT" "ok PUT 5 body=3"
expect_contains "$OUT" "gamma"
[ "$(wc -l <"$TEST_TMP/TLS.log")" -eq $((BEFORE + 4)) ] || fail "upstream saw $(($(wc -l <"$TEST_TMP/TLS.log") - BEFORE)) requests"
grep -q '"body": "hello world"' "$TEST_TMP/TLS.log" || fail "chunked body not forwarded"

echo "== response without length (until close)"
OUT=$(c --cacert "$TEST_TMP/sandbox-ca.pem" --connect-to "api.test:443:127.0.0.1:$P_API" https://api.test/close) || fail "$OUT"
[ "$OUT" = "closed-body" ] || fail "close-delimited body: $OUT"

echo "== 101 Switching Protocols on an intercepted flow becomes a two-way tunnel"
OUT=$( (printf 'GET /upgrade HTTP/1.1\r\nHost: api.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n'; sleep 1;
        printf 'first line\n'; sleep 0.5; printf 'second line\n'; sleep 1) |
      timeout 10 openssl s_client -quiet -connect "127.0.0.1:$P_API" -servername api.test \
        -CAfile "$TEST_TMP/sandbox-ca.pem" -verify_return_error 2>/dev/null) || true
expect_contains "$OUT" "HTTP/1.1 101"
expect_contains "$OUT" "echo:first line"
expect_contains "$OUT" "echo:second line"

echo "== placeholder sent to a host its secret is not bound to: 403"
OUT=$(c -w '\n%{http_code}' --cacert "$TEST_TMP/sandbox-ca.pem" --connect-to "other.test:443:127.0.0.1:$P_OTHER" \
  -H "Authorization: Bearer $PH_API_KEY" https://other.test/x)
expect_contains "$OUT" "403"
expect_contains "$OUT" "secret API_KEY"
expect_contains "$OUT" "not bound"
grep -q '"path": "/x"' "$TEST_TMP/TLS.log" && fail "refused request reached the upstream"
OUT=$(c --cacert "$TEST_TMP/sandbox-ca.pem" --connect-to "other.test:443:127.0.0.1:$P_OTHER" \
  -H "Authorization: Bearer $PH_OTHER" https://other.test/y) || fail "$OUT"
expect_contains "$OUT" "ok GET"

echo "== placeholder over plain HTTP: refused, even to the bound host"
OUT=$(c -w '\n%{http_code}' --connect-to "api.test:80:127.0.0.1:$P_API80" -H "X-Api-Key: $PH_API_KEY" http://api.test/p)
expect_contains "$OUT" "403"
expect_contains "$OUT" "plain HTTP"
grep -q "$PH_API_KEY" "$TEST_TMP/HTTP.log" && fail "plain-HTTP placeholder reached the upstream"

echo "== plain HTTP allowed; Host fronting refused with how to allow it"
OUT=$(c --connect-to "plain.test:80:127.0.0.1:$P_PLAIN" http://plain.test/ok) || fail "$OUT"
expect_contains "$OUT" "ok GET"
OUT=$(c -w '\n%{http_code}' --connect-to "evil.test:80:127.0.0.1:$P_PLAIN" http://evil.test/)
expect_contains "$OUT" "403"
expect_contains "$OUT" 'add "evil.test" to [network].allow'

echo "== TLS passthrough for hosts without secrets (the client sees the real certificate); SNI fronting refused"
OUT=$(c --cacert "$TEST_TMP/ca.pem" --connect-to "pass.test:443:127.0.0.1:$P_PASS" https://pass.test/pt) || fail "passthrough: $OUT"
expect_contains "$OUT" "ok GET"
OUT=$(c --cacert "$TEST_TMP/ca.pem" --connect-to "evil.test:443:127.0.0.1:$P_PASS" https://evil.test/ 2>&1) && fail "SNI fronting allowed: $OUT"
expect_contains "$OUT" "alert access denied"

echo "== denied destination: HTTP gets a 403 naming the rule, TLS gets an alert"
OUT=$(c -w '\n%{http_code}' --connect-to "example.org:80:127.0.0.1:$P_DENY80" http://example.org/)
expect_contains "$OUT" "403"
expect_contains "$OUT" "refused by the sandbox network policy"
expect_contains "$OUT" 'add "example.org" to [network].allow'
OUT=$(c --connect-to "example.org:443:127.0.0.1:$P_DENY443" https://example.org/ 2>&1) && fail "denied TLS connected"
expect_contains "$OUT" "alert access denied"

echo "== direct IP allowed by a CIDR"
OUT=$(c "http://127.0.0.1:$P_DIRECT/direct") || fail "$OUT"
expect_contains "$OUT" "ok GET"

echo "== upstream certificate not valid for the name: refused, never intercepted"
OUT=$(c --cacert "$TEST_TMP/sandbox-ca.pem" --connect-to "bad.test:443:127.0.0.1:$P_BAD" https://bad.test/ 2>&1) && fail "bad upstream accepted"
expect_contains "$OUT" "alert access denied"

echo "== audit: JSONL, secret names only, never the value"
sleep 0.5
python3 - "$AUDIT" <<'PY' || fail "audit: $(cat "$AUDIT")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
for e in ev:
    for k in ("time", "kind", "name", "address", "port", "decision", "rule", "bytes_up", "bytes_down", "secrets"):
        assert k in e, (k, e)
assert any(e["kind"] == "http" and e["secrets"] == ["API_KEY"] and e["decision"] == "allow" for e in ev)
assert any(e["kind"] == "http" and e["decision"] == "deny" and "API_KEY" in e.get("reason", "") for e in ev)
assert any(e["kind"] == "http" and e["decision"] == "deny" and e["name"] == "example.org" for e in ev)
assert any(e["kind"] == "tls" and e["decision"] == "deny" and e["name"] == "evil.test" for e in ev)
assert any(e["kind"] == "tls" and e["decision"] == "deny" and "verification" in e.get("reason", "") for e in ev)
assert any(e["kind"] == "tls" and e.get("intercepted") and e["bytes_down"] > 0 for e in ev)
assert any(e["kind"] == "tcp" and e["name"] == "pass.test" or e["kind"] == "tls" and e["name"] == "pass.test" and e["decision"] == "allow" for e in ev)
PY
if grep -rq "$SECRET_VALUE" "$TEST_TMP/state" "$TEST_TMP/sandbox-ca.pem" "$TEST_TMP/harness.err" "$TEST_TMP/HTTP.log"; then
  fail "the secret value was written outside the upstream"
fi
echo "PASS"
