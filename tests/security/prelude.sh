# The opening of the VM tests in the TEST-NET world (security.network, security.host_services,
# vm.http_keepalive), sourced by the test script itself: re-runs it in private network and
# mount namespaces (lib.sh), loads the lifecycle and upstream helpers, needs the Debian
# image and the tools they use, stops every server on exit, and builds the world (sec_world).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sec_enter_namespaces "$0" "$@"
. "$(dirname "${BASH_SOURCE[0]}")/../lifecycle/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../net/upstream_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rig_need_debian
for tool in openssl python3 ip mount; do command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }; done
trap 'sec_stop_servers; lc_cleanup' EXIT
sec_world
