# `matchlock doctor --json` reports every check as JSON with a state.
source "$(dirname "$0")/lib.sh"
run_ml doctor --json
expect_rc 0
expect_json "$OUT"
for key in qemu kvm user_namespaces e2fsprogs runsc kernel_bundle; do
  printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['$key']['state'] in ('ok','warn','missing')" \
    || fail "doctor --json lacks $key"
done
run_ml doctor
expect_rc 0
expect_contains "$OUT" "qemu"
