# The opening of the Debian-guest VM tests with host-side upstreams (vm.net_policy,
# vm.secret_files, vm.snapshot_resume), sourced by the test script itself: re-runs it in a
# private network namespace (net_lib.sh), loads the lifecycle helpers, needs the Debian
# image and the tools they use, stops every server on exit, and sets up the test names
# (net_hosts) and the test CA (net_ca).
. "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"
net_enter_namespace "$0" "$@"
. "$(dirname "${BASH_SOURCE[0]}")/../lifecycle/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"
rig_need_debian
for tool in openssl python3 mount; do command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }; done
trap 'net_stop_servers; lc_cleanup' EXIT
net_hosts
net_ca
