#!/usr/bin/env bash
# oci.pull_redirect: blob redirects to another host are followed, and the registry's
# Authorization header is never sent to that host.
. "$(dirname "$0")/../cli/lib.sh"
python3 "$(dirname "$0")/redirect_server.py" --port-file "$TEST_TMP/port" --seen "$TEST_TMP/seen" 2>"$TEST_TMP/server.err" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; rm -rf "$TEST_TMP"; true' EXIT
for _ in $(seq 100); do [ -s "$TEST_TMP/port" ] && break; sleep 0.05; done
[ -s "$TEST_TMP/port" ] || fail "server did not start: $(cat "$TEST_TMP/server.err")"
port=$(cat "$TEST_TMP/port")

mkdir -p "$TEST_TMP/docker"
printf '{"auths":{"127.0.0.1:%s":{"auth":"dXNlcjpwYXNz"}}}' "$port" >"$TEST_TMP/docker/config.json"
DOCKER_CONFIG="$TEST_TMP/docker" run_ml pull --no-rootfs "127.0.0.1:$port/redir:latest"
expect_rc 0
[ "$(wc -l <"$TEST_TMP/seen")" -ge 2 ] || fail "the redirect target saw $(wc -l <"$TEST_TMP/seen") requests"
if grep -v ' -$' "$TEST_TMP/seen"; then fail "credentials were forwarded to the redirect target"; fi
