# `matchlock doctor --json` reports every check as JSON with a state.
source "$(dirname "$0")/lib.sh"
run_ml doctor --json
expect_rc 0
expect_json "$OUT"
for key in qemu kvm user_namespaces e2fsprogs runsc kernel_bundle arm64_guests; do
  printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['$key']['state'] in ('ok','warn','missing')" \
    || fail "doctor --json lacks $key"
done
# What this build enforces, for CI to assert; unimplemented backends are listed as not enforced.
printf '%s' "$OUT" | python3 -c "
import json, sys
e = json.load(sys.stdin)['enforces']
for k in ('network_policy', 'dns_local', 'hostname_validation', 'http_checks', 'secret_injection', 'secret_scrubbing',
          'workspace_confinement', 'workspace_exclude', 'backend_qemu'):
    assert e[k]['enforced'] is True, k
for k in ('backend_firecracker', 'backend_gvisor', 'backend_vz', 'network_dns_servers'):
    assert e[k]['enforced'] is False, k
" || fail "doctor --json enforces: $OUT"
run_ml doctor
expect_rc 0
expect_contains "$OUT" "This build enforces"
expect_contains "$OUT" "qemu"
