# Helpers for VM tests (label vm): private state/config dirs, but one cache
# shared by all VM tests (kernel bundle, initramfs, KVM probe, images), which
# the `vm_kernel` fixture fills first. Images come from the registry rig.
. "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"
. "$MATCHLOCK_SOURCE_DIR/tests/rig/lib.sh"
export XDG_CACHE_HOME="$MATCHLOCK_BINARY_DIR/vm-test-cache"
BUSYBOX="$ML_REG_ANON/matchlock/busybox:latest"

# ml_run ARGS...: `matchlock run --rm --image $BUSYBOX ARGS` with $OUT/$ERR/$RC (see run_ml).
ml_run() { run_ml run --rm --image "$BUSYBOX" "$@"; }

# no_qemu_left: no QEMU process uses this test's directories.
no_qemu_left() {
  local left
  left=$(pgrep -af qemu-system | grep -F "$TEST_TMP" || true)
  [ -z "$left" ] || fail "qemu left running: $left"
}
