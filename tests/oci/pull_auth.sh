#!/usr/bin/env bash
# oci.pull_auth: htpasswd Basic and Bearer-token registries, with credentials from
# DOCKER_CONFIG; clear errors without / with wrong credentials; the cache stays clean.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"

# Without credentials
export DOCKER_CONFIG="$TEST_TMP/nodocker"
run_ml pull "$ML_REG_BASIC/matchlock/busybox:latest"
expect_rc 125
expect_contains "$ERR" "Basic"
run_ml pull "$ML_REG_TOKEN/matchlock/private/busybox:latest"
expect_rc 125
expect_contains "$ERR" "matchlock/private/busybox"
cache_clean "$XDG_CACHE_HOME"

rig_docker_auth basic token
for reg in "$ML_REG_BASIC" "$ML_REG_TOKEN"; do
  pull_twice "$reg/matchlock/busybox:latest"
  pull_twice "$reg/matchlock/layers:latest"
  pull_twice "$reg/matchlock/multiarch:latest"
done
pull_twice "$ML_REG_TOKEN/matchlock/private/busybox:latest"

# A wrong password is rejected by name
python3 - "$DOCKER_CONFIG/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
for v in c["auths"].values(): v.pop("auth", None); v["username"] = "nobody"; v["password"] = "wrong"
json.dump(c, open(p, "w"))
PY
export XDG_CACHE_HOME="$TEST_TMP/cache-wrong"
run_ml pull "$ML_REG_TOKEN/matchlock/busybox:latest"
expect_rc 125
expect_contains "$ERR" "token server refused the credentials"
run_ml pull "$ML_REG_BASIC/matchlock/busybox:latest"
expect_rc 125
expect_contains "$ERR" "credentials were rejected"
cache_clean "$XDG_CACHE_HOME"
