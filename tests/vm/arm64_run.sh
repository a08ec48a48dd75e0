# arm64 guests under qemu-system-aarch64 (TCG here): one multi-arch reference boots
# its arm64 variant with --platform linux/arm64 and its amd64 variant by default, with
# the same agent protocol (exit code, stdin, stdout/stderr apart). Prints the boot time
# of both architectures, measured in this run on this machine.
. "$(dirname "$0")/lib.sh"
MULTI="${ML_IMG_BUSYBOX_MULTI:?fixture rig_arm64 (registry.py arm64) did not run}"

# ready_ms: the boot time `matchlock -v run` logs ("sandbox ready in N ms").
ready_ms() { printf '%s\n' "$ERR" | sed -n 's/.*sandbox ready in \([0-9]*\) ms.*/\1/p' | tail -1; }

run_ml -v run --rm --platform linux/arm64 --image "$MULTI" -- sh -c 'read l; echo "$l"; uname -m; cat /etc/arch; echo to-stderr >&2; exit 3' <<<"piped-in"
expect_rc 3
[ "$OUT" = "piped-in
aarch64
arm64" ] || fail "arm64 guest output: $OUT; stderr: $ERR"
expect_contains "$ERR" "to-stderr"
expect_contains "$ERR" "accel tcg"
arm_first=$(ready_ms)

# The host's platform (no flag): the same reference resolves to its amd64 image.
run_ml -v run --rm --image "$MULTI" -- sh -c 'uname -m; cat /etc/arch'
expect_rc 0
[ "$OUT" = "x86_64
amd64" ] || fail "amd64 guest output: $OUT"
amd_first=$(ready_ms)

# Boot time, both architectures again (caches warm), same machine, same run.
run_ml -v run --rm --platform linux/arm64 --image "$MULTI" -- true
expect_rc 0
arm_second=$(ready_ms)
run_ml -v run --rm --image "$MULTI" -- true
expect_rc 0
amd_second=$(ready_ms)
echo "boot to ready (ms): amd64 microvm $amd_first, $amd_second; arm64 virt (TCG) $arm_first, $arm_second" >&2

# A platform matchlock cannot boot, and an image without that platform: clear errors.
run_ml run --rm --platform linux/riscv64 --image "$MULTI" -- true
expect_rc 125
expect_contains "$ERR" "matchlock boots linux/amd64 and linux/arm64 guests"
run_ml run --rm --platform linux/arm64 --image "$BUSYBOX" -- true
[ "$RC" -ne 0 ] || fail "an amd64-only image booted as arm64"
expect_contains "$ERR" "linux/arm64"
no_qemu_left
