# The opening of the gateway tests (gateway.policy, gateway.attacks), sourced by the test script
# itself: re-runs it in private network and mount namespaces (tests/security/lib.sh), loads the
# CLI, upstream and gateway helpers, and builds the world with the pod netns (gw_world).
. "$(dirname "${BASH_SOURCE[0]}")/../security/lib.sh"
sec_enter_namespaces "$0" "$@"
. "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/upstream_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../security/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/gateway_lib.sh"
gw_world
