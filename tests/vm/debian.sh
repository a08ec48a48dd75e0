# The debootstrap'd Debian image boots too.
. "$(dirname "$0")/lib.sh"
rig_need_debian
run_ml run --rm --image "$ML_REG_ANON/matchlock/debian:latest" -- sh -c 'cat /etc/debian_version; id -un; ls /usr/bin/apt'
expect_rc 0
expect_contains "$OUT" "12"
expect_contains "$OUT" "root"
expect_contains "$OUT" "/usr/bin/apt"
