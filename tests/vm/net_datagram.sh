# vm.net_policy_datagram: all of vm.net_policy (allowed/denied hosts, DNS, HTTP, TLS passthrough,
# SNI/Host fronting, secret injection, `up` + `exec`) with the NIC on the framing of the macOS
# backend: one Ethernet frame per datagram over socketpair(AF_UNIX, SOCK_DGRAM)
# (net/frame_link_datagram), which QEMU speaks as `-netdev dgram`. VZ's
# VZFileHandleNetworkDeviceAttachment cannot run here; this proves our end of that link
# through a real guest. A QEMU wrapper records every command line: the test fails unless
# every sandbox NIC really was a datagram one.
set -euo pipefail
real=${MATCHLOCK_QEMU:-$(command -v qemu-system-x86_64 || true)}
[ -n "$real" ] || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
dir=$(mktemp -d "${MATCHLOCK_BINARY_DIR:-/tmp}/net-datagram.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cat >"$dir/qemu" <<WRAP
#!/bin/sh
printf '%s\n' "\$*" >>"$dir/argv.log"
exec "$real" "\$@"
WRAP
chmod +x "$dir/qemu"
rc=0
MATCHLOCK_QEMU="$dir/qemu" MATCHLOCK_NIC_LINK=datagram bash "$(dirname "$0")/net_policy.sh" || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
boots=$(grep -c -- '-netdev dgram,id=net0,local.type=fd,local.str=' "$dir/argv.log" || true)
[ "$boots" -ge 2 ] || { echo "FAIL: expected the run and up boots on -netdev dgram, got $boots"; cat "$dir/argv.log"; exit 1; }
if grep -q -- '-netdev stream' "$dir/argv.log"; then echo "FAIL: a NIC used -netdev stream"; exit 1; fi
echo "ok: $boots boots, every NIC one frame per datagram"
