# `matchlock kernel install` fetches Debian's cloud kernel into the (shared VM
# test) cache and records package, version and hashes; doctor reports the bundle
# and the result of the real KVM probe.
. "$(dirname "$0")/../cli/lib.sh"
export XDG_CACHE_HOME="$MATCHLOCK_BINARY_DIR/vm-test-cache"   # shared by the VM tests (see vm/lib.sh)
run_ml kernel install
expect_rc 0
expect_contains "$OUT" "linux-image-"
expect_contains "$OUT" "virtio_mmio"
run_ml kernel show
expect_rc 0
expect_contains "$OUT" "sha256:"
bundle=$(readlink -f "$XDG_CACHE_HOME/matchlock/kernels/current")
[ -s "$bundle/vmlinuz" ] || fail "no vmlinuz in $bundle"
python3 - "$bundle" <<'PY' || fail "bundle.json does not match the files"
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "bundle.json")))
assert m["package"].startswith("linux-image-") and m["version"] and m["deb_sha256"]
names = [x["name"] for x in m["modules"]]
for need in ["virtio_mmio", "virtio_blk", "virtio_console", "virtio_net", "overlay", "fuse", "virtiofs"]:
    assert need in names, need
# dependencies come first
assert names.index("virtio_ring") < names.index("virtio") < names.index("virtio_mmio")
assert names.index("failover") < names.index("net_failover") < names.index("virtio_net")
for rel, sha in m["files"].items():
    assert hashlib.sha256(open(os.path.join(d, rel), "rb").read()).hexdigest() == sha, rel
PY
run_ml doctor --json
expect_rc 0
printf '%s' "$OUT" | python3 -c '
import json, os, sys
d = json.load(sys.stdin)
assert d["kernel_bundle"]["state"] == "ok", d["kernel_bundle"]
k = d["kvm"]
print("kvm:", k)
if os.path.exists("/sys/module/kvm_pvm"):   # nested PVM: a stock kernel hangs, the probe must say so
    assert k["state"] == "warn" and "TCG" in k["detail"], k
' || fail "doctor: $OUT"
