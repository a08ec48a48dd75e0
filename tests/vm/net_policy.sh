# The network policy from inside a booted guest (issue 6 "done when"): with the Debian
# image's curl, in ONE boot of `matchlock run`: allowed host over HTTP, HTTPS
# (passthrough) and raw TCP; denied name; direct IP; SNI and Host fronting; a secret
# injected only toward its bound host over intercepted HTTPS; its placeholder refused
# toward another host and over plain HTTP; the real value nowhere in the guest or on
# disk; `matchlock net log` shows the decisions. Then `up` + `exec` (the supervisor
# path) reaches the allowed host too. Trust approval: no TTY and no --trust -> exit 4.
. "$(dirname "$0")/net_prelude.sh"
net_upstream http
net_upstream https tls
net_echo_server

REAL="real-token-$RANDOM$RANDOM-value"
OTHER_REAL="other-token-$RANDOM$RANDOM"
export ML_TEST_TOKEN="$REAL" ML_TEST_OTHER="$OTHER_REAL"
cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "netvm"
[sandbox]
image = "$ML_REG_ANON/matchlock/debian:latest"
cpus = 1
memory = "512MiB"
disk = "256MiB"
workdir = "/root"

[network]
allow = ["allowed.test"]
block_private = false        # the test upstreams listen on 127.0.0.1
ca = "$TEST_TMP/ca.pem"      # trusted for upstream TLS (the intercepted hosts)

[secrets.TOKEN]
from = "env:ML_TEST_TOKEN"
hosts = ["secret.test"]
inject = ["header"]

[secrets.OTHER]
from = "env:ML_TEST_OTHER"
hosts = ["other.test"]
inject = ["header"]
TOML

# Trust approval: the first run needs a TTY or --trust.
set +e
"$MATCHLOCK" run -- true </dev/null >"$TEST_TMP/out" 2>"$TEST_TMP/err"
RC=$?
set -e
[ "$RC" -eq 4 ] || fail "run without --trust and without a TTY: expected exit 4, got $RC: $(cat "$TEST_TMP/err")"
expect_contains "$(cat "$TEST_TMP/err")" "--trust"

read -r -d '' GUEST <<'EOS' || true
set +e
printf '%s\n' "$TESTCA" >/tmp/testca.pem
c() { curl -sS --max-time 30 "$@"; }
echo "resolv=$(grep -c '^nameserver 192.168.127.1$' /etc/resolv.conf)"
echo "http_allowed=$(c -o /tmp/h.body -w '%{http_code}' "http://allowed.test:$HP/hello")"
echo "http_body=$(head -c 2 /tmp/h.body)"
echo "https_allowed=$(c --cacert /tmp/testca.pem -o /dev/null -w '%{http_code}' "https://allowed.test:$SP/tls")"
exec 3<>"/dev/tcp/allowed.test/$TP" && { echo ping-raw >&3; read -r -t 30 line <&3; echo "tcp_allowed=$line"; exec 3>&-; }
c -o /dev/null "http://denied.test:$HP/" 2>/dev/null; echo "denied_name_rc=$?"
echo "direct_ip=$(c -o /tmp/d.body -w '%{http_code}' "http://203.0.113.7:$HP/")"
echo "direct_ip_body=$(tr '\n' ' ' </tmp/d.body)"
echo "front_http=$(c -o /tmp/f.body -w '%{http_code}' -H 'Host: denied.test' "http://allowed.test:$HP/front")"
ip=$(getent hosts allowed.test | awk '{print $1}')
echo "synthetic=${ip%%.*}"
c --cacert /tmp/testca.pem --resolve "denied.test:$SP:$ip" -o /dev/null "https://denied.test:$SP/front" 2>/dev/null; echo "front_tls_rc=$?"
echo "secret_placeholder=${TOKEN%%_*}"
echo "secret_mitm=$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "https://secret.test:$SP/secret")"
echo "secret_system_bundle=$(c --cacert /etc/ssl/certs/ca-certificates.crt -o /dev/null -w '%{http_code}' "https://secret.test:$SP/bundle")"
echo "secret_unbound=$(c -o /tmp/u.body -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "https://other.test:$SP/unbound")"
echo "secret_plain=$(c -o /dev/null -w '%{http_code}' -H "X-Token: $TOKEN" "http://allowed.test:$HP/plain")"
echo "--- env"; env; echo "--- files"; cat /etc/matchlock/ca.pem /etc/resolv.conf /proc/self/environ | tr '\0' '\n'
EOS
run_ml run -e TESTCA="$(cat "$TEST_TMP/ca.pem")" -e HP="$UP_http" -e SP="$UP_https" -e TP="$UP_tcp" -- bash -c "$GUEST"
expect_rc 0
expect_line resolv 1
expect_line http_allowed 200
expect_line http_body ok
expect_line https_allowed 200
expect_line tcp_allowed echo:ping-raw
expect_line denied_name_rc 6                     # curl: could not resolve (NXDOMAIN)
expect_line direct_ip 403
expect_contains "$OUT" "direct_ip_body=matchlock"
expect_line front_http 403
expect_line synthetic 198
[ "$(printf '%s\n' "$OUT" | sed -n 's/^front_tls_rc=//p')" != 0 ] || fail "TLS with SNI denied.test on allowed.test's address succeeded: $OUT"
expect_line secret_placeholder MATCHLOCK
expect_line secret_mitm 200
expect_line secret_system_bundle 200
expect_line secret_unbound 403
expect_line secret_plain 403
grep -q "Bearer $REAL" "$TEST_TMP/https.log" || fail "upstream did not get the real secret: $(cat "$TEST_TMP/https.log")"
grep '"/unbound"' "$TEST_TMP/https.log" && fail "the unbound request reached the upstream"
grep -q '"/plain"' "$TEST_TMP/http.log" && fail "the plain-HTTP placeholder request reached the upstream"
grep -q '"/front"' "$TEST_TMP/http.log" "$TEST_TMP/https.log" && fail "a fronted request reached an upstream"
case "$OUT$ERR" in *"$REAL"*|*"$OTHER_REAL"*) fail "a real secret value reached the guest's output" ;; esac
if grep -rqa -e "$REAL" -e "$OTHER_REAL" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME" 2>/dev/null; then
  fail "a real secret value is on disk: $(grep -rla -e "$REAL" -e "$OTHER_REAL" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME")"
fi

# The audit log, through `matchlock net log`.
run_ml net log
expect_rc 0
expect_contains "$OUT" "denied.test"
expect_contains "$OUT" "DENY"
expect_contains "$OUT" "secrets=TOKEN"
expect_contains "$OUT" "203.0.113.7"
run_ml net log --json
printf '%s\n' "$OUT" | grep '"decision":"deny"' | grep -q '"rule"' || fail "no denied entry with a rule: $OUT"
grep -q '"kind":"tls".*"name":"allowed.test"' <<<"$OUT" || fail "no allowed TLS entry for allowed.test: $OUT"

# The supervisor path (`up` + `exec`) gets the same network and environment.
run_ml up          # (tests/lifecycle/lib.sh adds --trust)
expect_rc 0
run_ml exec -- sh -c "curl -sS --max-time 30 -o /dev/null -w 'up_http=%{http_code}\n' http://allowed.test:$UP_http/from-up; echo \"up_placeholder=\${TOKEN%%_*}\"; echo \"up_cafile=\$SSL_CERT_FILE\""
expect_rc 0
expect_line up_http 200
expect_line up_placeholder MATCHLOCK
expect_line up_cafile /etc/matchlock/ca-bundle.pem
grep -q '"/from-up"' "$TEST_TMP/http.log" || fail "the upstream did not see the request from the up sandbox"
run_ml down
expect_rc 0
no_qemu_left
