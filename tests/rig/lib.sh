# Helpers for tests that use the registry rig. Source after tests/cli/lib.sh:
#   . "$MATCHLOCK_SOURCE_DIR/tests/rig/lib.sh"
# Loads the rig's env file (ML_REG_ANON, ML_REG_BASIC, ... see tests/rig/README.md).
: "${ML_RIG_ENV:?ML_RIG_ENV unset: the test needs FIXTURES_REQUIRED rig}"
[ -f "$ML_RIG_ENV" ] || { echo "rig env $ML_RIG_ENV missing: did rig.setup run?" >&2; exit 1; }
# shellcheck disable=SC1090
. "$ML_RIG_ENV"

# rig_need_debian: fails unless the rig_debian fixture has pushed matchlock/debian.
rig_need_debian() {
  [ -n "${ML_IMG_DEBIAN_DIGEST:-}" ] || { echo "FAIL: needs FIXTURES_REQUIRED rig_debian" >&2; exit 1; }
}

# rig_fault_proxy VAR [fault_proxy.py options...]: starts a private fault proxy in
# front of $ML_REG_ANON (or $RIG_PROXY_UPSTREAM), stores its HOST:PORT in VAR, and stops
# it when the test exits. RIG_PROXY_DIR is left pointing at its files: log.jsonl (one
# line per request: method, path, status, ...) and stderr (e.g. TLS hellos it refused).
# Example: rig_fault_proxy P --fail-status 500 --times 1; pull from "$P/matchlock/busybox".
RIG_PROXY_PIDS=()
RIG_PROXY_DIRS=()
rig_fault_proxy() {
  local var=$1; shift
  local dir; dir=$(mktemp -d "${TMPDIR:-/tmp}/ml-proxy.XXXXXX")
  RIG_PROXY_DIR=$dir
  RIG_PROXY_DIRS+=("$dir")
  python3 "$ML_RIG_SRC/fault_proxy.py" --upstream "${RIG_PROXY_UPSTREAM:-$ML_REG_ANON}" --port-file "$dir/port" \
    --log "$dir/log.jsonl" "$@" 2>"$dir/stderr" &
  RIG_PROXY_PIDS+=("$!")
  local i
  for i in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
  [ -s "$dir/port" ] || { cat "$dir/stderr" >&2; echo "FAIL: fault proxy did not start" >&2; exit 1; }
  printf -v "$var" '127.0.0.1:%s' "$(cat "$dir/port")"
  trap 'rig_cleanup' EXIT
}

# rig_token_registry VAR TTL: a private token server (tokens live TTL seconds) and
# token-auth registry serving the rig's images; VAR gets its HOST:PORT. Same users and
# policy as ML_REG_TOKEN. Stopped when the test exits.
RIG_PRIVATE_DIRS=()
rig_token_registry() {
  local dir; dir=$(mktemp -d "${TMPDIR:-/tmp}/ml-tokreg.XXXXXX")
  RIG_PRIVATE_DIRS+=("$dir")
  trap 'rig_cleanup' EXIT
  python3 "$ML_RIG_SRC/registry.py" token --dir "$dir" --rig-dir "$ML_RIG_DIR" --ttl "$2" ||
    { echo "FAIL: private token registry did not start" >&2; exit 1; }
  printf -v "$1" '%s' "$(. "$dir/env.sh"; echo "$ML_REG_TOKEN")"
}

rig_cleanup() {
  local p
  for p in "${RIG_PROXY_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for p in "${RIG_PROXY_DIRS[@]}"; do rm -rf "$p"; done
  for p in "${RIG_PRIVATE_DIRS[@]}"; do python3 "$ML_RIG_SRC/registry.py" down --dir "$p"; rm -rf "$p"; done
  [ -n "${TEST_TMP:-}" ] && rm -rf "$TEST_TMP"
  return 0
}

# rig_blob_gets PROXY DIGEST: how many GETs of that blob the proxy has forwarded or faulted.
rig_blob_gets() {
  curl -fsS "http://$1/__rig/stats" | python3 -c '
import json, sys
stats = json.load(sys.stdin)["requests"]
print(sum(n for k, n in stats.items() if k.startswith("GET ") and k.endswith("/blobs/" + sys.argv[1])))' "$2"
}

# rig_layer_digests LAYOUT: the layer digests of the layout's "latest" image manifest.
rig_layer_digests() {
  python3 - "$1" <<'PY'
import json, os, sys
root = sys.argv[1]
blob = lambda d: json.load(open(os.path.join(root, "blobs", "sha256", d.split(":")[1])))
desc = json.load(open(os.path.join(root, "index.json")))["manifests"][0]
m = blob(desc["digest"])
if "manifests" in m:  # an index: take linux/amd64
    m = blob(next(x for x in m["manifests"] if x.get("platform", {}).get("architecture") == "amd64")["digest"])
for layer in m["layers"]:
    print(layer["digest"])
PY
}

# rig_docker_auth [basic] [token]: writes a private Docker client config
# (DOCKER_CONFIG=$TEST_TMP/docker) holding the rig's credentials for the named set-ups
# (default: basic and token) and exports DOCKER_CONFIG. skopeo and matchlock both read it.
rig_docker_auth() {
  local which=("$@"); [ ${#which[@]} -gt 0 ] || which=(basic token)
  local dir=${TEST_TMP:?}/docker
  mkdir -p "$dir"
  python3 - "$dir/config.json" "${which[@]}" <<'PY'
import base64, json, os, sys
creds = {"basic": (os.environ["ML_REG_BASIC"], os.environ["ML_REG_BASIC_USER"], os.environ["ML_REG_BASIC_PASS"]),
         "token": (os.environ["ML_REG_TOKEN"], os.environ["ML_REG_TOKEN_USER"], os.environ["ML_REG_TOKEN_PASS"])}
auths = {}
for w in sys.argv[2:]:
    host, user, pw = creds[w]
    auths[host] = {"auth": base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()}
json.dump({"auths": auths}, open(sys.argv[1], "w"))
PY
  export DOCKER_CONFIG=$dir
}
