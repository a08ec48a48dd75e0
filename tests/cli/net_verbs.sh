# matchlock net why|log|suggest against a real audit log written by net::Proxy
# (proxy_harness with real curl requests), and why on the current Matchlockfile.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../net/proxy_lib.sh"
cd "$TEST_TMP"
cat >Matchlockfile <<'TOML'
version = 1
name = "netdemo"
[sandbox]
image = "debian:bookworm-slim"
[network]
allow = ["github.com", "*.githubusercontent.com", "pypi.org:443", "10.9.0.0/16"]
deny = ["evil.githubusercontent.com"]
[secrets.GH_TOKEN]
from = "env:GH_TOKEN_FOR_TEST"
hosts = ["api.github.com"]
TOML

run_ml net why github.com:22
expect_rc 0
expect_contains "$OUT" 'allow github.com:22: allowed by network.allow "github.com"'
run_ml net why evil.githubusercontent.com
expect_contains "$OUT" "NXDOMAIN evil.githubusercontent.com"
expect_contains "$OUT" 'remove "evil.githubusercontent.com" from [network].deny'
run_ml net why example.org:8080
expect_contains "$OUT" "DENY  example.org:8080"
expect_contains "$OUT" 'add "example.org:8080" to [network].allow'
run_ml net why api.github.com:443
expect_contains "$OUT" "secrets.GH_TOKEN.hosts"
expect_contains "$OUT" "secret GH_TOKEN is injected here"
run_ml net why 10.9.1.1:5432
expect_contains "$OUT" "allow 10.9.1.1:5432"
run_ml net why 8.8.8.8:53
expect_contains "$OUT" "direct connections to IP addresses"
run_ml net why "not a host"
expect_rc 2

# No audit yet.
run_ml net log
expect_rc 0
expect_contains "$ERR" "no network activity recorded for sandbox netdemo"

# A real audit log: allowed and denied requests through the proxy.
make_test_ca "$TEST_TMP" up.test
start_upstream HTTP
AUDIT="$XDG_STATE_HOME/matchlock/sandboxes/netdemo/audit.jsonl"
start_harness --audit "$AUDIT" --allow up.test --upstream "up.test:80=127.0.0.1:$UP_HTTP_PORT" \
  --flow up.test,198.18.0.1,80 --flow -,93.184.216.34,80 --flow -,93.184.216.34,8443
curl -sS --max-time 10 --connect-to "up.test:80:127.0.0.1:${FLOW_PORTS[0]}" http://up.test/fine >/dev/null
curl -sS --max-time 10 --connect-to "denied.test:80:127.0.0.1:${FLOW_PORTS[1]}" http://denied.test/ >/dev/null
curl -sS --max-time 10 --connect-to "denied.test:80:127.0.0.1:${FLOW_PORTS[1]}" http://denied.test/again >/dev/null
curl -sS --max-time 10 -k --connect-to "tls.test:8443:127.0.0.1:${FLOW_PORTS[2]}" https://tls.test:8443/ >/dev/null 2>&1 || true
curl -sS --max-time 10 --connect-to "github.com:80:127.0.0.1:${FLOW_PORTS[1]}" http://github.com/ >/dev/null
sleep 0.5

run_ml net log
expect_rc 0
expect_contains "$OUT" "allow up.test:80 GET /fine -> 200"
expect_contains "$OUT" "DENY  denied.test:80 GET /"
run_ml net log --json
expect_rc 0
while IFS= read -r line; do expect_json "$line"; done <<<"$OUT"

run_ml net suggest
expect_rc 0
expect_contains "$OUT" '"denied.test",  # denied: http'
expect_contains "$OUT" '"tls.test:8443",  # denied: tls'
case "$OUT" in *'"github.com"'*) fail "suggested github.com, which the Matchlockfile already allows: $OUT" ;; esac
case "$OUT" in *up.test*) fail "suggested an allowed host: $OUT" ;; esac

run_ml net log --name other-sandbox
expect_contains "$ERR" "no network activity recorded for sandbox other-sandbox"
echo PASS
