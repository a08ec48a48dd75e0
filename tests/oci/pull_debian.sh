#!/usr/bin/env bash
# oci.pull_debian: the debootstrap'd Debian image yields an e2fsck-clean ext4,
# bit-identical across two cache dirs, whose tree matches the rig's expectation.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"
rig_need_debian
pull_twice "$ML_REG_ANON/matchlock/debian:bookworm"
[ "$PULLED_MANIFEST" = "$ML_IMG_DEBIAN_DIGEST" ] || fail "manifest $PULLED_MANIFEST, expected $ML_IMG_DEBIAN_DIGEST"
