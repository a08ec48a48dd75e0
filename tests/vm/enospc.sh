# Filling the writable disk gives ENOSPC inside the guest; the host file stays
# within its size and the host is untouched.
. "$(dirname "$0")/lib.sh"
export MATCHLOCK_DISK_MIB=64
run_ml run --image "$BUSYBOX" -- sh -c 'dd if=/dev/zero of=/fill bs=1M count=200; echo dd=$?; df -k / | tail -1'
expect_rc 0
expect_contains "$ERR" "No space left on device"
expect_contains "$OUT" "dd=1"
disk=$(ls "$XDG_STATE_HOME"/matchlock/sandboxes/run-*/upper.ext4)
size=$(stat -c %s "$disk")
[ "$size" -eq $((64 << 20)) ] || fail "upper disk grew to $size bytes"
used=$(( $(stat -c %b "$disk") * 512 ))
[ "$used" -le $((64 << 20)) ] || fail "upper disk uses $used bytes on the host"
