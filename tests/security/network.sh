# security.network: the network and secret holes of issue 12, tried from inside a booted
# Debian guest as root, in a private netns whose hosts live on TEST-NET addresses (lib.sh).
# block_private stays on. One boot; the guest runs guest_attacks.pl (raw DNS, raw TCP/HTTP)
# and curl (TLS, interception); every line it prints says what was tried and what held.
# Afterwards: nothing reached evil.test, no real secret value anywhere the guest or the
# user can read (guest output, audit log, state), `net log` escapes guest-chosen bytes.
. "$(dirname "$0")/prelude.sh"

REAL="real-$(openssl rand -hex 16)"
OTHER_REAL="other-$(openssl rand -hex 16)"
export ML_SEC_TOKEN="$REAL" ML_SEC_OTHER="$OTHER_REAL"
cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "sec"
[sandbox]
image = "oci-layout:$ML_IMG_DEBIAN:latest"
cpus = 1
memory = "512MiB"
disk = "256MiB"
workdir = "/root"

[network]
allow = ["allowed.test", "*.allowed.test", "other.test"]
deny = ["deny.allowed.test"]
ca = "$TEST_TMP/ca.pem"

[secrets.TOKEN]
from = "env:ML_SEC_TOKEN"
hosts = ["secret.test"]

[secrets.OTHER]
from = "env:ML_SEC_OTHER"
hosts = ["other.test"]
TOML

read -r -d '' GUEST <<'EOS' || true
set +e
printf '%s\n' "$TESTCA" >/tmp/testca.pem
printf '%s\n' "$ATTACKS" >/tmp/attacks.pl
perl /tmp/attacks.pl
c() { curl -sS --max-time 20 -o /tmp/body -w '%{http_code}' "$@" 2>/dev/null; }
# Secrets: the placeholder in framing and routing headers (the real value must never come back).
for h in Content-Length Transfer-Encoding Connection Upgrade TE Trailer Keep-Alive Proxy-Authorization; do
  code=$(c -H "$h: $TOKEN" https://secret.test/frame)
  echo "secret_in_${h}=$code"
  cat /tmp/body >>/tmp/all-bodies
done
echo "secret_other_host_header=$(c -H "Host: other.test" -H "Authorization: Bearer $TOKEN" https://secret.test/front)"
echo "secret_other_token_via_secret_conn=$(c -H "Host: other.test" -H "Authorization: Bearer $OTHER" https://secret.test/front)"
echo "secret_absolute_form=$(c --request-target "https://other.test/abs" -H "Authorization: Bearer $TOKEN" https://secret.test/)"
echo "secret_absolute_form_host=$(c --request-target "https://other.test/abs" -H "Host: other.test" -H "X-T: $TOKEN" https://secret.test/)"
echo "secret_absolute_userinfo=$(c --request-target "https://secret.test@other.test/abs" -H "X-T: $TOKEN" https://secret.test/)"
echo "secret_unbound_host=$(c -H "Authorization: Bearer $TOKEN" https://other.test/unbound)"
echo "secret_in_path=$(c "https://secret.test/p/$TOKEN")"
echo "secret_header_ok=$(c -H "Authorization: Bearer $TOKEN" https://secret.test/ok-header)"
echo "secret_query_ok=$(c "https://secret.test/ok-query?k=$TOKEN")"
echo "secret_basic_ok=$(c -u "bot:$TOKEN" https://secret.test/ok-basic)"
echo "secret_cookie_ok=$(c -b "s=$TOKEN" https://secret.test/ok-cookie)"
echo "secret_body_not_injected=$(c --data "t=$TOKEN" https://secret.test/ok-body)"
echo "secret_h2_alpn=$(curl -sS --http2 --max-time 20 -o /dev/null -w '%{http_version}' https://secret.test/h2)"
echo "secret_h2_prior_knowledge=$(curl -sS --http2-prior-knowledge --max-time 20 -o /dev/null -w '%{http_version}' https://secret.test/h2pk)"
echo "secret_sni_front=$(curl -sS --max-time 20 --resolve "evil.test:443:$(getent hosts secret.test | cut -d' ' -f1)" \
  -o /dev/null -w '%{http_code}' https://evil.test/ 2>/dev/null; echo " rc=$?")"
echo "tls_passthrough_allowed=$(c --cacert /tmp/testca.pem https://allowed.test/pass)"
echo "ipv6_literal=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' 'http://[2001:db8::66]/' 2>/dev/null; echo " rc=$?")"
echo "--- bodies"; cat /tmp/all-bodies; echo; echo "--- env"; env
EOS
run_ml run -e TESTCA="$(cat "$TEST_TMP/ca.pem")" -e ATTACKS="$(cat "$MATCHLOCK_SOURCE_DIR/tests/security/attack_lib.pl" "$MATCHLOCK_SOURCE_DIR/tests/security/guest_attacks.pl")" \
  -- bash -c "$GUEST"
expect_rc 0
sec_result done 1

# 1.1 Names that are not host names (NUL, '.', '_' in a label, numeric forms): NXDOMAIN,
# and never a connection to what a resolver would make of them.
for a in dns_nul_label dns_nul_ip_label dns_dot_in_label dns_underscore dns_numeric dns_hex_ip dns_deny_rule \
         dns_deny_rule_case dns_deny_nul_suffix dns_log_forgery; do
  sec_result "$a" "rcode=3 answers=0"
done
sec_result dns_allowed_sanity "rcode=0 answers=1"
sec_result dns_aaaa_allowed "rcode=0 answers=0"
sec_result dns_external_resolver no-answer
# Direct IPs, TCP to the gateway, IPv6, ICMP.
sec_result tcp_direct_ip_80 403
sec_result tcp_direct_ip_22 closed
sec_result_any tcp_gateway_53 refused closed
expect_contains "$(printf '%s\n' "$OUT" | sed -n 's/^ipv6_literal=//p')" "rc=7"
sec_result icmp_evil no-reply
# 1.6 Plain-HTTP checks.
sec_result http_front_host 403
sec_result http_front_host_port 403
sec_result http_dup_host 400
sec_result http_dup_host_rev 400
sec_result http_no_host 400
sec_result http_nul_host 400
sec_result http_absolute_other 400
sec_result http_absolute_userinfo 400
sec_result http_absolute_same 200
sec_result http_propfind_front 403
sec_result http_lowercase_front 403
sec_result http_connect 405
sec_result http_folding 400
sec_result http_cl_te 400
sec_result http_te_obfuscated 400
sec_result http_chunked_bare_lf closed
sec_result http_chunked_trailer_request closed
sec_result http_h2c_upgrade 200
python3 - "$TEST_TMP/allowed.test.http.log" <<'PY' || fail "the h2c offer reached the upstream: $(grep h2c "$TEST_TMP/allowed.test.http.log")"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '"/h2c"' in l][0]
assert "Upgrade" not in r["headers"] and "HTTP2-Settings" not in r["headers"], r
PY
sec_result http_leading_crlf 400
sec_result http_garbage_port80 400
sec_result http_h2_prior_knowledge 400
sec_result http_esc_in_header 400
sec_result http_placeholder_plain 403
sec_result http_placeholder_plain_secret_host 403
sec_result http_pipelined_front "200,403"
# 1.2 / 1.5 Secrets. (Duplicate Host over TLS: curl sends one; the same check_request
# refuses it on both transports, shown over plain HTTP above and in net_security_tests.)
for h in Content-Length Transfer-Encoding Connection Upgrade TE Trailer Keep-Alive Proxy-Authorization; do
  sec_result_any "secret_in_$h" 400 403
done
sec_result secret_other_host_header 403
sec_result secret_other_token_via_secret_conn 403
sec_result secret_absolute_form 400
sec_result secret_absolute_form_host 403
sec_result secret_absolute_userinfo 400
sec_result secret_unbound_host 403
sec_result secret_in_path 403
sec_result secret_header_ok 200
sec_result secret_query_ok 200
sec_result secret_basic_ok 200
sec_result secret_cookie_ok 200
sec_result secret_body_not_injected 200
sec_result secret_h2_alpn 1.1
sec_result secret_h2_prior_knowledge 1.1   # ALPN never selects h2; the h2 preface itself is refused (http_h2_prior_knowledge)
expect_contains "$(printf '%s\n' "$OUT" | sed -n 's/^secret_sni_front=//p')" "rc=35"
sec_result tls_passthrough_allowed 200

# The upstream got the real value exactly where it was allowed, and never a body rewrite.
python3 - "$TEST_TMP" "$REAL" <<'PY' || fail "secret.test's requests: $(cat "$TEST_TMP/secret.test.https.log")"
import json, sys
tmp, real = sys.argv[1], sys.argv[2]
reqs = {json.loads(l)["path"].split("?")[0]: json.loads(l) for l in open(tmp + "/secret.test.https.log")}
assert reqs["/ok-header"]["headers"]["Authorization"] == "Bearer " + real
assert reqs["/ok-query"]["query"]["k"] == [real]
assert reqs["/ok-basic"]["basic"] == "bot:" + real
assert reqs["/ok-cookie"]["headers"]["Cookie"] == "s=" + real
assert real not in reqs["/ok-body"]["body"] and "MATCHLOCK_SECRET_" in reqs["/ok-body"]["body"]
for refused in ("/frame", "/front", "/abs", "/unbound"):
    assert refused not in reqs, refused
for p, r in reqs.items():
    if not p.startswith("/ok-"):
        assert real not in json.dumps(r), p
PY
grep -q "$REAL" "$TEST_TMP"/other.test.http*.log "$TEST_TMP"/allowed.test.http*.log &&
  fail "TOKEN's real value reached a host it is not bound to"
grep -q "$OTHER_REAL" "$TEST_TMP"/secret.test.http*.log "$TEST_TMP"/allowed.test.http*.log &&
  fail "OTHER's real value reached a host it is not bound to"
grep -qE '"/(front|dup|nul|hidden|smuggle|smuggle2|smuggled|crlf|fold|dav|lc|second)"' "$TEST_TMP/allowed.test.http.log" &&
  fail "a refused plain-HTTP request reached allowed.test: $(cat "$TEST_TMP/allowed.test.http.log")"
sec_expect_no_escape
case "$OUT$ERR" in *"$REAL"*|*"$OTHER_REAL"*) fail "a real secret value reached the guest" ;; esac
if grep -rqa -e "$REAL" -e "$OTHER_REAL" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME"; then
  fail "a real secret value is on disk: $(grep -rla -e "$REAL" -e "$OTHER_REAL" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME")"
fi

# 1.4 The audit log: guest-chosen bytes are escaped for people, exact for --json. A DNS
# name is recorded in presentation form (x\0102099...: no control byte survives); a TLS
# SNI is recorded as sent (lowercased), and `net log` shows it escaped.
sec_result tls_sni_log_forgery alert
sec_result tls_two_sni alert
sec_result tls_ech alert
run_ml net log
expect_rc 0
case "$OUT" in *$'\e'*|*$'\a'*) fail "net log printed raw control bytes" ;; esac
grep -q '^2099-01-01' <<<"$OUT" && fail "net log printed a forged line: $OUT"
expect_contains "$OUT" 'x\n2099-01-01t00:00:00.000z  tls'
expect_contains "$OUT" '\e[2j'
expect_contains "$OUT" 'x\\0102099-01-01'
run_ml net log --json
expect_rc 0
printf '%s\n' "$OUT" | python3 -c '
import json, sys
names = [json.loads(l)["name"] for l in sys.stdin if l.strip()]
assert any(n.startswith("x\n2099-01-01") and "\x1b[2j" in n for n in names), names
assert any(n.startswith("x\\0102099-01-01") for n in names), names
' || fail "net log --json lost the exact names: $OUT"
run_ml net suggest
expect_rc 0
case "$OUT" in *$'\e'*|*2099*) fail "net suggest proposed a rule from an invalid name: $OUT" ;; esac
echo "PASS"
