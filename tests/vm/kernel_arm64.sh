# `matchlock kernel install --arch arm64` fetches Debian's linux-image-cloud-arm64 into
# the shared VM test cache as kernels/current-arm64: an uncompressed Image (what QEMU's
# virt machine and Virtualization.framework load) and the modules VZ needs too (virtio-pci,
# vsock); the amd64 bundle (kernels/current) stays as it was.
. "$(dirname "$0")/../cli/lib.sh"
export XDG_CACHE_HOME="$MATCHLOCK_BINARY_DIR/vm-test-cache"   # shared by the VM tests (see vm/lib.sh)
amd64_before=$(readlink "$XDG_CACHE_HOME/matchlock/kernels/current" 2>/dev/null || true)
run_ml kernel install --arch arm64
expect_rc 0
expect_contains "$OUT" "linux-image-"
expect_contains "$OUT" "arch     arm64"
expect_contains "$OUT" "virtio_pci"
run_ml kernel show --arch arm64
expect_rc 0
expect_contains "$OUT" "cloud-arm64"
bundle=$(readlink -f "$XDG_CACHE_HOME/matchlock/kernels/current-arm64")
python3 - "$bundle" <<'PY' || fail "the arm64 bundle is not what it should be"
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "bundle.json")))
assert m["arch"] == "arm64" and m["kernel"] == "Image", m
assert m["package"].startswith("linux-image-") and m["package"].endswith("-arm64"), m["package"]
head = open(os.path.join(d, "Image"), "rb").read(64)
assert head[0x38:0x3c] == b"ARM\x64", "Image lacks the arm64 magic (still compressed?)"
assert not os.path.exists(os.path.join(d, "vmlinuz"))
names = [x["name"] for x in m["modules"]]
for need in ["virtio_mmio", "virtio_pci", "virtio_blk", "virtio_console", "virtio_net", "overlay", "fuse",
             "virtiofs", "vsock", "vmw_vsock_virtio_transport"]:
    assert need in names, need
assert names.index("virtio") < names.index("virtio_pci") and names.index("vsock") < names.index("vmw_vsock_virtio_transport")
for rel, sha in m["files"].items():
    assert hashlib.sha256(open(os.path.join(d, rel), "rb").read()).hexdigest() == sha, rel
for ko in os.listdir(os.path.join(d, "modules")):
    elf = open(os.path.join(d, "modules", ko), "rb").read(20)
    assert elf[:4] == b"\x7fELF" and int.from_bytes(elf[18:20], "little") == 183, ko   # EM_AARCH64
PY
[ "$(readlink "$XDG_CACHE_HOME/matchlock/kernels/current" 2>/dev/null || true)" = "$amd64_before" ] ||
  fail "installing the arm64 kernel moved kernels/current"
run_ml kernel install --arch riscv64
expect_rc 2
expect_contains "$ERR" "expected amd64 or arm64"
