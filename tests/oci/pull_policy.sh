#!/usr/bin/env bash
# oci.pull_policy: warm resolves need no network (docker's --pull semantics).
# `pull` re-checks a tag (always); --pull=missing and `up --dry-run` answer a cached
# tag from the store; a digest (or a lock pin with --frozen) is answered from the
# store under every policy; --pull=never fails when the image is not cached. A
# plain-HTTP registry's scheme is remembered, so the next pull skips HTTPS.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"

requests() { curl -fsS "http://$P/__rig/stats" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["requests"].values()))'; }

rig_fault_proxy P   # pass-through, counts requests
REF="$P/matchlock/busybox:latest"

run_ml pull --pull=never "$REF"
expect_rc 125
expect_contains "$ERR" "not in the local store (--pull=never)"
[ "$(requests)" = 0 ] || fail "--pull=never contacted the registry"

run_ml pull --json "$REF"
expect_rc 0
digest=$(json_field "$OUT" 'd["manifest"]')
[ "$(cat "$XDG_CACHE_HOME/matchlock/registries/127.0.0.1_${P#*:}.scheme")" = http ] || fail "scheme not remembered"
# The first pull tried HTTPS once (the proxy saw a TLS hello); later pulls must not.
hellos=$(grep -c "Bad request" "$RIG_PROXY_DIR/stderr" || true)

run_ml pull "$REF"   # always: the tag is re-checked (manifest GET), blobs are cached
expect_rc 0
before=$(requests)
[ "$before" -ge 3 ] || fail "expected the always-pull to contact the registry; stats: $(curl -fsS "http://$P/__rig/stats")"
[ "$(grep -c "Bad request" "$RIG_PROXY_DIR/stderr" || true)" = "$hellos" ] || fail "the second pull tried HTTPS again"

for policy in missing never; do
  run_ml pull --pull=$policy --json "$REF"
  expect_rc 0
  [ "$(json_field "$OUT" 'd["manifest"]')" = "$digest" ] || fail "--pull=$policy resolved another digest: $OUT"
done
run_ml pull --json "$P/matchlock/busybox@$digest"   # a digest: answered from the store even with always
expect_rc 0
[ "$(requests)" = "$before" ] || fail "a cached resolve contacted the registry: $(curl -fsS "http://$P/__rig/stats")"
# The record the store answer wrote counts the same bytes (config + layers) as the pull's.
run_ml images --json
expect_rc 0
printf '%s' "$OUT" | python3 -c '
import json, sys
sizes = {i["reference"]: i["size"] for i in json.load(sys.stdin)}
tag, pinned = sizes[sys.argv[1]], sizes[sys.argv[2]]
assert tag == pinned and tag > 0, sizes' "$REF" "$P/matchlock/busybox@$digest" || fail "image sizes differ: $OUT"

# --frozen with a lock pin: no registry contact when the cache has it.
mkdir -p "$TEST_TMP/proj/.git"
cd "$TEST_TMP/proj"
printf 'version = 1\n[sandbox]\nimage = "%s"\n' "$REF" >Matchlockfile
run_ml lock
expect_rc 0
before=$(requests)
run_ml pull --frozen
expect_rc 0
run_ml up --dry-run
expect_rc 0
expect_contains "$OUT" "-> $digest (cached from http://$P/matchlock/busybox; rootfs $XDG_CACHE_HOME/matchlock/rootfs/"
[ "$(requests)" = "$before" ] || fail "pull --frozen or up --dry-run contacted the registry"

# With the registry gone, cached resolves still work; an always-pull fails.
kill "${RIG_PROXY_PIDS[0]}"; wait "${RIG_PROXY_PIDS[0]}" 2>/dev/null || true
run_ml pull --frozen
expect_rc 0
run_ml pull --pull=missing "$REF"
expect_rc 0
run_ml pull "$REF"
[ "$RC" -ne 0 ] || fail "an always-pull succeeded without the registry"

# Not cached: up --dry-run says so, --pull=never fails.
printf 'version = 1\n[sandbox]\nimage = "%s/matchlock/layers:latest"\n' "$ML_REG_ANON" >Matchlockfile
run_ml up --dry-run
expect_rc 0
expect_contains "$OUT" "not cached (up pulls it"
run_ml pull --pull=never "$ML_REG_ANON/matchlock/layers:latest"
expect_rc 125
run_ml pull --pull=sometimes "$REF"
expect_rc 2
expect_contains "$ERR" "not one of always, missing, never"
echo "ok"
