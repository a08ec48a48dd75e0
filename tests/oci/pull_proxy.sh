#!/usr/bin/env bash
# oci.pull_proxy: HTTPS_PROXY sends registry traffic through a CONNECT proxy (the
# proxy's log names the registry), NO_PROXY bypasses it for the listed hosts.
# Uses the rig's TLS registry (SSL_CERT_FILE = the rig CA).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
python3 "$ML_RIG_SRC/connect_proxy.py" --port-file "$TEST_TMP/proxy.port" --log "$TEST_TMP/proxy.log" 2>"$TEST_TMP/proxy.err" &
proxy_pid=$!
trap 'kill $proxy_pid 2>/dev/null || true; wait $proxy_pid 2>/dev/null || true; rm -rf "$TEST_TMP"' EXIT
for _ in $(seq 100); do [ -s "$TEST_TMP/proxy.port" ] && break; sleep 0.05; done
[ -s "$TEST_TMP/proxy.port" ] || fail "proxy did not start: $(cat "$TEST_TMP/proxy.err")"
export SSL_CERT_FILE=$ML_RIG_CA
PROXY="http://127.0.0.1:$(cat "$TEST_TMP/proxy.port")"
REF="$ML_REG_TLS/matchlock/busybox:latest"

HTTPS_PROXY=$PROXY NO_PROXY= no_proxy= run_ml pull --no-rootfs "$REF"
expect_rc 0
grep -qx "CONNECT $ML_REG_TLS" "$TEST_TMP/proxy.log" || fail "the pull did not go through the proxy; log: $(cat "$TEST_TMP/proxy.log")"
tunnels=$(wc -l <"$TEST_TMP/proxy.log")

export XDG_CACHE_HOME="$TEST_TMP/cache2"
HTTPS_PROXY=$PROXY NO_PROXY=127.0.0.1 run_ml pull --no-rootfs "$REF"
expect_rc 0
[ "$(wc -l <"$TEST_TMP/proxy.log")" = "$tunnels" ] || fail "NO_PROXY=127.0.0.1 still used the proxy: $(cat "$TEST_TMP/proxy.log")"

# A proxy that refuses: the pull fails, naming the proxy's answer (so the proxy really is in the path).
export XDG_CACHE_HOME="$TEST_TMP/cache3"
kill $proxy_pid; wait $proxy_pid 2>/dev/null || true
HTTPS_PROXY=$PROXY NO_PROXY= no_proxy= run_ml pull --no-rootfs "$REF"
[ "$RC" -ne 0 ] || fail "pull succeeded with a dead proxy"
echo ok
