# The VM smoke test on one QEMU (label vm), run once per QEMU the CI machine can
# install (docs/ARCHITECTURE.md, "QEMU versions"): the system's package (Debian 12:
# 7.2) and Debian's backports build (QEMU 10 today), unpacked beside it by
# scripts/qemu10. `matchlock run` at the default 2 GiB (the size at which QEMU 10's
# SeaBIOS boot overwrote the initrd's tail), then up/exec/down of a 2 GiB sandbox
# whose /workspace (virtio-fs) the guest reads and writes.
#   ML_SMOKE_QEMU=system|backports  which QEMU
#   ML_SMOKE_FIRMWARE=FILE          MATCHLOCK_QEMU_FIRMWARE (a SeaBIOS build: the fallback path)
. "$(dirname "$0")/../lifecycle/lib.sh"

case "${ML_SMOKE_QEMU:?ML_SMOKE_QEMU=system|backports}" in
  system)
    MATCHLOCK_QEMU=/usr/bin/qemu-system-x86_64
    [ -x "$MATCHLOCK_QEMU" ] || MATCHLOCK_QEMU=$(command -v qemu-system-x86_64 || true)
    [ -n "$MATCHLOCK_QEMU" ] || fail "no system qemu-system-x86_64 (scripts/install-deps)"
    ;;
  backports)
    # One scripts/qemu10 at a time (the smoke tests may run in parallel); the .debs
    # stay in the shared VM test cache, the prefix in the build dir.
    mkdir -p "$XDG_CACHE_HOME"
    set +e
    MATCHLOCK_QEMU=$(flock "$XDG_CACHE_HOME/qemu10.lock" "$MATCHLOCK_SOURCE_DIR/scripts/qemu10" \
      --prefix "$MATCHLOCK_BINARY_DIR/qemu10" --cache "$XDG_CACHE_HOME/qemu10-debs" 2>"$TEST_TMP/qemu10.err")
    rc=$?
    set -e
    if [ "$rc" -eq 2 ]; then
      echo "SKIP: Debian's backports archive is unreachable, no backports QEMU to test: $(cat "$TEST_TMP/qemu10.err")" >&2
      exit 77
    fi
    [ "$rc" -eq 0 ] || fail "scripts/qemu10 exited $rc: $(cat "$TEST_TMP/qemu10.err")"
    ;;
  *) fail "ML_SMOKE_QEMU must be system or backports" ;;
esac
export MATCHLOCK_QEMU
[ -z "${ML_SMOKE_FIRMWARE:-}" ] || export MATCHLOCK_QEMU_FIRMWARE=$ML_SMOKE_FIRMWARE
version_line=$("$MATCHLOCK_QEMU" --version | head -1)
version=$(printf '%s' "$version_line" | sed -n 's/.*version \([0-9][0-9.]*\).*/\1/p')
[ -n "$version" ] || fail "no version in: $version_line"
if [ "$ML_SMOKE_QEMU" = backports ]; then
  system_major=$(/usr/bin/qemu-system-x86_64 --version 2>/dev/null | sed -n '1s/.*version \([0-9]*\)\..*/\1/p')
  [ "${version%%.*}" -ge 10 ] || fail "the backports QEMU is $version, expected 10 or newer"
  [ "${version%%.*}" -gt "${system_major:-0}" ] || fail "the backports QEMU ($version) is not newer than the system's ($system_major)"
fi

# 1. matchlock run, default size (2 GiB): boots, runs, exits with the command's status,
# and the initrd never lay on memory the firmware keeps (e820 reserved): the kernel
# logs where the loader put it and moves it when it was not all RAM.
start=$(date +%s%N)
ml_run -- sh -c 'echo smoke-run; dmesg; exit 7'
run_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_rc 7
expect_contains "$OUT" "smoke-run"
echo "QEMU $version${ML_SMOKE_FIRMWARE:+ ($ML_SMOKE_FIRMWARE)}: matchlock run (boot + command + teardown) $run_ms ms" >&2
printf '%s\n' "$OUT" | python3 -c '
import re, sys
log = sys.stdin.read()
ram = re.search(r"RAMDISK: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\]", log)
assert ram, "no RAMDISK line in dmesg"
lo, hi = int(ram.group(1), 16), int(ram.group(2), 16)
for m in re.finditer(r"BIOS-e820: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] (.+)", log):
    a, b, kind = int(m.group(1), 16), int(m.group(2), 16), m.group(3).strip()
    assert kind == "usable" or b < lo or a > hi, "initrd [%x-%x] lies on firmware memory %s [%x-%x]" % (lo, hi, kind, a, b)
assert "Move RAMDISK" not in log, "the kernel had to move the initrd off non-RAM"
print("initrd at [%x-%x], clear of firmware memory" % (lo, hi), file=sys.stderr)
' || fail "initrd placement (QEMU $version): $(printf '%s\n' "$OUT" | grep -E "BIOS-e820|RAMDISK")"

# doctor names the QEMU in use and its firmware.
run_ml doctor --json
expect_rc 0
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
line, seabios = sys.argv[1], sys.argv[2] != ""
assert d["qemu"]["state"] == "ok" and line in d["qemu"]["detail"], d["qemu"]
fw = d["microvm_firmware"]["detail"]
if seabios:
    assert "not qboot" in fw and "2050 MiB" in fw, fw
else:
    assert "(qboot" in fw, fw
print("qemu:", d["qemu"]["detail"], "| firmware:", fw, file=sys.stderr)
' "$version_line" "${ML_SMOKE_FIRMWARE:-}" || fail "doctor: $OUT"

# 2. up / exec / down of a 2 GiB sandbox with a virtio-fs workspace (guest RAM in a memfd).
echo from-host >"$PROJ/host.txt"
cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "smoke"

[sandbox]
image = "$BUSYBOX"
cpus = 2
memory = "2GiB"
disk = "256MiB"
workdir = "/workspace"

[[mounts]]
source = "."
target = "/workspace"
TOML
start=$(date +%s%N)
run_ml up
up_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_rc 0
expect_contains "$OUT" "sandbox  smoke (started)"
echo "QEMU $version${ML_SMOKE_FIRMWARE:+ ($ML_SMOKE_FIRMWARE)}: cold up $up_ms ms" >&2
run_ml exec -- sh -c 'grep " /workspace " /proc/mounts; cat host.txt; echo from-guest >guest.txt; mkdir -p d && echo nested >d/n.txt'
expect_rc 0
expect_contains "$OUT" " /workspace virtiofs "
expect_contains "$OUT" "from-host"
[ "$(cat "$PROJ/guest.txt")" = from-guest ] || fail "guest write did not reach the host"
[ "$(cat "$PROJ/d/n.txt")" = nested ] || fail "guest mkdir + write did not reach the host"
echo changed-on-host >"$PROJ/host.txt"
sleep 2   # attribute timeouts are 1 s (docs/workspace.md)
run_ml exec -- cat host.txt
expect_rc 0
[ "$OUT" = changed-on-host ] || fail "host edit not seen in the guest: $OUT"
# The firmware never ran a request through a ring the initrd overwrote.
qlog="$XDG_STATE_HOME/matchlock/sandboxes/smoke/qemu.log"
! grep -q "missing headers" "$qlog" || fail "qemu: $(cat "$qlog")"
run_ml down
expect_rc 0
expect_contains "$OUT" "smoke stopped"

# 3. A memory snapshot on this QEMU (docs/ARCHITECTURE.md, "Memory snapshots"): the first
# run saves the VM, the second resumes it and its workspace (channel transport) works.
# A RAM size per variant: the variants may run in parallel and each forgets its own key.
. "$(dirname "$0")/snapshot_lib.sh"
unset MATCHLOCK_WORKSPACE_TRANSPORT
case "$ML_SMOKE_QEMU${ML_SMOKE_FIRMWARE:+-seabios}" in
  system) MEM=592 ;; system-seabios) MEM=608 ;; backports) MEM=624 ;; *) MEM=640 ;;
esac
snap_forget "$MEM"
sed -i "s/^memory = .*/memory = \"${MEM}MiB\"/" "$PROJ/Matchlockfile"
snap_run -- cat /workspace/host.txt
expect_rc 0
expect_boot saved
start=$(date +%s%N)
snap_run -- cat /workspace/host.txt
resume_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_rc 0
expect_boot resumed
[ "$OUT" = changed-on-host ] || fail "workspace after resume: $OUT"
echo "QEMU $version${ML_SMOKE_FIRMWARE:+ ($ML_SMOKE_FIRMWARE)}: run resumed from a memory snapshot $resume_ms ms" >&2
snap_forget "$MEM"
no_qemu_left
