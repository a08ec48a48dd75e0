#!/usr/bin/env bash
# oci.pull_tls: HTTPS registry with the rig CA (SSL_CERT_FILE); without the CA the
# certificate is refused (no silent downgrade to HTTP).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"

SSL_CERT_FILE="$ML_RIG_CA" run_ml pull --json "$ML_REG_TLS/matchlock/busybox:latest"
expect_rc 0
expect_contains "$(json_field "$OUT" 'd["source"]')" "https://$ML_REG_TLS"
SSL_CERT_FILE=/dev/null XDG_CACHE_HOME="$TEST_TMP/c2" run_ml pull "$ML_REG_TLS/matchlock/layers:latest"
[ "$RC" -ne 0 ] || fail "pulled over TLS without trusting the CA"
