# The guest agent through a real VM, without the engine: boots matchlock-agent as PID 1 under QEMU
# (TCG, so it runs without KVM) with a busybox image disk and a sparse writable
# disk, then tests/vm/agent_vm_check drives the protocol end to end: boot
# (clock, overlay root, hostname, /etc/hosts), exit codes 0/3/126/127/137,
# stderr apart, env/cwd/user, tty size, 50 MB through cat, put/get, ENOSPC on
# a full writable disk, shutdown -> the VM powers off.
set -euo pipefail
: "${MATCHLOCK_BINARY_DIR:?}"
. "$(dirname "$0")/../lib/report.sh"

AGENT="$MATCHLOCK_BINARY_DIR/matchlock-agent"
CHECK="$MATCHLOCK_BINARY_DIR/tests/agent_vm_check"
[ -x "$AGENT" ] || fail "missing $AGENT"
[ -x "$CHECK" ] || fail "missing $CHECK"
QEMU=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not installed"
BUSYBOX=$(command -v busybox) || skip "busybox not installed"
file -L "$BUSYBOX" | grep -q "statically linked" || skip "busybox is not static (install busybox-static)"
command -v mke2fs >/dev/null || skip "mke2fs not installed"
command -v cpio >/dev/null || skip "cpio not installed"

# Kernel bundle: $MATCHLOCK_KERNEL_BUNDLE, else the one the vm_kernel fixture
# (tests/vm/kernel.sh) installed into the shared VM test cache.
BUNDLE=${MATCHLOCK_KERNEL_BUNDLE:-$MATCHLOCK_BINARY_DIR/vm-test-cache/matchlock/kernels/current}
[ -d "$BUNDLE" ] || skip "no kernel bundle at $BUNDLE (run the vm_kernel fixture: ctest -L vm, or set MATCHLOCK_KERNEL_BUNDLE)"
[ -f "$BUNDLE/vmlinuz" ] || skip "kernel bundle $BUNDLE has no vmlinuz"

W=$(mktemp -d "${TMPDIR:-/tmp}/ml-agent-vm.XXXXXX")
QPID=
cleanup() {
  if [ -n "$QPID" ]; then kill -9 "$QPID" 2>/dev/null || true; fi
  rm -rf "$W"
}
trap cleanup EXIT

# initramfs: /init = agent, modules + order file (contract with backends/initramfs).
mkdir -p "$W/initrd/lib/modules" "$W/initrd/dev" "$W/img/bin" "$W/img/etc" "$W/img/tmp" "$W/img/home/user"
cp "$AGENT" "$W/initrd/init"
if [ -d "$BUNDLE/modules" ]; then
  cp "$BUNDLE"/modules/*.ko "$W/initrd/lib/modules/"
  (cd "$W/initrd/lib/modules" && ls *.ko | sort > order)
fi
(cd "$W/initrd" && find . | cpio -o -H newc --quiet > "$W/initrd.cpio")

# Image disk: static busybox, passwd/group with an unprivileged user.
cp "$BUSYBOX" "$W/img/bin/busybox"
for app in $("$BUSYBOX" --list); do [ "$app" = busybox ] || ln -s busybox "$W/img/bin/$app"; done
chmod 1777 "$W/img/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n' > "$W/img/etc/passwd"
printf 'root:x:0:\nuser:x:1000:\n' > "$W/img/etc/group"
chmod 0644 "$W/img/etc/passwd"
mke2fs -q -t ext4 -d "$W/img" "$W/image.ext4" 48M
# Writable disk: sparse, small enough to fill quickly.
mke2fs -q -t ext4 "$W/upper.ext4" 32M

cd "$W"
# TCG needs the TSC frequency on the command line: microvm has no PIT/HPET to calibrate against.
"$QEMU" -M microvm,rtc=off -accel tcg -cpu max -smp 1 -m 512M -nodefaults -no-user-config -display none \
  -no-reboot -kernel "$BUNDLE/vmlinuz" -initrd initrd.cpio \
  -append "console=ttyS0 reboot=t panic=-1 quiet rdinit=/init tsc_early_khz=2000000" \
  -chardev file,id=console,path=console.log -serial chardev:console \
  -drive id=d0,file=image.ext4,format=raw,if=none,readonly=on -device virtio-blk-device,drive=d0,serial=ml-image \
  -drive id=d1,file=upper.ext4,format=raw,if=none -device virtio-blk-device,drive=d1,serial=ml-upper \
  -device virtio-serial-device -chardev socket,id=ctl,path=ctl.sock,server=on,wait=off \
  -device virtserialport,chardev=ctl,name=matchlock.ctl >qemu.log 2>&1 &
QPID=$!

set +e
"$CHECK" "$W/ctl.sock" "$W"
RC=$?
set -e
if [ $RC -ne 0 ]; then
  echo "--- console.log"; tail -30 console.log || true
  echo "--- qemu.log"; cat qemu.log || true
  fail "agent_vm_check failed"
fi
# After the acknowledged shutdown the agent powers off and QEMU (-no-reboot) exits.
for _ in $(seq 1 300); do
  kill -0 "$QPID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$QPID" 2>/dev/null; then
  tail -20 console.log
  fail "QEMU still running 30 s after shutdown"
fi
QPID=
grep -q "reboot: Power down" console.log || echo "note: console shows no power-down line (quiet)"
echo "PASS"
