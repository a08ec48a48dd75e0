# Boots the busybox fixture (rig registry -> pull -> rootfs -> QEMU) and runs
# echo and uname inside; uname shows the guest kernel, not the host's.
. "$(dirname "$0")/lib.sh"
ml_run -- echo hello from the guest
expect_rc 0
[ "$OUT" = "hello from the guest" ] || fail "stdout: '$OUT' stderr: $ERR"
ml_run -- uname -a
expect_rc 0
release=$(readlink -f "$XDG_CACHE_HOME/matchlock/kernels/current" | xargs -I{} python3 -c 'import json,sys; print(json.load(open(sys.argv[1]+"/bundle.json"))["release"])' {})
expect_contains "$OUT" "Linux "
expect_contains "$OUT" "$release"
no_qemu_left
