#!/usr/bin/env bash
# oci.pull_token_expiry: Bearer tokens are renewed when expires_in runs out, before the
# registry would refuse them. A private token server issues 2-second tokens (the
# registry rejects them after that); the config blob is throttled so the pull
# outlives its first token; the layer GET must then carry a fresh token (no 401).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"

rig_token_registry R 2
server=$(. "${RIG_PRIVATE_DIRS[0]}/env.sh"; echo "$ML_REG_TOKEN_SERVER")
config=$(python3 - "$ML_IMG_DIR/busybox" <<'PY'
import json, os, sys
root = sys.argv[1]
blob = lambda d: json.load(open(os.path.join(root, "blobs", "sha256", d.split(":")[1])))
print(blob(json.load(open(os.path.join(root, "index.json")))["manifests"][0]["digest"])["config"]["digest"])
PY
)
size=$(stat -c %s "$ML_IMG_DIR/busybox/blobs/sha256/${config#sha256:}")
rate=$(( size / 4 + 1 ))   # ~4 s for the config blob
RIG_PROXY_UPSTREAM=$R rig_fault_proxy P --match "$config" --rate "$rate"

start=$(date +%s)
run_ml pull --json "$P/matchlock/busybox:latest"
expect_rc 0
took=$(( $(date +%s) - start ))
[ "$took" -ge 3 ] || fail "the pull took ${took}s: too short to outlive a 2 s token"
issued=$(curl -fsS "http://$server/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["issued"])')
[ "$issued" -ge 2 ] || fail "expected a renewed token, the token server issued $issued"
python3 - "$RIG_PROXY_DIR/log.jsonl" <<'PY' || fail "a request was refused with an expired token: $(cat "$RIG_PROXY_DIR/log.jsonl")"
import json, sys
bad = [r for r in map(json.loads, open(sys.argv[1])) if r["status"] == 401 and "/blobs/" in r["path"]]
sys.exit(1 if bad else 0)
PY
grep -q '"status": 200' "$RIG_PROXY_DIR/log.jsonl" || fail "proxy saw no successful request"
echo "ok: pull took ${took}s, $issued tokens issued"
