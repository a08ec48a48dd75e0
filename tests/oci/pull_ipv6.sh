#!/usr/bin/env bash
# oci.pull_ipv6: a registry named by a bracketed IPv6 address ("[::1]:PORT/repo:tag")
# parses, gets plain HTTP as a loopback registry, and pulls the same image as the rig's
# anonymous registry: a second docker-registry serves the rig's storage on [::1].
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
lo6=$(ip -6 addr show dev lo 2>/dev/null || true)
case "$lo6" in *"inet6 ::1/128"*) ;; *) echo "SKIP: no IPv6 loopback address (::1) on this host"; exit 77 ;; esac
port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); print(s.getsockname()[1])')
sed "s/^  addr: .*/  addr: \"[::1]:$port\"/" "$ML_RIG_DIR/registry-anon.yml" >"$TEST_TMP/registry-v6.yml"
grep -q "\[::1\]:$port" "$TEST_TMP/registry-v6.yml" || fail "could not rewrite the registry address"
docker-registry serve "$TEST_TMP/registry-v6.yml" >"$TEST_TMP/registry-v6.log" 2>&1 &
reg=$!
trap 'kill $reg 2>/dev/null; wait $reg 2>/dev/null || true; rm -rf "$TEST_TMP"' EXIT
for _ in $(seq 100); do curl -fsS -o /dev/null "http://[::1]:$port/v2/" && break; sleep 0.05; done
curl -fsS -o /dev/null "http://[::1]:$port/v2/" || fail "registry on [::1]:$port did not start: $(cat "$TEST_TMP/registry-v6.log")"

run_ml pull "[::1]:$port/matchlock/busybox:latest"
expect_rc 0
run_ml images --json
expect_rc 0
printf '%s' "$OUT" | python3 -c '
import json, sys
imgs = [i for i in json.load(sys.stdin) if i["reference"].startswith("[::1]:")]
assert len(imgs) == 1 and imgs[0]["reference"].endswith("/matchlock/busybox:latest"), imgs
print(imgs[0]["manifest"])' >"$TEST_TMP/v6-digest" || fail "images: $OUT"
run_ml pull "$ML_REG_ANON/matchlock/busybox:latest"
expect_rc 0
run_ml images --json
v4=$(printf '%s' "$OUT" | python3 -c '
import json, sys
print([i["manifest"] for i in json.load(sys.stdin) if i["reference"] == sys.argv[1]][0])' "$ML_REG_ANON/matchlock/busybox:latest")
[ "$(cat "$TEST_TMP/v6-digest")" = "$v4" ] || fail "IPv6 pull gave $(cat "$TEST_TMP/v6-digest"), IPv4 $v4"
# An invalid bracketed host is refused before any network access.
run_ml pull "[::1:$port/matchlock/busybox"
[ "$RC" -ne 0 ] || fail "a broken IPv6 reference was accepted"
expect_contains "$ERR" "invalid registry"
